//! Staying deleted: tombstones (keyed identity hashes of people deleted, or matched by DROP),
//! the rows of theirs left in place on purpose, the ingestion check, and the sweep that finds
//! tombstoned people acquired again and makes deletion requests for them.
//!
//! A deletion that finishes tombstones its subject's identities (source `deleted`, or `drop`
//! for a DROP work item) and records, as keyed hashes of (store, table, key), the rows it
//! kept (an exemption) or de-identified: those are not "acquired again". The sweep scans
//! every SQL table with identity columns; a row holding a tombstoned identity that is not
//! such a row is new data about a deleted person. Its identities become one deletion request
//! per tombstoned person (`sweep-<date>-<n>`, verified by the original deletion), which the
//! same run then carries out like any other, evidence first.

use crate::control::{ControlDb, Pools, db, pg_sql, with_db};
use crate::error::Result;
use crate::load::Connectors;
use crate::scan;
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::hash::KeyedHasher;
use dsr_core::request::Identity;
use dsr_core::value::Value;
use serde_json::json;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// Why an identity is tombstoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneSource {
    /// A deletion request was carried out.
    Deleted,
    /// A DROP work item matched the person and they were deleted.
    Drop,
}

impl TombstoneSource {
    /// Stored spelling.
    pub fn key(self) -> &'static str {
        match self {
            TombstoneSource::Deleted => "deleted",
            TombstoneSource::Drop => "drop",
        }
    }
}

/// Keyed hash of a row's place: store, table and key values.
pub fn row_hash(hasher: &KeyedHasher, store: &str, table: &str, key: &[Value]) -> String {
    let key: Vec<String> = key
        .iter()
        .map(|v| v.as_text().unwrap_or_default())
        .collect();
    let mut parts: Vec<&[u8]> = vec![b"row", store.as_bytes(), table.as_bytes()];
    parts.extend(key.iter().map(|k| k.as_bytes()));
    format!("row:{}", &hasher.hash(&parts)[..32])
}

impl ControlDb {
    /// Tombstones identity hashes for `request_id`; one already there keeps its first entry.
    pub async fn tombstone(
        &self,
        request_id: &str,
        identity_hashes: &[String],
        source: TombstoneSource,
    ) -> Result<()> {
        let now = Utc::now().to_rfc3339();
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            for h in identity_hashes {
                sqlx::query(&sql("INSERT INTO tombstones (identity_hash, request_id, source, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"))
                    .bind(h)
                    .bind(request_id)
                    .bind(source.key())
                    .bind(&now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
    }

    /// Records rows left in place on purpose for a tombstoned subject.
    pub async fn settle_rows(&self, request_id: &str, row_hashes: &[String]) -> Result<()> {
        let now = Utc::now().to_rfc3339();
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            for h in row_hashes {
                sqlx::query(&sql("INSERT INTO settled_rows (row_hash, request_id, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"))
                    .bind(h)
                    .bind(request_id)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
    }

    /// Lifts the tombstones a request left (DROP withdrew the work item).
    pub async fn lift_tombstones(&self, request_id: &str) -> Result<u64> {
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql("DELETE FROM tombstones WHERE request_id = ?1"))
                .bind(request_id)
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(r.rows_affected())
        })
    }

    /// Every tombstone: identity hash → the request that left it.
    pub async fn tombstones(&self) -> Result<BTreeMap<String, String>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT identity_hash, request_id FROM tombstones"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?)))
                .collect()
        })
    }

    /// Every tombstone as a suppression-list entry (sources `deleted` and `drop`).
    pub async fn tombstone_entries(&self) -> Result<Vec<crate::suppression::Entry>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT identity_hash, source, at FROM tombstones ORDER BY at, identity_hash"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|r| {
                    Ok(crate::suppression::Entry {
                        identity_hash: r.try_get(0).map_err(db)?,
                        source: r.try_get(1).map_err(db)?,
                        at: r.try_get(2).map_err(db)?,
                    })
                })
                .collect()
        })
    }

    /// Every settled row hash.
    pub async fn settled_rows(&self) -> Result<BTreeSet<String>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT row_hash FROM settled_rows"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter().map(|r| r.try_get(0).map_err(db)).collect()
        })
    }
}

/// A tombstoned person found again: the request that deleted them and the identities the
/// new rows hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reacquired {
    /// The deletion that left the tombstone.
    pub original: String,
    /// Identities of the rows found (normalised as stored).
    pub identities: BTreeSet<Identity>,
    /// Rows found.
    pub rows: u64,
}

/// Scans every SQL table with identity columns for tombstoned identities in rows that are not
/// settled. One entry per original deletion.
pub async fn find_reacquired(
    config: &Config,
    control: &ControlDb,
    connectors: &Connectors,
) -> Result<Vec<Reacquired>> {
    let tombs = control.tombstones().await?;
    if tombs.is_empty() {
        return Ok(Vec::new());
    }
    let settled = control.settled_rows().await?;
    let shared = &config.settings.shared_identity_types;
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let mut found: BTreeMap<String, Reacquired> = BTreeMap::new();
    for store in config.data_map.stores.iter().filter(|s| s.kind.is_sql()) {
        for table in &store.tables {
            if table.identity_columns().next().is_none() {
                continue;
            }
            scan::scan_table(connectors, table, |rec| {
                if scan::held_for_client(store, table, rec) {
                    return;
                }
                // Only identities of one person count (never a shared type such as a
                // household phone), and only those tombstoned seed the re-deletion: another
                // identity on the row (a customer id) may be someone else's, and the run's
                // resolution holds a request reaching two people for review.
                let hits: Vec<(Identity, &String)> = scan::row_identities(table, rec)
                    .into_iter()
                    .filter(|(i, _)| !shared.contains(&i.kind))
                    .filter_map(|(i, _)| {
                        let orig = tombs.get(&hasher.identity(&i.kind, &i.value))?;
                        Some((i, orig))
                    })
                    .collect();
                let Some((_, original)) = hits.first() else {
                    return;
                };
                let original = (*original).clone();
                if settled.contains(&row_hash(&hasher, &store.name, &table.id.table, &rec.key)) {
                    return;
                }
                let e = found.entry(original.clone()).or_insert_with(|| Reacquired {
                    original,
                    identities: BTreeSet::new(),
                    rows: 0,
                });
                e.rows += 1;
                e.identities.extend(hits.into_iter().map(|(i, _)| i));
            })
            .await?;
        }
    }
    Ok(found.into_values().collect())
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepSummary {
    /// Tombstoned people found again.
    pub reacquired: usize,
    /// Rows of theirs found.
    pub rows: u64,
    /// Deletion requests made (one per person; one already made today is not made again).
    pub requests: Vec<String>,
    /// Stores that could not be reached: the sweep was skipped.
    pub skipped: Vec<String>,
}

/// The sweep: finds tombstoned people acquired again and stores one deletion request for
/// each (`sweep-<YYYYMMDD>-<n>`), with a `reacquired` entry first in its evidence chain
/// naming the deletion that left the tombstone. The run that follows carries them out.
pub async fn sweep(
    config: &Config,
    control: &ControlDb,
    now: DateTime<Utc>,
) -> Result<SweepSummary> {
    let mut map = config.data_map.clone();
    let (connectors, unreachable) = crate::load::connect_each(&map).await?;
    // A store down: no sweep this time (the run that follows defers its batch as usual); the
    // next sweep finds whatever this one would have.
    if !unreachable.is_empty() {
        let stores: Vec<String> = unreachable.iter().map(|e| e.store.clone()).collect();
        tracing::warn!(stores = %stores.join(","), "sweep skipped: stores unreachable");
        return Ok(SweepSummary {
            skipped: stores,
            ..SweepSummary::default()
        });
    }
    let problems = crate::load::check_live(&mut map, &connectors).await?;
    if !problems.is_empty() {
        return Err(crate::Error::Schema(problems));
    }
    let cfg = Config {
        data_map: map,
        ..config.clone()
    };
    let found = find_reacquired(&cfg, control, &connectors).await?;
    let mut summary = SweepSummary {
        reacquired: found.len(),
        rows: found.iter().map(|f| f.rows).sum(),
        ..SweepSummary::default()
    };
    if found.is_empty() {
        return Ok(summary);
    }
    let run_id = format!("sweep-{}", now.format("%Y%m%d"));
    let forbidden: BTreeSet<String> = found
        .iter()
        .flat_map(|f| f.identities.iter().map(|i| i.value.clone()))
        .collect();
    let sink = crate::load::evidence_sink(&config.settings).await?;
    let guard = dsr_evidence::Guard::new(forbidden);
    let evidence = crate::load::evidence_writer(&config.settings, sink, guard, &run_id, 0)?;
    for f in &found {
        let digest = KeyedHasher::new(b"sweep-id".to_vec())
            .hash(&[f.original.as_bytes(), run_id.as_bytes()]);
        let id = format!("{run_id}-{}", &digest[..12]);
        if control.get(&id).await?.is_some() {
            continue;
        }
        // Identities a request cannot carry (a stored phone too short to be one) are left out.
        let mut usable = f.clone();
        usable.identities.retain(|i| {
            config
                .settings
                .identity_types
                .get(&i.kind)
                .is_some_and(|n| n.normalize(&i.value).is_ok())
        });
        if usable.identities.is_empty() {
            continue;
        }
        let ids: Vec<Identity> = usable.identities.iter().cloned().collect();
        // Verified by the original deletion (the chain's `reacquired` entry names it).
        let body =
            crate::admission::internal_deletion_json(&id, &ids, "dsr", "tombstone-sweep", now);
        crate::admission::submit_internal(config, control, &body.to_string()).await?;
        let mut chain = evidence.chain(&id, now).await?;
        chain
            .append(
                "reacquired",
                json!({"tombstone_of": f.original, "rows": f.rows, "identities": usable.identities.len()}),
            )
            .await?;
        tracing::info!(request = %id, tombstone_of = %f.original, rows = f.rows, "tombstoned subject acquired again");
        summary.requests.push(id);
    }
    Ok(summary)
}

/// What the ingestion check did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows passed on.
    pub kept: u64,
    /// Rows dropped: they hold a tombstoned identity.
    pub dropped: u64,
    /// Columns checked (those named after an identity type).
    pub columns: Vec<String>,
}

/// The ingestion check: copies a CSV (with a header) from `input` to `output`, leaving out
/// every row holding a tombstoned identity in a column named after an identity type that is
/// not `shared` (`email`, `customer_id`, …; normalised as stored values are, then
/// keyed-hashed). Other columns pass as
/// they are. A header naming no identity type is an error: the check would be a no-op.
pub fn check_csv(
    config: &Config,
    tombstones: &BTreeSet<String>,
    input: impl std::io::Read,
    output: impl std::io::Write,
) -> Result<CheckSummary> {
    let bad = |m: String| crate::Error::Drop(m);
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let mut wr = csv::Writer::from_writer(output);
    let headers = rd
        .headers()
        .map_err(|_| bad("the input's header cannot be read as CSV".into()))?
        .clone();
    let checked: Vec<(usize, String, dsr_core::identity::Normalizer)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let kind = h.trim().to_ascii_lowercase();
            let n = *config.settings.identity_types.get(&kind)?;
            // A shared type (a household phone) would drop other people too.
            (!config.settings.shared_identity_types.contains(&kind)).then_some((i, kind, n))
        })
        .collect();
    if checked.is_empty() {
        return Err(bad(format!(
            "no column of the input is named after an identity type ({})",
            config
                .settings
                .identity_types
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let write_err = |_| crate::Error::Io {
        path: "output".into(),
        reason: "cannot write the checked rows".into(),
    };
    wr.write_record(&headers).map_err(write_err)?;
    let mut summary = CheckSummary {
        columns: checked.iter().map(|(_, k, _)| k.clone()).collect(),
        ..CheckSummary::default()
    };
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|_| bad(format!("line {}: malformed CSV", i + 2)))?;
        summary.rows += 1;
        let tombstoned = checked.iter().any(|(col, kind, n)| {
            rec.get(*col)
                .and_then(|v| n.normalize_stored(v))
                .is_some_and(|v| tombstones.contains(&hasher.identity(kind, &v)))
        });
        if tombstoned {
            summary.dropped += 1;
        } else {
            summary.kept += 1;
            wr.write_record(&rec).map_err(write_err)?;
        }
    }
    wr.flush().map_err(|_| crate::Error::Io {
        path: "output".into(),
        reason: "cannot write the checked rows".into(),
    })?;
    Ok(summary)
}
