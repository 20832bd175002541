//! Intake and admission: storing a validated request, then admitting or denying it by the
//! rule table of its regime.

use crate::control::{ControlDb, Submitted};
use crate::error::Result;
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

/// Validates `json` and stores it (idempotent on the request id). Bad input is refused with
/// an error naming the field, and nothing is stored.
pub async fn submit(
    config: &Config,
    control: &ControlDb,
    json: &str,
) -> Result<(Request, Submitted)> {
    let req = Request::from_json(json, &config.settings.identity_types)?;
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let deadlines = regime_for(&req.jurisdiction).map(|r| {
        rules(r).deadlines(
            req.kind,
            req.received_at,
            req.client.is_some(),
            &config.settings.business.calendar,
        )
    });
    let outcome = control
        .submit(&req, &identity_hashes(&hasher, &req), deadlines.as_ref())
        .await?;
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

/// Decides admission by the regime's rules and the verification level.
pub async fn decide(control: &ControlDb, req: &Request) -> Result<Admission> {
    let Some(regime) = regime_for(&req.jurisdiction) else {
        return Ok(Admission::Denied("outside_jurisdiction"));
    };
    let r = rules(regime);
    let level = req.verification_level();
    let decision = match req.kind {
        RequestKind::OptOut => Admission::Admitted {
            categories_only: false,
        },
        RequestKind::Deletion => {
            if level >= VerificationLevel::Reasonable {
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
