//! `dsr-engine`: planning and execution of data-subject requests.
//!
//! * [`control`]: the control DB (requests, append-only events, suppressions, runs).
//! * [`admission`]: intake validation and admission by the regime's rules.
//! * [`lease`]: leases with fencing tokens, so runs and workers share the control DB.
//! * [`load`]: reading config and job files; connecting stores; the live-schema check.
//! * [`resolve`]: the identity graph — which records belong to which request.
//! * [`plan`]: the erasure plan — delete, mask or retain each record, and why.
//! * [`run`]: one run end to end, evidence first.
//! * [`deliver`]: report inputs and delivery.
//! * [`schedule`]: job locks, scheduled fires, the retention purge, deadlines.

pub mod admission;
pub mod control;
pub mod deliver;
pub mod error;
pub mod lease;
pub mod load;
pub mod plan;
pub mod portal;
pub mod resolve;
pub mod run;
pub mod schedule;

pub use error::{Error, Result};
