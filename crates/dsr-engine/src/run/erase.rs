//! Erasure, store by store: the intent entry is in the request's evidence chain before the
//! store commits; the outcome entry (with the store's ledger) follows the commit; then the
//! deleted keys are re-queried as proof. Each group carries the run's lease, so a store whose
//! fence has seen a later lease for a request refuses it and the request is dropped.

use super::{Ctx, Work};
use crate::error::Result;
use crate::load;
use crate::plan::{self, Action};
use crate::resolve::{Resolution, RowId};
use dsr_core::connector::{EraseGroup, EraseOp, FENCED};
use dsr_core::value::Value;
use serde_json::json;
use std::collections::BTreeMap;

/// Erases every planned request, one transaction per store.
pub(super) async fn erase_all(
    cx: &Ctx<'_>,
    connectors: &load::Connectors,
    resolution: &Resolution,
    work: &mut [Work],
) -> Result<()> {
    let config = cx.config;
    for store in &config.data_map.stores {
        let Some(conn) = connectors.get(&store.name) else {
            continue;
        };
        let mut groups: Vec<EraseGroup> = Vec::new();
        let mut rows_of_group: Vec<Vec<RowId>> = Vec::new();
        let mut work_of_group: Vec<usize> = Vec::new();
        for (wi, w) in work.iter_mut().enumerate() {
            if w.lost {
                continue;
            }
            let Some(p) = &w.plan else { continue };
            let per_store = plan::ops_in_order(&config.data_map, p, resolution);
            let Some(ops) = per_store.get(&store.name) else {
                continue;
            };
            let mut eops = Vec::new();
            let mut rows = Vec::new();
            let mut tally: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
            let mut keys: Vec<String> = Vec::new();
            let mut object_keys: Vec<String> = Vec::new();
            for (r, action) in ops {
                let row = &resolution.rows[*r];
                let Some(tm) = config.data_map.table(&row.table) else {
                    continue;
                };
                let (op, name) = match action {
                    Action::Delete => (
                        EraseOp::Delete {
                            table: row.table.table.clone(),
                            key_columns: tm.key.clone(),
                            key: row.record.key.clone(),
                        },
                        "delete",
                    ),
                    Action::Mask(ms) => (
                        EraseOp::Mask {
                            table: row.table.table.clone(),
                            key_columns: tm.key.clone(),
                            key: row.record.key.clone(),
                            set: plan::masked_values(tm, &row.record, ms),
                        },
                        "mask",
                    ),
                    Action::Retain(_) => continue,
                };
                *tally
                    .entry(row.table.table.clone())
                    .or_default()
                    .entry(name)
                    .or_default() += 1;
                keys.push(format!("{}\u{1f}{}", row.table, row.record.key_text()));
                if tm.objects.is_some() {
                    object_keys.push(cx.hasher.identity("object_key", &row.record.key_text()));
                }
                eops.push(op);
                rows.push(*r);
            }
            if eops.is_empty() {
                continue;
            }
            keys.sort();
            object_keys.sort();
            // Keyed: record keys (a customer id, an object path) are guessable, so a plain
            // digest could be checked against candidates by anyone reading the evidence.
            let digest = cx.hasher.hash(&[b"erase-keys", keys.join("\n").as_bytes()]);
            // Evidence first: the intent is durable before the store commits.
            let mut intent = json!({"store": store.name, "tables": tally, "records": eops.len(), "keys_hmac": digest});
            if !object_keys.is_empty() {
                intent["object_keys"] = json!(object_keys);
            }
            w.record("erase_intent", intent).await?;
            if w.lost {
                continue;
            }
            dsr_connector_sql::failpoint::hit("after_intent");
            groups.push(EraseGroup {
                request_id: w.req.id.clone(),
                lease: cx.lease,
                ops: eops,
            });
            rows_of_group.push(rows);
            work_of_group.push(wi);
        }
        if groups.is_empty() {
            continue;
        }
        let erased = conn.erase(&groups).await;
        dsr_connector_sql::failpoint::hit("after_commit");
        dsr_connector_sql::failpoint::hit("before_outcome");
        match erased {
            Err(e) => {
                tracing::warn!(store = %store.name, code = %e.code, "store erase failed; left unchanged");
                for wi in &work_of_group {
                    let w = &mut work[*wi];
                    w.record("erase_outcome", json!({"store": store.name, "ok": false, "error": {"code": e.code, "message": e.message}})).await?;
                    w.failed_stores.push(store.name.clone());
                }
            }
            Ok(outcomes) => {
                for (gi, o) in outcomes.iter().enumerate() {
                    let w = &mut work[work_of_group[gi]];
                    match &o.result {
                        Ok(counts) => {
                            for (r, n) in rows_of_group[gi].iter().zip(counts) {
                                w.affected.insert(*r, *n);
                            }
                            w.ledgers.insert(store.name.clone(), o.ledger);
                            let mut entry = json!({"store": store.name, "ok": true, "affected": counts.iter().sum::<u64>(), "ledger": {"deleted": o.ledger.deleted, "masked": o.ledger.masked}});
                            if !o.rewrites.is_empty() {
                                // Lake files replaced: object names, old/new hashes, rows removed.
                                entry["files"] = json!(o.rewrites);
                            }
                            w.record("erase_outcome", entry).await?;
                            // Proof: re-query the deleted keys.
                            let mut by_table: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
                            for r in &rows_of_group[gi] {
                                if w.plan.as_ref().and_then(|p| p.decisions.get(r))
                                    == Some(&Action::Delete)
                                {
                                    let row = &resolution.rows[*r];
                                    by_table
                                        .entry(row.table.table.clone())
                                        .or_default()
                                        .push(row.record.key.clone());
                                }
                            }
                            let mut remaining = 0u64;
                            let mut unverified: Option<dsr_core::StoreError> = None;
                            for (table, keys) in &by_table {
                                let key_cols = config
                                    .data_map
                                    .table(&dsr_core::config::TableRef {
                                        store: store.name.clone(),
                                        table: table.clone(),
                                    })
                                    .map(|t| t.key.clone())
                                    .unwrap_or_default();
                                match conn.count_present(table, &key_cols, keys).await {
                                    Ok(n) => remaining += n,
                                    // The commit stands; the proof is missing, so the request
                                    // stays open and the next run re-checks.
                                    Err(e) => unverified = Some(e),
                                }
                            }
                            let error = unverified
                                .as_ref()
                                .map(|e| json!({"code": e.code, "message": e.message}));
                            let checked = by_table.values().map(Vec::len).sum::<usize>();
                            w.record("erase_verified", json!({"store": store.name, "checked": checked, "remaining": remaining, "error": error})).await?;
                            if remaining > 0 || unverified.is_some() {
                                w.failed_stores.push(store.name.clone());
                            }
                        }
                        Err(e) if e.code == FENCED => {
                            tracing::warn!(store = %store.name, request = %o.request_id, "store fence holds a later lease; dropped from this run");
                            w.lost = true;
                            w.outcome.status = "taken_over".into();
                        }
                        Err(e) => {
                            tracing::warn!(store = %store.name, request = %o.request_id, code = %e.code, "request rolled back in store");
                            w.record("erase_outcome", json!({"store": store.name, "ok": false, "error": {"code": e.code, "message": e.message}})).await?;
                            w.failed_stores.push(store.name.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
