//! [`ParquetConnector`]: a Parquet lake as a dsr store. Each mapped table is the files its
//! glob selects; a table's rows are keyed by its key columns (by default its one identity
//! column).
//!
//! * `find` runs one pruned scan per file for the whole batch ([`crate::scan`]). A file that
//!   cannot be read fails the find with an error naming it: a partial answer could let a
//!   request be reported complete while some of its rows were not looked at.
//! * `erase` removes, per table, the rows whose key is in the groups' delete operations, by
//!   rewriting each file that holds any ([`crate::rewrite`], [`crate::replace`]). Rows are
//!   deleted, not masked (masking is refused). Erasure is idempotent — a key already gone
//!   removes nothing — so, like objects stores, a lake needs no fence: a stalled worker that
//!   writes after a takeover removes only what the new lease removes anyway. The ledger is
//!   this call's counts; each group's outcome lists the files replaced for it, with old and
//!   new hashes, for evidence.

use crate::Error;
use crate::lake::{Lake, LakeOptions};
use crate::matcher::{KeySet, Matcher};
use crate::scan::Selection;
use crate::values::{Columns, leaf_paths, type_at};
use dsr_core::StoreError;
use dsr_core::config::{StoreMap, TableMap};
use dsr_core::connector::{
    Connector, EraseGroup, EraseOp, FileRewrite, FindQuery, Found, GroupOutcome, Ledger, LiveTable,
};
use dsr_core::value::{Record, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A Parquet lake store.
#[derive(Debug, Clone)]
pub struct ParquetConnector {
    name: String,
    lake: Lake,
    tables: BTreeMap<String, TableMap>,
}

impl ParquetConnector {
    /// Opens the lake of `store` (its URL: a directory or `s3://bucket/prefix`).
    pub async fn open(store: &StoreMap, opts: LakeOptions) -> Result<ParquetConnector, StoreError> {
        let mut opts = opts;
        if let Some(t) = store.lake_limits.threads {
            opts.threads = t;
        }
        if let Some(m) = store.lake_limits.memory_mb {
            opts.memory_budget = m << 20;
        }
        opts.s3 = dsr_s3::S3Options {
            endpoint: store.s3.endpoint.clone(),
            region: store.s3.region.clone(),
            path_style: store.s3.path_style,
        };
        let lake = Lake::open(&store.url, opts)
            .await
            .map_err(|e| store_error(&store.name, None, &e))?;
        Ok(ParquetConnector {
            name: store.name.clone(),
            lake,
            tables: store
                .tables
                .iter()
                .map(|t| (t.id.table.clone(), t.clone()))
                .collect(),
        })
    }

    fn glob(&self, table: &str) -> Result<&str, StoreError> {
        self.tables
            .get(table)
            .and_then(|t| t.lake.as_ref())
            .map(|l| l.files.as_str())
            .ok_or_else(|| StoreError {
                store: self.name.clone(),
                table: Some(table.to_owned()),
                code: "config".into(),
                message: "table is not mapped in this lake".into(),
            })
    }

    fn error(&self, table: &str, e: &Error) -> StoreError {
        store_error(&self.name, Some(table), e)
    }
}

fn store_error(store: &str, table: Option<&str>, e: &Error) -> StoreError {
    StoreError {
        store: store.to_owned(),
        table: table.map(str::to_owned),
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

/// Nested paths of `t` that are sensitive: withheld inside JSON-rendered parents.
fn withheld(t: &TableMap) -> Vec<String> {
    t.columns
        .iter()
        .filter(|c| c.sensitive.is_some())
        .map(|c| c.name.clone())
        .collect()
}

#[async_trait::async_trait]
impl Connector for ParquetConnector {
    fn store(&self) -> &str {
        &self.name
    }

    fn max_batch(&self) -> usize {
        // One pass per file serves the whole batch; more values only grow a hash set.
        1_000_000
    }

    async fn describe(&self, tables: &[&str]) -> Result<BTreeMap<String, LiveTable>, StoreError> {
        let mut out = BTreeMap::new();
        for t in tables {
            let glob = self.glob(t)?;
            let objects = self.lake.list(glob).await.map_err(|e| self.error(t, &e))?;
            let Some(first) = objects.first() else {
                continue;
            };
            let file = crate::scan::open_file(self.lake.root(), first)
                .await
                .map_err(|e| self.error(t, &e))?;
            let fields = file.meta.schema().fields().clone();
            let mut live = LiveTable::default();
            let mut paths = leaf_paths(&fields);
            // Struct columns themselves are selectable too (rendered as JSON).
            for p in leaf_paths(&fields) {
                let mut prefix = String::new();
                for part in p.split('.') {
                    if !prefix.is_empty() {
                        paths.push(prefix.clone());
                        prefix.push('.');
                    }
                    prefix.push_str(part);
                }
            }
            for p in paths {
                if let Some(dt) = type_at(&fields, &p) {
                    live.columns.insert(p, dt.to_string());
                }
            }
            out.insert((*t).to_owned(), live);
        }
        Ok(out)
    }

    async fn find(&self, query: FindQuery<'_>) -> Result<Vec<Found>, StoreError> {
        let t = query.table;
        let table = t.id.table.as_str();
        let glob = self.glob(table)?;
        let normalized = t
            .lake
            .as_ref()
            .is_some_and(|l| l.normalized.iter().any(|c| c == query.column));
        let matcher = Arc::new(Matcher::new(
            query.column,
            query.normalizer,
            query.values,
            normalized,
        ));
        let selection = Selection {
            columns: Columns::Paths(t.select_columns()),
            withheld: withheld(t),
        };
        let found = self
            .lake
            .find(glob, matcher, selection)
            .await
            .map_err(|e| self.error(table, &e))?;
        if let Some(f) = found.failures.first() {
            return Err(StoreError {
                store: self.name.clone(),
                table: Some(table.to_owned()),
                code: f.code.clone(),
                message: format!(
                    "{} ({} file(s) unreadable)",
                    f.message,
                    found.failures.len()
                ),
            });
        }
        Ok(found
            .rows
            .into_iter()
            .map(|r| {
                let key = t
                    .key
                    .iter()
                    .map(|k| r.values.get(k).cloned().unwrap_or(Value::Null))
                    .collect();
                Found {
                    matched: r.matched,
                    record: Record {
                        key,
                        values: r.values,
                    },
                }
            })
            .collect())
    }

    async fn erase(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        self.apply(groups, false).await
    }

    async fn sample(&self, _table: &TableMap, _limit: usize) -> Result<Vec<Record>, StoreError> {
        // Masks are refused on lakes, so there is nothing to rehearse against.
        Ok(Vec::new())
    }

    async fn rehearse(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        self.apply(groups, true).await
    }

    async fn count_present(
        &self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        let glob = self.glob(table)?;
        let set = KeySet::new(key_columns, keys.iter().map(|k| (0, k.clone())));
        if set.is_empty() {
            return Ok(0);
        }
        let (scans, failures) = self
            .lake
            .scan(
                glob,
                Arc::new(set),
                Selection {
                    columns: Columns::Paths(key_columns.to_vec()),
                    withheld: Vec::new(),
                },
            )
            .await
            .map_err(|e| self.error(table, &e))?;
        if let Some(f) = failures.first() {
            return Err(StoreError {
                store: self.name.clone(),
                table: Some(table.to_owned()),
                code: f.code.clone(),
                message: f.message.clone(),
            });
        }
        Ok(scans.iter().map(|s| s.hits.len() as u64).sum())
    }
}

/// Where a delete operation's removed rows are counted: (group, op).
type OpRef = (usize, usize);

/// A table's deletions: key columns, and per operation its reference and key.
type TableDeletes = (Vec<String>, Vec<OpRef>, Vec<Vec<Value>>);

impl ParquetConnector {
    /// Erases (or, with `dry_run`, counts) the groups' rows, table by table.
    async fn apply(
        &self,
        groups: &[EraseGroup],
        dry_run: bool,
    ) -> Result<Vec<GroupOutcome>, StoreError> {
        let mut errors: Vec<Option<StoreError>> = vec![None; groups.len()];
        // Per table: the owners (op references) and keys of its deletions.
        let mut by_table: BTreeMap<String, TableDeletes> = BTreeMap::new();
        for (gi, g) in groups.iter().enumerate() {
            for (oi, op) in g.ops.iter().enumerate() {
                match op {
                    EraseOp::Delete {
                        table,
                        key_columns,
                        key,
                    } => {
                        let e = by_table
                            .entry(table.clone())
                            .or_insert_with(|| (key_columns.clone(), Vec::new(), Vec::new()));
                        e.1.push((gi, oi));
                        e.2.push(key.clone());
                    }
                    EraseOp::Mask { table, .. } => {
                        errors[gi] = Some(StoreError {
                            store: self.name.clone(),
                            table: Some(table.clone()),
                            code: "unsupported".into(),
                            message: "Parquet rows are deleted, not masked".into(),
                        });
                    }
                }
            }
        }
        let mut counts: Vec<Vec<u64>> = groups.iter().map(|g| vec![0; g.ops.len()]).collect();
        let mut rewrites: Vec<Vec<FileRewrite>> = vec![Vec::new(); groups.len()];
        for (table, (columns, owners, keys)) in by_table {
            // Groups already refused take no part.
            let live: Vec<(u32, Vec<Value>)> = owners
                .iter()
                .zip(keys)
                .enumerate()
                .filter(|(_, ((gi, _), _))| errors[*gi].is_none())
                .map(|(i, (_, k))| (i as u32, k))
                .collect();
            let set = KeySet::new(&columns, live);
            if set.is_empty() {
                continue;
            }
            let glob = self.glob(&table)?;
            let summary = self
                .lake
                .erase(glob, Arc::new(set), dry_run)
                .await
                .map_err(|e| self.error(&table, &e))?;
            for (owner, n) in summary.removed_by_owner() {
                if let Some((gi, oi)) = owners.get(owner as usize) {
                    counts[*gi][*oi] += n;
                }
            }
            for f in &summary.files {
                let mut per_group: BTreeMap<usize, u64> = BTreeMap::new();
                for (owner, n) in &f.removed_by_owner {
                    if let Some((gi, _)) = owners.get(*owner as usize) {
                        *per_group.entry(*gi).or_insert(0) += n;
                    }
                }
                for (gi, n) in per_group {
                    rewrites[gi].push(FileRewrite {
                        object: f.object.clone(),
                        old_sha256: f.old_sha256.clone(),
                        new_sha256: f.new_sha256.clone().unwrap_or_default(),
                        removed: n,
                    });
                }
            }
            if let Some(f) = summary.failures.first() {
                // The file was left as it was: every group of the table is incomplete.
                let e = StoreError {
                    store: self.name.clone(),
                    table: Some(table.clone()),
                    code: f.code.clone(),
                    message: f.message.clone(),
                };
                for (gi, _) in &owners {
                    errors[*gi].get_or_insert_with(|| e.clone());
                }
            }
        }
        Ok(groups
            .iter()
            .enumerate()
            .map(|(gi, g)| match errors[gi].take() {
                Some(e) => GroupOutcome {
                    request_id: g.request_id.clone(),
                    result: Err(e),
                    ledger: Ledger::default(),
                    rewrites: std::mem::take(&mut rewrites[gi]),
                },
                None => {
                    let deleted = if dry_run { 0 } else { counts[gi].iter().sum() };
                    GroupOutcome {
                        request_id: g.request_id.clone(),
                        result: Ok(counts[gi].clone()),
                        ledger: Ledger { deleted, masked: 0 },
                        rewrites: std::mem::take(&mut rewrites[gi]),
                    }
                }
            })
            .collect())
    }
}
