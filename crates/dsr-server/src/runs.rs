//! On-demand runs: `POST /v1/runs` records the run in the control DB, answers with its id at
//! once and runs the engine in a task; `GET /v1/runs/{id}` reads live progress from memory
//! while the run works and the control DB's record afterwards (also from another server).

use crate::AppState;
use dsr_core::request::RequestKind;
use dsr_engine::portal::PortalRunUpdate;
use dsr_engine::run::{LeaseOptions, Progress, RunOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Live counters of one run.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) total: AtomicI64,
    pub(crate) done: AtomicI64,
}

impl Progress for Counters {
    fn start(&self, total: u64) {
        self.total
            .store(i64::try_from(total).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
    fn step(&self, _what: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    fn finish(&self) {}
}

/// The runs this server started and still works on.
#[derive(Clone, Default)]
pub(crate) struct Runs {
    live: Arc<Mutex<HashMap<String, Arc<Counters>>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Runs {
    /// Live counters of a run this server works on.
    pub(crate) fn live(&self, id: &str) -> Option<(i64, i64)> {
        let live = self.live.lock().ok()?;
        let c = live.get(id)?;
        Some((
            c.total.load(Ordering::Relaxed),
            c.done.load(Ordering::Relaxed),
        ))
    }

    /// Waits for every run started here.
    pub(crate) async fn wait_all(&self) {
        let tasks: Vec<JoinHandle<()>> = match self.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// A new run id: time and randomness, never subject data.
fn new_id() -> String {
    let now = chrono::Utc::now();
    let n: u32 = rand::random();
    format!("od-{}-{n:08x}", now.format("%Y%m%dT%H%M%S"))
}

/// Records a run of `only` (every admitted request when `None`) and starts it.
pub(crate) async fn start(
    state: &AppState,
    only: Option<Vec<String>>,
) -> Result<String, dsr_engine::Error> {
    let id = new_id();
    state
        .control
        .create_portal_run(&id, only.as_deref())
        .await?;
    let counters = Arc::new(Counters::default());
    if let Ok(mut live) = state.runs.live.lock() {
        live.insert(id.clone(), counters.clone());
    }
    let st = state.clone();
    let run_id = id.clone();
    let task = tokio::spawn(async move {
        let opts = RunOptions {
            job: "on_demand".into(),
            kinds: RequestKind::ALL.to_vec(),
            dry_run: false,
            only,
            lease: LeaseOptions {
                worker: format!("dsr-serve-{}", std::process::id()),
                ttl: st.options.run_lease,
                ..LeaseOptions::default()
            },
        };
        let control = &st.control;
        let running = PortalRunUpdate {
            status: "running",
            total: 0,
            done: 0,
            engine_run: None,
            summary: None,
            error: None,
        };
        let _ = control.update_portal_run(&run_id, &running).await;
        let result = dsr_engine::run::run(&st.config, control, &opts, counters.as_ref()).await;
        let total = counters.total.load(Ordering::Relaxed);
        let done = counters.done.load(Ordering::Relaxed);
        let recorded = match result {
            Ok(summary) => {
                let per_request: serde_json::Map<String, serde_json::Value> = summary
                    .requests
                    .iter()
                    .map(|r| (r.id.clone(), serde_json::json!(r.status)))
                    .collect();
                let n = i64::try_from(summary.requests.len()).unwrap_or(i64::MAX);
                let per_request = serde_json::Value::Object(per_request);
                let finished = PortalRunUpdate {
                    status: "finished",
                    total: total.max(n),
                    done,
                    engine_run: Some(&summary.run_id),
                    summary: Some(&per_request),
                    error: None,
                };
                control.update_portal_run(&run_id, &finished).await
            }
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "on-demand run failed");
                let message = e.to_string();
                let failed = PortalRunUpdate {
                    status: "failed",
                    total,
                    done,
                    engine_run: None,
                    summary: None,
                    error: Some(&message),
                };
                control.update_portal_run(&run_id, &failed).await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(run = %run_id, error = %e, "cannot record the run's end");
        }
        if let Ok(mut live) = st.runs.live.lock() {
            live.remove(&run_id);
        }
    });
    if let Ok(mut tasks) = state.runs.tasks.lock() {
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
    Ok(id)
}
