//! `dsr worker`: a long-running process that leases batches of requests from the control DB
//! and runs them, any number of them on any number of machines (PostgreSQL control DB).
//!
//! Each batch is one run under one lease; the lease is renewed while the batch works and a
//! stalled worker is fenced out (see `dsr_engine::lease`). Between batches the worker polls.
//! SIGINT/SIGTERM stop it after the batch in progress.

use anyhow::Result;
use dsr_core::config::Config;
use dsr_engine::control::ControlDb;
use dsr_engine::run::{LeaseOptions, NoProgress, RunOptions, run};
use std::process::ExitCode;
use std::time::Duration;

/// How a worker works.
pub struct WorkerOptions {
    /// The job's options (kinds); its lease options are the worker's.
    pub run: RunOptions,
    /// Pause when there is nothing to lease.
    pub poll: Duration,
    /// Exit once no request is received, admitted or in progress.
    pub exit_when_done: bool,
}

/// Runs batches until stopped (or, with `exit_when_done`, until nothing is open).
pub async fn work(config: &Config, control: &ControlDb, opts: &WorkerOptions) -> Result<ExitCode> {
    let mut stop = Box::pin(shutdown());
    let LeaseOptions { worker, .. } = &opts.run.lease;
    tracing::info!(worker = %worker, "worker started");
    let mut batches = 0u64;
    loop {
        let idle = match run(config, control, &opts.run, &NoProgress).await {
            Ok(summary) if summary.requests.is_empty() => true,
            Ok(summary) => {
                batches += 1;
                let done = summary
                    .requests
                    .iter()
                    .filter(|r| r.status == "fulfilled")
                    .count();
                tracing::info!(worker = %worker, run = %summary.run_id, requests = summary.requests.len(), fulfilled = done, "batch finished");
                false
            }
            Err(e) => {
                tracing::warn!(worker = %worker, error = %e, "batch failed; retrying after a pause");
                true
            }
        };
        if idle {
            if opts.exit_when_done && control.open_count().await? == 0 {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(opts.poll) => {}
                _ = &mut stop => break,
            }
        } else if futures_ready(&mut stop).await {
            break;
        }
    }
    tracing::info!(worker = %worker, batches, "worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// Whether the stop signal has already fired (without waiting for it).
pub(crate) async fn futures_ready(
    stop: &mut std::pin::Pin<Box<impl std::future::Future<Output = ()>>>,
) -> bool {
    tokio::select! {
        biased;
        _ = stop.as_mut() => true,
        _ = std::future::ready(()) => false,
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
