//! Reading configuration and job files from disk, and connecting to stores.

use crate::error::{Error, Result};
use dsr_connector_sql::SqlConnector;
use dsr_core::config::{Config, DataMap, SourceFile, StoreKind};
use dsr_core::connector::Connector;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Reads `dir` (`dsr.toml`, `disclosures.toml`, `exemptions.toml`, `stores/*.toml`) and
/// validates it, taking `${VAR}` from the process environment.
pub fn load_config(dir: &Path) -> Result<Config> {
    let env = |k: &str| std::env::var(k).ok();
    load_config_with(dir, &env)
}

/// As [`load_config`], with an explicit environment lookup.
pub fn load_config_with(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let mut files = Vec::new();
    let read = |rel: &str| -> Result<Option<SourceFile>> {
        let p = dir.join(rel);
        match std::fs::read_to_string(&p) {
            Ok(text) => Ok(Some(SourceFile {
                path: rel.to_string(),
                text,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::ConfigRead {
                path: p.display().to_string(),
                reason: e.to_string(),
            }),
        }
    };
    if !dir.is_dir() {
        return Err(Error::ConfigRead {
            path: dir.display().to_string(),
            reason: "not a directory".into(),
        });
    }
    for rel in ["dsr.toml", "disclosures.toml", "exemptions.toml"] {
        files.extend(read(rel)?);
    }
    let stores = dir.join("stores");
    let mut names: Vec<String> = match std::fs::read_dir(&stores) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".toml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for n in names {
        files.extend(read(&format!("stores/{n}"))?);
    }
    Ok(Config::from_sources(&files, env)?)
}

/// A job from `jobs/<name>.toml` (validated by [`dsr_core::schedule::parse_job`]).
pub use dsr_core::schedule::{Job, JobKind};

/// Reads and validates `jobs/<name>.toml` under `jobs_dir`.
pub fn load_job(jobs_dir: &Path, name: &str) -> Result<Job> {
    if !dsr_core::schedule::valid_job_name(name) {
        return Err(Error::Job {
            job: name.to_string(),
            reason: "job names are a-z A-Z 0-9 _ -".into(),
        });
    }
    let path = jobs_dir.join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Job {
        job: name.to_string(),
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    Ok(dsr_core::schedule::parse_job(
        name,
        &path.display().to_string(),
        &text,
    )?)
}

/// The request kinds of the fulfilment job `jobs_dir/<name>.toml` (what `dsr run --job NAME`
/// and `dsr worker --job NAME` process); another kind of job is refused.
pub fn fulfilment_kinds(
    jobs_dir: &Path,
    name: &str,
) -> Result<Vec<dsr_core::request::RequestKind>> {
    Ok(fulfilment_job(jobs_dir, name)?.0)
}

/// The request kinds of the fulfilment job `jobs_dir/<name>.toml`, and whether it sweeps for
/// tombstoned people acquired again first; another kind of job is refused.
pub fn fulfilment_job(
    jobs_dir: &Path,
    name: &str,
) -> Result<(Vec<dsr_core::request::RequestKind>, bool)> {
    let job = load_job(jobs_dir, name)?;
    match job.kind {
        JobKind::Fulfilment { kinds, sweep } => Ok((kinds, sweep)),
        other => Err(Error::Job {
            job: name.to_string(),
            reason: format!(
                "kind = \"{}\" is not a fulfilment job; `dsr schedule` runs it",
                other.key()
            ),
        }),
    }
}

/// Every job file `*.toml` of `jobs_dir`, by name; the first invalid one fails the call.
pub fn load_jobs(jobs_dir: &Path) -> Result<Vec<Job>> {
    let rd = std::fs::read_dir(jobs_dir).map_err(|e| Error::ConfigRead {
        path: jobs_dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
        .collect();
    names.sort();
    names.iter().map(|n| load_job(jobs_dir, n)).collect()
}

/// Connected stores by name.
pub type Connectors = BTreeMap<String, Arc<dyn Connector>>;

/// Connects to every store of the data map; the first store that cannot be connected fails
/// the whole call (`dsr check`).
pub async fn connect(map: &DataMap) -> Result<Connectors> {
    let (out, mut unreachable) = connect_each(map).await?;
    if unreachable.is_empty() {
        Ok(out)
    } else {
        Err(Error::Store(unreachable.remove(0)))
    }
}

/// Connects to every store of the data map, one by one: returns the stores connected and the
/// errors of those that could not be reached (value-free [`dsr_core::StoreError`]s, in data-map
/// order). A store whose configuration is wrong (URL scheme not of its kind, kind not built)
/// is not "unreachable": it fails the call.
pub async fn connect_each(map: &DataMap) -> Result<(Connectors, Vec<dsr_core::StoreError>)> {
    let mut out: Connectors = BTreeMap::new();
    let mut unreachable = Vec::new();
    for s in &map.stores {
        match s.kind {
            StoreKind::Sqlite | StoreKind::Postgres | StoreKind::Mysql => {
                let want = match s.kind {
                    StoreKind::Sqlite => "sqlite",
                    StoreKind::Postgres => "postgres",
                    _ => "mysql",
                };
                if dsr_connector_sql::scheme_of(&s.url) != Some(want) {
                    return Err(Error::Store(dsr_core::StoreError {
                        store: s.name.clone(),
                        table: None,
                        code: "config".into(),
                        message: format!("store kind {want} needs a {want}: URL"),
                    }));
                }
                match SqlConnector::connect(&s.name, &s.url).await {
                    Ok(c) => {
                        let c = c.with_fence_table(&s.fence_table);
                        out.insert(s.name.clone(), Arc::new(c) as Arc<dyn Connector>);
                    }
                    Err(e) => {
                        tracing::warn!(store = %s.name, code = %e.code, "store unreachable");
                        unreachable.push(e);
                    }
                }
            }
            StoreKind::Objects => match objects_backend(s).await? {
                Ok(backend) => {
                    let c = dsr_connector_objects::ObjectsConnector::new(s, backend);
                    out.insert(s.name.clone(), Arc::new(c) as Arc<dyn Connector>);
                }
                Err(e) => {
                    tracing::warn!(store = %s.name, code = %e.code, "store unreachable");
                    unreachable.push(e);
                }
            },
            StoreKind::Parquet => {
                let opts = dsr_connector_parquet::LakeOptions::default();
                match dsr_connector_parquet::ParquetConnector::open(s, opts).await {
                    Ok(c) => {
                        out.insert(s.name.clone(), Arc::new(c) as Arc<dyn Connector>);
                    }
                    Err(e) => {
                        tracing::warn!(store = %s.name, code = %e.code, "store unreachable");
                        unreachable.push(e);
                    }
                }
            }
        }
    }
    Ok((out, unreachable))
}

/// Checks every mapped table and column against the live schema, fills in missing keys from
/// the live primary key, and returns the problems found (empty when all is well).
pub async fn check_live(map: &mut DataMap, connectors: &Connectors) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for store in &mut map.stores {
        let Some(conn) = connectors.get(&store.name) else {
            problems.push(format!("{}: not connected", store.name));
            continue;
        };
        let names: Vec<&str> = store.tables.iter().map(|t| t.id.table.as_str()).collect();
        let live = conn.describe(&names).await?;
        for t in &mut store.tables {
            let Some(lt) = live.get(&t.id.table) else {
                problems.push(format!("{}: table does not exist in the live schema", t.id));
                continue;
            };
            let mut wanted: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            wanted.extend(t.client_column.iter().cloned());
            wanted.extend(t.key.iter().cloned());
            if let dsr_core::config::EraseAction::Mask(ms) = &t.erase {
                wanted.extend(ms.iter().map(|(c, _)| c.clone()));
            }
            wanted.sort();
            wanted.dedup();
            for c in wanted {
                if !lt.columns.contains_key(&c) {
                    problems.push(format!(
                        "{}.{c}: column does not exist in the live schema",
                        t.id
                    ));
                }
            }
            if let dsr_core::config::EraseAction::Mask(ms) = &t.erase {
                for (c, s) in ms {
                    if matches!(s, dsr_core::mask::MaskStrategy::Null) && lt.not_null.contains(c) {
                        problems.push(format!(
                            "{}.{c}: mask `null` on a NOT NULL column would fail",
                            t.id
                        ));
                    }
                }
            }
            if t.key.is_empty() {
                if lt.primary_key.is_empty() {
                    problems.push(format!(
                        "{}: no primary key; set `key = [..]` in the table's config",
                        t.id
                    ));
                } else {
                    t.key = lt.primary_key.clone();
                }
            }
            t.column_types = lt.columns.clone();
            if let Some(p) = rehearse_mask(conn.as_ref(), t).await? {
                problems.push(p);
            }
        }
    }
    Ok(problems)
}

/// Applies a table's mask to up to two of its records inside a transaction that is rolled
/// back, so a mask the column's type or constraints (NOT NULL, UNIQUE, CHECK, foreign keys)
/// would reject is found before any run, not during one.
async fn rehearse_mask(
    conn: &dyn Connector,
    t: &dsr_core::config::TableMap,
) -> Result<Option<String>> {
    let dsr_core::config::EraseAction::Mask(ms) = &t.erase else {
        return Ok(None);
    };
    if t.key.is_empty() {
        return Ok(None);
    }
    let sample = conn.sample(t, 2).await?;
    if sample.is_empty() {
        return Ok(None);
    }
    let ops = sample
        .iter()
        .map(|r| dsr_core::connector::EraseOp::Mask {
            table: t.id.table.clone(),
            key_columns: t.key.clone(),
            key: r.key.clone(),
            set: crate::plan::masked_values(t, r, ms),
        })
        .collect();
    let group = dsr_core::connector::EraseGroup {
        request_id: "rehearsal".into(),
        lease: 0,
        ops,
    };
    let out = conn.rehearse(&[group]).await?;
    Ok(out.into_iter().find_map(|o| o.result.err()).map(|e| {
        format!(
            "{}: the mask would be rejected by the database: {} ({})",
            t.id, e.message, e.code
        )
    }))
}

/// The manifest signer of the settings, when a private key is configured.
pub fn signer(settings: &dsr_core::config::Settings) -> Result<Option<dsr_evidence::Signer>> {
    let Some(signing) = &settings.signing else {
        return Ok(None);
    };
    let Some(key) = &signing.private_key else {
        return Ok(None);
    };
    let signer = dsr_evidence::Signer::from_seed_hex(&signing.key_id, &key.0)?;
    if signing.public_keys.get(&signing.key_id) != Some(&signer.public_key_hex()) {
        return Err(Error::ConfigRead {
            path: "dsr.toml".into(),
            reason: format!(
                "signing.public_keys.{} is not the public key of signing.private_key",
                signing.key_id
            ),
        });
    }
    Ok(Some(signer))
}

/// The public keys manifests are checked against.
pub fn key_ring(settings: &dsr_core::config::Settings) -> Result<dsr_evidence::KeyRing> {
    let pairs = settings
        .signing
        .iter()
        .flat_map(|s| s.public_keys.iter())
        .map(|(k, v)| (k.clone(), v.clone()));
    Ok(dsr_evidence::KeyRing::from_pairs(pairs)?)
}

/// The backend of an objects store: `s3://bucket/prefix` (credentials and endpoint from the
/// SDK's environment) or a local directory; the inner error is "unreachable".
async fn objects_backend(
    s: &dsr_core::config::StoreMap,
) -> Result<std::result::Result<Arc<dyn dsr_connector_objects::ObjectBackend>, dsr_core::StoreError>>
{
    if s.url.starts_with("s3://") {
        let url = dsr_s3::S3Url::parse(&s.url).map_err(|e| {
            Error::Store(dsr_core::StoreError {
                store: s.name.clone(),
                table: None,
                code: "config".into(),
                message: format!("url: {e}"),
            })
        })?;
        let opts = dsr_s3::S3Options {
            endpoint: s.s3.endpoint.clone(),
            region: s.s3.region.clone(),
            path_style: s.s3.path_style,
        };
        let client = dsr_s3::client(&opts).await.map_err(|e| Error::ConfigRead {
            path: format!("stores/{}.toml", s.name),
            reason: format!("s3: {e}"),
        })?;
        let b = dsr_connector_objects::S3Backend::new(&s.name, client, url);
        Ok(match b.ping().await {
            Ok(()) => Ok(Arc::new(b) as Arc<dyn dsr_connector_objects::ObjectBackend>),
            Err(e) => Err(e),
        })
    } else {
        let path = s.url.strip_prefix("file://").unwrap_or(&s.url);
        Ok(
            dsr_connector_objects::DirBackend::open(&s.name, std::path::Path::new(path))
                .map(|b| Arc::new(b) as Arc<dyn dsr_connector_objects::ObjectBackend>),
        )
    }
}

/// An S3 client from the settings' `[s3]` and the SDK's standard environment.
pub async fn s3_client(settings: &dsr_core::config::Settings) -> Result<aws_sdk_s3::Client> {
    let opts = dsr_s3::S3Options {
        endpoint: settings.s3.endpoint.clone(),
        region: settings.s3.region.clone(),
        path_style: settings.s3.path_style,
    };
    dsr_s3::client(&opts).await.map_err(|e| Error::ConfigRead {
        path: "dsr.toml".into(),
        reason: format!("s3: {e}"),
    })
}

/// An evidence writer for `run_id` under `lease`: retention for the record-keeping period (a
/// month counted as 31 days, never shorter) and the manifest signer when configured.
pub fn evidence_writer(
    settings: &dsr_core::config::Settings,
    sink: Arc<dyn dsr_evidence::EvidenceSink>,
    guard: dsr_evidence::Guard,
    run_id: &str,
    lease: u64,
) -> Result<dsr_evidence::Evidence> {
    let months = i64::from(settings.record_keeping_months);
    let mut evidence = dsr_evidence::Evidence::new(sink, guard, run_id, lease)?
        .with_retention(chrono::Duration::days(31 * months));
    if let Some(signer) = signer(settings)? {
        evidence = evidence.with_signer(signer);
    }
    Ok(evidence)
}

/// The evidence location of the settings: `s3://bucket/prefix` or a directory.
pub async fn evidence_sink(
    settings: &dsr_core::config::Settings,
) -> Result<Arc<dyn dsr_evidence::EvidenceSink>> {
    if settings.evidence.starts_with("s3://") {
        let url = s3_url("evidence", &settings.evidence)?;
        let client = s3_client(settings).await?;
        Ok(Arc::new(dsr_s3::S3Sink::new(client, url)))
    } else {
        Ok(Arc::new(dsr_evidence::DirSink::new(
            std::path::PathBuf::from(&settings.evidence),
        )))
    }
}

/// The delivery location of the settings: `s3://bucket/prefix` or a directory.
pub async fn delivery(settings: &dsr_core::config::Settings) -> Result<crate::deliver::Delivery> {
    if settings.delivery.starts_with("s3://") {
        Ok(crate::deliver::Delivery::S3 {
            url: s3_url("delivery", &settings.delivery)?,
            client: s3_client(settings).await?,
            link_ttl: std::time::Duration::from_secs(u64::from(settings.report_link_days) * 86_400),
        })
    } else {
        Ok(crate::deliver::Delivery::Dir(std::path::PathBuf::from(
            &settings.delivery,
        )))
    }
}

fn s3_url(key: &str, url: &str) -> Result<dsr_s3::S3Url> {
    dsr_s3::S3Url::parse(url).map_err(|e| Error::ConfigRead {
        path: "dsr.toml".into(),
        reason: format!("{key}: {e}"),
    })
}
