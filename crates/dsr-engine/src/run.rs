//! One run: admit, resolve the batch, answer access requests, erase with evidence first, and
//! close every request with a manifest.

use crate::admission::{self, Admission};
use crate::control::{ControlDb, Status};
use crate::deliver;
use crate::error::{Error, Result};
use crate::load;
use crate::plan::{self, Action, RequestPlan};
use crate::resolve::{self, Resolution, Resolved, RowId};
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::connector::{EraseGroup, EraseOp};
use dsr_core::hash::KeyedHasher;
use dsr_core::jurisdiction::{regime_for, rules};
use dsr_core::request::{Request, RequestKind};
use dsr_core::value::Value;
use dsr_evidence::{DirSink, Guard, RunLog};
use dsr_report::{Count, DeletionSummary, RetainedCount, Scope};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Job name (recorded with the run).
    pub job: String,
    /// Request kinds the job processes.
    pub kinds: Vec<RequestKind>,
    /// Show the plan; change nothing.
    pub dry_run: bool,
    /// Only these request ids (all when `None`).
    pub only: Option<Vec<String>>,
}

/// Progress of a run, for a terminal bar or logs.
pub trait Progress: Send + Sync {
    /// The run has `total` requests to process.
    fn start(&self, total: u64);
    /// One step done.
    fn step(&self, what: &str);
    /// The run is over.
    fn finish(&self);
}

/// A progress sink that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn step(&self, _: &str) {}
    fn finish(&self) {}
}

/// One line of a plan: how many records of a table get an action.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlanLine {
    /// `store.table`.
    pub table: String,
    /// `delete`, `mask` or `retain`.
    pub action: String,
    /// Records.
    pub count: usize,
    /// Retention reason.
    pub reason: Option<String>,
}

/// The outcome of one request in a run.
#[derive(Debug, Clone, Serialize)]
pub struct RequestOutcome {
    /// Request id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Final status.
    pub status: String,
    /// Denial or hold reason.
    pub reason: Option<String>,
    /// Records found (own and shared).
    pub found: usize,
    /// Records deleted.
    pub deleted: u64,
    /// Records masked.
    pub masked: u64,
    /// Records retained.
    pub retained: usize,
    /// Clients to contact.
    pub clients: Vec<String>,
    /// Report directory.
    pub report: Option<String>,
    /// The erasure plan (deletions).
    pub plan: Vec<PlanLine>,
}

impl RequestOutcome {
    fn new(id: &str, kind: RequestKind) -> RequestOutcome {
        RequestOutcome {
            id: id.to_string(),
            kind: kind.key().to_string(),
            status: String::new(),
            reason: None,
            found: 0,
            deleted: 0,
            masked: 0,
            retained: 0,
            clients: Vec::new(),
            report: None,
            plan: Vec::new(),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Job.
    pub job: String,
    /// Dry run.
    pub dry_run: bool,
    /// Store queries issued while resolving.
    pub queries: usize,
    /// Per request.
    pub requests: Vec<RequestOutcome>,
}

struct Work {
    req: Request,
    categories_only: bool,
    outcome: RequestOutcome,
    resolved: Option<Resolved>,
    plan: Option<RequestPlan>,
    failed_stores: Vec<String>,
    affected: BTreeMap<RowId, u64>,
    /// Shared rows another request of the batch deletes with its owner: (row, work index).
    co_deleted: Vec<(RowId, usize)>,
}

fn new_run_id(now: DateTime<Utc>) -> String {
    let suffix: u32 = rand::random::<u32>() % 0x10000;
    format!("run-{}-{suffix:04x}", now.format("%Y%m%dT%H%M%SZ"))
}

/// Runs a job over the control DB's requests.
pub async fn run(
    config: &Config,
    control: &ControlDb,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunSummary> {
    let now = Utc::now();
    let run_id = new_run_id(now);
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let wanted = |r: &Request| {
        opts.kinds.contains(&r.kind) && opts.only.as_ref().is_none_or(|ids| ids.contains(&r.id))
    };

    // Admission (in a dry run: decided, not recorded).
    let mut admissions: BTreeMap<String, Admission> = BTreeMap::new();
    if opts.dry_run {
        for s in control.by_status(&[Status::Received]).await? {
            if wanted(&s.request) {
                admissions.insert(
                    s.request.id.clone(),
                    admission::decide(control, &s.request).await?,
                );
            }
        }
    } else {
        for (id, a) in admission::admit_received(control, &opts.kinds).await? {
            admissions.insert(id, a);
        }
    }
    // Partially fulfilled requests are retried: their failed stores run again.
    let mut statuses = vec![
        Status::Admitted,
        Status::InProgress,
        Status::PartiallyFulfilled,
    ];
    if opts.dry_run {
        statuses.push(Status::Received);
    }
    let mut work: Vec<Work> = Vec::new();
    for s in control.by_status(&statuses).await? {
        if !wanted(&s.request) {
            continue;
        }
        let adm = admissions.get(&s.request.id).cloned();
        if let Some(Admission::Denied(_)) = adm {
            continue;
        }
        // Re-derive the answer scope (stable across restarts).
        let categories_only = match adm {
            Some(Admission::Admitted { categories_only }) => categories_only,
            _ => matches!(
                admission::decide(control, &s.request).await?,
                Admission::Admitted {
                    categories_only: true
                }
            ),
        };
        work.push(Work {
            outcome: RequestOutcome::new(&s.request.id, s.request.kind),
            req: s.request,
            categories_only,
            resolved: None,
            plan: None,
            failed_stores: Vec::new(),
            affected: BTreeMap::new(),
            co_deleted: Vec::new(),
        });
    }
    let denied: Vec<(String, &'static str)> = admissions
        .iter()
        .filter_map(|(id, a)| match a {
            Admission::Denied(r) => Some((id.clone(), *r)),
            _ => None,
        })
        .collect();
    let mut summary = RunSummary {
        run_id: run_id.clone(),
        job: opts.job.clone(),
        dry_run: opts.dry_run,
        queries: 0,
        requests: Vec::new(),
    };
    for (id, reason) in &denied {
        let Some(stored) = control.get(id).await? else {
            continue;
        };
        let mut o = RequestOutcome::new(id, stored.request.kind);
        o.status = Status::Denied.key().into();
        o.reason = Some((*reason).into());
        summary.requests.push(o);
    }
    if work.is_empty() && denied.is_empty() {
        return Ok(summary);
    }
    progress.start((work.len() + denied.len()) as u64);

    // Stores: connect and check against the live schema before anything else. Resolution needs
    // every store (identities cross stores; a conflict may only show in one), so a store that
    // cannot be reached defers the whole batch to the next run, recorded, before any change.
    let mut map = config.data_map.clone();
    let (connectors, mut unreachable) = load::connect_each(&map).await?;
    if unreachable.is_empty() {
        match load::check_live(&mut map, &connectors).await {
            Ok(problems) if !problems.is_empty() => return Err(Error::Schema(problems)),
            Ok(_) => {}
            Err(Error::Store(e)) => unreachable.push(e),
            Err(e) => return Err(e),
        }
    }
    let config = Config {
        data_map: map,
        ..config.clone()
    };
    let config = &config;

    // Resolve the whole batch at once.
    let to_resolve: Vec<Request> = work
        .iter()
        .filter(|w| w.req.kind != RequestKind::OptOut)
        .map(|w| w.req.clone())
        .collect();
    let mut resolution = None;
    if unreachable.is_empty() {
        match resolve::resolve(&config.data_map, &connectors, &to_resolve).await {
            Ok(r) => resolution = Some(r),
            Err(Error::Store(e)) => unreachable.push(e),
            Err(e) => return Err(e),
        }
    }
    let Some(resolution) = resolution else {
        if opts.dry_run {
            return Err(Error::Store(unreachable.swap_remove(0)));
        }
        let err = defer_batch(
            DeferCtx {
                config,
                control,
                hasher: &hasher,
                run_id: &run_id,
                job: &opts.job,
                progress,
            },
            &mut work,
            &denied,
            unreachable,
        )
        .await?;
        return Err(err);
    };
    summary.queries = resolution.queries;
    tracing::info!(
        requests = to_resolve.len(),
        rows = resolution.rows.len(),
        queries = resolution.queries,
        "batch resolved"
    );
    for w in &mut work {
        w.resolved = resolution
            .requests
            .iter()
            .find(|r| r.request_id == w.req.id)
            .cloned();
        if let Some(r) = &w.resolved {
            w.outcome.found = r.own.len() + r.shared.len();
            w.outcome.clients = r.clients.iter().cloned().collect();
            if r.held.is_none() && w.req.kind == RequestKind::Deletion {
                let p = plan::plan(
                    &config.data_map,
                    &config.exemptions,
                    &resolution,
                    r,
                    &w.req,
                    now,
                );
                w.plan = Some(p);
            }
        }
    }
    settle_shared(config, &resolution, &mut work);
    let sensitive = deliver::sensitive_values(config, &resolution);
    dsr_connector_sql::failpoint::hit("after_find");

    if opts.dry_run {
        for w in work {
            let mut o = w.outcome;
            o.status = "planned".into();
            o.reason = w.resolved.and_then(|r| r.held);
            summary.requests.push(o);
        }
        progress.finish();
        return Ok(summary);
    }

    // Evidence: a guard refuses any entry holding an identity or sensitive value of the batch.
    let mut forbidden: BTreeSet<String> = sensitive.iter().cloned().collect();
    for w in &work {
        forbidden.extend(w.req.subject.identities.iter().map(|i| i.value.clone()));
    }
    for r in &resolution.requests {
        forbidden.extend(r.keys.iter().map(|k| k.value.clone()));
    }
    for row in &resolution.rows {
        if let Some(tm) = config.data_map.table(&row.table) {
            for (c, _) in tm.identity_columns() {
                forbidden.extend(row.record.get(&c.name).as_text());
            }
        }
    }
    let sink = Arc::new(DirSink::new(PathBuf::from(&config.settings.evidence)));
    let mut log = RunLog::open(sink, &run_id, Guard::new(forbidden))?;
    control.start_run(&run_id, &opts.job).await?;
    log.append("run_started", None, json!({"job": opts.job, "requests": work.len() + denied.len(), "disclosures_version": config.disclosures.version})).await?;
    record_denials(config, control, &hasher, &denied, &mut log, progress).await?;
    for w in &work {
        control
            .transition(&w.req.id, Status::InProgress, None, json!({"run": run_id}))
            .await?;
        let ids: Vec<String> = admission::identity_hashes(&hasher, &w.req);
        log.append(
            "request_started",
            Some(&w.req.id),
            json!({
                "kind": w.req.kind.key(),
                "jurisdiction": w.req.jurisdiction,
                "subject": ids,
                "verification": w.req.verification.as_ref().map(|v| json!({"level": v.level, "method": v.method, "verified_at": v.verified_at})),
                "found": found_counts(&resolution, w.resolved.as_ref()),
            }),
        )
        .await?;
    }

    // Erasure, store by store: intent before the commit, outcome after, then proof.
    erase_all(config, &connectors, &resolution, &mut work, &mut log).await?;

    // Shared rows deleted with their last owner count as deleted for every owner's request.
    for j in 0..work.len() {
        for (r, i) in work[j].co_deleted.clone() {
            if work[i].affected.get(&r).is_some_and(|n| *n > 0) {
                if let Some(p) = work[j].plan.as_mut() {
                    p.decisions.insert(r, Action::Delete);
                }
                work[j].affected.insert(r, 1);
            }
        }
    }

    // Answers and manifests.
    for w in &mut work {
        finish_request(
            config,
            control,
            &hasher,
            &resolution,
            w,
            &sensitive,
            &mut log,
            now,
        )
        .await?;
        summary.requests.push(w.outcome.clone());
        progress.step(&w.req.id);
    }
    let counts = json!({
        "requests": summary.requests.len(),
        "fulfilled": summary.requests.iter().filter(|r| r.status == "fulfilled").count(),
        "queries": summary.queries,
    });
    log.append("run_finished", None, counts.clone()).await?;
    control.finish_run(&run_id, &counts).await?;
    progress.finish();
    summary.requests.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(summary)
}

/// Records the denials decided at admission: an entry and a manifest each.
async fn record_denials(
    config: &Config,
    control: &ControlDb,
    hasher: &KeyedHasher,
    denied: &[(String, &'static str)],
    log: &mut RunLog,
    progress: &dyn Progress,
) -> Result<()> {
    for (id, reason) in denied {
        log.append("denied", Some(id), json!({"reason": reason}))
            .await?;
        let manifest = manifest_for(
            control,
            config,
            hasher,
            id,
            None,
            "denied",
            Some(reason),
            &[],
            None,
        )
        .await?;
        log.write_manifest(id, manifest).await?;
        progress.step(id);
    }
    Ok(())
}

/// What [`defer_batch`] needs from the run.
struct DeferCtx<'a> {
    config: &'a Config,
    control: &'a ControlDb,
    hasher: &'a KeyedHasher,
    run_id: &'a str,
    job: &'a str,
    progress: &'a dyn Progress,
}

/// A store could not be reached: nothing is resolved, reported or erased. The denials decided
/// at admission are recorded as usual; every other request of the batch gets a `deferred`
/// evidence entry and a `deferred` event and waits for the next run (`admitted`, or still
/// `partially_fulfilled`). The run is closed with status `deferred`; the returned error says
/// which stores and how many requests.
async fn defer_batch(
    cx: DeferCtx<'_>,
    work: &mut [Work],
    denied: &[(String, &'static str)],
    unreachable: Vec<dsr_core::StoreError>,
) -> Result<Error> {
    let DeferCtx {
        config,
        control,
        hasher,
        run_id,
        job,
        progress,
    } = cx;
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
    let sink = Arc::new(DirSink::new(PathBuf::from(&config.settings.evidence)));
    let mut log = RunLog::open(sink, run_id, Guard::new(forbidden))?;
    control.start_run(run_id, job).await?;
    log.append("run_started", None, json!({"job": job, "requests": work.len() + denied.len(), "disclosures_version": config.disclosures.version})).await?;
    record_denials(config, control, hasher, denied, &mut log, progress).await?;
    for w in work.iter_mut() {
        // An opt-out needs no store: it is honoured now, not after the outage.
        if w.req.kind == RequestKind::OptOut {
            let empty = Resolution::default();
            finish_request(
                config,
                control,
                hasher,
                &empty,
                w,
                &[],
                &mut log,
                Utc::now(),
            )
            .await?;
            progress.step(&w.req.id);
            continue;
        }
        // Evidence first, then the control DB.
        log.append(
            "deferred",
            Some(&w.req.id),
            json!({
                "kind": w.req.kind.key(),
                "subject": admission::identity_hashes(hasher, &w.req),
                "unreachable": stores,
            }),
        )
        .await?;
        let status = control
            .defer(&w.req.id, json!({"run": run_id, "unreachable": stores}))
            .await?;
        tracing::warn!(request = %w.req.id, status = %status, "request deferred to the next run");
        progress.step(&w.req.id);
    }
    let counts = json!({
        "status": "deferred",
        "reason": reason,
        "unreachable": stores,
        "requests": work.len() + denied.len(),
        "deferred": to_defer,
        "denied": denied.len(),
        "fulfilled": 0,
        "queries": 0,
    });
    log.append("run_finished", None, counts.clone()).await?;
    control.finish_run(run_id, &counts).await?;
    progress.finish();
    Ok(Error::Deferred {
        stores: unreachable,
        requests: to_defer,
    })
}

/// Lets shared rows whose every owner is erased in this batch go with the last of them.
fn settle_shared(config: &Config, resolution: &Resolution, work: &mut [Work]) {
    let idx: Vec<usize> = (0..work.len())
        .filter(|&i| work[i].plan.is_some())
        .collect();
    let mut plans: Vec<(BTreeSet<dsr_core::request::Identity>, RequestPlan)> = idx
        .iter()
        .map(|&i| {
            let keys = work[i]
                .resolved
                .as_ref()
                .map(|r| r.keys.clone())
                .unwrap_or_default();
            (keys, work[i].plan.take().unwrap_or_default())
        })
        .collect();
    let by_other = plan::settle_shared(&config.data_map, resolution, &mut plans);
    for (k, (_, p)) in plans.into_iter().enumerate() {
        let w = &mut work[idx[k]];
        w.outcome.plan = plan_lines(resolution, &p);
        w.plan = Some(p);
        w.co_deleted = by_other[k].iter().map(|(r, j)| (*r, idx[*j])).collect();
    }
}

fn found_counts(resolution: &Resolution, r: Option<&Resolved>) -> serde_json::Value {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(r) = r {
        for &row in r.own.iter().chain(r.shared.iter()) {
            *m.entry(resolution.rows[row].table.to_string()).or_default() += 1;
        }
    }
    json!(m)
}

fn plan_lines(resolution: &Resolution, p: &RequestPlan) -> Vec<PlanLine> {
    let mut m: BTreeMap<(String, String, Option<String>), usize> = BTreeMap::new();
    for (&r, a) in &p.decisions {
        let (action, reason) = match a {
            Action::Delete => ("delete", None),
            Action::Mask(_) => ("mask", None),
            Action::Retain(x) => ("retain", Some(x.name.clone())),
        };
        *m.entry((
            resolution.rows[r].table.to_string(),
            action.to_string(),
            reason,
        ))
        .or_default() += 1;
    }
    m.into_iter()
        .map(|((table, action, reason), count)| PlanLine {
            table,
            action,
            count,
            reason,
        })
        .collect()
}

async fn erase_all(
    config: &Config,
    connectors: &load::Connectors,
    resolution: &Resolution,
    work: &mut [Work],
    log: &mut RunLog,
) -> Result<()> {
    for store in &config.data_map.stores {
        let Some(conn) = connectors.get(&store.name) else {
            continue;
        };
        let mut groups: Vec<EraseGroup> = Vec::new();
        let mut rows_of_group: Vec<Vec<RowId>> = Vec::new();
        let mut work_of_group: Vec<usize> = Vec::new();
        for (wi, w) in work.iter().enumerate() {
            let Some(p) = &w.plan else { continue };
            let per_store = plan::ops_in_order(&config.data_map, p, resolution);
            let Some(ops) = per_store.get(&store.name) else {
                continue;
            };
            let mut eops = Vec::new();
            let mut rows = Vec::new();
            let mut tally: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
            let mut keys: Vec<String> = Vec::new();
            for (r, action) in ops {
                let row = &resolution.rows[*r];
                let Some(tm) = config.data_map.table(&row.table) else {
                    continue;
                };
                let (op, name) = match action {
                    Action::Delete => (
                        EraseOp::Delete {
                            table: row.table.table.clone(),
                            key_columns: tm.key.clone(),
                            key: row.record.key.clone(),
                        },
                        "delete",
                    ),
                    Action::Mask(ms) => (
                        EraseOp::Mask {
                            table: row.table.table.clone(),
                            key_columns: tm.key.clone(),
                            key: row.record.key.clone(),
                            set: plan::masked_values(tm, &row.record, ms),
                        },
                        "mask",
                    ),
                    Action::Retain(_) => continue,
                };
                *tally
                    .entry(row.table.table.clone())
                    .or_default()
                    .entry(name)
                    .or_default() += 1;
                keys.push(format!("{}\u{1f}{}", row.table, row.record.key_text()));
                eops.push(op);
                rows.push(*r);
            }
            if eops.is_empty() {
                continue;
            }
            keys.sort();
            let digest = dsr_evidence::sha256_hex(keys.join("\n").as_bytes());
            // Evidence first: the intent is durable before the store commits.
            log.append(
                "erase_intent",
                Some(&w.req.id),
                json!({"store": store.name, "tables": tally, "records": eops.len(), "keys_sha256": digest}),
            )
            .await?;
            dsr_connector_sql::failpoint::hit("after_intent");
            groups.push(EraseGroup {
                request_id: w.req.id.clone(),
                ops: eops,
            });
            rows_of_group.push(rows);
            work_of_group.push(wi);
        }
        if groups.is_empty() {
            continue;
        }
        let erased = conn.erase(&groups).await;
        dsr_connector_sql::failpoint::hit("after_commit");
        dsr_connector_sql::failpoint::hit("before_outcome");
        match erased {
            Err(e) => {
                tracing::warn!(store = %store.name, code = %e.code, "store erase failed; left unchanged");
                for (gi, g) in groups.iter().enumerate() {
                    log.append("erase_outcome", Some(&g.request_id), json!({"store": store.name, "ok": false, "error": {"code": e.code, "message": e.message}})).await?;
                    work[work_of_group[gi]]
                        .failed_stores
                        .push(store.name.clone());
                }
            }
            Ok(outcomes) => {
                for (gi, o) in outcomes.iter().enumerate() {
                    let w = &mut work[work_of_group[gi]];
                    match &o.result {
                        Ok(counts) => {
                            for (r, n) in rows_of_group[gi].iter().zip(counts) {
                                w.affected.insert(*r, *n);
                            }
                            log.append("erase_outcome", Some(&o.request_id), json!({"store": store.name, "ok": true, "affected": counts.iter().sum::<u64>()})).await?;
                            // Proof: re-query the deleted keys.
                            let mut by_table: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
                            for r in &rows_of_group[gi] {
                                if w.plan.as_ref().and_then(|p| p.decisions.get(r))
                                    == Some(&Action::Delete)
                                {
                                    let row = &resolution.rows[*r];
                                    by_table
                                        .entry(row.table.table.clone())
                                        .or_default()
                                        .push(row.record.key.clone());
                                }
                            }
                            let mut remaining = 0u64;
                            let mut unverified: Option<dsr_core::StoreError> = None;
                            for (table, keys) in &by_table {
                                let key_cols = config
                                    .data_map
                                    .table(&dsr_core::config::TableRef {
                                        store: store.name.clone(),
                                        table: table.clone(),
                                    })
                                    .map(|t| t.key.clone())
                                    .unwrap_or_default();
                                match conn.count_present(table, &key_cols, keys).await {
                                    Ok(n) => remaining += n,
                                    // The commit stands; the proof is missing, so the request
                                    // stays open and the next run re-checks.
                                    Err(e) => unverified = Some(e),
                                }
                            }
                            let error = unverified
                                .as_ref()
                                .map(|e| json!({"code": e.code, "message": e.message}));
                            log.append("erase_verified", Some(&o.request_id), json!({"store": store.name, "checked": by_table.values().map(Vec::len).sum::<usize>(), "remaining": remaining, "error": error})).await?;
                            if remaining > 0 || unverified.is_some() {
                                w.failed_stores.push(store.name.clone());
                            }
                        }
                        Err(e) => {
                            tracing::warn!(store = %store.name, request = %o.request_id, code = %e.code, "request rolled back in store");
                            log.append("erase_outcome", Some(&o.request_id), json!({"store": store.name, "ok": false, "error": {"code": e.code, "message": e.message}})).await?;
                            w.failed_stores.push(store.name.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn finish_request(
    config: &Config,
    control: &ControlDb,
    hasher: &KeyedHasher,
    resolution: &Resolution,
    w: &mut Work,
    sensitive: &[String],
    log: &mut RunLog,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = w.req.id.clone();
    let mut artifacts = Vec::new();
    let (status, reason): (Status, Option<String>) = match (&w.req.kind, &w.resolved) {
        (RequestKind::OptOut, _) => {
            let hashes = admission::identity_hashes(hasher, &w.req);
            control.suppress(&id, &hashes).await?;
            log.append("suppressed", Some(&id), json!({"identities": hashes.len()}))
                .await?;
            (Status::Fulfilled, None)
        }
        (_, None) => (Status::Denied, Some("no_match".to_string())),
        (_, Some(r)) if r.held.is_some() => {
            log.append(
                "held_for_review",
                Some(&id),
                json!({"subjects": r.keys.len()}),
            )
            .await?;
            (Status::HeldForReview, r.held.clone())
        }
        (_, Some(r)) if r.own.is_empty() && r.shared.is_empty() && r.clients.is_empty() => {
            (Status::Denied, Some("no_match".to_string()))
        }
        (kind, Some(r)) => {
            let clients: Vec<String> = r.clients.iter().cloned().collect();
            let rows: Vec<RowId> = r.own.iter().chain(r.shared.iter()).copied().collect();
            let (scope, deletion) = if *kind == RequestKind::Deletion {
                let s = deletion_summary(config, resolution, w);
                (
                    Scope::CategoriesOnly { reason: "This is the answer to a deletion request: it says what was deleted, de-identified and kept.".into() },
                    Some(s),
                )
            } else if w.categories_only {
                let reason = if *kind == RequestKind::AccessCategories {
                    "You asked for the categories of personal information we hold.".to_string()
                } else {
                    "Your identity was verified to a reasonable degree, not the reasonably high degree needed to disclose specific pieces of information (11 CCR §7062); we disclose the categories.".to_string()
                };
                (Scope::CategoriesOnly { reason }, None)
            } else {
                (Scope::SpecificPieces, None)
            };
            let input = deliver::report_input(
                config,
                &w.req,
                resolution,
                &rows,
                scope,
                clients,
                deletion,
                sensitive.to_vec(),
                now,
            );
            let rendered = dsr_report::render(&input).map_err(|e| Error::Report(e.to_string()))?;
            let (dir, js, hs) = deliver::deliver(
                &PathBuf::from(&config.settings.delivery),
                &id,
                &rendered.json,
                &rendered.html,
            )?;
            artifacts.push(json!({"name": "report.json", "sha256": js}));
            artifacts.push(json!({"name": "report.html", "sha256": hs}));
            log.append(
                "report_delivered",
                Some(&id),
                json!({"artifacts": artifacts}),
            )
            .await?;
            w.outcome.report = Some(dir.display().to_string());
            if w.failed_stores.is_empty() {
                (Status::Fulfilled, None)
            } else {
                (
                    Status::PartiallyFulfilled,
                    Some(format!(
                        "stores failed and will be retried: {}",
                        w.failed_stores.join(", ")
                    )),
                )
            }
        }
    };
    let denial = if status == Status::Denied {
        reason.as_deref()
    } else {
        None
    };
    control
        .transition(&id, status, denial, json!({"reason": reason}))
        .await?;
    w.outcome.status = status.key().to_string();
    w.outcome.reason = reason.clone();
    if let Some(p) = &w.plan {
        w.outcome.retained = p
            .decisions
            .values()
            .filter(|a| matches!(a, Action::Retain(_)))
            .count();
        for (r, a) in &p.decisions {
            let n = w.affected.get(r).copied().unwrap_or(0);
            match a {
                Action::Delete => w.outcome.deleted += n,
                Action::Mask(_) => w.outcome.masked += n,
                Action::Retain(_) => {}
            }
        }
    }
    let manifest = manifest_for(
        control,
        config,
        hasher,
        &id,
        Some(w),
        status.key(),
        reason.as_deref(),
        &artifacts,
        Some(resolution),
    )
    .await?;
    log.write_manifest(&id, manifest).await?;
    tracing::info!(request = %id, status = status.key(), found = w.outcome.found, deleted = w.outcome.deleted, masked = w.outcome.masked, retained = w.outcome.retained, "request finished");
    Ok(())
}

fn deletion_summary(config: &Config, resolution: &Resolution, w: &Work) -> DeletionSummary {
    let mut s = DeletionSummary::default();
    let Some(p) = &w.plan else { return s };
    let mut deleted: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut masked: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut failed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut retained: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    for (&r, a) in &p.decisions {
        let row = &resolution.rows[r];
        let label = config
            .data_map
            .table(&row.table)
            .map(|t| t.label.clone())
            .unwrap_or_default();
        let k = (label.clone(), row.table.store.clone());
        let failed_store = w.failed_stores.contains(&row.table.store);
        match a {
            Action::Retain(x) => {
                *retained
                    .entry((
                        label,
                        row.table.store.clone(),
                        x.name.clone(),
                        x.basis.clone(),
                    ))
                    .or_default() += 1
            }
            _ if failed_store || !w.affected.contains_key(&r) => *failed.entry(k).or_default() += 1,
            Action::Delete => {
                *deleted.entry(k).or_default() += w.affected.get(&r).copied().unwrap_or(0)
            }
            Action::Mask(_) => {
                *masked.entry(k).or_default() += w.affected.get(&r).copied().unwrap_or(0)
            }
        }
    }
    let counts = |m: BTreeMap<(String, String), u64>| {
        m.into_iter()
            .map(|((record_label, source), count)| Count {
                record_label,
                source,
                count,
            })
            .collect()
    };
    s.deleted = counts(deleted);
    s.masked = counts(masked);
    s.failed = counts(failed);
    s.retained = retained
        .into_iter()
        .map(
            |((record_label, source, reason, basis), count)| RetainedCount {
                record_label,
                source,
                count,
                reason,
                basis,
            },
        )
        .collect();
    if config.settings.business.sells {
        s.opt_out_offer = Some(match &config.settings.business.opt_out_url {
            Some(u) => format!("We sell or share personal information. You can opt out of the sale or sharing of your personal information at {u}."),
            None => "We sell or share personal information. You can opt out of the sale or sharing of your personal information by contacting us.".into(),
        });
    }
    s
}

#[allow(clippy::too_many_arguments)]
async fn manifest_for(
    control: &ControlDb,
    config: &Config,
    hasher: &KeyedHasher,
    id: &str,
    w: Option<&Work>,
    status: &str,
    reason: Option<&str>,
    artifacts: &[serde_json::Value],
    resolution: Option<&Resolution>,
) -> Result<serde_json::Value> {
    let stored = control.get(id).await?;
    let req = w.map(|w| w.req.clone()).or(stored.map(|s| s.request));
    let timeline: Vec<serde_json::Value> = control
        .events(id)
        .await?
        .into_iter()
        .map(|(at, event, _)| json!({"at": at, "event": event}))
        .collect();
    let mut stores: BTreeMap<String, BTreeMap<String, BTreeMap<&str, u64>>> = BTreeMap::new();
    let mut retained: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    if let (Some(w), Some(res)) = (w, resolution) {
        if let Some(r) = &w.resolved {
            for &row in r.own.iter().chain(r.shared.iter()) {
                let t = &res.rows[row].table;
                *stores
                    .entry(t.store.clone())
                    .or_default()
                    .entry(t.table.clone())
                    .or_default()
                    .entry("found")
                    .or_default() += 1;
            }
        }
        if let Some(p) = &w.plan {
            for (&row, a) in &p.decisions {
                let t = &res.rows[row].table;
                let n = w.affected.get(&row).copied().unwrap_or(0);
                let e = stores
                    .entry(t.store.clone())
                    .or_default()
                    .entry(t.table.clone())
                    .or_default();
                match a {
                    Action::Delete => *e.entry("deleted").or_default() += n,
                    Action::Mask(_) => *e.entry("masked").or_default() += n,
                    Action::Retain(x) => {
                        *e.entry("retained").or_default() += 1;
                        *retained
                            .entry((t.to_string(), x.name.clone(), x.basis.clone()))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let req_json = req.as_ref().map(|r| {
        let regime = regime_for(&r.jurisdiction);
        json!({
            "id": r.id,
            "kind": r.kind.key(),
            "jurisdiction": r.jurisdiction,
            "regime": regime,
            "received_at": r.received_at,
            "due_at": regime.map(|g| rules(g).due(r.received_at)),
            "client": r.client,
            "subject": admission::identity_hashes(hasher, r),
        })
    });
    Ok(json!({
        "request": req_json,
        "verification": req.as_ref().and_then(|r| r.verification.as_ref()).map(|v| json!({"level": v.level, "method": v.method, "verified_at": v.verified_at})),
        "status": status,
        "reason": reason,
        "timeline": timeline,
        "stores": stores,
        "retained": retained.into_iter().map(|((table, name, basis), count)| json!({"table": table, "count": count, "reason": name, "basis": basis})).collect::<Vec<_>>(),
        "failed_stores": w.map(|w| w.failed_stores.clone()).unwrap_or_default(),
        "deleted_with_co_owner": w.map(|w| w.co_deleted.len()).unwrap_or_default(),
        "clients_to_contact": w.map(|w| w.outcome.clients.clone()).unwrap_or_default(),
        "artifacts": artifacts,
        "disclosures_version": config.disclosures.version,
    }))
}
