//! `dsr demo`: a fresh SQLite estate, the sample requests, one nightly run, a summary.

use anyhow::{Context, Result};
use dsr_connector_sql::SqlConnector;
use dsr_core::request::RequestKind;
use dsr_engine::control::ControlDb;
use dsr_engine::run::{RunOptions, run};
use dsr_fixtures::Flavor;
use std::path::Path;
use std::process::ExitCode;

/// Runs the demo under `out` (wiped first) with the config at `config_dir`. The `crm` and
/// `support` stores are SQLite files under `out` unless URLs of empty server databases are
/// given; then the store files' `kind` is set to match, in a copy of the config under `out`.
pub async fn demo(
    config_dir: &Path,
    out: &Path,
    subjects: usize,
    crm_url: Option<String>,
    support_url: Option<String>,
    control_db: Option<String>,
    s3: bool,
) -> Result<ExitCode> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize()?;
    let now = chrono::Utc::now();
    let crm = crm_url.unwrap_or_else(|| format!("sqlite://{}", out.join("crm.db").display()));
    let support =
        support_url.unwrap_or_else(|| format!("sqlite://{}", out.join("support.db").display()));
    let flavor = |url: &str| {
        Flavor::of_url(url).with_context(|| "store URLs must be sqlite:, postgres: or mysql:")
    };
    let (crm_flavor, support_flavor) = (flavor(&crm)?, flavor(&support)?);
    let estate = dsr_fixtures::estate_for(now, subjects, crm_flavor, support_flavor);
    SqlConnector::run_script(&crm, &estate.crm_sql)
        .await
        .context("loading the crm estate (the database must be empty)")?;
    SqlConnector::run_script(&support, &estate.support_sql)
        .await
        .context("loading the support estate (the database must be empty)")?;
    let config_dir = if crm_flavor == Flavor::Sqlite && support_flavor == Flavor::Sqlite {
        config_dir.to_path_buf()
    } else {
        let copy = out.join("config");
        copy_config(
            config_dir,
            &copy,
            &[("crm.toml", crm_flavor), ("support.toml", support_flavor)],
        )?;
        copy
    };
    let config_dir = config_dir.as_path();
    // Evidence, reports and recordings: directories under `out`, or fresh prefixes in local
    // S3 buckets (the evidence bucket with Object Lock).
    let stamp = now.format("%Y%m%dT%H%M%S").to_string();
    let lake_files = dsr_fixtures::web_events(subjects).context("building the demo lake")?;
    let (evidence, delivery, recordings, lake) = if s3 {
        let client = dsr_s3::client(&dsr_s3::S3Options {
            path_style: true,
            ..Default::default()
        })
        .await
        .context("S3 client (set AWS_ENDPOINT_URL, AWS_REGION and credentials)")?;
        for (bucket, lock) in [
            ("dsr-demo-evidence", true),
            ("dsr-demo-reports", false),
            ("dsr-demo-recordings", false),
            ("dsr-demo-lake", false),
        ] {
            if let Err(e) = dsr_s3::create_bucket(&client, bucket, lock).await
                && !matches!(
                    e.code(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                )
            {
                return Err(e).with_context(|| format!("creating bucket {bucket}"));
            }
        }
        let recordings = dsr_s3::S3Url::parse(&format!("s3://dsr-demo-recordings/{stamp}"))?;
        for (key, bytes) in dsr_fixtures::recordings(subjects) {
            dsr_s3::put_private(&client, &recordings, &key, bytes, "audio/wav").await?;
        }
        let lake = dsr_s3::S3Url::parse(&format!("s3://dsr-demo-lake/{stamp}"))?;
        for (key, bytes) in lake_files {
            dsr_s3::put_private(
                &client,
                &lake,
                &key,
                bytes,
                "application/vnd.apache.parquet",
            )
            .await?;
        }
        (
            format!("s3://dsr-demo-evidence/{stamp}"),
            format!("s3://dsr-demo-reports/{stamp}"),
            recordings.to_string(),
            lake.to_string(),
        )
    } else {
        let dir = out.join("recordings");
        for (key, bytes) in dsr_fixtures::recordings(subjects) {
            let p = dir.join(&key);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, bytes)?;
        }
        std::fs::create_dir_all(&dir)?;
        let lake = out.join("lake");
        for (name, bytes) in lake_files {
            let p = lake.join(&name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, bytes)?;
        }
        (
            out.join("evidence").display().to_string(),
            out.join("reports").display().to_string(),
            dir.display().to_string(),
            lake.display().to_string(),
        )
    };
    let vars: Vec<(&str, String)> = vec![
        ("DSR_RECORDINGS_URL", recordings),
        ("DSR_LAKE_URL", lake),
        ("DSR_CRM_URL", crm.clone()),
        ("DSR_SUPPORT_URL", support.clone()),
        (
            "DSR_CONTROL_DB",
            control_db.unwrap_or_else(|| format!("sqlite://{}", out.join("control.db").display())),
        ),
        ("DSR_EVIDENCE_URL", evidence.clone()),
        ("DSR_DELIVERY_URL", delivery.clone()),
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
        "estate: crm {}, support {} ({subjects} filler subjects)",
        redact_url(&crm),
        redact_url(&support)
    );
    for (name, body) in &requests {
        let (req, _) = dsr_engine::admission::submit(&config, &control, &body.to_string())
            .await
            .with_context(|| format!("sample request {name}"))?;
        println!("submitted {} ({})", req.id, req.kind.key());
    }
    let opts = RunOptions {
        job: "nightly".into(),
        kinds: RequestKind::ALL.to_vec(),
        dry_run: false,
        only: None,
        lease: dsr_engine::run::LeaseOptions::default(),
    };
    let progress = crate::output::progress_bar();
    let summary = run(&config, &control, &opts, progress.as_ref()).await?;
    control.close().await;
    crate::output::print_summary(&summary);
    println!("reports:  {delivery}");
    println!("evidence: {evidence}  (check it: dsr audit verify {evidence})");
    Ok(ExitCode::SUCCESS)
}

/// Copies the config directory, setting the `kind` of the named store files.
fn copy_config(from: &Path, to: &Path, kinds: &[(&str, Flavor)]) -> Result<()> {
    std::fs::create_dir_all(to.join("stores"))?;
    for entry in std::fs::read_dir(from)?.chain(std::fs::read_dir(from.join("stores"))?) {
        let entry = entry?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let rel = path.strip_prefix(from)?;
        let mut text = std::fs::read_to_string(&path)?;
        if let Some((_, flavor)) = kinds
            .iter()
            .find(|(name, _)| rel == Path::new("stores").join(name))
        {
            let kind = match flavor {
                Flavor::Sqlite => "sqlite",
                Flavor::Postgres => "postgres",
                Flavor::MySql => "mysql",
            };
            text = text.replace("kind = \"sqlite\"", &format!("kind = \"{kind}\""));
        }
        std::fs::write(to.join(rel), text)?;
    }
    Ok(())
}

/// A URL without its password, for printing.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
