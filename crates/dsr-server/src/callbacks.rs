//! DRP status callbacks: a background task of `dsr serve` that, every
//! [`crate::ServerOptions::callback_interval`], queues a callback for each agent request whose
//! status changed (`dsr_engine::drp` keeps the outbox in the control DB, so changes made by
//! `dsr run`, workers or another server are seen too, and a restart loses nothing) and POSTs
//! the due ones to the agents' `status_callback` URLs. A failed delivery (no 2xx, timeout) is
//! retried with exponential backoff up to `MAX_CALLBACK_ATTEMPTS`; each outcome is recorded.
//! Runs never wait for it. Redirects are not followed; the response body is discarded.

use crate::AppState;
use dsr_engine::drp::DueCallback;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the callback task; it runs until aborted.
pub(crate) fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "status callbacks disabled: no HTTP client");
                return;
            }
        };
        let mut tick = tokio::time::interval(state.options.callback_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = pass(&state, &client).await {
                tracing::warn!(error = %e, "status callback pass failed");
            }
        }
    })
}

/// One pass: queue changes, deliver what is due.
async fn pass(state: &AppState, client: &reqwest::Client) -> Result<(), dsr_engine::Error> {
    let now = chrono::Utc::now().timestamp_millis();
    state.control.drp_watch(now).await?;
    let claim = i64::try_from(TIMEOUT.as_millis() * 3).unwrap_or(30_000);
    for cb in state.control.drp_due_callbacks(now, claim, 50).await? {
        let outcome = deliver(client, &cb).await;
        match &outcome {
            Ok(()) => {
                tracing::info!(drp_request = %cb.drp_id, attempt = cb.attempts + 1, "status callback delivered");
            }
            Err(why) => {
                tracing::info!(drp_request = %cb.drp_id, attempt = cb.attempts + 1, why = %why, "status callback failed");
            }
        }
        let done = chrono::Utc::now().timestamp_millis();
        state
            .control
            .drp_callback_result(&cb, outcome, done)
            .await?;
    }
    Ok(())
}

/// POSTs one status object; a short, value-free summary on failure.
async fn deliver(client: &reqwest::Client, cb: &DueCallback) -> Result<(), String> {
    let resp = client
        .post(&cb.url)
        .header("content-type", "application/json")
        .body(cb.payload.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timeout".to_string()
            } else if e.is_connect() {
                "connect".to_string()
            } else {
                "request".to_string()
            }
        })?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("http {}", status.as_u16()))
    }
}
