//! [`ObjectsConnector`]: the [`Connector`] of an objects store over any [`ObjectBackend`].

use crate::backend::ObjectBackend;
use dsr_core::StoreError;
use dsr_core::config::{StoreMap, TableMap};
use dsr_core::connector::{
    Connector, EraseGroup, EraseOp, FindQuery, Found, GroupOutcome, Ledger, LiveTable,
};
use dsr_core::value::{Record, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An objects store: its mapped tables (key prefix templates) over a backend.
pub struct ObjectsConnector {
    store: String,
    tables: BTreeMap<String, TableMap>,
    backend: Arc<dyn ObjectBackend>,
}

impl ObjectsConnector {
    /// The connector of `store` (an objects store of the data map) over `backend`.
    pub fn new(store: &StoreMap, backend: Arc<dyn ObjectBackend>) -> ObjectsConnector {
        ObjectsConnector {
            store: store.name.clone(),
            tables: store
                .tables
                .iter()
                .map(|t| (t.id.table.clone(), t.clone()))
                .collect(),
            backend,
        }
    }

    fn refuse(&self, table: &str, code: &str, message: &str) -> StoreError {
        StoreError {
            store: self.store.clone(),
            table: Some(table.to_string()),
            code: code.to_string(),
            message: message.to_string(),
        }
    }

    /// Applies one group: deletes only; a mask is refused and stops the group.
    async fn apply(&self, g: &EraseGroup, commit: bool) -> GroupOutcome {
        let mut counts = Vec::with_capacity(g.ops.len());
        let mut result = Ok(());
        for op in &g.ops {
            match op {
                EraseOp::Delete { key, .. } => {
                    let k = key.first().and_then(Value::as_text).unwrap_or_default();
                    if !commit {
                        counts.push(u64::from(self.backend.exists(&k).await.unwrap_or(false)));
                        continue;
                    }
                    match self.backend.delete(&k).await {
                        Ok(n) => counts.push(u64::from(n > 0)),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                EraseOp::Mask { table, .. } => {
                    result = Err(self.refuse(table, "unsupported", "objects cannot be masked"));
                    break;
                }
            }
        }
        let deleted = counts.iter().sum();
        match result {
            Ok(()) => GroupOutcome {
                request_id: g.request_id.clone(),
                result: Ok(counts),
                ledger: Ledger { deleted, masked: 0 },
                rewrites: Vec::new(),
            },
            Err(e) => GroupOutcome {
                request_id: g.request_id.clone(),
                result: Err(e),
                ledger: Ledger::default(),
                rewrites: Vec::new(),
            },
        }
    }
}

fn live(t: &TableMap) -> LiveTable {
    let mut lt = LiveTable::default();
    for (c, ty) in [
        ("key", "text"),
        ("size", "bigint"),
        ("content_type", "text"),
    ] {
        lt.columns.insert(c.to_string(), ty.to_string());
    }
    if let Some(tpl) = &t.objects {
        lt.columns.insert(tpl.column.clone(), "text".into());
    }
    lt.not_null = vec!["key".into(), "size".into()];
    lt.primary_key = vec!["key".into()];
    lt
}

#[async_trait::async_trait]
impl Connector for ObjectsConnector {
    fn store(&self) -> &str {
        &self.store
    }

    fn max_batch(&self) -> usize {
        1000
    }

    async fn describe(&self, tables: &[&str]) -> Result<BTreeMap<String, LiveTable>, StoreError> {
        Ok(tables
            .iter()
            .filter_map(|t| self.tables.get(*t).map(|m| (t.to_string(), live(m))))
            .collect())
    }

    async fn find(&self, q: FindQuery<'_>) -> Result<Vec<Found>, StoreError> {
        let Some(tpl) = &q.table.objects else {
            return Ok(Vec::new());
        };
        // Objects are found only by the identity their prefix is made of.
        if q.column != tpl.column {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for v in q.values {
            let Some(prefix) = tpl.key_prefix(v) else {
                continue;
            };
            for o in self.backend.list(&prefix).await? {
                let mut values = BTreeMap::new();
                values.insert("key".to_string(), Value::Text(o.key.clone()));
                values.insert(
                    "size".to_string(),
                    Value::Int(i64::try_from(o.size).unwrap_or(i64::MAX)),
                );
                values.insert(
                    "content_type".to_string(),
                    o.content_type.map(Value::Text).unwrap_or(Value::Null),
                );
                values.insert(tpl.column.clone(), Value::Text(v.clone()));
                values.retain(|c, _| q.table.column(c).is_some() || c == "key");
                out.push(Found {
                    matched: v.clone(),
                    record: Record {
                        key: vec![Value::Text(o.key)],
                        values,
                    },
                });
            }
        }
        Ok(out)
    }

    async fn erase(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            out.push(self.apply(g, true).await);
        }
        Ok(out)
    }

    async fn sample(&self, _table: &TableMap, _limit: usize) -> Result<Vec<Record>, StoreError> {
        Ok(Vec::new())
    }

    async fn rehearse(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            out.push(self.apply(g, false).await);
        }
        Ok(out)
    }

    async fn count_present(
        &self,
        _table: &str,
        _key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for k in keys {
            let key = k.first().and_then(Value::as_text).unwrap_or_default();
            if self.backend.exists(&key).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}
