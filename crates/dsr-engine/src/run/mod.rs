//! One run: lease a batch, admit, resolve it, answer access requests, erase with evidence
//! first, and close every request with a sealed evidence chain.
//!
//! * [`run`] (this module): leasing, the heartbeat, and the order of the phases.
//! * `erase`: store by store, the intent entry before the commit, the outcome after, the proof.
//! * `finish`: reports, final transitions and manifests.
//! * `defer`: a batch whose stores cannot all be reached waits for the next run.
//! * `verification`: each request's verification level, what it allows, and minors.
//! * `dry`: `--dry-run`, the plan without a change.
//!
//! Every write for a request is fenced by the lease it is processed under (see
//! [`crate::lease`]). When one is refused — the lease expired and another worker took the
//! request over — the request is dropped from this run without another write, and the rest of
//! the batch goes on.

mod defer;
mod dry;
mod erase;
mod finish;
mod stay;
mod verification;

use crate::admission::{self, Admission};
use crate::control::{ControlDb, Status};
use crate::deliver;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::lease::LeaseSpec;
use crate::load;
use crate::plan::{self, Action, RequestPlan};
use crate::resolve::{self, Resolution, Resolved, RowId};
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::connector::Ledger;
use dsr_core::hash::KeyedHasher;
use dsr_core::request::{Request, RequestKind};
use dsr_evidence::{Chain, Evidence, EvidenceSink, Guard};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

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
    /// How requests are leased.
    pub lease: LeaseOptions,
}

/// How a run leases its requests.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// Name of the worker (recorded with the lease).
    pub worker: String,
    /// Most requests in one batch.
    pub batch: usize,
    /// Lease time; renewed every third of it while the run works.
    pub ttl: Duration,
    /// How long a request left unfinished waits before a worker retries it.
    pub retry_after: Duration,
    /// Skip requests still waiting for their retry time (workers); a scheduled run takes all.
    pub respect_retry_time: bool,
    /// Take requests another lease holds (after a crash); that holder is fenced out.
    pub take_over: bool,
}

impl Default for LeaseOptions {
    fn default() -> LeaseOptions {
        LeaseOptions {
            worker: format!("dsr-{}", std::process::id()),
            batch: 100_000,
            ttl: Duration::from_secs(600),
            retry_after: Duration::from_secs(300),
            respect_retry_time: false,
            take_over: false,
        }
    }
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

/// One request's state through a run.
pub(super) struct Work {
    req: Request,
    categories_only: bool,
    outcome: RequestOutcome,
    resolved: Option<Resolved>,
    plan: Option<RequestPlan>,
    failed_stores: Vec<String>,
    affected: BTreeMap<RowId, u64>,
    /// Shared rows another request of the batch deletes with its owner: (row, work index).
    co_deleted: Vec<(RowId, usize)>,
    /// The request's evidence chain, once evidence starts.
    chain: Option<Chain>,
    /// Per store, what the store's ledger says was erased for the request over all leases.
    ledgers: BTreeMap<String, Ledger>,
    /// Another lease took the request over: nothing more is written for it in this run.
    lost: bool,
    /// An earlier lease sealed the chain with this status but stopped before recording it.
    sealed: Option<Status>,
    /// The control DB's status when the lease was taken.
    status_at_lease: String,
    /// The verification reached (set after resolution; none for opt-outs).
    verified: Option<crate::verify::Verified>,
    /// The subject's records show them under 16.
    minor: bool,
    /// Found, but verified to no level: denied `insuf_verification`, nothing disclosed.
    insufficient: bool,
}

impl Work {
    fn new(req: Request, categories_only: bool) -> Work {
        Work {
            outcome: RequestOutcome::new(&req.id, req.kind),
            req,
            categories_only,
            resolved: None,
            plan: None,
            failed_stores: Vec::new(),
            affected: BTreeMap::new(),
            co_deleted: Vec::new(),
            chain: None,
            ledgers: BTreeMap::new(),
            lost: false,
            sealed: None,
            status_at_lease: String::new(),
            verified: None,
            minor: false,
            insufficient: false,
        }
    }

    /// Settles the result of a write for this request: a refusal by a fence marks the request
    /// lost (`Ok(None)`); other errors stop the run.
    fn settle<T>(&mut self, r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if taken_over(&e) => {
                tracing::warn!(request = %self.req.id, "taken over by a later lease; dropped from this run");
                self.lost = true;
                self.outcome.status = "taken_over".into();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Appends an evidence entry to the request's chain (nothing once the request is lost).
    async fn record(&mut self, kind: &str, data: serde_json::Value) -> Result<()> {
        if self.lost {
            return Ok(());
        }
        let Some(chain) = self.chain.as_mut() else {
            return Err(Error::Control(format!(
                "request {}: evidence chain not open",
                self.req.id
            )));
        };
        let r = chain
            .append(kind, data)
            .await
            .map(|_| ())
            .map_err(Error::from);
        self.settle(r).map(|_| ())
    }

    /// Moves the request to `status` under the run's lease (nothing once it is lost).
    async fn transition(
        &mut self,
        cx: &Ctx<'_>,
        status: Status,
        reason: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        if self.lost {
            return Ok(());
        }
        let r = cx
            .control
            .transition(&self.req.id, status, reason, detail, cx.lease)
            .await;
        self.settle(r).map(|_| ())
    }
}

/// Whether an error says that a later lease holds the request.
fn taken_over(e: &Error) -> bool {
    matches!(
        e,
        Error::Fenced { .. } | Error::Evidence(dsr_evidence::Error::Superseded { .. })
    )
}

/// What every phase of a (non-dry) run shares.
pub(super) struct Ctx<'a> {
    config: &'a Config,
    control: &'a ControlDb,
    hasher: &'a KeyedHasher,
    run_id: &'a str,
    job: &'a str,
    lease: u64,
    progress: &'a dyn Progress,
    sink: &'a Arc<dyn EvidenceSink>,
    delivery: &'a Delivery,
}

impl Ctx<'_> {
    /// The run's evidence writer, guarded against `forbidden` values.
    fn evidence(&self, forbidden: BTreeSet<String>) -> Result<Evidence> {
        let sink = Arc::clone(self.sink);
        let guard = Guard::new(forbidden);
        load::evidence_writer(&self.config.settings, sink, guard, self.run_id, self.lease)
    }
}

/// Opens the evidence chain of every request of the batch.
async fn open_chains(evidence: &Evidence, work: &mut [Work]) -> Result<()> {
    for w in work.iter_mut() {
        let r = evidence
            .chain(&w.req.id, w.req.received_at)
            .await
            .map_err(Error::from);
        if let Some(c) = w.settle(r)? {
            w.chain = Some(c);
        }
    }
    Ok(())
}

fn new_run_id(now: DateTime<Utc>) -> String {
    let suffix: u32 = rand::random::<u32>() % 0x10000;
    format!("run-{}-{suffix:04x}", now.format("%Y%m%dT%H%M%SZ"))
}

/// Renews a lease every third of its time until dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn heartbeat(control: ControlDb, lease: u64, ttl: Duration) -> Heartbeat {
    Heartbeat(tokio::spawn(async move {
        let every = (ttl / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            match control.renew(lease, ttl).await {
                Ok(0) => {
                    tracing::warn!(lease, "lease holds no request any more");
                    break;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(lease, error = %e, "lease renewal failed"),
            }
        }
    }))
}

/// Runs a job: leases the open requests it wants (all of them, or up to the batch size),
/// works on them while renewing the lease, and gives the lease back. A dry run leases nothing
/// and changes nothing. A run that finds nothing to lease returns an empty summary.
pub async fn run(
    config: &Config,
    control: &ControlDb,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunSummary> {
    let now = Utc::now();
    let run_id = new_run_id(now);
    let empty = |run_id: &str| RunSummary {
        run_id: run_id.to_string(),
        job: opts.job.clone(),
        dry_run: opts.dry_run,
        queries: 0,
        requests: Vec::new(),
    };
    if opts.dry_run {
        return dry::dry_run(config, control, opts, progress, run_id, now).await;
    }
    let spec = LeaseSpec {
        worker: opts.lease.worker.clone(),
        kinds: opts.kinds.clone(),
        only: opts.only.clone(),
        limit: opts.lease.batch,
        ttl: opts.lease.ttl,
        respect_retry_time: opts.lease.respect_retry_time,
        take_over: opts.lease.take_over,
    };
    // Where evidence and reports go, before anything is leased (a wrong location fails here).
    let sink = load::evidence_sink(&config.settings).await?;
    let delivery = load::delivery(&config.settings).await?;
    let Some(lease) = control.acquire(&spec).await? else {
        let open = control.open_count().await?;
        tracing::info!(open, "nothing to lease");
        return Ok(empty(&run_id));
    };
    tracing::info!(run = %run_id, lease = lease.token, requests = lease.ids.len(), "lease taken");
    let beat = heartbeat(control.clone(), lease.token, opts.lease.ttl);
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let cx = Ctx {
        config,
        control,
        hasher: &hasher,
        run_id: &run_id,
        job: &opts.job,
        lease: lease.token,
        progress,
        sink: &sink,
        delivery: &delivery,
    };
    let result = run_leased(&cx, &lease.ids, now).await;
    drop(beat);
    let released = control.release(lease.token, opts.lease.retry_after).await;
    let summary = result?;
    released?;
    Ok(summary)
}

/// Connects every store and checks it against the live schema: the config with live key
/// columns filled in, and the connectors or the stores that could not be reached.
async fn connect_checked(
    config: &Config,
) -> Result<(
    Config,
    std::result::Result<load::Connectors, Vec<dsr_core::StoreError>>,
)> {
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
    if unreachable.is_empty() {
        Ok((config, Ok(connectors)))
    } else {
        Ok((config, Err(unreachable)))
    }
}

/// Resolves the whole batch at once; the values a report withholds come back with the
/// resolution. A store failing during resolution is `Err(Error::Store)`.
async fn resolve_batch(
    config: &Config,
    connectors: &load::Connectors,
    work: &mut [Work],
) -> Result<(Resolution, Vec<String>)> {
    let to_resolve: Vec<Request> = work
        .iter()
        .filter(|w| w.req.kind != RequestKind::OptOut)
        .map(|w| w.req.clone())
        .collect();
    let resolution = resolve::resolve(&config.data_map, connectors, &to_resolve).await?;
    tracing::info!(
        requests = to_resolve.len(),
        rows = resolution.rows.len(),
        queries = resolution.queries,
        "batch resolved"
    );
    for w in work.iter_mut() {
        w.resolved = resolution
            .requests
            .iter()
            .find(|r| r.request_id == w.req.id)
            .cloned();
        if let Some(r) = &w.resolved {
            w.outcome.found = r.own.len() + r.shared.len();
            w.outcome.clients = r.clients.iter().cloned().collect();
        }
    }
    let sensitive = deliver::sensitive_values(config, &resolution);
    Ok((resolution, sensitive))
}

/// Plans every deletion of the batch that its verification allows (in each store only as far
/// as the store's `deletion_verification` is reached), then settles shared rows.
fn plan_batch(config: &Config, resolution: &Resolution, work: &mut [Work], now: DateTime<Utc>) {
    for w in work.iter_mut() {
        let Some(r) = &w.resolved else { continue };
        if r.held.is_some()
            || !matches!(w.req.kind, RequestKind::Deletion | RequestKind::Correction)
            || w.insufficient
            || w.sealed.is_some()
            || w.lost
        {
            continue;
        }
        let mut p = if w.req.kind == RequestKind::Correction {
            plan::plan_correction(config, resolution, r, &w.req)
        } else {
            plan::plan(
                &config.data_map,
                &config.exemptions,
                resolution,
                r,
                &w.req,
                now,
            )
        };
        let level = w
            .verified
            .as_ref()
            .map_or_else(|| w.req.verification_level(), |v| v.level);
        verification::restrict(config, resolution, level, &mut p);
        w.plan = Some(p);
    }
    settle_shared(config, resolution, work);
}

/// Admits the leased requests that are new and gathers the work of the batch: the open
/// requests and the denials decided now. Requests taken over meanwhile are skipped.
async fn admit_leased(
    cx: &Ctx<'_>,
    ids: &[String],
) -> Result<(Vec<Work>, Vec<(Request, &'static str)>)> {
    let mut work = Vec::new();
    let mut denied = Vec::new();
    for id in ids {
        let Some(s) = cx.control.get(id).await? else {
            continue;
        };
        let decided = admission::decide(cx.control, &s.request).await?;
        let mut w = Work::new(s.request, false);
        w.status_at_lease = s.status.clone();
        // A denial is recorded in evidence first (see `finish::record_denials`); an admission
        // is not final and goes to the control DB now.
        if s.status == Status::Received.key()
            && let Admission::Admitted { categories_only } = &decided
        {
            let detail = json!({"categories_only": categories_only});
            // Verification from data points is worked out once the batch is resolved.
            let status = if w.req.verification_computed() {
                Status::AwaitingVerification
            } else {
                Status::Admitted
            };
            w.transition(cx, status, None, detail).await?;
            if w.lost {
                continue;
            }
        }
        match decided {
            // A request admitted earlier stays admitted (limits count only earlier requests).
            Admission::Denied(r) if s.status == Status::Received.key() => denied.push((w.req, r)),
            Admission::Denied(_) => {
                w.categories_only = true;
                work.push(w);
            }
            Admission::Admitted { categories_only } => {
                w.categories_only = categories_only;
                work.push(w);
            }
        }
    }
    Ok((work, denied))
}

/// The run over the requests of one lease.
async fn run_leased(cx: &Ctx<'_>, ids: &[String], now: DateTime<Utc>) -> Result<RunSummary> {
    let (mut work, denied) = admit_leased(cx, ids).await?;
    let mut summary = RunSummary {
        run_id: cx.run_id.to_string(),
        job: cx.job.to_string(),
        dry_run: false,
        queries: 0,
        requests: Vec::new(),
    };
    if work.is_empty() && denied.is_empty() {
        return Ok(summary);
    }
    cx.progress.start((work.len() + denied.len()) as u64);

    // Stores: connect and check against the live schema before anything else. Resolution needs
    // every store (identities cross stores; a conflict may only show in one), so a store that
    // cannot be reached defers the whole batch to the next run, recorded, before any change.
    let (config, connectors) = connect_checked(cx.config).await?;
    let cx = Ctx {
        config: &config,
        ..*cx
    };
    let resolved = match connectors {
        Ok(c) => match resolve_batch(&config, &c, &mut work).await {
            Ok(r) => Ok((c, r)),
            Err(Error::Store(e)) => Err(vec![e]),
            Err(e) => return Err(e),
        },
        Err(unreachable) => Err(unreachable),
    };
    let (connectors, (resolution, sensitive)) = match resolved {
        Ok(r) => r,
        Err(unreachable) => {
            let err = defer::defer_batch(&cx, &mut work, &denied, unreachable).await?;
            return Err(err);
        }
    };
    summary.queries = resolution.queries;
    dsr_connector_sql::failpoint::hit("after_find");

    // Evidence: a guard refuses any entry holding an identity or sensitive value of the batch.
    let mut forbidden: BTreeSet<String> = sensitive.iter().cloned().collect();
    for w in &work {
        forbidden.extend(w.req.subject.identities.iter().map(|i| i.value.clone()));
        forbidden.extend(w.req.data_points.iter().map(|p| p.value.clone()));
        forbidden.extend(w.req.corrections.iter().map(|c| c.value.clone()));
    }
    for (r, _) in &denied {
        forbidden.extend(r.subject.identities.iter().map(|i| i.value.clone()));
        forbidden.extend(r.data_points.iter().map(|p| p.value.clone()));
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
    let evidence = cx.evidence(forbidden)?;
    cx.control.start_run(cx.run_id, cx.job).await?;
    finish::record_denials(&cx, &evidence, &denied, &mut summary).await?;
    open_chains(&evidence, &mut work).await?;
    for w in &mut work {
        // A seal whose status the control DB already has is an earlier, recorded end (a
        // partially fulfilled request being retried); one it lacks is an unrecorded end.
        if let Some(status) = finish::sealed_status(&evidence, w).await?
            && status.key() != w.status_at_lease
        {
            w.sealed = Some(status);
        }
    }
    // Verification (from the chains of retried requests, else worked out now), then plans.
    verification::apply(&config, cx.hasher, &resolution, &mut work);
    plan_batch(&config, &resolution, &mut work, now);
    for w in &mut work {
        if w.sealed.is_some() {
            continue;
        }
        w.transition(&cx, Status::InProgress, None, json!({"run": cx.run_id}))
            .await?;
        let ids: Vec<String> = admission::identity_hashes(cx.hasher, &w.req);
        let found = found_counts(&resolution, w.resolved.as_ref());
        let verification = match &w.verified {
            Some(v) => Some(v.to_json(&w.req)),
            None => w.req.verification.as_ref().map(|v| json!({"level": v.level, "method": v.method, "provider": v.provider, "verified_at": v.verified_at})),
        };
        w.record(
            "request_started",
            json!({
                "kind": w.req.kind.key(),
                "jurisdiction": w.req.jurisdiction,
                "subject": ids,
                "verification": verification,
                "data_points": w.req.data_points.len(),
                "gpc": w.req.gpc,
                "minor_under_16": w.minor,
                "found": found,
            }),
        )
        .await?;
    }

    // Erasure, store by store: intent before the commit, outcome after, then proof.
    erase::erase_all(&cx, &connectors, &resolution, &mut work).await?;

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
        if let Some(status) = w.sealed {
            w.outcome.status = status.key().to_string();
            finish::close(&cx, w, status, None).await?;
        } else if !w.lost {
            finish::finish_request(&cx, &resolution, w, &sensitive, now).await?;
        }
        summary.requests.push(w.outcome.clone());
        cx.progress.step(&w.req.id);
    }
    let counts = json!({
        "job": cx.job,
        "lease": cx.lease,
        "requests": summary.requests.len(),
        "fulfilled": summary.requests.iter().filter(|r| r.status == "fulfilled").count(),
        "taken_over": summary.requests.iter().filter(|r| r.status == "taken_over").count(),
        "queries": summary.queries,
        "disclosures_version": config.disclosures.version,
    });
    evidence.write_run(counts.clone()).await?;
    cx.control.finish_run(cx.run_id, &counts).await?;
    cx.progress.finish();
    summary.requests.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(summary)
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
