//! The crate's error type. Messages name objects, columns and operations, never values.

/// What went wrong in a lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake's URL or options are unusable.
    #[error("lake {lake}: {reason}")]
    Config {
        /// The lake URL.
        lake: String,
        /// Why.
        reason: String,
    },
    /// An object is not a readable Parquet file (not Parquet, truncated, corrupt).
    #[error("object {object}: not a readable Parquet file: {reason}")]
    Parquet {
        /// Object name relative to the lake.
        object: String,
        /// Parser message.
        reason: String,
    },
    /// An object's schema lacks a mapped column.
    #[error("object {object}: no column `{column}` in its schema")]
    MissingColumn {
        /// Object name.
        object: String,
        /// Column path.
        column: String,
    },
    /// Reading, writing, listing or renaming failed.
    #[error("object {object}: {op} failed: {reason}")]
    Io {
        /// Object name (or the lake root for listing).
        object: String,
        /// Operation.
        op: &'static str,
        /// Cause.
        reason: String,
    },
    /// A rewritten file did not hold the expected number of rows; it was discarded.
    #[error(
        "object {object}: rewrite check failed: expected {expected} rows, the new file has {actual}"
    )]
    RowCount {
        /// Object name.
        object: String,
        /// Rows expected (old − removed).
        expected: u64,
        /// Rows written.
        actual: u64,
    },
    /// The object changed between reading and replacing it; nothing was replaced.
    #[error("object {object}: changed while it was being rewritten; not replaced")]
    Changed {
        /// Object name.
        object: String,
    },
    /// A column has a type dsr cannot compare or render.
    #[error("object {object}: column `{column}` has an unsupported type {data_type}")]
    Unsupported {
        /// Object name.
        object: String,
        /// Column path.
        column: String,
        /// Arrow type.
        data_type: String,
    },
}

impl Error {
    /// Short machine-readable code, as used in [`dsr_core::StoreError::code`].
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Parquet { .. } => "parquet",
            Error::MissingColumn { .. } => "schema",
            Error::Io { .. } => "io",
            Error::RowCount { .. } => "rewrite_check",
            Error::Changed { .. } => "changed",
            Error::Unsupported { .. } => "type",
        }
    }

    /// The object the error belongs to, when there is one.
    pub fn object(&self) -> Option<&str> {
        match self {
            Error::Config { .. } => None,
            Error::Parquet { object, .. }
            | Error::MissingColumn { object, .. }
            | Error::Io { object, .. }
            | Error::RowCount { object, .. }
            | Error::Changed { object }
            | Error::Unsupported { object, .. } => Some(object),
        }
    }

    pub(crate) fn parquet(object: &str, e: impl std::fmt::Display) -> Error {
        Error::Parquet {
            object: object.to_owned(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn io(object: &str, op: &'static str, e: impl std::fmt::Display) -> Error {
        Error::Io {
            object: object.to_owned(),
            op,
            reason: e.to_string(),
        }
    }
}
