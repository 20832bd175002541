//! `dsr ledger import` (the recipient ledger from sale/share export logs) and
//! `dsr notifications export` (recipients to tell by hand, and failed notifications).

use anyhow::{Context, Result};
use clap::Subcommand;
use dsr_engine::control::ControlDb;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `dsr ledger …`.
#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Import a sale/share export log: a CSV with `recipient`, `categories` (`;`-separated
    /// category keys), `shared_at` and a column per identity type. The whole file is checked
    /// first; a bad line refuses it all. Identities are stored as keyed hashes only.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

/// `dsr notifications …`.
#[derive(Subcommand)]
pub enum NotificationsCommand {
    /// Write the notifications to handle by hand (`manual`) or that failed after every retry
    /// (`failed`), one JSON line each: request id, recipient, event, categories, status, time.
    Export {
        /// File to write (replaced); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Send the failed webhook notifications again (also done by every run of a job with
    /// `sweep = true`); prints one line per notification.
    Retry,
}

/// Runs `dsr ledger import`.
pub async fn ledger(config_dir: &Path, command: LedgerCommand) -> Result<ExitCode> {
    let LedgerCommand::Import { file } = command;
    let config = dsr_engine::load::load_config(config_dir)?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let lines = dsr_engine::recipients::parse_ledger_csv(&config, &text)
        .with_context(|| format!("{} not imported; nothing was stored", file.display()))?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let n = control.ledger_import(&lines).await;
    control.close().await;
    let n = n?;
    println!("{} line(s) imported ({n} identity entries)", lines.len());
    Ok(ExitCode::SUCCESS)
}

/// Runs `dsr notifications export`.
pub async fn notifications(config_dir: &Path, command: NotificationsCommand) -> Result<ExitCode> {
    let out = match command {
        NotificationsCommand::Export { out } => out,
        NotificationsCommand::Retry => return retry(config_dir).await,
    };
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let pending = control.pending_notifications().await;
    control.close().await;
    let pending = pending?;
    let mut text = String::new();
    for p in &pending {
        text.push_str(&serde_json::to_string(p)?);
        text.push('\n');
    }
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "{} notification(s) written to {}",
                pending.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Retries the failed webhook notifications; one line each.
pub async fn retry(config_dir: &Path) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let r = retry_with(&config, &control).await;
    control.close().await;
    r.map(|_| ExitCode::SUCCESS)
}

/// Retries the failed webhook notifications over an open control DB (also before a run).
pub async fn retry_with(config: &dsr_core::config::Config, control: &ControlDb) -> Result<()> {
    let out = dsr_engine::recipients::retry_failed(config, control, chrono::Utc::now()).await?;
    for (request, n) in &out {
        eprintln!(
            "notification {request} → {}: {} after {} attempt(s)",
            n.recipient, n.outcome, n.attempts
        );
    }
    Ok(())
}
