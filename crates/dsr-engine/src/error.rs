//! The one error type of `dsr-engine`.

use dsr_core::StoreError;

/// Errors of planning and execution.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration could not be read or is invalid.
    #[error(transparent)]
    Core(#[from] dsr_core::Error),
    /// A config file could not be read.
    #[error("cannot read {path}: {reason}")]
    ConfigRead {
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The live schema does not match the data map.
    #[error("live schema check failed:\n{}", .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Schema(Vec<String>),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stores could not be reached when the run started: nothing was resolved, reported or
    /// erased; the run's requests were recorded as deferred and wait for the next run.
    #[error("{}: {requests} request{} deferred to the next run", unreachable(.stores), if *.requests == 1 { "" } else { "s" })]
    Deferred {
        /// The stores that could not be reached (value-free errors).
        stores: Vec<StoreError>,
        /// Requests deferred.
        requests: usize,
    },
    /// A later lease holds the request: this worker's lease expired and another took it over,
    /// so it must not write anything more for the request.
    #[error("request {request}: lease {lease} was taken over; stopped")]
    Fenced {
        /// Request id.
        request: String,
        /// The lease that lost it.
        lease: u64,
    },
    /// The control DB failed.
    #[error("{0}")]
    Control(String),
    /// A request id conflict.
    #[error("{0}")]
    Conflict(String),
    /// No such request or run.
    #[error("{0}")]
    NotFound(String),
    /// The rules refuse the action (e.g. a second extension); the message says which rule.
    #[error("{0}")]
    Refused(String),
    /// Evidence could not be written or verified.
    #[error(transparent)]
    Evidence(#[from] dsr_evidence::Error),
    /// A report could not be rendered or delivered.
    #[error("report: {0}")]
    Report(String),
    /// A DROP download or status file is malformed (the message names the file and line,
    /// never a hash or value).
    #[error("DROP: {0}")]
    Drop(String),
    /// A job file is invalid.
    #[error("job {job}: {reason}")]
    Job {
        /// Job name.
        job: String,
        /// Why.
        reason: String,
    },
    /// Local IO (delivery directory).
    #[error("{path}: {reason}")]
    Io {
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// `store a unreachable (code x)` or `stores a (code x), b (code y) unreachable`.
fn unreachable(stores: &[StoreError]) -> String {
    match stores {
        [e] => format!("store {} unreachable (code {})", e.store, e.code),
        _ => format!(
            "stores {} unreachable",
            stores
                .iter()
                .map(|e| format!("{} (code {})", e.store, e.code))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
