//! The verification phase of a run, between resolution and planning: each request's level
//! (worked out from its data points, or its provider's attestation), what that level allows,
//! and whether the subject is a minor.
//!
//! * An access request below a reasonable degree is denied (`insuf_verification`) with
//!   nothing disclosed; at a reasonable degree it gets categories only.
//! * A deletion below a reasonable degree is denied; otherwise each store's records are
//!   deleted only if the level reaches the store's `deletion_verification`, and kept with the
//!   reason [`INSUFFICIENT`] where it does not.
//! * An opt-out needs no verification.
//!
//! A request retried after a first run (partially fulfilled, or taken over) keeps the level its
//! first run recorded in evidence, since records deleted meanwhile can no longer match.

use super::Work;
use crate::plan::{Action, RequestPlan};
use crate::resolve::Resolution;
use crate::verify::{self, Verified};
use dsr_core::config::Config;
use dsr_core::exemption::Retention;
use dsr_core::hash::KeyedHasher;
use dsr_core::request::{RequestKind, VerificationLevel};

/// Reason name of records kept because the request's verification is below their store's.
pub const INSUFFICIENT: &str = "insufficient_verification";
/// Its basis, as reports and evidence give it.
pub const INSUFFICIENT_BASIS: &str = "insufficient verification for this store: it deletes records only for a requester verified to a reasonably high degree (11 CCR §7062)";

/// Works out every request's verification and minor flag, and what they allow.
pub(super) fn apply(
    config: &Config,
    hasher: &KeyedHasher,
    resolution: &Resolution,
    work: &mut [Work],
) {
    for w in work.iter_mut() {
        if w.req.kind == RequestKind::OptOut || w.lost || w.sealed.is_some() {
            continue;
        }
        let Some(resolved) = w.resolved.as_ref() else {
            continue;
        };
        if resolved.held.is_some() {
            continue;
        }
        let earlier = w.chain.as_ref().and_then(|c| {
            c.entries()
                .iter()
                .rev()
                .filter(|e| e.kind == "request_started")
                .find_map(|e| Verified::from_json(&e.data["verification"]))
        });
        let v = earlier
            .unwrap_or_else(|| verify::compute(config, hasher, resolution, resolved, &w.req));
        w.minor = verify::minor(config, resolution, resolved, w.req.received_at);
        let found = !resolved.own.is_empty() || !resolved.shared.is_empty();
        if found && v.level == VerificationLevel::None {
            w.insufficient = true;
        }
        if w.req.kind.is_right_to_know() && v.level < VerificationLevel::ReasonablyHigh {
            w.categories_only = true;
        }
        w.verified = Some(v);
    }
}

/// Keeps the records of every store whose `deletion_verification` the request's level does
/// not reach.
pub(super) fn restrict(
    config: &Config,
    resolution: &Resolution,
    level: VerificationLevel,
    plan: &mut RequestPlan,
) {
    for (&r, action) in plan.decisions.iter_mut() {
        let Some(row) = resolution.rows.get(r) else {
            continue;
        };
        if matches!(action, Action::Retain(_)) {
            continue;
        }
        if config.verification.deletion_level(&row.table.store) > level {
            *action = Action::Retain(Retention {
                name: INSUFFICIENT.into(),
                basis: INSUFFICIENT_BASIS.into(),
            });
        }
    }
}
