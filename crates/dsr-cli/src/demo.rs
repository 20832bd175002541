//! `dsr demo`: a fresh SQLite estate, the sample requests, one nightly run, a summary.

use anyhow::{Context, Result};
use dsr_connector_sql::SqlConnector;
use dsr_core::request::RequestKind;
use dsr_engine::control::ControlDb;
use dsr_engine::run::{RunOptions, run};
use std::path::Path;
use std::process::ExitCode;

/// Runs the demo under `out` (wiped first) with the config at `config_dir`.
pub async fn demo(config_dir: &Path, out: &Path, subjects: usize) -> Result<ExitCode> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize()?;
    let now = chrono::Utc::now();
    let estate = dsr_fixtures::estate(now, subjects);
    let crm = format!("sqlite://{}", out.join("crm.db").display());
    let support = format!("sqlite://{}", out.join("support.db").display());
    SqlConnector::run_script(&crm, &estate.crm_sql).await?;
    SqlConnector::run_script(&support, &estate.support_sql).await?;
    let vars: Vec<(&str, String)> = vec![
        ("DSR_CRM_URL", crm),
        ("DSR_SUPPORT_URL", support),
        (
            "DSR_CONTROL_DB",
            format!("sqlite://{}", out.join("control.db").display()),
        ),
        (
            "DSR_EVIDENCE_URL",
            out.join("evidence").display().to_string(),
        ),
        (
            "DSR_DELIVERY_URL",
            out.join("reports").display().to_string(),
        ),
    ];
    let env = move |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(k).ok())
    };
    let config = dsr_engine::load::load_config_with(config_dir, &env)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let requests = dsr_fixtures::requests(now);
    println!(
        "estate: {} (crm.db, support.db; {} filler subjects)",
        out.display(),
        subjects
    );
    for (name, body) in &requests {
        let (req, _) = dsr_engine::admission::submit(&config, &control, &body.to_string())
            .await
            .with_context(|| format!("sample request {name}"))?;
        println!("submitted {} ({})", req.id, req.kind.key());
    }
    let opts = RunOptions {
        job: "nightly".into(),
        kinds: vec![
            RequestKind::Access,
            RequestKind::AccessCategories,
            RequestKind::Deletion,
            RequestKind::OptOut,
        ],
        dry_run: false,
        only: None,
    };
    let progress = crate::output::progress_bar();
    let summary = run(&config, &control, &opts, progress.as_ref()).await?;
    control.close().await;
    crate::output::print_summary(&summary);
    println!("reports:  {}", out.join("reports").display());
    println!(
        "evidence: {}  (check it: dsr audit verify {})",
        out.join("evidence").display(),
        out.join("evidence").display()
    );
    Ok(ExitCode::SUCCESS)
}
