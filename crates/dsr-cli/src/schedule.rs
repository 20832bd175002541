//! `dsr schedule`: runs the jobs of a directory on their schedules, and the overdue listing
//! that `dsr status --overdue` shares with the `overdue_report` job.
//!
//! Each pass reloads every job file, and for each job asks
//! [`dsr_core::schedule::JobSchedule::decide`] with the job's last recorded fire time from the
//! control DB. A job seen for the first time is armed (its baseline recorded, nothing run). A
//! due job is run under its job lock (`dsr_engine::schedule::JobLock`, renewed while it runs):
//! the decision is taken again once the lock is held, the fire is recorded (unique per job and
//! time, so no fire runs twice, also across processes), the job runs, its outcome (counts
//! only) is recorded and the lock released. Between passes it sleeps until the next fire time,
//! at most 60 s, so new files and clock jumps are noticed; SIGINT/SIGTERM stop it between jobs.

use crate::worker::{futures_ready, shutdown};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::schedule::{Decision, Job, JobKind};
use dsr_engine::control::ControlDb;
use dsr_engine::run::{LeaseOptions, NoProgress, RunOptions, run};
use dsr_engine::schedule::{Deadline, FireOutcome, JobLock};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How `dsr schedule` runs.
pub struct ScheduleOptions {
    /// Directory of job files.
    pub jobs_dir: PathBuf,
    /// One pass, then exit.
    pub once: bool,
    /// The clock, for tests (`None`: the system clock).
    pub now: Option<DateTime<Utc>>,
    /// Job lock time; renewed every third of it while a job runs.
    pub lock_ttl: Duration,
}

/// Longest sleep between passes.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Runs jobs until stopped (or one pass with `once`).
pub async fn schedule(
    config: &Config,
    control: &ControlDb,
    opts: &ScheduleOptions,
) -> Result<ExitCode> {
    let mut jobs = dsr_engine::load::load_jobs(&opts.jobs_dir)?;
    let holder = holder_name();
    let mut stop = Box::pin(shutdown());
    let mut failed = false;
    tracing::info!(holder = %holder, jobs = jobs.len(), "scheduler started");
    'passes: loop {
        let now = opts.now.unwrap_or_else(Utc::now);
        let mut next: Option<DateTime<Utc>> = None;
        for job in &jobs {
            if futures_ready(&mut stop).await {
                break 'passes;
            }
            let n = match tick(config, control, job, &holder, now, opts.lock_ttl).await {
                Ok((n, job_failed)) => {
                    failed |= job_failed;
                    n
                }
                Err(e) if opts.once => return Err(e.context(format!("job {}", job.name))),
                Err(e) => {
                    tracing::warn!(job = %job.name, error = %format!("{e:#}"), "scheduling failed; retried next pass");
                    None
                }
            };
            next = match (next, n) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if opts.once {
            break;
        }
        let wait = next
            .and_then(|n| (n - Utc::now()).to_std().ok())
            .unwrap_or(MAX_SLEEP)
            .clamp(Duration::from_secs(1), MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => break,
        }
        match dsr_engine::load::load_jobs(&opts.jobs_dir) {
            Ok(j) => jobs = j,
            Err(e) => {
                tracing::warn!(error = %e, "job files not reloaded; keeping the previous ones")
            }
        }
    }
    tracing::info!(holder = %holder, "scheduler stopped");
    // A pass whose job failed (recorded as `failed`) exits 1 with --once.
    Ok(if failed && opts.once {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One job at `now`: arm, wait or run. Returns the job's next fire time and whether it ran
/// and failed.
async fn tick(
    config: &Config,
    control: &ControlDb,
    job: &Job,
    holder: &str,
    now: DateTime<Utc>,
    lock_ttl: Duration,
) -> Result<(Option<DateTime<Utc>>, bool)> {
    let name = job.name.as_str();
    let last = control.last_fire(name).await?;
    let next = match job.schedule.decide(last, now) {
        Decision::Arm { next } => {
            control
                .record_fire(name, now, holder, FireOutcome::Armed)
                .await?;
            tracing::info!(job = name, next = ?next.map(|n| n.to_rfc3339()), "job armed: first run at its next fire time");
            println!("job {name}: armed; first run at {}", show(next));
            return Ok((next, false));
        }
        Decision::Wait { next } => return Ok((next, false)),
        Decision::Run { next, .. } => next,
    };
    let Some(lock) = JobLock::take(control, name, holder, lock_ttl).await? else {
        tracing::info!(job = name, "job lock held by another scheduler; skipped");
        return Ok((next, false));
    };
    let outcome = fire_locked(config, control, job, holder, now).await;
    let released = lock.release().await;
    let failed = outcome?;
    released?;
    Ok((next, failed))
}

/// With the lock held: decide again (another scheduler may have just run it), record the
/// fire, run the job, record its outcome. Returns whether the job failed.
async fn fire_locked(
    config: &Config,
    control: &ControlDb,
    job: &Job,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let name = job.name.as_str();
    let last = control.last_fire(name).await?;
    let Decision::Run { at, missed, .. } = job.schedule.decide(last, now) else {
        return Ok(false);
    };
    if !control
        .record_fire(name, at, holder, FireOutcome::Running)
        .await?
    {
        return Ok(false);
    }
    tracing::info!(job = name, kind = job.kind.key(), scheduled = %at.to_rfc3339(), missed, "job started");
    println!(
        "job {name}: {} run for {}{}",
        job.kind.key(),
        at.to_rfc3339(),
        if missed > 0 {
            format!(" ({missed} earlier fire time(s) missed, not run)")
        } else {
            String::new()
        }
    );
    let result = run_job(config, control, job, now).await;
    let (outcome, mut detail) = match &result {
        Ok(d) => (FireOutcome::Ok, d.clone()),
        Err(e) => (FireOutcome::Failed, json!({ "error": format!("{e:#}") })),
    };
    if let Some(o) = detail.as_object_mut() {
        o.insert("missed".into(), missed.into());
    }
    control.finish_fire(name, at, outcome, &detail).await?;
    match result {
        Ok(_) => {
            tracing::info!(job = name, scheduled = %at.to_rfc3339(), "job finished");
            Ok(false)
        }
        Err(e) => {
            tracing::warn!(job = name, scheduled = %at.to_rfc3339(), error = %format!("{e:#}"), "job failed");
            println!("job {name}: failed: {e:#}");
            Ok(true)
        }
    }
}

/// Runs one job; returns its outcome detail (counts and request ids only).
async fn run_job(
    config: &Config,
    control: &ControlDb,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<serde_json::Value> {
    match &job.kind {
        JobKind::Fulfilment { kinds, sweep } => {
            // The same run as `dsr run --job NAME`.
            let swept = if *sweep {
                // Housekeeping of the nightly run: failed notifications are sent again.
                crate::recipients::retry_with(config, control).await?;
                let s = dsr_engine::tombstone::sweep(config, control, now).await?;
                println!(
                    "job {}: sweep found {} deleted person(s) again; {} deletion request(s) stored",
                    job.name,
                    s.reacquired,
                    s.requests.len()
                );
                Some(s)
            } else {
                None
            };
            let opts = RunOptions {
                job: job.name.clone(),
                kinds: kinds.clone(),
                dry_run: false,
                only: None,
                lease: LeaseOptions::default(),
            };
            let summary = run(config, control, &opts, &NoProgress).await?;
            crate::output::print_summary(&summary);
            let count = |s: &str| summary.requests.iter().filter(|r| r.status == s).count();
            Ok(json!({
                "run": summary.run_id,
                "requests": summary.requests.len(),
                "fulfilled": count("fulfilled"),
                "partially_fulfilled": count("partially_fulfilled"),
                "denied": count("denied"),
                "swept": swept.map(|s| s.requests.len()),
            }))
        }
        JobKind::DropCycle { inbox, outbox } => {
            crate::drop::cycle(config, control, Path::new(inbox), Path::new(outbox), now).await
        }
        JobKind::Retention { keep_months } => {
            let c = control.purge_requests(*keep_months, now).await?;
            tracing::info!(job = %job.name, requests = c.requests, events = c.events, identities = c.identities, keep_months, "retention purge");
            println!(
                "job {}: purged {} request(s) finished more than {keep_months} months ago ({} events, {} identity hashes); evidence untouched",
                job.name, c.requests, c.events, c.identities
            );
            Ok(json!({ "purged": c, "keep_months": keep_months }))
        }
        JobKind::OverdueReport { within_days } => {
            let d = control.deadlines(now, *within_days).await?;
            let overdue = d.iter().filter(|x| x.days_left < 0).count();
            let ids: Vec<&str> = d.iter().map(|x| x.id.as_str()).collect();
            tracing::info!(job = %job.name, overdue, due_soon = d.len() - overdue, within_days, ids = %ids.join(","), "overdue report");
            print_deadlines(&d, *within_days);
            Ok(json!({ "overdue": overdue, "due_soon": d.len() - overdue }))
        }
    }
}

/// Prints open requests overdue or due within `within_days`: id, kind, status, deadline, due
/// time, days left (negative: overdue).
pub fn print_deadlines(d: &[Deadline], within_days: u32) {
    if d.is_empty() {
        println!("no open request overdue or due within {within_days} day(s)");
        return;
    }
    for x in d {
        println!(
            "{:<16} {:<18} {:<16} {:<7} {}  {:>+4} day(s){}",
            x.id,
            x.kind,
            x.status,
            x.deadline,
            x.due_at.to_rfc3339(),
            x.days_left,
            if x.days_left < 0 { "  OVERDUE" } else { "" }
        );
    }
    let overdue = d.iter().filter(|x| x.days_left < 0).count();
    println!(
        "{overdue} overdue, {} due within {within_days} day(s)",
        d.len() - overdue
    );
}

/// Parses `--now`.
pub fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .with_context(|| "--now must be an RFC 3339 time".to_string())
}

fn show(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
}

/// A name unique to this process: host, pid and start time.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{}-{nanos}", host.trim(), std::process::id())
}
