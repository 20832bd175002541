//! `dsr`: the one binary — submit, run, worker, schedule, check, status, audit, demo.
//!
//! Exit codes: 0 ok; 1 a command failed (one-line error on stderr); 2 bad usage (clap).

mod bench;
mod bench_lake;
mod demo;
mod drop;
mod lake;
mod output;
mod recipients;
mod schedule;
mod serve;
mod suppression;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use dsr_core::request::RequestKind;
use dsr_engine::control::{ControlDb, Submitted};
use dsr_engine::run::{LeaseOptions, RunOptions, run};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Fulfils data-subject requests (CCPA/CPRA, GDPR) across the company's data stores.
#[derive(Parser)]
#[command(name = "dsr", version, about, long_about = None)]
struct Cli {
    /// Configuration directory (dsr.toml, stores/, disclosures.toml, exemptions.toml).
    #[arg(long, global = true, env = "DSR_CONFIG", default_value = "config")]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// More logs (-v: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Validate and store requests from JSON files (one object or an array per file).
    Submit {
        /// Request files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a job over the admitted requests (batched).
    Run {
        /// Job name: jobs/<name>.toml.
        #[arg(long, default_value = "nightly")]
        job: String,
        /// Directory of job files.
        #[arg(long, default_value = "jobs")]
        jobs_dir: PathBuf,
        /// Show the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only these request ids.
        #[arg(long = "request")]
        requests: Vec<String>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Lease time in seconds (renewed while the run works).
        #[arg(long, default_value_t = 600.0)]
        lease_secs: f64,
        /// Take requests whose lease is still live, e.g. after a run crashed; whoever holds
        /// them is fenced out and can no longer write.
        #[arg(long)]
        take_over: bool,
        /// First sweep every store for people deleted earlier whose data was acquired again
        /// (tombstones), and delete it again in this run (also `sweep = true` in the job).
        #[arg(long)]
        sweep: bool,
    },
    /// Lease batches of requests from the control DB and run them until stopped; run as many
    /// as you like, on as many machines (the control DB must then be PostgreSQL).
    Worker {
        /// Job name: jobs/<name>.toml (the request kinds to take).
        #[arg(long, default_value = "nightly")]
        job: String,
        /// Directory of job files.
        #[arg(long, default_value = "jobs")]
        jobs_dir: PathBuf,
        /// Worker name recorded with its leases (default: host name and process id).
        #[arg(long)]
        name: Option<String>,
        /// Most requests in one batch.
        #[arg(long, default_value_t = 50)]
        batch: usize,
        /// Lease time in seconds; renewed every third of it while a batch works. A worker
        /// stalled longer than this loses its batch to another worker.
        #[arg(long, default_value_t = 300.0)]
        lease_secs: f64,
        /// Seconds a request left unfinished (a store failed) waits before it is retried.
        #[arg(long, default_value_t = 300.0)]
        retry_after_secs: f64,
        /// Seconds between polls when there is nothing to do.
        #[arg(long, default_value_t = 2.0)]
        poll_secs: f64,
        /// Exit once no request is received, admitted or in progress.
        #[arg(long)]
        exit_when_done: bool,
    },
    /// Validate the configuration, and every mapped table and column against the live schemas.
    Check {
        /// Validate the files only; do not connect to stores.
        #[arg(long)]
        offline: bool,
    },
    /// Serve the portal HTTP API (OpenAPI document at /openapi.json).
    Serve(serve::ServeArgs),
    /// Bearer tokens of the portal API.
    Token {
        #[command(subcommand)]
        command: serve::TokenCommand,
    },
    /// Run the jobs of a directory on their schedules (cron expressions in their time zones)
    /// until stopped: fulfilment runs, the retention purge, the overdue report.
    Schedule {
        /// Directory of job files (every *.toml is a job).
        #[arg(long = "jobs", default_value = "jobs")]
        jobs_dir: PathBuf,
        /// Check every job once, run those due, and exit (exit 1 if a job failed).
        #[arg(long)]
        once: bool,
        /// Use this time (RFC 3339) as now (tests; with --once).
        #[arg(long, hide = true, requires = "once")]
        now: Option<String>,
        /// Job lock time in seconds; renewed every third of it while a job runs.
        #[arg(long, default_value_t = 600.0)]
        lock_secs: f64,
    },
    /// The recipient ledger: who received subjects' information (from sale/share logs).
    Ledger {
        #[command(subcommand)]
        command: recipients::LedgerCommand,
    },
    /// Notifications of deletions and opt-outs to recipients, to handle by hand.
    Notifications {
        #[command(subcommand)]
        command: recipients::NotificationsCommand,
    },
    /// California's DROP deletion lists: import a download, export the statuses.
    Drop {
        #[command(subcommand)]
        command: drop::DropCommand,
    },
    /// The suppression list (opt-outs, Global Privacy Control, minors, tombstones) for sale
    /// pipelines, and the ingestion check against tombstones.
    Suppression {
        #[command(subcommand)]
        command: suppression::SuppressionCommand,
    },
    /// Show requests and their status.
    Status {
        /// One request id (all when absent).
        id: Option<String>,
        /// List the open requests overdue or due within --within-days instead.
        #[arg(long, conflicts_with = "id")]
        overdue: bool,
        /// With --overdue: also requests due within this many days.
        #[arg(long, default_value_t = dsr_core::schedule::DEFAULT_WITHIN_DAYS, requires = "overdue")]
        within_days: u32,
        /// Use this time (RFC 3339) as now (tests).
        #[arg(long, hide = true)]
        now: Option<String>,
    },
    /// Evidence for auditors.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Generate fixture estates.
    Fixtures {
        #[command(subcommand)]
        command: FixturesCommand,
    },
    /// Benchmarks (figures, not tests).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Parquet lake tools: find or erase the rows of listed subjects.
    Lake {
        #[command(subcommand)]
        command: lake::LakeCommand,
    },
    /// Build a fresh SQLite estate, submit the sample requests, run the nightly job.
    Demo {
        /// Output directory (wiped and rebuilt).
        #[arg(long, default_value = "var/demo")]
        out: PathBuf,
        /// Filler subjects besides the special ones.
        #[arg(long, default_value_t = dsr_fixtures::DEFAULT_FILLER)]
        subjects: usize,
        /// Put the `crm` store in this (empty) database instead of a SQLite file
        /// (`postgres://…`, `mysql://…`).
        #[arg(long)]
        crm_url: Option<String>,
        /// Put the `support` store in this (empty) database instead of a SQLite file.
        #[arg(long)]
        support_url: Option<String>,
        /// Keep the control DB in this (empty) PostgreSQL database instead of a SQLite file.
        #[arg(long)]
        control_db: Option<String>,
        /// Put evidence, reports and recordings in S3 (buckets dsr-demo-evidence, with Object
        /// Lock, dsr-demo-reports and dsr-demo-recordings, created if absent; a fresh prefix
        /// per demo) at the endpoint of the AWS environment (`AWS_ENDPOINT_URL`, …).
        #[arg(long)]
        s3: bool,
    },
}

#[derive(Subcommand)]
enum FixturesCommand {
    /// Generate the SQL benchmark estate: PostgreSQL customers + orders, MariaDB contacts.
    Sql(SqlEstate),
    /// Generate a Parquet data lake (zstd, bloom filter on email) and its subject lists.
    Lake(bench_lake::LakeFixtures),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Batched find across PostgreSQL and MariaDB versus one query per subject and the raw driver.
    Sql {
        #[command(flatten)]
        estate: SqlEstate,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// `dsr lake` find and erase over the 1-file and 100-file lakes versus DuckDB (exits 1 on
    /// any mismatch or failed cell; missed targets are only flagged).
    Lake(bench_lake::LakeBench),
}

#[derive(clap::Args)]
struct SqlEstate {
    /// PostgreSQL database of the estate.
    #[arg(
        long,
        env = "DSR_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/dsr_bench"
    )]
    postgres_url: String,
    /// MariaDB database of the estate.
    #[arg(
        long,
        env = "DSR_BENCH_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306/dsr_bench"
    )]
    mysql_url: String,
    /// Customers (PostgreSQL) and contacts (MariaDB).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Orders per customer.
    #[arg(long, default_value_t = 5)]
    orders_per_customer: u64,
    /// Subjects in the batch.
    #[arg(long, default_value_t = 1_000)]
    subjects: u64,
    /// The subject list (one email per line).
    #[arg(long, default_value = "var/bench/subjects.txt")]
    subjects_file: PathBuf,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every object of an evidence location: hashes, chains, manifests and their
    /// signatures, and that no object has a second version or a delete marker.
    Verify {
        /// Evidence location: a directory or `s3://bucket/prefix`.
        location: String,
        /// A public key manifests may be signed with, as `KEY_ID=HEX` (repeatable). Default:
        /// the `[signing.public_keys]` of the configuration, when it can be read.
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
    },
    /// Print the evidence timeline of one request.
    Show {
        /// Request id.
        id: String,
        /// Evidence location, a directory or `s3://bucket/prefix` (default: the configured one).
        #[arg(long)]
        evidence: Option<String>,
    },
}

fn init_logs(format: LogFormat, verbose: u8) {
    let default = if verbose > 0 { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DSR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},sqlx=error")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format, cli.verbose);
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Submit { files } => submit(&cli.config, &files).await,
        Command::Run {
            job,
            jobs_dir,
            dry_run,
            requests,
            json,
            lease_secs,
            take_over,
            sweep,
        } => {
            let config = dsr_engine::load::load_config(&cli.config)?;
            let (kinds, job_sweep) = dsr_engine::load::fulfilment_job(&jobs_dir, &job)?;
            let control = ControlDb::open(&config.settings.control_db).await?;
            if (sweep || job_sweep) && !dry_run {
                // Housekeeping of the nightly run: failed notifications are sent again.
                recipients::retry_with(&config, &control).await?;
                let s = dsr_engine::tombstone::sweep(&config, &control, chrono::Utc::now()).await?;
                let line = if s.skipped.is_empty() {
                    format!(
                        "sweep: {} deleted person(s) found again ({} row(s)); {} deletion request(s) stored",
                        s.reacquired,
                        s.rows,
                        s.requests.len()
                    )
                } else {
                    format!(
                        "sweep skipped: unreachable store(s) {}",
                        s.skipped.join(", ")
                    )
                };
                // With --json, stdout holds the run summary alone.
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
            let opts = RunOptions {
                job,
                kinds,
                dry_run,
                only: (!requests.is_empty()).then_some(requests),
                lease: LeaseOptions {
                    ttl: seconds("lease-secs", lease_secs)?,
                    take_over,
                    ..LeaseOptions::default()
                },
            };
            let progress = output::progress_bar();
            let summary = run(&config, &control, &opts, progress.as_ref()).await?;
            // Every run says what is overdue or due within 7 days (ids and counts only).
            let due = control
                .deadlines(chrono::Utc::now(), dsr_core::schedule::DEFAULT_WITHIN_DAYS)
                .await?;
            control.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                output::print_summary(&summary);
                if !opts.dry_run {
                    schedule::print_deadlines(&due, dsr_core::schedule::DEFAULT_WITHIN_DAYS);
                }
            }
            let overdue = due.iter().filter(|d| d.days_left < 0).count();
            tracing::info!(
                overdue,
                due_soon = due.len() - overdue,
                "deadlines after the run"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker {
            job,
            jobs_dir,
            name,
            batch,
            lease_secs,
            retry_after_secs,
            poll_secs,
            exit_when_done,
        } => {
            let config = dsr_engine::load::load_config(&cli.config)?;
            let kinds = job_kinds(&jobs_dir, &job)?;
            if batch == 0 {
                bail!("--batch must be at least 1");
            }
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            let worker_name =
                name.unwrap_or_else(|| format!("{}-{}", host.trim(), std::process::id()));
            let opts = worker::WorkerOptions {
                run: RunOptions {
                    job,
                    kinds,
                    dry_run: false,
                    only: None,
                    lease: LeaseOptions {
                        worker: worker_name,
                        batch,
                        ttl: seconds("lease-secs", lease_secs)?,
                        retry_after: seconds("retry-after-secs", retry_after_secs)?,
                        respect_retry_time: true,
                        take_over: false,
                    },
                },
                poll: seconds("poll-secs", poll_secs)?,
                exit_when_done,
            };
            let control = ControlDb::open(&config.settings.control_db).await?;
            let code = worker::work(&config, &control, &opts).await;
            control.close().await;
            code
        }
        Command::Check { offline } => check(&cli.config, offline).await,
        Command::Schedule {
            jobs_dir,
            once,
            now,
            lock_secs,
        } => {
            let opts = schedule::ScheduleOptions {
                jobs_dir,
                once,
                now: now.as_deref().map(schedule::parse_now).transpose()?,
                lock_ttl: seconds("lock-secs", lock_secs)?,
            };
            let config = dsr_engine::load::load_config(&cli.config)?;
            let control = ControlDb::open(&config.settings.control_db).await?;
            let code = schedule::schedule(&config, &control, &opts).await;
            control.close().await;
            code
        }
        Command::Status {
            overdue: true,
            within_days,
            now,
            ..
        } => {
            let now = match now {
                Some(n) => schedule::parse_now(&n)?,
                None => chrono::Utc::now(),
            };
            let config = dsr_engine::load::load_config(&cli.config)?;
            let control = ControlDb::open(&config.settings.control_db).await?;
            let deadlines = control.deadlines(now, within_days).await?;
            control.close().await;
            schedule::print_deadlines(&deadlines, within_days);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { id, .. } => status(&cli.config, id).await,
        Command::Serve(args) => serve::serve(&cli.config, args).await,
        Command::Token { command } => serve::token(&cli.config, command).await,
        Command::Suppression { command } => suppression::run(&cli.config, command).await,
        Command::Drop { command } => drop::run_command(&cli.config, command).await,
        Command::Ledger { command } => recipients::ledger(&cli.config, command).await,
        Command::Notifications { command } => recipients::notifications(&cli.config, command).await,
        Command::Audit {
            command:
                AuditCommand::Verify {
                    location,
                    public_keys,
                },
        } => match dsr_evidence::verify(
            sink_at(&cli.config, &location).await?.as_ref(),
            &key_ring(&cli.config, &public_keys)?,
        )
        .await
        {
            Ok(s) => {
                for r in &s.requests {
                    println!("ok  {r}");
                }
                println!(
                    "verified {} request(s), {} run(s), {} entries, {} manifests ({} signed{})",
                    s.requests.len(),
                    s.runs,
                    s.entries,
                    s.manifests,
                    s.signed,
                    if s.signatures_checked {
                        ", signatures checked"
                    } else {
                        "; no public keys given: signatures not checked"
                    }
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => bail!("evidence verification failed: {e}"),
        },
        Command::Audit {
            command: AuditCommand::Show { id, evidence },
        } => {
            let location = match evidence {
                Some(l) => l,
                None => {
                    dsr_engine::load::load_config(&cli.config)?
                        .settings
                        .evidence
                }
            };
            let sink = sink_at(&cli.config, &location).await?;
            let entries = dsr_evidence::show(sink.as_ref(), &id).await?;
            if entries.is_empty() {
                bail!("no evidence for request {id}");
            }
            for e in entries {
                println!(
                    "{:>4}  {}  lease {:<4} {:<18} {}",
                    e.seq, e.at, e.lease, e.kind, e.data
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fixtures {
            command: FixturesCommand::Sql(e),
        } => {
            bench::fixtures_sql(
                &e.postgres_url,
                &e.mysql_url,
                e.customers,
                e.orders_per_customer,
                e.subjects,
                &e.subjects_file,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Fixtures {
            command: FixturesCommand::Lake(l),
        } => {
            bench_lake::fixtures_lake(&l).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            command: BenchCommand::Lake(b),
        } => bench_lake::bench_lake(&b),
        Command::Bench {
            command: BenchCommand::Sql { estate, json },
        } => {
            bench::bench_sql(
                &estate.postgres_url,
                &estate.mysql_url,
                &estate.subjects_file,
                json,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lake { command } => lake::run(command).await,
        Command::Demo {
            out,
            subjects,
            crm_url,
            support_url,
            control_db,
            s3,
        } => {
            demo::demo(
                &cli.config,
                &out,
                subjects,
                crm_url,
                support_url,
                control_db,
                s3,
            )
            .await
        }
    }
}

/// The evidence sink at `location` (`s3://…` or a directory, which must exist). S3 access
/// comes from the configuration's `[s3]` when it can be read, and the AWS environment.
async fn sink_at(
    config_dir: &std::path::Path,
    location: &str,
) -> Result<std::sync::Arc<dyn dsr_evidence::EvidenceSink>> {
    let mut settings = match dsr_engine::load::load_config(config_dir) {
        Ok(c) => c.settings,
        Err(_) if location.starts_with("s3://") => {
            let client = dsr_s3::client(&dsr_s3::S3Options::default()).await?;
            return Ok(std::sync::Arc::new(dsr_s3::S3Sink::new(
                client,
                dsr_s3::S3Url::parse(location)?,
            )));
        }
        Err(_) => {
            if !std::path::Path::new(location).is_dir() {
                bail!("{location}: not a directory");
            }
            return Ok(std::sync::Arc::new(dsr_evidence::DirSink::new(
                location.into(),
            )));
        }
    };
    if !location.starts_with("s3://") && !std::path::Path::new(location).is_dir() {
        bail!("{location}: not a directory");
    }
    settings.evidence = location.to_string();
    Ok(dsr_engine::load::evidence_sink(&settings).await?)
}

/// The public keys to check manifest signatures with: the given `ID=HEX` pairs, or the
/// configuration's, or none (then unsigned manifests pass and signatures are not checked).
fn key_ring(config_dir: &std::path::Path, given: &[String]) -> Result<dsr_evidence::KeyRing> {
    if given.is_empty() {
        return match dsr_engine::load::load_config(config_dir) {
            Ok(config) => Ok(dsr_engine::load::key_ring(&config.settings)?),
            Err(_) => Ok(dsr_evidence::KeyRing::new()),
        };
    }
    let mut pairs = Vec::new();
    for g in given {
        let Some((id, hex)) = g.split_once('=') else {
            bail!("--public-key must be KEY_ID=HEX");
        };
        pairs.push((id.to_string(), hex.to_string()));
    }
    Ok(dsr_evidence::KeyRing::from_pairs(pairs)?)
}

/// The request kinds of the fulfilment job `jobs_dir/<job>.toml`.
fn job_kinds(jobs_dir: &std::path::Path, job: &str) -> Result<Vec<RequestKind>> {
    Ok(dsr_engine::load::fulfilment_kinds(jobs_dir, job)?)
}

/// A duration option in seconds: positive and finite.
fn seconds(what: &str, s: f64) -> Result<Duration> {
    if s.is_finite() && s > 0.0 && s < 1e7 {
        Ok(Duration::from_secs_f64(s))
    } else {
        bail!("--{what} must be a positive number of seconds")
    }
}

async fn submit(config_dir: &std::path::Path, files: &[PathBuf]) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    // Validate every request of every file before storing any.
    let mut bodies = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: malformed request JSON at line {} column {}",
                f.display(),
                e.line(),
                e.column()
            )
        })?;
        let items = match value {
            serde_json::Value::Array(a) => a,
            v => vec![v],
        };
        for (i, item) in items.into_iter().enumerate() {
            dsr_core::request::Request::from_value_with(
                item.clone(),
                &config.settings.identity_types,
                &config.settings.data_point_types,
            )
            .map_err(|e| anyhow::anyhow!("{} (request {}): {e}", f.display(), i + 1))?;
            bodies.push(item.to_string());
        }
    }
    let control = ControlDb::open(&config.settings.control_db).await?;
    for b in bodies {
        let (req, outcome, original) =
            dsr_engine::admission::submit_linked(&config, &control, &b).await?;
        match (outcome, original) {
            (Submitted::New, Some(o)) => println!(
                "submitted {} ({}): duplicate of {o}, linked and not run again",
                req.id,
                req.kind.key()
            ),
            (Submitted::New, None) => println!("submitted {} ({})", req.id, req.kind.key()),
            (Submitted::AlreadyStored, _) => println!("already submitted {}", req.id),
        }
    }
    control.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn check(config_dir: &std::path::Path, offline: bool) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let tables: usize = config.data_map.stores.iter().map(|s| s.tables.len()).sum();
    println!(
        "config ok: {} stores, {tables} tables, disclosures {}",
        config.data_map.stores.len(),
        config.disclosures.version
    );
    if offline {
        return Ok(ExitCode::SUCCESS);
    }
    let mut map = config.data_map.clone();
    let connectors = dsr_engine::load::connect(&map).await?;
    let problems = dsr_engine::load::check_live(&mut map, &connectors).await?;
    if !problems.is_empty() {
        bail!("live schema check failed:\n  - {}", problems.join("\n  - "));
    }
    for s in &map.stores {
        println!(
            "store {}: {} tables match the live schema",
            s.name,
            s.tables.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(config_dir: &std::path::Path, id: Option<String>) -> Result<ExitCode> {
    use dsr_engine::control::Status as S;
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let all = control.by_status(&S::ALL).await?;
    for s in all
        .iter()
        .filter(|s| id.as_ref().is_none_or(|i| *i == s.request.id))
    {
        // A duplicate is answered with its original's outcome.
        let reason = match control.duplicate_of(&s.request.id).await? {
            Some(o) if s.status == S::Duplicate.key() => {
                let answer = all
                    .iter()
                    .find(|x| x.request.id == o)
                    .map(|x| {
                        let r = x.denial_reason.clone().unwrap_or_default();
                        format!("{} {r}", x.status).trim().to_string()
                    })
                    .unwrap_or_default();
                format!("duplicate_of={o} answer={answer}")
            }
            _ => s.denial_reason.clone().unwrap_or_default(),
        };
        println!(
            "{:<16} {:<18} {:<20} {}",
            s.request.id,
            s.request.kind.key(),
            s.status,
            reason
        );
        if id.is_some() {
            for (at, event, _) in control.events(&s.request.id).await? {
                println!("    {at}  {event}");
            }
        }
    }
    control.close().await;
    if let Some(id) = id
        && !all.iter().any(|s| s.request.id == id)
    {
        bail!("no request with id {id}");
    }
    Ok(ExitCode::SUCCESS)
}
