//! Intake and admission: storing a validated request, then admitting or denying it by the
//! rule table of its regime.

use crate::control::{ControlDb, Submitted};
use crate::error::Result;
use crate::suppression::Source;
use dsr_core::config::Config;
use dsr_core::hash::KeyedHasher;
use dsr_core::jurisdiction::{regime_for, rules};
use dsr_core::request::{Request, RequestKind, VerificationLevel};

/// Keyed hashes of a request's identities.
pub fn identity_hashes(hasher: &KeyedHasher, req: &Request) -> Vec<String> {
    req.subject
        .identities
        .iter()
        .map(|i| hasher.identity(&i.kind, &i.value))
        .collect()
}

/// The legal deadlines of a request, by its regime's rules and the business calendar
/// (`None` outside every regime).
fn deadlines_of(config: &Config, req: &Request) -> Option<dsr_core::jurisdiction::Deadlines> {
    regime_for(&req.jurisdiction).map(|r| {
        rules(r).deadlines(
            req.kind,
            req.received_at,
            req.client.is_some(),
            &config.settings.business.calendar,
        )
    })
}

/// The JSON of a deletion request dsr makes itself (a DROP match, a sweep), under CCPA, with
/// an attestation naming where the verification comes from (`provider`, `method`).
pub fn internal_deletion_json(
    id: &str,
    identities: &[dsr_core::request::Identity],
    provider: &str,
    method: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let identities: Vec<serde_json::Value> = identities
        .iter()
        .map(|i| serde_json::json!({"type": i.kind, "value": i.value}))
        .collect();
    serde_json::json!({
        "id": id,
        "kind": "deletion",
        "jurisdiction": "CA",
        "received_at": now.to_rfc3339(),
        "subject": {"identities": identities},
        "verification": {
            "level": "reasonably_high",
            "method": method,
            "provider": provider,
            "verified_at": now.to_rfc3339(),
        },
    })
}

/// Validates a request against the configuration: its JSON, its identity and data-point
/// types, and the fields a correction names (each must be declared `correct` on some column).
pub fn parse(config: &Config, json: &str) -> Result<Request> {
    let settings = &config.settings;
    let req = Request::from_json_with(json, &settings.identity_types, &settings.data_point_types)?;
    for (i, c) in req.corrections.iter().enumerate() {
        if !config.corrections.fields.contains_key(&c.field) {
            return Err(dsr_core::Error::request(
                format!("corrections[{i}].field"),
                format!(
                    "is not a correctable field; expected one of {}",
                    config
                        .corrections
                        .fields
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
    }
    Ok(req)
}

/// Validates `json` and stores it (idempotent on the request id). Bad input is refused with
/// an error naming the field, and nothing is stored. A duplicate is stored linked to its
/// original (see [`submit_linked`]).
pub async fn submit(
    config: &Config,
    control: &ControlDb,
    json: &str,
) -> Result<(Request, Submitted)> {
    let (req, outcome, _) = submit_linked(config, control, json).await?;
    Ok((req, outcome))
}

/// As [`submit`], also saying which request a new submission duplicates (it is then stored
/// with status `duplicate` and never run). A Global Privacy Control signal (`gpc`) puts the
/// request's identity hashes on the suppression list at once, with source `gpc`, whatever
/// the request's kind, verification or fate: the signal needs no verification.
pub async fn submit_linked(
    config: &Config,
    control: &ControlDb,
    json: &str,
) -> Result<(Request, Submitted, Option<String>)> {
    let settings = &config.settings;
    let req = parse(config, json)?;
    let hasher = KeyedHasher::new(settings.hash_key.as_bytes().to_vec());
    let deadlines = deadlines_of(config, &req);
    let due = deadlines.as_ref().map(|d| d.respond_by);
    let hashes = identity_hashes(&hasher, &req);
    // A stored id goes through `ControlDb::submit`: a no-op if identical, else a conflict.
    let duplicate_of = match control.get(&req.id).await? {
        Some(_) => None,
        None => {
            control
                .find_duplicate(&req, &hashes, settings.duplicate_window_days)
                .await?
        }
    };
    let outcome = match &duplicate_of {
        Some(original) => {
            control.store_duplicate(&req, due, original).await?;
            tracing::info!(request = %req.id, duplicate_of = %original, "duplicate linked");
            Submitted::New
        }
        None => control.submit(&req, &hashes, deadlines.as_ref()).await?,
    };
    if req.gpc {
        control.suppress_from(&req.id, &hashes, Source::Gpc).await?;
    }
    Ok((req, outcome, duplicate_of))
}

/// Stores a request dsr makes itself (a DROP work item's deletion, a tombstone sweep's
/// re-deletion): validated and stored like any other, but never a duplicate, since each is a
/// new duty (data acquired again after a deletion, a new statutory list).
pub async fn submit_internal(
    config: &Config,
    control: &ControlDb,
    json: &str,
) -> Result<(Request, Submitted)> {
    let settings = &config.settings;
    let req = parse(config, json)?;
    let hasher = KeyedHasher::new(settings.hash_key.as_bytes().to_vec());
    let deadlines = deadlines_of(config, &req);
    let hashes = identity_hashes(&hasher, &req);
    let outcome = control.submit(&req, &hashes, deadlines.as_ref()).await?;
    Ok((req, outcome))
}

/// The admission decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Admitted; `categories_only` when an access request reached only a reasonable degree.
    Admitted {
        /// Answer with categories only.
        categories_only: bool,
    },
    /// Denied with a Data Rights Protocol reason.
    Denied(&'static str),
}

/// Decides admission by the regime's rules and, when the request carries no data points, by
/// the level its provider attested. A request with data points is admitted on the regime's
/// rules alone: its verification is worked out in the run (see [`crate::verify`]), which may
/// still deny it (`insuf_verification`) or answer it with categories only.
pub async fn decide(control: &ControlDb, req: &Request) -> Result<Admission> {
    let Some(regime) = regime_for(&req.jurisdiction) else {
        return Ok(Admission::Denied("outside_jurisdiction"));
    };
    let r = rules(regime);
    let level = req.verification_level();
    let pending = req.verification_computed();
    let decision = match req.kind {
        RequestKind::OptOut => Admission::Admitted {
            categories_only: false,
        },
        // Deleting, correcting, or opting someone back in to sale all act on their data: the
        // requester must be verified (a stranger must not do it for them).
        RequestKind::Deletion | RequestKind::Correction | RequestKind::OptIn => {
            if pending || level >= VerificationLevel::Reasonable {
                Admission::Admitted {
                    categories_only: false,
                }
            } else {
                Admission::Denied("insuf_verification")
            }
        }
        RequestKind::Access | RequestKind::AccessCategories => {
            if let Some(limit) = r.right_to_know_per_12_months() {
                let prior = control
                    .prior_right_to_know(&req.id, req.received_at)
                    .await?;
                if prior >= i64::from(limit) {
                    return Ok(Admission::Denied("too_many_requests"));
                }
            }
            match level {
                _ if pending => Admission::Admitted {
                    categories_only: req.kind == RequestKind::AccessCategories,
                },
                VerificationLevel::None => Admission::Denied("insuf_verification"),
                VerificationLevel::Reasonable => Admission::Admitted {
                    categories_only: true,
                },
                VerificationLevel::ReasonablyHigh => Admission::Admitted {
                    categories_only: req.kind == RequestKind::AccessCategories,
                },
            }
        }
    };
    Ok(decision)
}
