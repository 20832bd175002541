//! After a deletion: tombstones, the rows left in place on purpose, and the DROP status of the
//! work items the request was made for (see [`crate::tombstone`] and [`crate::drop`]).
//! Evidence first: the `tombstoned` and `drop_status` entries are in the chain before the
//! control DB records them, and everything here is idempotent for a retrying lease.

use super::{Ctx, Work};
use crate::control::Status;
use crate::error::Result;
use crate::plan::Action;
use crate::resolve::{Resolution, Resolved};
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
