//! A batch whose stores cannot all be reached: nothing is resolved, reported or erased; each
//! request gets a `deferred` entry and event and waits for the next run.

use super::{Ctx, Work, finish};
use crate::admission;
use crate::error::{Error, Result};
use crate::resolve::Resolution;
use chrono::Utc;
use dsr_core::request::{Request, RequestKind};
use serde_json::json;
use std::collections::BTreeSet;

/// A store could not be reached: nothing is resolved, reported or erased. The denials decided
/// at admission are recorded as usual; every other request of the batch gets a `deferred`
/// evidence entry and a `deferred` event and waits for the next run (`admitted`, or still
/// `partially_fulfilled`); opt-outs need no store and are honoured now. The run is closed with
/// status `deferred`; the returned error says which stores and how many requests.
pub(super) async fn defer_batch(
    cx: &Ctx<'_>,
    work: &mut [Work],
    denied: &[(Request, &'static str)],
    unreachable: Vec<dsr_core::StoreError>,
) -> Result<Error> {
    // Store errors are value-free (code and constraint only), so they may go into evidence.
    let stores: Vec<serde_json::Value> = unreachable
        .iter()
        .map(|e| json!({"store": e.store, "table": e.table, "code": e.code, "message": e.message}))
        .collect();
    let to_defer = work
        .iter()
        .filter(|w| w.req.kind != RequestKind::OptOut)
        .count();
    let reason = Error::Deferred {
        stores: unreachable.clone(),
        requests: to_defer,
    }
    .to_string();
    let mut forbidden: BTreeSet<String> = BTreeSet::new();
    for w in work.iter() {
        forbidden.extend(w.req.subject.identities.iter().map(|i| i.value.clone()));
    }
    for (r, _) in denied {
        forbidden.extend(r.subject.identities.iter().map(|i| i.value.clone()));
    }
    let evidence = cx.evidence(forbidden)?;
    cx.control.start_run(cx.run_id, cx.job).await?;
    let mut summary = super::RunSummary {
        run_id: cx.run_id.to_string(),
        job: cx.job.to_string(),
        dry_run: false,
        queries: 0,
        requests: Vec::new(),
    };
    finish::record_denials(cx, &evidence, denied, &mut summary).await?;
    super::open_chains(&evidence, work).await?;
    for w in work.iter_mut() {
        if w.lost {
            continue;
        }
        // An opt-out needs no store: it is honoured now, not after the outage.
        if w.req.kind == RequestKind::OptOut {
            let empty = Resolution::default();
            finish::finish_request(cx, &empty, w, &[], Utc::now()).await?;
            cx.progress.step(&w.req.id);
            continue;
        }
        // Evidence first, then the control DB.
        let subject = admission::identity_hashes(cx.hasher, &w.req);
        w.record(
            "deferred",
            json!({"kind": w.req.kind.key(), "subject": subject, "unreachable": stores}),
        )
        .await?;
        if w.lost {
            continue;
        }
        let r = cx
            .control
            .defer(
                &w.req.id,
                json!({"run": cx.run_id, "unreachable": stores}),
                cx.lease,
            )
            .await;
        if let Some(status) = w.settle(r)? {
            tracing::warn!(request = %w.req.id, status = %status, "request deferred to the next run");
        }
        cx.progress.step(&w.req.id);
    }
    let counts = json!({
        "job": cx.job,
        "lease": cx.lease,
        "status": "deferred",
        "reason": reason,
        "unreachable": stores,
        "requests": work.len() + denied.len(),
        "deferred": to_defer,
        "denied": denied.len(),
        "fulfilled": 0,
        "queries": 0,
        "disclosures_version": cx.config.disclosures.version,
    });
    evidence.write_run(counts.clone()).await?;
    cx.control.finish_run(cx.run_id, &counts).await?;
    cx.progress.finish();
    Ok(Error::Deferred {
        stores: unreachable,
        requests: to_defer,
    })
}
