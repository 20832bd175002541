//! `dsr suppression export`: the suppression list as keyed hashes, for sale and sharing
//! pipelines.

use anyhow::{Context, Result};
use clap::Subcommand;
use dsr_engine::control::ControlDb;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `dsr suppression …`.
#[derive(Subcommand)]
pub enum SuppressionCommand {
    /// Write the list as JSON lines `{"identity_hash", "source", "at"}` (stdout, or `--out`).
    /// Hashes are `hmac:` + the first 32 hex digits of HMAC-SHA-256 under the configured
    /// `hash_key` of (u64-BE length, identity type, u64-BE length, normalised value): hash your
    /// own identities the same way and drop every row whose hash is listed.
    Export {
        /// File to write (replaced); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `dsr suppression` command.
pub async fn run(config_dir: &Path, command: SuppressionCommand) -> Result<ExitCode> {
    let SuppressionCommand::Export { out } = command;
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let entries = control.suppressions().await;
    control.close().await;
    let entries = entries?;
    let text = dsr_engine::suppression::export_lines(&entries);
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} entries written to {}", entries.len(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
