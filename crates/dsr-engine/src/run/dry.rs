//! `dsr run --dry-run`: admit, resolve, verify and plan every wanted open request, and change
//! nothing — no lease, no admission recorded, no evidence, no report, no store write.

use super::{
    RequestOutcome, RunOptions, RunSummary, Work, connect_checked, plan_batch, resolve_batch,
    verification,
};
use crate::admission::{self, Admission};
use crate::control::{ControlDb, Status};
use crate::error::{Error, Result};
use crate::run::Progress;
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::hash::KeyedHasher;
use dsr_core::request::Request;

/// The plan of every wanted open request, changing nothing.
pub(super) async fn dry_run(
    config: &Config,
    control: &ControlDb,
    opts: &RunOptions,
    progress: &dyn Progress,
    run_id: String,
    now: DateTime<Utc>,
) -> Result<RunSummary> {
    let wanted = |r: &Request| {
        opts.kinds.contains(&r.kind) && opts.only.as_ref().is_none_or(|ids| ids.contains(&r.id))
    };
    let statuses = [
        Status::Received,
        Status::Admitted,
        Status::AwaitingVerification,
        Status::InProgress,
        Status::PartiallyFulfilled,
    ];
    let mut summary = RunSummary {
        run_id,
        job: opts.job.clone(),
        dry_run: true,
        queries: 0,
        requests: Vec::new(),
    };
    let mut work = Vec::new();
    for s in control.by_status(&statuses).await? {
        if !wanted(&s.request) {
            continue;
        }
        match admission::decide(control, &s.request).await? {
            Admission::Denied(reason) => {
                let mut o = RequestOutcome::new(&s.request.id, s.request.kind);
                o.status = Status::Denied.key().into();
                o.reason = Some(reason.into());
                summary.requests.push(o);
            }
            Admission::Admitted { categories_only } => {
                work.push(Work::new(s.request, categories_only))
            }
        }
    }
    if work.is_empty() {
        return Ok(summary);
    }
    progress.start(work.len() as u64);
    let (config, connectors) = connect_checked(config).await?;
    let config = &config;
    let resolution = match connectors {
        Ok(c) => {
            let (resolution, _) = resolve_batch(config, &c, &mut work).await?;
            resolution
        }
        Err(mut unreachable) => return Err(Error::Store(unreachable.swap_remove(0))),
    };
    summary.queries = resolution.queries;
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    verification::apply(config, &hasher, &resolution, &mut work);
    plan_batch(config, &resolution, &mut work, now);
    for w in work {
        let mut o = w.outcome;
        o.status = "planned".into();
        o.reason = w.resolved.and_then(|r| r.held);
        if w.insufficient {
            o.status = Status::Denied.key().into();
            o.reason = Some("insuf_verification".into());
        }
        summary.requests.push(o);
    }
    progress.finish();
    Ok(summary)
}
