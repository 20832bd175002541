//! Data-subject requests: the intake model and its validation.
//!
//! A request is refused on intake (and stored nowhere) when any field is missing, unknown or
//! malformed; the error names the JSON field. Identities are normalised here, once, by the
//! rules of their type (see [`crate::identity`]).

use crate::error::{Error, Result};
use crate::identity::Normalizer;
use crate::verification::PointRule;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the subject asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Right to know: categories and specific pieces.
    Access,
    /// Right to know the categories only.
    AccessCategories,
    /// Right to delete.
    Deletion,
    /// Opt out of sale/sharing.
    OptOut,
    /// Opt back in to sale/sharing after an opt-out (the two-step opt-in of 11 CCR §7028).
    OptIn,
    /// Correct inaccurate personal information (Cal. Civ. Code §1798.106, 11 CCR §7023; also
    /// a Client's forwarded correction, amendment or restriction).
    Correction,
}

impl RequestKind {
    /// Config/JSON spelling.
    pub fn key(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::AccessCategories => "access_categories",
            RequestKind::Deletion => "deletion",
            RequestKind::OptOut => "opt_out",
            RequestKind::OptIn => "opt_in",
            RequestKind::Correction => "correction",
        }
    }

    /// Every kind, in intake order.
    pub const ALL: [RequestKind; 6] = [
        RequestKind::Access,
        RequestKind::AccessCategories,
        RequestKind::Deletion,
        RequestKind::OptOut,
        RequestKind::OptIn,
        RequestKind::Correction,
    ];

    /// Parses the JSON spelling.
    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.key() == s)
    }

    /// Whether this kind is a right-to-know request (counted against the CCPA limit).
    pub fn is_right_to_know(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::AccessCategories)
    }
}

/// The degree to which the requester's identity was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    /// Not verified.
    None,
    /// Reasonable degree of certainty (two data points): enough for categories.
    Reasonable,
    /// Reasonably high degree (three data points and a signed declaration): specific pieces.
    ReasonablyHigh,
}

/// The attestation of an identity-verification provider: the level it verified the requester
/// to, how, and when. dsr takes the level as given (and records provider and method).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Level reached.
    pub level: VerificationLevel,
    /// Method, a label such as `document+selfie` or `email+phone+last4`.
    pub method: String,
    /// The provider, a label such as `acme-idv` (optional for older requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// When verification completed.
    pub verified_at: DateTime<Utc>,
}

/// One data point the requester gave to be matched against the subject's records, normalised
/// by its type's rule (see [`crate::verification::PointRule`]).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DataPoint {
    /// Data-point type, one declared in `dsr.toml` `[data_points]`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Normalised value.
    pub value: String,
}

impl std::fmt::Debug for DataPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataPoint({}, <not shown>)", self.kind)
    }
}

/// One correction asked for: a correctable field (declared `correct = "<field>"` on the
/// columns holding it) and its accurate value.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The field, as the data map names it (`full_name`, `phone`, …).
    pub field: String,
    /// The accurate value (trimmed).
    pub value: String,
}

impl std::fmt::Debug for Correction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Correction({}, <not shown>)", self.field)
    }
}

/// The two-step opt-in (11 CCR §7028): the consumer asked to opt in, then separately confirmed;
/// for a consumer under 13, a parent or guardian's verified consent (§7070).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptInConsent {
    /// When the consumer confirmed their choice, separately from the request itself.
    pub confirmed_at: DateTime<Utc>,
    /// A parent or guardian's consent was verified (needed for a consumer under 13).
    #[serde(default)]
    pub parental_consent: bool,
}

/// Most corrections one request may carry.
pub const MAX_CORRECTIONS: usize = 16;

/// One identity of the subject, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// Identity type, one declared in `dsr.toml` `[identities]`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Normalised value.
    pub value: String,
}

/// The subject a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Identities the requester gave.
    pub identities: Vec<Identity>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Caller-chosen id: 1–64 of `A-Z a-z 0-9 . _ -`; used in object names, so never PI.
    pub id: String,
    /// What is asked.
    pub kind: RequestKind,
    /// Jurisdiction code (`CA`, `EU`, …).
    pub jurisdiction: String,
    /// When the business received the request.
    pub received_at: DateTime<Utc>,
    /// Who it is about.
    pub subject: Subject,
    /// A provider's attestation of the requester's identity, when the portal used one.
    pub verification: Option<Verification>,
    /// Data points the requester gave, matched against the subject's own records in the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_points: Vec<DataPoint>,
    /// The requester signed a declaration under penalty of perjury that they are the subject.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed_declaration: bool,
    /// The portal received a Global Privacy Control signal with the request: an opt-out of
    /// sale/sharing, whatever the request's kind.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gpc: bool,
    /// The Client that forwarded it, when we act as its service provider.
    pub client: Option<String>,
    /// The authorized agent that submitted it over the Data Rights Protocol (its DRP
    /// `agent-id`); absent for requests from the portal or files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The consumer asked for data back to 2022-01-01 rather than the last 12 months.
    #[serde(default)]
    pub extended_lookback: bool,
    /// `correction` only: the fields to correct and their accurate values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<Correction>,
    /// `opt_in` only: the two-step confirmation (and parental consent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_in: Option<OptInConsent>,
}

/// Raw request JSON as submitted (every field optional so errors can name the missing one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    id: Option<String>,
    kind: Option<String>,
    jurisdiction: Option<String>,
    received_at: Option<String>,
    subject: Option<RawSubject>,
    verification: Option<serde_json::Value>,
    #[serde(default)]
    data_points: Vec<RawIdentity>,
    #[serde(default)]
    signed_declaration: bool,
    #[serde(default)]
    gpc: bool,
    client: Option<String>,
    agent: Option<String>,
    #[serde(default)]
    extended_lookback: bool,
    #[serde(default)]
    corrections: Vec<serde_json::Value>,
    opt_in: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    identities: Vec<RawIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// Most data points one request may carry.
pub const MAX_DATA_POINTS: usize = 16;

/// Checks a request id: 1–64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn validate_request_id(id: &str) -> std::result::Result<(), String> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if id.is_empty() || id.len() > 64 || !ok_chars || id.starts_with('.') {
        return Err("must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.'".into());
    }
    Ok(())
}

impl Request {
    /// Parses and validates one request from JSON. `identity_types` maps each identity type the
    /// configuration declares to its normaliser; any other type is refused. No data-point type
    /// is known, so a request carrying data points is refused (see [`Request::from_json_with`]).
    pub fn from_json(json: &str, identity_types: &BTreeMap<String, Normalizer>) -> Result<Request> {
        Self::from_json_with(json, identity_types, &BTreeMap::new())
    }

    /// As [`Request::from_json`], also knowing the data-point types the configuration declares
    /// (`dsr.toml` `[data_points]`) and their rules.
    pub fn from_json_with(
        json: &str,
        identity_types: &BTreeMap<String, Normalizer>,
        point_types: &BTreeMap<String, PointRule>,
    ) -> Result<Request> {
        let raw: RawRequest = decode(&mut serde_json::Deserializer::from_str(json), "")?;
        Self::from_raw(raw, identity_types, point_types)
    }

    /// Parses and validates a request already decoded as a JSON value.
    pub fn from_value(
        value: serde_json::Value,
        identity_types: &BTreeMap<String, Normalizer>,
    ) -> Result<Request> {
        Self::from_value_with(value, identity_types, &BTreeMap::new())
    }

    /// As [`Request::from_value`], also knowing the declared data-point types.
    pub fn from_value_with(
        value: serde_json::Value,
        identity_types: &BTreeMap<String, Normalizer>,
        point_types: &BTreeMap<String, PointRule>,
    ) -> Result<Request> {
        let raw: RawRequest = decode(value, "")?;
        Self::from_raw(raw, identity_types, point_types)
    }

    fn from_raw(
        raw: RawRequest,
        types: &BTreeMap<String, Normalizer>,
        point_types: &BTreeMap<String, PointRule>,
    ) -> Result<Request> {
        let id = raw.id.ok_or_else(|| Error::request("id", "is required"))?;
        validate_request_id(&id).map_err(|m| Error::request("id", m))?;
        let kind_s = raw
            .kind
            .ok_or_else(|| Error::request("kind", "is required"))?;
        let kind = RequestKind::parse(&kind_s).ok_or_else(|| {
            Error::request(
                "kind",
                "unknown request kind; expected one of access, access_categories, deletion, opt_out, opt_in, correction",
            )
        })?;
        let jurisdiction = raw
            .jurisdiction
            .ok_or_else(|| Error::request("jurisdiction", "is required"))?;
        if jurisdiction.is_empty()
            || jurisdiction.len() > 16
            || !jurisdiction
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::request(
                "jurisdiction",
                "must be a code such as CA or EU",
            ));
        }
        let received_at = raw
            .received_at
            .ok_or_else(|| Error::request("received_at", "is required"))?;
        let received_at = DateTime::parse_from_rfc3339(&received_at)
            .map_err(|_| Error::request("received_at", "must be an RFC 3339 timestamp"))?
            .with_timezone(&Utc);
        let subject = raw
            .subject
            .ok_or_else(|| Error::request("subject", "is required"))?;
        if subject.identities.is_empty() {
            return Err(Error::request(
                "subject.identities",
                "needs at least one identity",
            ));
        }
        let mut identities = Vec::new();
        for (i, ident) in subject.identities.into_iter().enumerate() {
            let norm = types.get(&ident.kind).ok_or_else(|| {
                Error::request(
                    format!("subject.identities[{i}].type"),
                    format!(
                        "unknown identity type; expected one of {}",
                        types.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let value = norm.normalize(&ident.value).map_err(|m| {
                Error::request(
                    format!("subject.identities[{i}].value"),
                    format!("value {m}"),
                )
            })?;
            let identity = Identity {
                kind: ident.kind,
                value,
            };
            if !identities.contains(&identity) {
                identities.push(identity);
            }
        }
        let verification = match raw.verification {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(decode::<Verification, _>(v, "verification")?),
        };
        // Method and provider are labels such as `email+phone+last4`: they go into evidence, so
        // they may not carry free text (which could hold PI).
        if let Some(v) = &verification {
            let ok = |c: char| c.is_ascii_alphanumeric() || "_+.:-".contains(c);
            let label = |l: &str| !l.is_empty() && l.len() <= 64 && l.chars().all(ok);
            if !label(&v.method) {
                return Err(Error::request(
                    "verification.method",
                    "must be a label of 1-64 characters of A-Z a-z 0-9 _ + . : - (e.g. email+phone+last4)",
                ));
            }
            if v.provider.as_deref().is_some_and(|p| !label(p)) {
                return Err(Error::request(
                    "verification.provider",
                    "must be a label of 1-64 characters of A-Z a-z 0-9 _ + . : - (e.g. acme-idv)",
                ));
            }
        }
        if raw.data_points.len() > MAX_DATA_POINTS {
            return Err(Error::request(
                "data_points",
                format!("at most {MAX_DATA_POINTS} data points"),
            ));
        }
        let mut data_points = Vec::new();
        for (i, p) in raw.data_points.into_iter().enumerate() {
            let rule = point_types.get(&p.kind).ok_or_else(|| {
                Error::request(
                    format!("data_points[{i}].type"),
                    format!(
                        "unknown data point type; expected one of {}",
                        point_types.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let value = rule.normalize(&p.value).map_err(|m| {
                Error::request(format!("data_points[{i}].value"), format!("value {m}"))
            })?;
            let point = DataPoint {
                kind: p.kind,
                value,
            };
            if !data_points.contains(&point) {
                data_points.push(point);
            }
        }
        if verification.is_none() && data_points.is_empty() && kind != RequestKind::OptOut {
            return Err(Error::request(
                "verification",
                format!(
                    "is required for a {} request that carries no data_points",
                    kind.key()
                ),
            ));
        }
        if let Some(c) = &raw.client {
            validate_request_id(c).map_err(|m| Error::request("client", m))?;
        }
        let corrections = corrections(kind, raw.corrections)?;
        let opt_in = match (kind, raw.opt_in) {
            (RequestKind::OptIn, None | Some(serde_json::Value::Null)) => {
                return Err(Error::request(
                    "opt_in",
                    "is required for an opt_in request: the consumer's separate confirmation (two-step opt-in, 11 CCR §7028)",
                ));
            }
            (RequestKind::OptIn, Some(v)) => {
                let c: OptInConsent = decode(v, "opt_in")?;
                if c.confirmed_at < received_at {
                    return Err(Error::request(
                        "opt_in.confirmed_at",
                        "must not be before received_at: the confirmation is the second step",
                    ));
                }
                Some(c)
            }
            (_, None | Some(serde_json::Value::Null)) => None,
            (_, Some(_)) => {
                return Err(Error::request("opt_in", "is only for an opt_in request"));
            }
        };
        if kind == RequestKind::OptIn && raw.gpc {
            return Err(Error::request(
                "gpc",
                "an opt_in request cannot carry a Global Privacy Control signal (an opt-out)",
            ));
        }
        if let Some(a) = &raw.agent {
            validate_request_id(a).map_err(|m| Error::request("agent", m))?;
        }
        Ok(Request {
            id,
            kind,
            jurisdiction,
            received_at,
            subject: Subject { identities },
            verification,
            data_points,
            signed_declaration: raw.signed_declaration,
            gpc: raw.gpc,
            client: raw.client,
            agent: raw.agent,
            extended_lookback: raw.extended_lookback,
            corrections,
            opt_in,
        })
    }

    /// Whether dsr works the verification out in the run (the request carries data points and
    /// is not an opt-out, which needs none).
    pub fn verification_computed(&self) -> bool {
        self.kind != RequestKind::OptOut && !self.data_points.is_empty()
    }

    /// The verification level, `None` when absent.
    pub fn verification_level(&self) -> VerificationLevel {
        self.verification
            .as_ref()
            .map(|v| v.level)
            .unwrap_or(VerificationLevel::None)
    }
}

/// Checks the corrections of a request: required (1–16) for a `correction`, absent otherwise;
/// each a field name and a value of at most 1024 bytes, no NUL, a field at most once. Whether
/// the field is correctable is checked against the data map at intake.
fn corrections(kind: RequestKind, raw: Vec<serde_json::Value>) -> Result<Vec<Correction>> {
    if kind != RequestKind::Correction {
        if !raw.is_empty() {
            return Err(Error::request(
                "corrections",
                "is only for a correction request",
            ));
        }
        return Ok(Vec::new());
    }
    if raw.is_empty() {
        return Err(Error::request(
            "corrections",
            "a correction request needs at least one {\"field\", \"value\"}",
        ));
    }
    if raw.len() > MAX_CORRECTIONS {
        return Err(Error::request(
            "corrections",
            format!("at most {MAX_CORRECTIONS} corrections"),
        ));
    }
    let mut out: Vec<Correction> = Vec::new();
    for (i, v) in raw.into_iter().enumerate() {
        let mut c: Correction = decode(v, &format!("corrections[{i}]"))?;
        c.value = c.value.trim().to_string();
        if c.value.is_empty()
            || c.value.len() > crate::identity::MAX_IDENTITY_LEN
            || c.value.contains('\0')
        {
            return Err(Error::request(
                format!("corrections[{i}].value"),
                "must be 1-1024 bytes, without NUL",
            ));
        }
        if out.iter().any(|o| o.field == c.field) {
            return Err(Error::request(
                format!("corrections[{i}].field"),
                "is corrected twice",
            ));
        }
        out.push(c);
    }
    Ok(out)
}

/// Decodes `T`, naming the JSON path of the first problem (`verification.level`) in the error.
fn decode<'de, T, D>(de: D, prefix: &str) -> Result<T>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix.is_empty(), path == ".") {
            (true, true) => "(body)".to_string(),
            (true, false) => path,
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{path}"),
        };
        Error::request(
            field,
            format!("malformed request JSON: {}", safe_json_error(e.inner())),
        )
    })
}

/// A serde_json error reduced to its category and position: the message of an
/// `invalid value` error may quote the offending input, so it is never passed on.
fn safe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // Messages about unknown/missing fields and variants quote field names (from our schema or
    // the submitter's keys), which are not subject data; value errors are summarised.
    if text.starts_with("unknown field") || text.starts_with("missing field") {
        let field = text.split('`').nth(1).unwrap_or("?");
        let what = if text.starts_with("unknown") {
            "unknown field"
        } else {
            "missing field"
        };
        return format!(
            "{what} `{field}` at line {} column {}",
            e.line(),
            e.column()
        );
    }
    let class = match e.classify() {
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Data => "wrong type or value",
        serde_json::error::Category::Io => "read error",
    };
    if e.line() == 0 {
        class.to_string()
    } else {
        format!("{class} at line {} column {}", e.line(), e.column())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn types() -> BTreeMap<String, Normalizer> {
        [("email", Normalizer::Email), ("phone", Normalizer::Phone)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    const OK: &str = r#"{"id":"r1","kind":"deletion","jurisdiction":"CA","received_at":"2026-11-02T10:00:00Z",
      "subject":{"identities":[{"type":"email","value":" Ana@Example.com "}]},
      "verification":{"level":"reasonably_high","method":"email+phone","verified_at":"2026-11-02T10:05:00Z"}}"#;

    #[test]
    fn parses_and_normalises() {
        let r = Request::from_json(OK, &types()).expect("valid");
        assert_eq!(r.subject.identities[0].value, "ana@example.com");
        assert_eq!(r.kind, RequestKind::Deletion);
    }

    fn err(json: &str) -> String {
        Request::from_json(json, &types())
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn refuses_bad_input_naming_the_field() {
        assert!(err("{not json").contains("malformed"));
        assert!(err(&OK.replace("deletion", "erase")).contains("kind"));
        let typed = err(&OK.replace(r#""deletion""#, "5"));
        assert!(typed.contains("kind:") && !typed.contains('5'), "{typed}");
        let method = err(&OK.replace("email+phone", "called ana@example.com"));
        assert!(
            method.contains("verification.method") && !method.contains("ana@"),
            "{method}"
        );
        let level = err(&OK.replace("reasonably_high", "super"));
        assert!(
            level.contains("verification.level") && !level.contains("super"),
            "{level}"
        );
        assert!(
            err(&OK.replace(r#""type":"email""#, r#""type":"passport""#))
                .contains("subject.identities[0].type")
        );
        let no_ver = r#"{"id":"r1","kind":"deletion","jurisdiction":"CA","received_at":"2026-11-02T10:00:00Z",
          "subject":{"identities":[{"type":"email","value":"a@b.c"}]}}"#;
        assert!(err(no_ver).contains("verification"));
        assert!(err(&OK.replace("\"r1\"", "\"../etc\"")).contains("id"));
        let e = err(&OK.replace(" Ana@Example.com ", "not-an-email-secret"));
        assert!(e.contains("subject.identities[0].value"));
        assert!(!e.contains("not-an-email-secret"));
    }

    fn point_types() -> BTreeMap<String, PointRule> {
        [
            ("phone", PointRule::Phone),
            ("card_last4", PointRule::Last4),
            ("postcode", PointRule::Postcode),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    const POINTS: &str = r#"{"id":"r2","kind":"access","jurisdiction":"CA","received_at":"2026-11-02T10:00:00Z",
      "subject":{"identities":[{"type":"email","value":"ana@example.com"}]},
      "data_points":[{"type":"phone","value":"+1 415 555 0101"},{"type":"card_last4","value":"6467"}],
      "signed_declaration":true,"gpc":true}"#;

    fn err_points(json: &str) -> String {
        Request::from_json_with(json, &types(), &point_types())
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn data_points_are_validated_and_normalised() {
        let r = Request::from_json_with(POINTS, &types(), &point_types()).expect("valid");
        assert_eq!(r.data_points.len(), 2);
        assert_eq!(r.data_points[0].value, "14155550101");
        assert!(r.signed_declaration && r.gpc && r.verification.is_none());
        assert!(r.verification_computed());
        assert!(!format!("{:?}", r.data_points).contains("6467"));
        // Without declared types, a data point is refused.
        assert!(err(POINTS).contains("data_points[0].type"));
        let unknown = err_points(&POINTS.replace(r#""type":"card_last4""#, r#""type":"ssn""#));
        assert!(unknown.contains("data_points[1].type"), "{unknown}");
        let bad = err_points(&POINTS.replace(r#""6467""#, r#""4539 1488 0343 6467""#));
        assert!(
            bad.contains("data_points[1].value") && !bad.contains("6467"),
            "{bad}"
        );
        let field = err_points(&POINTS.replace(r#""gpc":true"#, r#""gpc":true,"note":"x""#));
        assert!(field.contains("note"), "{field}");
        let extra =
            err_points(&POINTS.replace(r#""value":"6467"}"#, r#""value":"6467","secret":"6467"}"#));
        assert!(
            extra.contains("data_points[1]") && extra.contains("secret"),
            "{extra}"
        );
        // Neither data points nor an attestation: refused, unless an opt-out.
        let none = r#"{"id":"r3","kind":"access","jurisdiction":"CA","received_at":"2026-11-02T10:00:00Z",
          "subject":{"identities":[{"type":"email","value":"a@b.c"}]}}"#;
        assert!(err_points(none).contains("verification"));
        let opt_out = none.replace(r#""access""#, r#""opt_out""#);
        assert!(Request::from_json_with(&opt_out, &types(), &point_types()).is_ok());
    }

    #[test]
    fn provider_is_a_label() {
        let with = OK.replace(
            r#""method":"email+phone""#,
            r#""method":"document","provider":"acme-idv""#,
        );
        let r = Request::from_json(&with, &types()).expect("valid");
        assert_eq!(
            r.verification.and_then(|v| v.provider).as_deref(),
            Some("acme-idv")
        );
        let bad = err(&OK.replace(
            r#""method":"email+phone""#,
            r#""method":"document","provider":"ana@example.com""#,
        ));
        assert!(
            bad.contains("verification.provider") && !bad.contains("ana@"),
            "{bad}"
        );
    }
}
