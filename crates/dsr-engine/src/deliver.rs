//! Building report inputs from resolved records, and delivering rendered reports.

use crate::error::{Error, Result};
use crate::resolve::{Resolution, RowId};
use chrono::{DateTime, Utc};
use dsr_core::category::Category;
use dsr_core::config::Config;
use dsr_core::exemption::parse_timestamp;
use dsr_core::jurisdiction::{regime_for, rules};
use dsr_core::request::Request;
use dsr_report::{DeletionSummary, FieldInput, RecordInput, ReportInput, Scope};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every sensitive value among the fetched rows (reports and evidence must contain none).
pub fn sensitive_values(config: &Config, resolution: &Resolution) -> Vec<String> {
    let mut out = BTreeSet::new();
    for row in &resolution.rows {
        let Some(tm) = config.data_map.table(&row.table) else {
            continue;
        };
        for c in tm.columns.iter().filter(|c| c.sensitive.is_some()) {
            if let Some(v) = row.record.get(&c.name).as_text()
                && v.trim().len() >= 4
            {
                out.insert(v);
            }
        }
    }
    out.into_iter().collect()
}

/// The report input for a request over `rows` (its own and shared records).
#[allow(clippy::too_many_arguments)]
pub fn report_input(
    config: &Config,
    req: &Request,
    resolution: &Resolution,
    rows: &[RowId],
    scope: Scope,
    clients: Vec<String>,
    deletion: Option<DeletionSummary>,
    forbidden: Vec<String>,
    minor_under_16: bool,
    now: DateTime<Utc>,
) -> ReportInput {
    let regime = regime_for(&req.jurisdiction);
    let lookback_start = match (regime, deletion.is_some()) {
        (Some(r), false) => rules(r).lookback_start(req.received_at, req.extended_lookback),
        _ => None,
    };
    let mut records = Vec::new();
    let mut cats: BTreeSet<Category> = BTreeSet::new();
    for &r in rows {
        let row = &resolution.rows[r];
        let Some(tm) = config.data_map.table(&row.table) else {
            continue;
        };
        if let (Some(start), Some(col)) = (lookback_start, &tm.collected_at)
            && let Some(t) = parse_timestamp(row.record.get(col))
            && t < start
        {
            continue;
        }
        let fields: Vec<FieldInput> = tm
            .columns
            .iter()
            .filter(|c| c.category.is_some() || c.sensitive.is_some())
            .map(|c| FieldInput {
                label: c.label.clone(),
                category: c.category,
                sensitive: c.sensitive,
                value: row.record.get(&c.name).clone(),
            })
            .collect();
        for f in &fields {
            if let Some(c) = f.category
                && !f.value.is_null()
            {
                cats.insert(c);
            }
        }
        if !fields.is_empty() {
            records.push(RecordInput {
                source: row.table.store.clone(),
                record_label: tm.label.clone(),
                fields,
            });
        }
    }
    let categories = if deletion.is_some() {
        Vec::new()
    } else {
        cats.iter()
            .filter_map(|c| config.disclosures.categories.get(c).cloned())
            .collect()
    };
    ReportInput {
        request_id: req.id.clone(),
        kind: req.kind,
        jurisdiction: req.jurisdiction.clone(),
        regime,
        received_at: req.received_at,
        generated_at: now,
        business: config.settings.business.clone(),
        disclosures_version: config.disclosures.version.clone(),
        disclosures_source: config.disclosures.source.clone(),
        scope,
        lookback_start,
        categories,
        records: if deletion.is_some() {
            Vec::new()
        } else {
            records
        },
        clients_to_contact: clients,
        deletion,
        forbidden,
        minor_under_16,
    }
}

/// Where reports go: a local directory, or an S3 location shared by presigned links.
pub enum Delivery {
    /// `<dir>/<request id>/report.{json,html}`.
    Dir(PathBuf),
    /// `s3://bucket/prefix/<request id>/report.{json,html}`, encrypted at rest, shared by a
    /// presigned link to the HTML that expires after `link_ttl`.
    S3 {
        /// S3 client.
        client: aws_sdk_s3::Client,
        /// Location.
        url: dsr_s3::S3Url,
        /// Lifetime of the link.
        link_ttl: std::time::Duration,
    },
}

/// A delivered report.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Where the subject gets it: the directory, or the presigned link (never put in evidence:
    /// it is a bearer credential).
    pub location: String,
    /// SHA-256 of `report.json`.
    pub json_sha256: String,
    /// SHA-256 of `report.html`.
    pub html_sha256: String,
    /// When the link stops working (S3).
    pub link_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Delivery {
    /// Delivers one request's report.
    pub async fn deliver(&self, request_id: &str, json: &[u8], html: &str) -> Result<Delivered> {
        let (json_sha256, html_sha256) = (
            dsr_evidence::sha256_hex(json),
            dsr_evidence::sha256_hex(html.as_bytes()),
        );
        match self {
            Delivery::Dir(dir) => {
                let (d, _, _) = deliver(dir, request_id, json, html)?;
                Ok(Delivered {
                    location: d.display().to_string(),
                    json_sha256,
                    html_sha256,
                    link_expires_at: None,
                })
            }
            Delivery::S3 {
                client,
                url,
                link_ttl,
            } => {
                let s3 = |e: dsr_s3::Error| Error::Io {
                    path: url.to_string(),
                    reason: format!(
                        "report delivery failed (code {})",
                        e.code().unwrap_or("unknown")
                    ),
                };
                let (jk, hk) = (
                    format!("{request_id}/report.json"),
                    format!("{request_id}/report.html"),
                );
                dsr_s3::put_private(client, url, &jk, json.to_vec(), "application/json")
                    .await
                    .map_err(s3)?;
                dsr_s3::put_private(
                    client,
                    url,
                    &hk,
                    html.as_bytes().to_vec(),
                    "text/html; charset=utf-8",
                )
                .await
                .map_err(s3)?;
                let location = dsr_s3::presign_get(client, url, &hk, *link_ttl)
                    .await
                    .map_err(s3)?;
                let ttl = chrono::Duration::from_std(*link_ttl).unwrap_or_default();
                Ok(Delivered {
                    location,
                    json_sha256,
                    html_sha256,
                    link_expires_at: Some(chrono::Utc::now() + ttl),
                })
            }
        }
    }
}

/// Writes `report.json` and `report.html` under `<delivery>/<request id>/`; returns the
/// directory and the SHA-256 of each file.
pub fn deliver(
    delivery: &Path,
    request_id: &str,
    json: &[u8],
    html: &str,
) -> Result<(PathBuf, String, String)> {
    let dir = delivery.join(request_id);
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let jp = dir.join("report.json");
    std::fs::write(&jp, json).map_err(|e| io(&jp, e))?;
    let hp = dir.join("report.html");
    std::fs::write(&hp, html.as_bytes()).map_err(|e| io(&hp, e))?;
    Ok((
        dir,
        dsr_evidence::sha256_hex(json),
        dsr_evidence::sha256_hex(html.as_bytes()),
    ))
}
