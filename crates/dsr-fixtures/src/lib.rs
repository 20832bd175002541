//! `dsr-fixtures`: the deterministic demo estate and the sample requests.
//!
//! * [`estate()`] returns the SQL scripts of the two demo SQLite databases (`crm` and
//!   `support`, as mapped by `config/stores/*.toml`): schema, then every row in one
//!   transaction. Special subjects (ids below 100, described in [`subjects`]) exercise each
//!   rule of the pipeline; seeded filler customers (ids from 1000) give it volume.
//! * [`recordings()`] returns the call recordings of the `recordings` objects store.
//! * [`web_events()`] returns the Parquet files of the `analytics` lake.
//! * [`requests()`] returns the sample requests of `fixtures/requests/`, dated relative to `now`.
//!
//! * [`lake::generate`] writes a synthetic Parquet data lake to any object store.
//!
//! Apart from [`lake::generate`], no IO happens here: the CLI executes the SQL and writes the
//! files. Everything is a pure function of its arguments, so a test can rebuild exactly what
//! the demo loaded (and the lake generator writes the same bytes for the same spec).

pub mod estate;
pub mod lake;
pub mod luhn;
pub mod minimal;
pub mod recordings;
pub mod requests;
pub mod sql;
pub mod subjects;
pub mod web_events;

pub use estate::{Estate, Flavor, estate, estate_for};
pub use recordings::recordings;
pub use requests::requests;
pub use web_events::web_events;

use chrono::{DateTime, Utc};

/// Filler customers in the default demo estate.
pub const DEFAULT_FILLER: usize = 300;

/// Unix time of [`sample_now`]: 2026-11-22T10:00:00Z.
pub const SAMPLE_NOW_UNIX: i64 = 1_795_341_600;

/// The `now` the checked-in `fixtures/requests/*.json` were generated for
/// (2026-11-22T10:00:00Z, so the requests were received on 2026-11-20).
pub fn sample_now() -> DateTime<Utc> {
    DateTime::from_timestamp(SAMPLE_NOW_UNIX, 0).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod lake_tests;
