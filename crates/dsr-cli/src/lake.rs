//! `dsr lake find|erase`: the lake tools for data engineers — find or remove the rows of a
//! list of subjects in a Parquet lake without a data map.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dsr_connector_parquet::scan::Selection;
use dsr_connector_parquet::{Columns, Lake, LakeOptions, Matcher};
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// `dsr lake …`.
#[derive(Subcommand)]
pub enum LakeCommand {
    /// Print the rows of the listed subjects as JSON lines, sensitive columns withheld.
    Find(LakeArgs),
    /// Remove the rows of the listed subjects, rewriting only the files that hold any.
    Erase {
        #[command(flatten)]
        args: LakeArgs,
        /// Say which files would change and how many rows would go; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// What and where.
#[derive(Args)]
pub struct LakeArgs {
    /// The lake: a directory or `s3://bucket/prefix` (endpoint and credentials from the AWS
    /// environment).
    #[arg(long)]
    lake: String,
    /// Files of the lake to search, as a glob relative to it.
    #[arg(long, default_value = "**/*.parquet")]
    files: String,
    /// The identity column (`address.email` inside a struct).
    #[arg(long, default_value = "email")]
    column: String,
    /// How identities compare: email, phone, exact or case_insensitive.
    #[arg(long, default_value = "email")]
    identity: String,
    /// The lake stores the column already normalised: skip row groups by statistics and bloom
    /// filters.
    #[arg(long)]
    normalized: bool,
    /// Subjects, one identity per line (blank lines ignored).
    #[arg(long)]
    subjects: PathBuf,
    /// Columns withheld from the output (repeatable; matched on the last path segment).
    /// Default: ssn, tax_id, national_id, passport, driver_license, password, password_hash,
    /// card_number, account_number, iban.
    #[arg(long = "withhold")]
    withhold: Vec<String>,
    /// Threads.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(2, usize::from))]
    threads: usize,
    /// Memory budget for decoded data in flight, in MiB.
    #[arg(long, default_value_t = 128)]
    memory_mb: usize,
    /// Path-style S3 addressing (moto, MinIO).
    #[arg(long)]
    path_style: bool,
    /// Write timing and counts as JSON to this file.
    #[arg(long)]
    stats_json: Option<PathBuf>,
}

const DEFAULT_WITHHELD: &[&str] = &[
    "ssn",
    "tax_id",
    "national_id",
    "passport",
    "driver_license",
    "password",
    "password_hash",
    "card_number",
    "account_number",
    "iban",
];

/// Peak resident set size of this process, from `/proc/self/status` (0 where unknown).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Reads and normalises the subjects file; a bad line is refused by number, never echoed.
fn read_subjects(path: &PathBuf, normalizer: Normalizer) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading subjects file {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match normalizer.normalize(line) {
            Ok(v) => out.push(v),
            Err(why) => bail!("{}: line {}: {why}", path.display(), i + 1),
        }
    }
    if out.is_empty() {
        bail!("{}: no subjects", path.display());
    }
    Ok(out)
}

fn parse_normalizer(s: &str) -> Result<Normalizer> {
    Ok(match s {
        "email" => Normalizer::Email,
        "phone" => Normalizer::Phone,
        "exact" => Normalizer::Exact,
        "case_insensitive" => Normalizer::CaseInsensitive,
        other => {
            bail!("unknown identity `{other}`; expected email, phone, exact or case_insensitive")
        }
    })
}

/// Runs a lake command.
pub async fn run(command: LakeCommand) -> Result<ExitCode> {
    let (args, erase, dry_run) = match command {
        LakeCommand::Find(a) => (a, false, false),
        LakeCommand::Erase { args, dry_run } => (args, true, dry_run),
    };
    let normalizer = parse_normalizer(&args.identity)?;
    let subjects = read_subjects(&args.subjects, normalizer)?;
    let opts = LakeOptions {
        threads: args.threads.max(1),
        memory_budget: args.memory_mb.max(16) << 20,
        s3: dsr_s3::S3Options {
            endpoint: None,
            region: None,
            path_style: args.path_style,
        },
    };
    let started = Instant::now();
    let lake = Lake::open(&args.lake, opts).await?;
    let matcher = Arc::new(Matcher::new(
        &args.column,
        normalizer,
        &subjects,
        args.normalized,
    ));
    let withhold: Vec<String> = if args.withhold.is_empty() {
        DEFAULT_WITHHELD.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.withhold.clone()
    };
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let (stats, failures) = if erase {
        let summary = lake.erase(&args.files, matcher, dry_run).await?;
        for f in &summary.files {
            serde_json::to_writer(&mut stdout, f)?;
            writeln!(stdout)?;
        }
        let removed: u64 = summary.files.iter().map(|f| f.removed).sum();
        eprintln!(
            "{} {removed} row(s) in {} of {} file(s){}",
            if dry_run { "would remove" } else { "removed" },
            summary.files.len(),
            summary.files_scanned,
            if summary.recovered.is_empty() {
                String::new()
            } else {
                format!(
                    "; finished {} interrupted replacement(s)",
                    summary.recovered.len()
                )
            }
        );
        (
            serde_json::json!({
                "elapsed_s": started.elapsed().as_secs_f64(),
                "peak_rss_bytes": peak_rss_bytes(),
                "removed": removed,
                "files_rewritten": if dry_run { 0 } else { summary.files.len() },
                "files_scanned": summary.files_scanned,
                "row_groups_copied": summary.files.iter().map(|f| f.row_groups_copied).sum::<usize>(),
                "row_groups_rewritten": summary.files.iter().map(|f| f.row_groups_rewritten).sum::<usize>(),
                "failures": summary.failures.len(),
            }),
            summary.failures,
        )
    } else {
        let selection = Selection {
            columns: Columns::All,
            withheld: Vec::new(),
        };
        let summary = lake.find(&args.files, matcher, selection).await?;
        for row in &summary.rows {
            let values: serde_json::Map<String, serde_json::Value> = row
                .values
                .iter()
                .map(|(k, v)| {
                    let last = k.rsplit('.').next().unwrap_or(k);
                    let shown = if withhold.iter().any(|w| w == last || w == k) {
                        serde_json::Value::String("[withheld]".into())
                    } else {
                        json_of(v)
                    };
                    (k.clone(), shown)
                })
                .collect();
            serde_json::to_writer(
                &mut stdout,
                &serde_json::json!({"object": row.object, "row": row.row, "matched": row.matched, "values": values}),
            )?;
            writeln!(stdout)?;
        }
        eprintln!(
            "{} row(s) in {} file(s); {} row group(s) read, {} skipped by statistics or bloom filters",
            summary.rows.len(),
            summary.files_scanned,
            summary.row_groups_scanned,
            summary.row_groups_pruned
        );
        (
            serde_json::json!({
                "elapsed_s": started.elapsed().as_secs_f64(),
                "peak_rss_bytes": peak_rss_bytes(),
                "rows": summary.rows.len(),
                "files_scanned": summary.files_scanned,
                "row_groups_scanned": summary.row_groups_scanned,
                "row_groups_pruned": summary.row_groups_pruned,
                "failures": summary.failures.len(),
            }),
            summary.failures,
        )
    };
    stdout.flush()?;
    if let Some(path) = &args.stats_json {
        std::fs::write(path, serde_json::to_vec_pretty(&stats)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for f in &failures {
        eprintln!("error: {}", f.message);
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A value as JSON (nested values arrive as JSON text and are embedded as such).
fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::Text(t) if t.starts_with(['{', '[']) => {
            serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.clone()))
        }
        other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
    }
}
