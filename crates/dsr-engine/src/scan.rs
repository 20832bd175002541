//! Whole-table scans, page by page, for the work that must read every row rather than look
//! subjects up: DROP matching (hashes the stores cannot compute) and the tombstone sweep
//! (keyed hashes of every identity). Only SQL stores scan ([`dsr_core::Connector::scan`]).

use crate::error::{Error, Result};
use crate::load::Connectors;
use dsr_core::config::{DataMap, StoreMap, TableMap};
use dsr_core::identity::Normalizer;
use dsr_core::request::Identity;
use dsr_core::value::{Record, Value};
use std::collections::BTreeSet;

/// Rows per scan page.
pub const PAGE: usize = 5_000;

/// Calls `f` with every record of `store`.`table`, page by page in key order (keyset paging:
/// each page starts after the last key of the one before).
pub async fn scan_table(
    connectors: &Connectors,
    table: &TableMap,
    mut f: impl FnMut(&Record),
) -> Result<u64> {
    let store = &table.id.store;
    let conn = connectors
        .get(store)
        .ok_or_else(|| Error::Control(format!("store {store} is not connected")))?;
    let mut after: Option<Vec<dsr_core::value::Value>> = None;
    let mut seen = 0u64;
    loop {
        let page = conn.scan(table, after.as_deref(), PAGE).await?;
        for r in &page {
            f(r);
        }
        seen += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.key.clone()),
            _ => return Ok(seen),
        }
    }
}

/// The text of a column of a record (`None` when NULL or absent).
pub fn text(record: &Record, column: &str) -> Option<String> {
    record.values.get(column).and_then(Value::as_text)
}

/// Identity types declared unique to one subject somewhere in the data map (`customer_id`).
pub fn unique_identity_types(map: &DataMap) -> BTreeSet<String> {
    map.tables()
        .flat_map(|t| t.identity_columns())
        .filter(|(_, role)| role.unique)
        .map(|(_, role)| role.kind.clone())
        .collect()
}

/// The identities a record holds, each normalised as stored values are.
pub fn row_identities(table: &TableMap, record: &Record) -> Vec<(Identity, Normalizer)> {
    table
        .identity_columns()
        .filter_map(|(c, role)| {
            let v = role.normalizer.normalize_stored(&text(record, &c.name)?)?;
            Some((
                Identity {
                    kind: role.kind.clone(),
                    value: v,
                },
                role.normalizer,
            ))
        })
        .collect()
}

/// Whether a record is held for a Client (we are its service provider): the whole store is,
/// or the table's client column names one. Such records are the Client's to delete, never
/// part of our own DROP matching or tombstone sweep.
pub fn held_for_client(store: &StoreMap, table: &TableMap, record: &Record) -> bool {
    store.client.is_some()
        || table
            .client_column
            .as_deref()
            .is_some_and(|c| text(record, c).is_some_and(|v| !v.trim().is_empty()))
}
