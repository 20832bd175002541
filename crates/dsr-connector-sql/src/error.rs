//! Errors of the SQL connector, reduced to codes and constraint kinds (never values).

use dsr_core::StoreError;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reduces a sqlx error to a [`StoreError`]: a database error keeps only its code and kind of
/// constraint; messages (which may quote values) are dropped.
pub fn store_error(store: &str, table: Option<&str>, op: &str, e: &sqlx::Error) -> StoreError {
    let (code, message) = match e {
        sqlx::Error::Database(db) => {
            let kind = match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => "unique constraint violated",
                sqlx::error::ErrorKind::ForeignKeyViolation => "foreign key constraint violated",
                sqlx::error::ErrorKind::NotNullViolation => "not-null constraint violated",
                sqlx::error::ErrorKind::CheckViolation => "check constraint violated",
                _ => "database error",
            };
            let constraint = db
                .constraint()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            (
                db.code()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "db".into()),
                format!("{op}: {kind}{constraint}"),
            )
        }
        sqlx::Error::PoolTimedOut => (
            "pool_timeout".into(),
            format!("{op}: connection pool timed out"),
        ),
        sqlx::Error::Io(_) => (
            "io".into(),
            format!("{op}: I/O error talking to the database"),
        ),
        sqlx::Error::Configuration(_) => {
            ("config".into(), format!("{op}: bad connection settings"))
        }
        sqlx::Error::ColumnNotFound(c) => ("column".into(), format!("{op}: column {c} not found")),
        _ => ("driver".into(), format!("{op}: driver error")),
    };
    StoreError {
        store: store.to_string(),
        table: table.map(str::to_string),
        code,
        message,
    }
}
