//! The portal HTTP API (`dsr serve`): the privacy portal submits and reads requests,
//! privacy operations start runs and extend deadlines, and anyone with a token reads the
//! 11 CCR §7102 metrics. The OpenAPI document is served at `/openapi.json`.
//!
//! Contract:
//! - every `/v1` route needs `Authorization: Bearer <token>`; tokens are made by
//!   `dsr token create --scope portal|admin` and only their SHA-256 is stored. A missing,
//!   unknown or revoked token gets 401, a token whose scope does not allow the route 403,
//!   neither says more;
//! - bodies are JSON (`Content-Type: application/json`, else 415) of at most
//!   [`ServerOptions::max_body_bytes`] (else 413); a body that is not JSON gets 400, a
//!   missing, unknown or malformed field 422 naming the field, and nothing is stored;
//! - every error is `{"error": {"code", "message", "field"?}}` with a stable `code`
//!   ([`ApiError::code`]);
//! - responses carry request ids, statuses, dates, counts and report links, never subject data.
//!
//! The Data Rights Protocol endpoints for authorized agents (`/v1/agent/…`,
//! `/v1/data-rights-request…`) follow that protocol instead: agent bearer tokens from pairwise
//! setup, signed base64 bodies, the protocol's status and error shapes (see `drp.rs`), and
//! status callbacks delivered by a background task (`callbacks.rs`).

// The hand-written OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

mod callbacks;
mod drp;
mod drp_signed;
mod error;
mod openapi;
mod routes;
mod runs;

pub use error::ApiError;
pub use openapi::document as openapi_document;

use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_engine::control::ControlDb;
use std::net::SocketAddr;
use std::sync::Arc;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A fixed clock (tests): due dates, overdue and extensions are judged at this time.
    pub now: Option<DateTime<Utc>>,
    /// Lease time of on-demand runs.
    pub run_lease: std::time::Duration,
    /// How often DRP status changes are looked for and due callbacks delivered.
    pub callback_interval: std::time::Duration,
    /// Accept `http` status callback URLs (tests and rehearsals only; else `https` only).
    pub drp_insecure_callbacks: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 64 * 1024,
            now: None,
            run_lease: std::time::Duration::from_secs(600),
            callback_interval: std::time::Duration::from_secs(5),
            drp_insecure_callbacks: false,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) control: ControlDb,
    pub(crate) options: Arc<ServerOptions>,
    pub(crate) runs: runs::Runs,
}

impl AppState {
    /// State over a loaded config and an open control DB.
    pub fn new(config: Config, control: ControlDb, options: ServerOptions) -> AppState {
        AppState {
            config: Arc::new(config),
            control,
            options: Arc::new(options),
            runs: runs::Runs::default(),
        }
    }

    /// The time the API judges clocks by.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.options.now.unwrap_or_else(Utc::now)
    }
}

/// The API's router.
pub fn router(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` completes; on-demand runs still working are
/// waited for (their leases would otherwise stay held until expiry).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let runs = state.runs.clone();
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "portal API listening");
    // Status callbacks: pending ones stay queued in the control DB across restarts.
    let callbacks = state
        .config
        .settings
        .drp
        .is_some()
        .then(|| callbacks::spawn(state.clone()));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    runs.wait_all().await;
    if let Some(task) = callbacks {
        task.abort();
    }
    served?;
    Ok(())
}
