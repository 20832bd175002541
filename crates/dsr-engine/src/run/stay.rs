//! After a deletion: tombstones, the rows left in place on purpose, and the DROP status of the
//! work items the request was made for (see [`crate::tombstone`] and [`crate::drop`]); and an
//! opt-in, which lifts the subject's opt-outs. Evidence first: each entry is in the chain
//! before the control DB records it, and everything here is idempotent for a retrying lease.

use super::{Ctx, Work};
use crate::control::Status;
use crate::error::Result;
use crate::plan::Action;
use crate::resolve::{Resolution, Resolved};
use crate::suppression::Source;
use crate::tombstone::{TombstoneSource, row_hash};
use crate::verify;
use dsr_core::drop::StatusCode;
use dsr_core::request::RequestKind;
use serde_json::json;

/// The DROP status a finished deletion gives its work items, if any.
fn drop_code(
    w: &Work,
    status: Status,
    reason: Option<&str>,
    erased_before: bool,
) -> Option<StatusCode> {
    match status {
        Status::Fulfilled | Status::PartiallyFulfilled => {
            if erased_before || w.outcome.deleted + w.outcome.masked > 0 {
                Some(StatusCode::Deleted)
            } else {
                Some(StatusCode::Exempted)
            }
        }
        Status::Denied if reason == Some("no_match") => Some(StatusCode::NotFound),
        _ => None,
    }
}

/// Tombstones the subject of a carried-out deletion and sets its DROP status.
pub(super) async fn after_deletion(
    cx: &Ctx<'_>,
    resolution: &Resolution,
    resolved: Option<&Resolved>,
    w: &mut Work,
    status: Status,
    reason: Option<&str>,
    erased_before: bool,
) -> Result<()> {
    if w.req.kind != RequestKind::Deletion || w.lost {
        return Ok(());
    }
    let id = w.req.id.clone();
    let drop_items = cx.control.drop_item_count(&id).await?;
    let code = drop_code(w, status, reason, erased_before).filter(|_| drop_items > 0);
    if let Some(code) = code {
        w.record(
            "drop_status",
            json!({"code": code.code(), "work_items": drop_items}),
        )
        .await?;
        cx.control.set_drop_code(&id, code).await?;
    }
    let carried_out = matches!(status, Status::Fulfilled | Status::PartiallyFulfilled);
    let Some(r) = resolved.filter(|r| carried_out && r.held.is_none()) else {
        return Ok(());
    };
    let hashes = verify::subject_hashes(cx.config, cx.hasher, resolution, r, &w.req);
    let settled: Vec<String> = w
        .plan
        .as_ref()
        .map(|p| {
            p.decisions
                .iter()
                .filter(|(_, a)| !matches!(a, Action::Delete))
                .filter_map(|(row, _)| resolution.rows.get(*row))
                .map(|row| {
                    row_hash(
                        cx.hasher,
                        &row.table.store,
                        &row.table.table,
                        &row.record.key,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let source = if drop_items > 0 {
        TombstoneSource::Drop
    } else {
        TombstoneSource::Deleted
    };
    w.record(
        "tombstoned",
        json!({"identities": hashes.len(), "settled_rows": settled.len(), "source": source.key()}),
    )
    .await?;
    cx.control.tombstone(&id, &hashes, source).await?;
    cx.control.settle_rows(&id, &settled).await?;
    Ok(())
}

/// Age under which an opt-in needs a parent or guardian's consent (11 CCR §7070).
const PARENTAL_CONSENT_AGE: u32 = 13;

/// An opt-in: a consumer under 13 by their records needs a parent's verified consent (else
/// `parental_consent_required`); otherwise their opt-outs (`opt_out`, `gpc`,
/// `minor_not_opted_in`, `drop`) are lifted. The two-step confirmation was checked at intake.
/// Tombstones stay: opting in to sale does not undo a deletion.
pub(super) async fn opt_in(
    cx: &Ctx<'_>,
    resolution: &Resolution,
    resolved: Option<&Resolved>,
    w: &mut Work,
) -> Result<(Status, Option<String>)> {
    let parental = w.req.opt_in.as_ref().is_some_and(|o| o.parental_consent);
    let child = resolved.is_some_and(|r| {
        verify::younger_than(
            cx.config,
            resolution,
            r,
            w.req.received_at,
            PARENTAL_CONSENT_AGE,
        )
    });
    if child && !parental {
        w.record("denied", json!({"reason": "parental_consent_required"}))
            .await?;
        return Ok((
            Status::Denied,
            Some("parental_consent_required".to_string()),
        ));
    }
    let hashes = match resolved {
        Some(r) => verify::subject_hashes(cx.config, cx.hasher, resolution, r, &w.req),
        None => crate::admission::identity_hashes(cx.hasher, &w.req),
    };
    let sources = [
        Source::OptOut,
        Source::Gpc,
        Source::MinorNotOptedIn,
        Source::Drop,
    ];
    w.record(
        "suppression_lifted",
        json!({"identities": hashes.len(), "minor": w.minor, "parental_consent": parental}),
    )
    .await?;
    let lifted = cx.control.lift_suppressions(&hashes, &sources).await?;
    tracing::info!(request = %w.req.id, lifted, "opt-in: suppressions lifted");
    Ok((Status::Fulfilled, None))
}

/// Tells the recipients the ledger holds for the subject of a deletion or an opt-out, records
/// the outcomes in evidence (`recipients_notified`: ids, channels, outcomes, attempts) and
/// returns the names of those told or to be told, for the answer.
pub(super) async fn tell_recipients(
    cx: &Ctx<'_>,
    w: &mut Work,
    event: &str,
    identity_hashes: &[String],
) -> Result<Vec<String>> {
    if w.lost {
        return Ok(Vec::new());
    }
    let told = crate::recipients::notify(
        cx.config,
        cx.control,
        &w.req.id,
        event,
        &w.req.subject.identities,
        identity_hashes,
    )
    .await?;
    if told.is_empty() {
        return Ok(Vec::new());
    }
    w.record(
        "recipients_notified",
        json!({"event": event, "recipients": told}),
    )
    .await?;
    Ok(told.into_iter().map(|n| n.name).collect())
}
