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
//! * [`verify`]: verification worked out from data points, and minors, over a resolution.
//! * [`suppression`]: the suppression list by source, and its export.
//! * [`duplicate`]: linking a request that repeats an open or recent one.
//! * [`drop`]: California's DROP deletion lists: import, match, statuses, export.
//! * [`tombstone`]: staying deleted — tombstones, the ingestion check, the re-deletion sweep.
//! * [`scan`]: whole-table scans for DROP matching and the sweep.
//! * [`recipients`]: the recipient ledger and the notification of deletions and opt-outs.
//! * [`drp`]: the Data Rights Protocol's state: agent tokens, replay refusal, DRP statuses,
//!   revocation and the status-callback outbox.

pub mod admission;
pub mod control;
pub mod deliver;
pub mod drop;
pub mod drp;
pub mod duplicate;
pub mod error;
pub mod lease;
pub mod load;
pub mod plan;
pub mod portal;
pub mod recipients;
pub mod resolve;
pub mod run;
pub mod scan;
pub mod schedule;
pub mod suppression;
pub mod tombstone;
pub mod verify;

pub use error::{Error, Result};
