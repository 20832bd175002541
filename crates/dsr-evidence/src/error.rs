//! The one error type of `dsr-evidence`.
//!
//! Every variant names *where* the problem is (object name, request id, entry kind and
//! sequence number) and never carries subject data or secrets: a guard refusal says which
//! entry or manifest was refused, never which value tripped it, and a key error never echoes
//! the key.

use crate::verify::VerifyError;

/// Errors of writing and reading evidence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An IO operation on the audit location failed.
    #[error("{op} {name}: {source}")]
    Io {
        /// What was being done (`write`, `read`, `list`, …).
        op: &'static str,
        /// Object name (relative to the sink root) or prefix concerned.
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
        /// Which document: `entry <kind> of request <id> seq <n>`, `manifest of request <id>
        /// seq <n>` or `run summary <run>`.
        what: String,
    },
    /// A manifest handed to [`crate::Chain::seal`] (or a run summary handed to
    /// [`crate::Evidence::write_run`]) is not acceptable.
    #[error("manifest {request}: {reason}")]
    Manifest {
        /// Request id (the run id for a run summary).
        request: String,
        /// What is wrong.
        reason: String,
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
    /// Another writer (another lease) has written this request's chain: a position this
    /// writer wanted was already taken, or the chain already holds an entry written under a
    /// newer lease. Nothing of this writer's was written at `seq`; the [`crate::Chain`] is
    /// unusable from now on.
    #[error(
        "request {request}: superseded at entry {seq}: another lease has written this chain; \
         this writer must stop"
    )]
    Superseded {
        /// Request id.
        request: String,
        /// The chain position that was lost (or holds the newer lease).
        seq: u64,
    },
    /// An earlier write of this [`crate::Chain`] failed, so what is on storage is unknown; open
    /// the chain again with [`crate::Evidence::chain`], which reads what was written.
    #[error("request {request}: an earlier evidence write failed; reopen the chain to continue")]
    Poisoned {
        /// Request id.
        request: String,
    },
    /// A signing or verifying key is not acceptable (the key itself is never shown).
    #[error("key {key_id:?}: {reason}")]
    Key {
        /// The key id given with it.
        key_id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Existing evidence failed its checks (a chain that does not verify when opened).
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
