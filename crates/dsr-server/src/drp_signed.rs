//! Signed Data Rights Protocol messages (DRP 1.0 §3.07) and the mapping of an exercise
//! request onto a dsr request. No IO: the handlers in `drp.rs` call these.
//!
//! A signed message is base64 of libsodium's combined mode: the 64-byte Ed25519 signature,
//! then the JSON message it signs. It is checked in the spec's order: it decodes; the
//! signature verifies (strictly: no malleable or small-order forms) with the agent's verify
//! key from config; `agent-id` is the agent of the bearer token (or the URL, for pairwise
//! setup); `business-id` is ours; `issued-at` is not in the future beyond the configured skew;
//! `expires-at` has not passed; and the window between them is not longer than configured.
//!
//! Claims are data points to match, never trusted: a claim the agent marks verified
//! (`email_verified`, `phone_number_verified`, `address_verified`) becomes a data point that
//! the run matches against the subject's own records like any requester's; nothing becomes a
//! provider attestation.

use crate::error::ApiError;
use base64::Engine;
use chrono::{DateTime, Utc};
use dsr_core::config::{Agent, DrpSettings};
use dsr_core::identity::Normalizer;
use dsr_core::request::RequestKind;
use dsr_core::verification::PointRule;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A decoded signed message.
pub(crate) struct Signed {
    /// The Ed25519 signature.
    pub(crate) signature: [u8; 64],
    /// The signed bytes (JSON).
    pub(crate) message: Vec<u8>,
}

/// Decodes the base64 body into signature and message; `None` when it is not base64 of at
/// least a signature.
pub(crate) fn decode(body: &[u8]) -> Option<Signed> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .ok()?;
    if raw.len() <= 64 {
        return None;
    }
    let (sig, msg) = raw.split_at(64);
    Some(Signed {
        signature: sig.try_into().ok()?,
        message: msg.to_vec(),
    })
}

/// Whether the message verifies with the agent's key.
pub(crate) fn verifies(signed: &Signed, agent: &Agent) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&agent.verify_key) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&signed.signature);
    key.verify_strict(&signed.message, &sig).is_ok()
}

/// The envelope claims every signed message carries (DRP 1.0 §2.01 group 1). Older drafts
/// called `agent-id` and `business-id` `issuer` and `audience`; both spellings are read.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "agent-id", alias = "issuer")]
    agent_id: Option<String>,
    #[serde(rename = "business-id", alias = "audience")]
    business_id: Option<String>,
    #[serde(rename = "issued-at")]
    issued_at: Option<String>,
    #[serde(rename = "expires-at")]
    expires_at: Option<String>,
}

/// The validity window of a message whose claims passed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// When the message stops being valid.
    pub(crate) expires_at: DateTime<Utc>,
}

/// Why claims were refused: a fixed message (never a claim's value).
pub(crate) type Refusal = &'static str;

fn time(v: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v?).ok().map(|t| t.to_utc())
}

/// Checks the envelope of a verified message for `agent` at `now`. `required` is false only
/// for the revoke body, whose envelope claims are checked when present.
pub(crate) fn check_envelope(
    message: &Value,
    agent: &str,
    drp: &DrpSettings,
    now: DateTime<Utc>,
    required: bool,
) -> Result<Option<Window>, Refusal> {
    let env: Envelope =
        serde_json::from_value(message.clone()).map_err(|_| "malformed envelope claims")?;
    if !required
        && env.agent_id.is_none()
        && env.business_id.is_none()
        && env.issued_at.is_none()
        && env.expires_at.is_none()
    {
        return Ok(None);
    }
    if env.agent_id.as_deref() != Some(agent) {
        return Err("agent-id does not match the authenticated agent");
    }
    if env.business_id.as_deref() != Some(drp.business_id.as_str()) {
        return Err("business-id is not this business");
    }
    let issued = time(env.issued_at.as_deref()).ok_or("issued-at must be an ISO 8601 time")?;
    let expires = time(env.expires_at.as_deref()).ok_or("expires-at must be an ISO 8601 time")?;
    if issued > now + chrono::Duration::seconds(i64::from(drp.max_clock_skew_secs)) {
        return Err("issued-at is in the future");
    }
    if expires <= now {
        return Err("the request has expired (expires-at has passed)");
    }
    if expires <= issued
        || expires - issued > chrono::Duration::minutes(i64::from(drp.max_validity_mins))
    {
        return Err("expires-at is not within the accepted validity window after issued-at");
    }
    Ok(Some(Window {
        expires_at: expires,
    }))
}

/// The exercise claims (DRP 1.0 §2.01 groups 2 and 3). Other claims are allowed and ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Exercise {
    #[serde(rename = "drp.version")]
    version: Option<String>,
    pub(crate) exercise: Option<String>,
    pub(crate) regime: Option<String>,
    pub(crate) status_callback: Option<String>,
    #[serde(rename = "agent-request-id")]
    pub(crate) agent_request_id: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    phone_number: Option<String>,
    #[serde(default)]
    phone_number_verified: bool,
    address: Option<Address>,
    #[serde(default)]
    address_verified: bool,
}

/// The OpenID Connect address claim; only the postal code is used (as a data point).
#[derive(Debug, Deserialize)]
struct Address {
    postal_code: Option<String>,
}

/// A malformed exercise: the claim at fault and what is wrong (never its value).
#[derive(Debug)]
pub(crate) struct Malformed(pub(crate) String);

impl From<Malformed> for ApiError {
    fn from(m: Malformed) -> ApiError {
        ApiError::Drp {
            status: 400,
            message: m.0,
            fatal: true,
        }
    }
}

/// What to do with an exercise.
#[derive(Debug)]
pub(crate) enum Mapped {
    /// Submit this dsr request JSON.
    Submit(Value),
    /// Answer `denied` with this DRP reason at intake; nothing enters the pipeline.
    Deny(&'static str),
}

/// Parses the exercise claims.
pub(crate) fn exercise(message: &Value) -> Result<Exercise, Malformed> {
    let e: Exercise = serde_json::from_value(message.clone())
        .map_err(|_| Malformed("a claim has the wrong type".into()))?;
    match e.version.as_deref() {
        Some(v) if v.starts_with("0.9") || v == "1" || v.starts_with("1.") => {}
        _ => return Err(Malformed("drp.version must be 0.9 or 1.x".into())),
    }
    if let Some(id) = &e.agent_request_id
        && (id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(Malformed(
            "agent-request-id must be 1-128 printable ASCII characters".into(),
        ));
    }
    Ok(e)
}

/// The kind spelling of a DRP action (DRP 1.0 §3.01; both `-` and `_` spellings of the sale
/// actions are in the spec). `None`: not a DRP action at all.
pub(crate) fn action_kind(exercise: &str) -> Option<&'static str> {
    Some(match exercise {
        "sale:opt-out" | "sale:opt_out" => "opt_out",
        "sale:opt-in" | "sale:opt_in" => "opt_in",
        "deletion" => "deletion",
        "access" | "access:specific" => "access",
        "access:categories" => "access_categories",
        _ => return None,
    })
}

/// Maps an exercise onto a dsr request with id `id`, received at `received_at`, from `agent`.
/// Actions dsr has no kind for are denied `claim_not_covered` (the kind is looked up with
/// [`RequestKind::parse`], so a kind dsr gains is served without a change here); a regime other
/// than `ccpa` (or none: voluntary processing is not offered) `outside_jurisdiction`; no email
/// or phone claim `no_match`; a right that needs verification without a verified claim
/// `insuf_verification`.
pub(crate) fn map(
    e: &Exercise,
    id: &str,
    agent: &str,
    received_at: DateTime<Utc>,
    identity_types: &BTreeMap<String, Normalizer>,
    point_types: &BTreeMap<String, PointRule>,
) -> Result<Mapped, Malformed> {
    let action = e
        .exercise
        .as_deref()
        .ok_or_else(|| Malformed("exercise is required".into()))?;
    let kind_key = action_kind(action).ok_or_else(|| {
        Malformed(
            "unsupported rights action; expected sale:opt-out, sale:opt-in, deletion, access, access:categories or access:specific"
                .into(),
        )
    })?;
    let Some(kind) = RequestKind::parse(kind_key) else {
        return Ok(Mapped::Deny("claim_not_covered"));
    };
    if e.regime.as_deref() != Some("ccpa") {
        return Ok(Mapped::Deny("outside_jurisdiction"));
    }
    let mut identities = Vec::new();
    let mut points = Vec::new();
    let claims = [
        ("email", "email", e.email.as_deref(), e.email_verified),
        (
            "phone_number",
            "phone",
            e.phone_number.as_deref(),
            e.phone_number_verified,
        ),
    ];
    for (claim, ty, value, verified) in claims {
        let Some(value) = value else { continue };
        if let Some(norm) = identity_types.get(ty) {
            norm.normalize(value)
                .map_err(|_| Malformed(format!("claim {claim} is malformed")))?;
            identities.push(json!({"type": ty, "value": value}));
        }
        if verified && let Some(rule) = point_types.get(ty) {
            rule.normalize(value)
                .map_err(|_| Malformed(format!("claim {claim} is malformed")))?;
            points.push(json!({"type": ty, "value": value}));
        }
    }
    if e.address_verified
        && let Some(pc) = e.address.as_ref().and_then(|a| a.postal_code.as_deref())
        && let Some(rule) = point_types.get("postcode")
    {
        rule.normalize(pc)
            .map_err(|_| Malformed("claim address.postal_code is malformed".into()))?;
        points.push(json!({"type": "postcode", "value": pc}));
    }
    if identities.is_empty() {
        return Ok(Mapped::Deny("no_match"));
    }
    if points.is_empty() && kind != RequestKind::OptOut {
        return Ok(Mapped::Deny("insuf_verification"));
    }
    let mut req = json!({
        "id": id,
        "kind": kind.key(),
        "jurisdiction": "CA",
        "received_at": received_at.to_rfc3339(),
        "subject": {"identities": identities},
        "agent": agent,
    });
    if !points.is_empty() {
        req["data_points"] = json!(points);
    }
    // The agent's signed request is the consumer's confirmed choice: an agent's app asks the
    // consumer to request and then separately confirm (the two-step opt-in, 11 CCR §7028)
    // before it signs. A child's opt-in still needs a parent's consent, which DRP cannot
    // carry: the run denies it (`parental_consent_required`).
    if kind == RequestKind::OptIn {
        req["opt_in"] = json!({"confirmed_at": received_at.to_rfc3339()});
    }
    Ok(Mapped::Submit(req))
}

#[cfg(test)]
#[path = "drp_signed_tests.rs"]
mod tests;
