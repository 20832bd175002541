//! The one error type of `dsr-core`.
//!
//! Messages name *where* something is wrong (file, key, store, table, column) and never carry
//! subject data: identity values and record contents stay out of every message.

use std::fmt;

/// One problem found in the configuration: the file, the dotted key inside it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// File the problem is in, relative to the config directory (e.g. `stores/crm.toml`).
    pub file: String,
    /// Dotted key inside the file (e.g. `tables.orders.columns.card_id.references`).
    pub key: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

/// A failure inside a store, reduced to what is safe to log: never a value, never a DETAIL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoreError {
    /// Store name from the data map.
    pub store: String,
    /// Table, when the failure belongs to one.
    pub table: Option<String>,
    /// Machine-readable code: SQLSTATE / driver code, or a dsr code such as `connect`.
    pub code: String,
    /// Safe description (constraint name, operation); never contains subject data.
    pub message: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store {}", self.store)?;
        if let Some(t) = &self.table {
            write!(f, ", table {t}")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}

impl std::error::Error for StoreError {}

/// Errors of the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; every issue found is listed.
    #[error("invalid configuration:\n{}", .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigIssue>),
    /// A request was refused on intake.
    #[error("invalid request: {field}: {message}")]
    Request {
        /// JSON field at fault (e.g. `subject.identities[0].type`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A job file is invalid.
    #[error("{file}: {}{message}", if .field.is_empty() { String::new() } else { format!("{}: ", .field) })]
    Job {
        /// The job file.
        file: String,
        /// Key at fault (e.g. `schedule`), or `line N`; empty when the whole file is.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Shorthand for a request error.
    pub fn request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Request {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
