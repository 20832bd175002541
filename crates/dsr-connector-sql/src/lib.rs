//! `dsr-connector-sql`: SQL stores behind the [`dsr_core::connector::Connector`] trait.
//!
//! One crate, one implementation, a module per thing that differs:
//! * [`dialect`]: statement text — identifier quoting, placeholders, `IN (…)` versus
//!   `= ANY($1)`, normalisation under a binary collation, reading every column as text.
//! * [`driver`]: the glue per sqlx driver (bind text, read text, read the live schema).
//! * [`connector`]: [`SqlConnector`], the logic written once: batched lookups, one
//!   transaction per erase with a savepoint per request, re-query by key.
//! * [`conformance`]: the suite every dialect's tests run.
//! * [`failpoint`]: test-only crash points (`DSR_FAILPOINT`), here as the lowest crate that does
//!   IO (`dsr-core` does none).
//!
//! Every value reaches the database as a bound parameter; identifiers come only from the
//! validated data map and are always quoted. Database errors are reduced to their SQLSTATE and
//! constraint kind (see [`error`]): a message or `DETAIL` may quote values and never leaves.

pub mod conformance;
pub mod connector;
pub mod dialect;
pub mod driver;
pub mod error;
pub mod failpoint;
pub mod testing;

pub use connector::{SqlConnector, scheme_of};
pub use error::Error;
