//! California's DROP deletion lists: import a download, match it against the records, make
//! deletion requests (or opt out everyone sharing an identifier), and export the statuses.
//!
//! * **Import** ([`import`]): the ZIP is checked whole ([`file::read_zip`]); a download
//!   already imported (same SHA-256) is not imported again. Every source of every list in it
//!   is scanned, each record canonicalised and hashed by [`dsr_core::drop`], and compared
//!   with the download's hashes. Per work item:
//!   - no record matches: status 5 (not found);
//!   - the matching records belong to two or more people (distinct values of an identity
//!     type the data map declares unique, such as a customer id): everyone's identity hashes
//!     join the suppression list (source `drop`) and the status is 4 (opted out), nothing is
//!     deleted;
//!   - else one deletion request (`<batch>-<n>`, one per person even when several work items
//!     match them) goes through the normal pipeline, where exemptions apply; its run sets the
//!     status: 3 when anything was deleted or de-identified, 2 when everything was kept by an
//!     exemption, 5 when nothing was found by then.
//! * **Withdrawals** (the `Removed` file): the work items are marked; a request not yet run
//!   is revoked, and tombstones it left are lifted.
//! * **Export** ([`export`]): `ID,Status` rows for every decided work item not yet exported.
//! * **API** ([`api`]): the same download and the status upload over the DROP API.
//! * **Evidence**: a chain per batch (`drop-<first 12 hex digits of the download's SHA-256>`),
//!   written before the batch is stored: `drop_imported` (the download's SHA-256 and
//!   counts per list), `drop_matched` (counts per status, requests made, and which request
//!   each work item went to), `drop_withdrawn`, `drop_exported` (the file's SHA-256 and
//!   counts). Work item ids are DROP's, not PI; no DROP hash is ever stored or logged.

pub mod api;
pub mod db;
pub mod file;

use crate::admission;
use crate::control::ControlDb;
use crate::error::{Error, Result};
use crate::load::{self, Connectors};
use crate::scan;
use crate::suppression::Source;
use chrono::{DateTime, Utc};
use db::NewItem;
use dsr_core::config::{Config, DropSettings};
use dsr_core::drop::{ListType, StatusCode, list_hash};
use dsr_core::hash::KeyedHasher;
use dsr_core::request::Identity;
use dsr_evidence::{Evidence, Guard};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Batch id.
    pub batch: String,
    /// The download was imported before: nothing was done.
    pub already_imported: bool,
    /// Work items per list.
    pub items: BTreeMap<String, usize>,
    /// Work items per decided status (`not_found`, `opted_out`) and `requested`.
    pub outcomes: BTreeMap<String, usize>,
    /// Deletion requests made.
    pub requests: usize,
    /// Withdrawn work items handled.
    pub withdrawn: usize,
}

/// The DROP settings, or a clear refusal.
pub fn settings(config: &Config) -> Result<&DropSettings> {
    config.drop.as_ref().ok_or_else(|| {
        Error::Refused("DROP is not configured: add a [drop] section to dsr.toml".into())
    })
}

/// Which people one work item's hash reached.
#[derive(Debug, Default)]
struct Hit {
    /// Identities to start the deletion from.
    identities: BTreeSet<Identity>,
    /// Values of unique identity types (one per person).
    people: BTreeSet<Identity>,
    /// Every identity of every matching row (for an opt-out of all of them).
    all: BTreeSet<Identity>,
}

/// Imports a DROP download (the ZIP's bytes): see the module documentation.
pub async fn import(
    config: &Config,
    control: &ControlDb,
    zip: &[u8],
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    let drop = settings(config)?;
    let download = file::read_zip(zip)?;
    for (list, _) in &download.lists {
        if !drop.lists.contains(list) {
            return Err(Error::Drop(format!(
                "the download holds list {} which is not in [drop] lists",
                list.data_type()
            )));
        }
    }
    let sha = hex_sha256(zip);
    if let Some(batch) = control.drop_batch_by_sha(&sha).await? {
        return Ok(ImportSummary {
            batch,
            already_imported: true,
            ..ImportSummary::default()
        });
    }
    let ids: Vec<String> = download
        .lists
        .iter()
        .flat_map(|(_, items)| items.iter().map(|w| w.id.clone()))
        .collect();
    if let Some(known) = control.drop_items_known(&ids).await?.first() {
        return Err(Error::Drop(format!(
            "work item {known} was already imported in an earlier batch"
        )));
    }
    // The batch id follows from the download alone: an import redone after a crash makes the
    // same ids, and finds what the first attempt already stored.
    let batch = format!("drop-{}", &sha[..12]);
    let mut summary = ImportSummary {
        batch: batch.clone(),
        ..ImportSummary::default()
    };
    for (list, items) in &download.lists {
        *summary.items.entry(list.key().into()).or_default() += items.len();
    }

    // Match: connect, scan each list's sources, keep the hashes the download asks about.
    let hits = if download.items() == 0 {
        BTreeMap::new()
    } else {
        let mut map = config.data_map.clone();
        let connectors = load::connect(&map).await?;
        let problems = load::check_live(&mut map, &connectors).await?;
        if !problems.is_empty() {
            return Err(Error::Schema(problems));
        }
        let cfg = Config {
            data_map: map,
            ..config.clone()
        };
        match_download(&cfg, drop, &connectors, &download).await?
    };

    // Decide per work item; one request per person.
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let mut items = Vec::new();
    let mut requests: BTreeMap<Vec<Identity>, String> = BTreeMap::new();
    let mut forbidden: BTreeSet<String> = BTreeSet::new();
    let mut opted_out = 0usize;
    let mut opt_out_hashes: Vec<String> = Vec::new();
    for (list, work) in &download.lists {
        for w in work {
            let hit = hits.get(&(*list, w.hash.clone()));
            let (code, request_id) = match hit {
                None => (Some(StatusCode::NotFound), None),
                Some(h) if h.people.len() >= 2 => {
                    let hashes: Vec<String> = h
                        .all
                        .iter()
                        .map(|i| hasher.identity(&i.kind, &i.value))
                        .collect();
                    opt_out_hashes.extend(hashes);
                    forbidden.extend(h.all.iter().map(|i| i.value.clone()));
                    opted_out += 1;
                    (Some(StatusCode::OptedOut), None)
                }
                Some(h) => {
                    let key: Vec<Identity> = h.identities.iter().cloned().collect();
                    forbidden.extend(key.iter().map(|i| i.value.clone()));
                    let n = requests.len() + 1;
                    let id = requests
                        .entry(key)
                        .or_insert_with(|| format!("{batch}-{n:06}"))
                        .clone();
                    (None, Some(id))
                }
            };
            let outcome = match code {
                Some(StatusCode::NotFound) => "not_found",
                Some(_) => "opted_out",
                None => "requested",
            };
            *summary.outcomes.entry(outcome.into()).or_default() += 1;
            items.push(NewItem {
                work_item: w.id.clone(),
                list: list.key().into(),
                code,
                request_id,
            });
        }
    }
    summary.requests = requests.len();

    // Evidence first: the batch's chain says what was matched and decided before anything is
    // stored (a redone import finds its entries and does not write them again).
    let evidence = batch_evidence(config, &batch, forbidden).await?;
    let mut chain = evidence.chain(&batch, now).await?;
    if !chain.entries().iter().any(|e| e.kind == "drop_matched") {
        chain
            .append(
                "drop_imported",
                json!({"download_sha256": sha, "items": summary.items, "removed": download.removed.len()}),
            )
            .await?;
        let assigned: BTreeMap<&str, Option<&str>> = items
            .iter()
            .map(|i| (i.work_item.as_str(), i.request_id.as_deref()))
            .collect();
        chain
            .append(
                "drop_matched",
                json!({"outcomes": summary.outcomes, "requests": requests.len(), "opted_out": opted_out, "work_items": assigned}),
            )
            .await?;
    }
    // Then the opt-outs, the requests (one already stored by a crashed attempt is kept) and
    // the batch itself, last: a batch stored means its import is complete.
    control
        .suppress_from(&batch, &opt_out_hashes, Source::Drop)
        .await?;
    for (identities, id) in &requests {
        if control.get(id).await?.is_some() {
            continue;
        }
        // The Delete Act: the consumer was verified by the platform; a data broker deletes
        // every match (exemptions still apply in the run).
        let body = admission::internal_deletion_json(id, identities, "ca-drop", "drop", now);
        admission::submit_internal(config, control, &body.to_string()).await?;
    }
    control
        .insert_drop_batch(&batch, &sha, download.removed.len(), &items, now)
        .await?;

    // Withdrawn identifiers.
    let mut withdrawn = Vec::new();
    for id in &download.removed {
        if let Some(item) = control.withdraw_drop_item(id, now).await? {
            if item.withdrawn {
                continue;
            }
            let mut denied = false;
            let mut lifted = 0;
            if let Some(req) = &item.request_id {
                denied = withdraw_request(control, req, Utc::now()).await?;
                lifted = control.lift_tombstones(req).await?;
            }
            withdrawn.push(
                json!({"work_item": id, "request_denied": denied, "tombstones_lifted": lifted}),
            );
        }
    }
    summary.withdrawn = withdrawn.len();
    if !withdrawn.is_empty() {
        chain
            .append("drop_withdrawn", json!({"work_items": withdrawn}))
            .await?;
    }
    tracing::info!(batch = %batch, items = download.items(), requests = summary.requests, opted_out, withdrawn = summary.withdrawn, "DROP download imported");
    Ok(summary)
}

/// Revokes a request DROP withdrew if no run has taken it yet.
async fn withdraw_request(control: &ControlDb, id: &str, now: DateTime<Utc>) -> Result<bool> {
    let detail = json!({"by": "drop_withdrawal"});
    control
        .revoke_unstarted(id, detail, now.timestamp_millis())
        .await
}

/// Scans every source of every list in the download; hash → who it reached.
async fn match_download(
    config: &Config,
    drop: &DropSettings,
    connectors: &Connectors,
    download: &file::Download,
) -> Result<BTreeMap<(ListType, String), Hit>> {
    let unique = scan::unique_identity_types(&config.data_map);
    let shared = &config.settings.shared_identity_types;
    let mut hits: BTreeMap<(ListType, String), Hit> = BTreeMap::new();
    for (list, items) in &download.lists {
        let wanted: BTreeSet<&str> = items.iter().map(|w| w.hash.as_str()).collect();
        for src in drop.sources.iter().filter(|s| s.list == *list) {
            let Some(store) = config.data_map.store(&src.store) else {
                continue;
            };
            let Some(table) = store.tables.iter().find(|t| t.id.table == src.table) else {
                continue;
            };
            scan::scan_table(connectors, table, |rec| {
                // Records we hold for a Client are theirs to delete, not ours.
                if scan::held_for_client(store, table, rec) {
                    return;
                }
                let raw: Vec<Option<String>> = src
                    .fields
                    .iter()
                    .map(|f| {
                        scan::text(rec, f.column()).and_then(|t| f.pick(&t).map(str::to_string))
                    })
                    .collect();
                let refs: Vec<Option<&str>> = raw.iter().map(|v| v.as_deref()).collect();
                let Some(h) = list_hash(*list, &refs) else {
                    return;
                };
                if !wanted.contains(h.as_str()) {
                    return;
                }
                let ids = scan::row_identities(table, rec);
                let hit = hits.entry((*list, h)).or_default();
                // Every identity of one person on the matching rows (an email, a customer
                // id; never a `shared` type such as a household phone) seeds the deletion,
                // so it reaches all of the person's records, not only those under one key.
                for (i, _) in &ids {
                    if unique.contains(&i.kind) {
                        hit.people.insert(i.clone());
                    }
                    if !shared.contains(&i.kind) {
                        hit.identities.insert(i.clone());
                    }
                    hit.all.insert(i.clone());
                }
            })
            .await?;
        }
    }
    // Rows holding only shared identities: start from those (the run holds the request for
    // review if they reach more than one person).
    for hit in hits.values_mut() {
        if hit.identities.is_empty() {
            hit.identities = hit.all.clone();
        }
    }
    Ok(hits)
}

/// The evidence writer for a batch's chain (its own run id, lease 0: batches are written by
/// one import or export at a time).
async fn batch_evidence(
    config: &Config,
    batch: &str,
    forbidden: BTreeSet<String>,
) -> Result<Evidence> {
    let sink = load::evidence_sink(&config.settings).await?;
    load::evidence_writer(&config.settings, sink, Guard::new(forbidden), batch, 0)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportSummary {
    /// Batches exported from.
    pub batches: Vec<String>,
    /// Rows written per status code.
    pub codes: BTreeMap<u8, usize>,
    /// Work items still open (their requests have not finished), not written.
    pub pending: usize,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// Writes the status file (`ID,Status`, one row per decided work item not yet exported, not
/// withdrawn) for `batch` (else every batch), marks the rows exported and records the file in
/// each batch's chain. Returns the CSV text and the summary.
pub async fn export(
    config: &Config,
    control: &ControlDb,
    batch: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(String, ExportSummary)> {
    settings(config)?;
    let batches = match batch {
        Some(b) => {
            if !control.drop_batches().await?.iter().any(|x| x == b) {
                return Err(Error::NotFound(format!("no DROP batch {b}")));
            }
            vec![b.to_string()]
        }
        None => control.drop_batches().await?,
    };
    let mut csv = String::from("ID,Status\n");
    let mut summary = ExportSummary::default();
    let mut per_batch: BTreeMap<String, (Vec<String>, BTreeMap<u8, usize>)> = BTreeMap::new();
    for b in &batches {
        for item in control.drop_items(b).await? {
            if item.exported || item.withdrawn {
                continue;
            }
            let Some(code) = item.code else {
                summary.pending += 1;
                continue;
            };
            csv.push_str(&format!("{},{}\n", item.work_item, code.code()));
            *summary.codes.entry(code.code()).or_default() += 1;
            let e = per_batch.entry(b.clone()).or_default();
            e.0.push(item.work_item);
            *e.1.entry(code.code()).or_default() += 1;
        }
    }
    summary.sha256 = hex_sha256(csv.as_bytes());
    for (b, (work_items, codes)) in &per_batch {
        let evidence = batch_evidence(config, b, BTreeSet::new()).await?;
        let mut chain = evidence.chain(b, now).await?;
        chain
            .append(
                "drop_exported",
                json!({"file_sha256": summary.sha256, "codes": codes, "work_items": work_items}),
            )
            .await?;
        control.mark_drop_exported(work_items, now).await?;
        summary.batches.push(b.clone());
    }
    Ok((csv, summary))
}
