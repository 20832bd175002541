//! `dsr drop import|export|cycle`: California's DROP deletion lists (see
//! `dsr_engine::drop`), and the `drop_cycle` job of `dsr schedule`.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use dsr_core::config::Config;
use dsr_core::request::RequestKind;
use dsr_engine::control::ControlDb;
use dsr_engine::run::{LeaseOptions, RunOptions, run};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `dsr drop …`.
#[derive(Subcommand)]
pub enum DropCommand {
    /// Import a DROP download (the ZIP of one CSV per list): match it against the records,
    /// opt out everyone sharing an identifier, store a deletion request per person matched.
    /// `dsr run` then carries the deletions out. A download imported before is skipped.
    Import {
        /// The ZIP file.
        zip: PathBuf,
        /// Use this time (RFC 3339) as now (tests).
        #[arg(long, hide = true)]
        now: Option<String>,
    },
    /// Write the status file (`ID,Status`: 2 exempted, 3 deleted, 4 opted out, 5 not found)
    /// of every decided work item not yet exported, for upload to DROP.
    Export {
        /// Only this batch (default: every batch).
        #[arg(long)]
        batch: Option<String>,
        /// File to write (default `<YYYYMMDD>_<DataBrokerId>_Status.csv` here).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The whole cycle: import every download in `--inbox` (moved to `<inbox>/done` once
    /// imported), run the deletions, write the status file to `--outbox`.
    Cycle {
        /// Directory of downloads.
        #[arg(long)]
        inbox: PathBuf,
        /// Directory of status files.
        #[arg(long)]
        outbox: PathBuf,
    },
}

/// Runs a `dsr drop` command.
pub async fn run_command(config_dir: &Path, command: DropCommand) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let r = match command {
        DropCommand::Import { zip, now } => {
            let now = now_or(now.as_deref())?;
            import_file(&config, &control, &zip, now).await
        }
        DropCommand::Export { batch, out } => export_to(
            &config,
            &control,
            batch.as_deref(),
            out,
            Path::new("."),
            Utc::now(),
        )
        .await
        .map(|_| ()),
        DropCommand::Cycle { inbox, outbox } => {
            cycle(&config, &control, &inbox, &outbox, Utc::now())
                .await
                .map(|_| ())
        }
    };
    control.close().await;
    r.map(|_| ExitCode::SUCCESS)
}

fn now_or(now: Option<&str>) -> Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(s) => Ok(DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--now {s} is not an RFC 3339 time"))?
            .with_timezone(&Utc)),
    }
}

async fn import_file(
    config: &Config,
    control: &ControlDb,
    zip: &Path,
    now: DateTime<Utc>,
) -> Result<()> {
    let bytes = std::fs::read(zip).with_context(|| format!("cannot read {}", zip.display()))?;
    let s = dsr_engine::drop::import(config, control, &bytes, now)
        .await
        .with_context(|| format!("{} not imported; nothing was stored", zip.display()))?;
    if s.already_imported {
        println!("{}: already imported as batch {}", zip.display(), s.batch);
    } else {
        println!(
            "batch {}: {} work item(s) {}; {} deletion request(s) stored; {} withdrawn",
            s.batch,
            s.items.values().sum::<usize>(),
            serde_json::to_string(&s.outcomes)?,
            s.requests,
            s.withdrawn
        );
    }
    Ok(())
}

async fn export_to(
    config: &Config,
    control: &ControlDb,
    batch: Option<&str>,
    out: Option<PathBuf>,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<PathBuf> {
    let drop = dsr_engine::drop::settings(config)?;
    let out = out.unwrap_or_else(|| {
        dir.join(format!(
            "{}_{}_Status.csv",
            now.format("%Y%m%d"),
            drop.broker_id
        ))
    });
    let (csv, s) = dsr_engine::drop::export(config, control, batch, now).await?;
    std::fs::write(&out, csv).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} status row(s) {}; {} work item(s) still open",
        out.display(),
        s.codes.values().sum::<usize>(),
        serde_json::to_string(&s.codes)?,
        s.pending
    );
    Ok(out)
}

/// The DROP cycle (also the `drop_cycle` job): import, run, export. Returns a summary.
pub async fn cycle(
    config: &Config,
    control: &ControlDb,
    inbox: &Path,
    outbox: &Path,
    now: DateTime<Utc>,
) -> Result<serde_json::Value> {
    let done = inbox.join("done");
    std::fs::create_dir_all(&done).with_context(|| format!("cannot create {}", done.display()))?;
    std::fs::create_dir_all(outbox)
        .with_context(|| format!("cannot create {}", outbox.display()))?;
    let mut zips: Vec<PathBuf> = std::fs::read_dir(inbox)
        .with_context(|| format!("cannot read {}", inbox.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip")))
        .collect();
    zips.sort();
    let mut failed = 0usize;
    for z in &zips {
        match import_file(config, control, z, now).await {
            Ok(()) => {
                if let Some(name) = z.file_name() {
                    std::fs::rename(z, done.join(name))
                        .with_context(|| format!("cannot move {} to done/", z.display()))?;
                }
            }
            // A bad download stays in the inbox for a person to look at; the others go on.
            Err(e) => {
                failed += 1;
                eprintln!("{e:#}");
            }
        }
    }
    let opts = RunOptions {
        job: "drop".into(),
        kinds: vec![RequestKind::Deletion],
        dry_run: false,
        only: None,
        lease: LeaseOptions::default(),
    };
    let summary = run(config, control, &opts, &dsr_engine::run::NoProgress).await?;
    crate::output::print_summary(&summary);
    let out = export_to(config, control, None, None, outbox, now).await?;
    if failed > 0 {
        bail!(
            "{failed} download(s) could not be imported; they stay in {}",
            inbox.display()
        );
    }
    Ok(serde_json::json!({
        "downloads": zips.len(),
        "run": summary.run_id,
        "requests": summary.requests.len(),
        "status_file": out.display().to_string(),
    }))
}
