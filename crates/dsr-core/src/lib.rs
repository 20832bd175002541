//! `dsr-core`: the domain of data-subject requests, with no IO.
//!
//! * [`request`]: requests as the CLI and the portal take them, validated on intake.
//! * [`identity`]: identity types and their normalisation rules.
//! * [`category`]: the policy's PI categories and the §7024(d) sensitive kinds.
//! * [`config`]: the configuration model (`dsr.toml`, `stores/*.toml`, `disclosures.toml`,
//!   `exemptions.toml`), parsed from strings and validated into a [`config::DataMap`].
//! * [`connector`]: the [`connector::Connector`] trait every store implements.
//! * [`exemption`], [`mask`], [`jurisdiction`]: rules evaluated on found records.
//! * [`hash`]: keyed hashes, the only form in which identities leave the pipeline.
//! * [`schedule`]: job files and when a scheduled job is due (cron, time zones, DST).
//! * [`verification`]: data-point types, their normalisers and the verification levels.
//!
//! Reading files, the environment and databases is the caller's job; everything here is a
//! pure function of its inputs, which keeps it testable and lets every store share it.

pub mod category;
pub mod config;
pub mod connector;
pub mod drop;
pub mod error;
pub mod exemption;
pub mod hash;
pub mod identity;
pub mod jurisdiction;
pub mod mask;
pub mod request;
pub mod schedule;
pub mod value;
pub mod verification;

pub use error::{ConfigIssue, Error, StoreError};
