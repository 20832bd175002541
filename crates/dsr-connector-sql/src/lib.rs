//! `dsr-connector-sql`: SQL stores behind the [`dsr_core::connector::Connector`] trait.
//!
//! One crate, one module per dialect for what differs:
//! * [`dialect`]: the SQL text every dialect shares (batched lookups, key predicates), built
//!   from a small [`dialect::Dialect`] trait (identifier quoting, placeholders, normalisation
//!   expressions, parameter limits).
//! * [`sqlite`]: SQLite through sqlx (the embedded default). PostgreSQL and MariaDB follow the
//!   same shape.
//!
//! Every value reaches the database as a bound parameter; identifiers come only from the
//! validated data map and are always quoted. Lookups compare a normalised column with exact
//! equality (`IN (…)`), never `LIKE`.

pub mod dialect;
mod error;
pub mod sqlite;

pub use error::Error;
pub use sqlite::SqliteConnector;
