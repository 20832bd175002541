//! The one error type of `dsr-evidence`.
//!
//! Every variant names *where* the problem is (object name, run, entry kind and sequence
//! number) and never carries subject data: a guard refusal says which entry or manifest was
//! refused, never which value tripped it.

use crate::verify::VerifyError;

/// Errors of writing and reading evidence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An IO operation on the audit location failed.
    #[error("{op} {name}: {source}")]
    Io {
        /// What was being done (`append to`, `write`, `read`, `list`, …).
        op: &'static str,
        /// Object name (relative to the sink root) or directory concerned.
        name: String,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },
    /// A write-once object already exists (with different content, where that was checked).
    #[error("{name}: already exists; evidence objects are never overwritten")]
    Exists {
        /// Object name.
        name: String,
    },
    /// An object does not exist.
    #[error("{name}: not found")]
    NotFound {
        /// Object name.
        name: String,
    },
    /// An object name is not a safe relative `/`-separated path.
    #[error("invalid object name {name:?}: {reason}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A log line handed to a sink contains a newline.
    #[error("{log}: a log line must not contain a newline")]
    InvalidLine {
        /// Log object name.
        log: String,
    },
    /// A run or request id is not 1–64 characters of `A-Z a-z 0-9 . _ -` (no leading `.`).
    #[error("invalid {what} id {id:?}: {reason}")]
    InvalidId {
        /// `run` or `request`.
        what: &'static str,
        /// The refused id.
        id: String,
        /// Why it was refused.
        reason: String,
    },
    /// An entry kind is not acceptable.
    #[error("invalid entry kind {kind:?}: {reason}")]
    InvalidKind {
        /// The refused kind (at most 64 characters of it).
        kind: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The guard found a forbidden value (an identity or sensitive value of the batch).
    #[error("refused to write {what}: it contains an identity or sensitive value of the batch")]
    Guard {
        /// Which document: `entry <kind> seq <n>` or `manifest <request>`.
        what: String,
    },
    /// A manifest handed to [`crate::RunLog::write_manifest`] is not acceptable.
    #[error("manifest {request}: {reason}")]
    Manifest {
        /// Request id.
        request: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A document could not be serialised to JSON.
    #[error("{what}: cannot serialise to JSON: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The serde error (serialisation errors carry no values).
        #[source]
        source: serde_json::Error,
    },
    /// An earlier append to this run's log failed, so its state on storage is unknown; the run
    /// must be reopened with [`crate::RunLog::resume`], which verifies what was written.
    #[error("run {run}: an earlier append failed; resume the run to continue")]
    Poisoned {
        /// Run id.
        run: String,
    },
    /// Existing evidence failed verification (when resuming a run).
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

impl Error {
    pub(crate) fn io(op: &'static str, name: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            name: name.into(),
            source,
        }
    }
}
