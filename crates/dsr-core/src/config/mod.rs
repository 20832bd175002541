//! Configuration: parsed from file texts the caller read, validated into a [`Config`].
//!
//! [`Config::from_sources`] takes `(relative path, text)` pairs — `dsr.toml`,
//! `disclosures.toml`, `exemptions.toml` and `stores/<name>.toml` — and an environment lookup,
//! and either returns the validated configuration or every [`crate::ConfigIssue`] found, each
//! naming the file, the key and what is wrong.

pub mod agents;
mod build;
mod correct;
mod drop;
mod exemptions;
pub mod files;
mod lake;
mod model;
mod recipients;
mod verify;

pub use agents::{Agent, DrpSettings, valid_drp_id};
pub use build::interpolate;
pub use correct::CorrectionMap;
pub use drop::{DropFile, DropSettings, DropSource, DropSourceFile, FieldColumn};
pub use model::*;
pub use recipients::{Channel, Recipient, RecipientFile, RecipientRole};
pub use verify::VerificationMap;

/// One configuration file as read by the caller.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the config directory, `/`-separated (`stores/crm.toml`).
    pub path: String,
    /// File contents.
    pub text: String,
}

impl Config {
    /// Parses and validates the configuration. `env` answers `${VAR}` lookups.
    pub fn from_sources(
        files: &[SourceFile],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> crate::error::Result<Config> {
        build::build(files, env)
    }
}
