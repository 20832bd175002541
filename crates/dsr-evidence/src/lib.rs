//! `dsr-evidence`: the audit trail of data-subject requests.
//!
//! Evidence is a hash-chained, append-only log per run plus a write-once manifest per request
//! and run, stored through an [`EvidenceSink`] ([`DirSink`] for a local directory; an object
//! store sink can be added behind the same trait). The layout, relative to the sink's root:
//!
//! ```text
//! runs/<run_id>/log.jsonl                     one JSON entry per line, hash-chained
//! requests/<request_id>/<run_id>.manifest.json  pretty JSON, written once, covered by the log
//! ```
//!
//! A log line looks like
//! `{"seq":1,"at":"2026-11-28T21:00:00Z","run":"r1","kind":"intent","request":"req-1","data":{…},"prev":"<64 hex>","hash":"<64 hex>"}`.
//!
//! **Hash scheme.** `P` is the compact JSON of the entry *without* `hash`, fields in the fixed
//! order `seq, at, run, kind, request, data, prev`. `hash = hex(SHA-256(P))` and the line is
//! `P` with its closing `}` replaced by `,"hash":"<hash>"}`. To verify, cut the 75-byte suffix
//! `,"hash":"<64 hex>"}`, append `}` and hash. `prev` is the previous line's hash; line 1's is
//! [`genesis`]`(run)` = SHA-256 hex of `"dsr-evidence genesis " + run_id`. `seq` runs 1, 2, 3….
//! A manifest carries `run` and `log_head` (the log's last hash when it was written), and a
//! `manifest` entry then records its name and SHA-256, so the chain covers it.
//!
//! **Only keyed hashes and counts go in.** Every entry and manifest passes the [`Guard`],
//! built from the batch's identity and sensitive values, before anything is written; a
//! document holding one is refused with [`Error::Guard`] and nothing is written.
//!
//! Every write is durable (fsynced) before it returns: the intent entry of a deletion is on
//! storage before the deletion happens. [`fn@verify`] / [`verify_dir`] check a whole bundle and
//! name the first bad file and line.

pub mod error;
pub mod guard;
pub mod log;
pub mod sink;
pub mod verify;

#[cfg(test)]
mod tests;

pub use error::Error;
pub use guard::Guard;
pub use log::{Entry, EntryRef, RunLog, genesis, sha256_hex};
pub use sink::{DirSink, EvidenceSink};
pub use verify::{VerifyError, VerifySummary, verify, verify_dir};
