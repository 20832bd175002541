//! `dsr suppression export`: the suppression list as keyed hashes, for sale and sharing
//! pipelines; `dsr suppression check`: the ingestion check against tombstones.

use anyhow::{Context, Result};
use clap::Subcommand;
use dsr_engine::control::ControlDb;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `dsr suppression …`.
#[derive(Subcommand)]
pub enum SuppressionCommand {
    /// Write the list as JSON lines `{"identity_hash", "source", "at"}` (stdout, or `--out`):
    /// opt-outs, GPC signals, minors, DROP opt-outs, and tombstones of deleted people
    /// (sources `deleted`, `drop`).
    /// Hashes are `hmac:` + the first 32 hex digits of HMAC-SHA-256 under the configured
    /// `hash_key` of (u64-BE length, identity type, u64-BE length, normalised value): hash your
    /// own identities the same way and drop every row whose hash is listed.
    Export {
        /// File to write (replaced); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The ingestion check: copy a CSV (with a header) leaving out every row that holds the
    /// identity of a person deleted earlier (a tombstone). Columns named after an identity
    /// type (`email`, `phone`, `customer_id`, …) are checked. Counts go to stderr.
    Check {
        /// The CSV to check.
        file: PathBuf,
        /// File to write the rows that pass (replaced); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `dsr suppression` command.
pub async fn run(config_dir: &Path, command: SuppressionCommand) -> Result<ExitCode> {
    let out = match command {
        SuppressionCommand::Export { out } => out,
        SuppressionCommand::Check { file, out } => return check(config_dir, &file, out).await,
    };
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let entries = control.suppressions().await;
    let tombstones = control.tombstone_entries().await;
    control.close().await;
    // Deleted people (tombstones) are left out of sale and sharing too.
    let mut entries = entries?;
    entries.extend(tombstones?);
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

async fn check(config_dir: &Path, file: &Path, out: Option<PathBuf>) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let tombstones = control.tombstones().await;
    control.close().await;
    let tombstones: std::collections::BTreeSet<String> = tombstones?.into_keys().collect();
    let summary = match &out {
        Some(path) => {
            // Written beside the target and renamed: a failed check leaves no half file.
            let tmp = path.with_extension("checking");
            let w = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            let r = dsr_engine::tombstone::check_csv(
                &config,
                &tombstones,
                std::io::BufReader::new(input),
                std::io::BufWriter::new(w),
            );
            match r {
                Ok(s) => {
                    std::fs::rename(&tmp, path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    s
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(anyhow::Error::new(e).context(format!("{}", file.display())));
                }
            }
        }
        None => dsr_engine::tombstone::check_csv(
            &config,
            &tombstones,
            std::io::BufReader::new(input),
            std::io::stdout().lock(),
        )
        .with_context(|| format!("{}", file.display()))?,
    };
    eprintln!(
        "{} row(s) read, {} kept, {} dropped (tombstoned); columns checked: {}",
        summary.rows,
        summary.kept,
        summary.dropped,
        summary.columns.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
