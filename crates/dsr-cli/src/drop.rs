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
        /// Also upload it through the DROP API.
        #[arg(long)]
        upload: bool,
    },
    /// Download the lists from the DROP API (`[drop] api_url`, key in `$DSR_DROP_API_KEY`)
    /// and import them; the ZIP is kept in `--keep DIR` when given.
    Pull {
        /// Directory to keep the downloaded ZIP in.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// The whole cycle: pull from the DROP API when configured, import every download in
    /// `--inbox` (moved to `<inbox>/done` once imported), run the deletions, write the status
    /// file to `--outbox` and, with the API, upload it.
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
        DropCommand::Export { batch, out, upload } => {
            let here = Path::new(".");
            match export_to(&config, &control, batch.as_deref(), out, here, Utc::now()).await {
                Ok(path) if upload => upload_file(&config, &path).await,
                r => r.map(|_| ()),
            }
        }
        DropCommand::Pull { keep } => pull(&config, &control, keep.as_deref(), Utc::now()).await,
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

/// Downloads the lists through the DROP API and imports them.
async fn pull(
    config: &Config,
    control: &ControlDb,
    keep: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<()> {
    let drop = dsr_engine::drop::settings(config)?;
    let zip = dsr_engine::drop::api::download(drop).await?;
    let name = format!(
        "{}_{}_download.zip",
        now.format("%Y%m%dT%H%M%S"),
        drop.broker_id
    );
    let path = match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.join(&name)
        }
        None => std::env::temp_dir().join(format!("{}-{name}", std::process::id())),
    };
    std::fs::write(&path, &zip).with_context(|| format!("cannot write {}", path.display()))?;
    let r = import_file(config, control, &path, now).await;
    if keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    r
}

/// Uploads a written status file through the DROP API.
async fn upload_file(config: &Config, path: &Path) -> Result<()> {
    let drop = dsr_engine::drop::settings(config)?;
    let csv =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    dsr_engine::drop::api::upload(drop, &name, &csv).await?;
    println!("{}: uploaded to the DROP API", path.display());
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
    let api = dsr_engine::drop::settings(config)?.api_url.is_some();
    if api {
        // The API's download is imported like a manual one, and kept in done/.
        pull(config, control, Some(&done), now).await?;
    }
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
    if api {
        upload_file(config, &out).await?;
    }
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
