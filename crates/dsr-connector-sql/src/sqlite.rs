//! SQLite through sqlx: the embedded default store.

use crate::dialect::{self, Dialect, MATCH_ALIAS};
use crate::error::store_error;
use dsr_core::StoreError;
use dsr_core::connector::{
    Connector, EraseGroup, EraseOp, FindQuery, Found, GroupOutcome, LiveTable,
};
use dsr_core::identity::Normalizer;
use dsr_core::value::{Record, Value};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, Row, Sqlite, SqlitePool, TypeInfo, ValueRef};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// The SQLite dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn quote_part(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn normalized(&self, col: &str, normalizer: Normalizer) -> String {
        match normalizer {
            // SQLite's lower() folds ASCII only; a non-ASCII capital then fails to match
            // (a miss, never a wrong match).
            Normalizer::Email | Normalizer::CaseInsensitive => format!("lower(trim({col}))"),
            Normalizer::Phone => {
                let mut e = format!("CAST({col} AS TEXT)");
                for ch in [" ", "-", "(", ")", "+", "."] {
                    e = format!("replace({e}, '{ch}', '')");
                }
                e
            }
            Normalizer::Exact => format!("CAST({col} AS TEXT)"),
        }
    }

    fn max_params(&self) -> usize {
        // SQLite allows 32766 since 3.32; stay well below for statement-cache friendliness.
        900
    }
}

/// A SQLite store.
pub struct SqliteConnector {
    store: String,
    pool: SqlitePool,
}

fn options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

impl SqliteConnector {
    /// Opens the database at `url` (`sqlite://path`); the file must exist.
    pub async fn connect(store: &str, url: &str) -> Result<SqliteConnector, StoreError> {
        let opts = options(url)
            .map_err(|e| store_error(store, None, "connect", &e))?
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| store_error(store, None, "connect", &e))?;
        Ok(SqliteConnector {
            store: store.to_string(),
            pool,
        })
    }

    /// Creates (or opens) the database at `url` and runs a multi-statement `script` — used to
    /// build fixture estates, never with request data.
    pub async fn run_script(url: &str, script: &str) -> Result<(), StoreError> {
        let opts = options(url)
            .map_err(|e| store_error("fixture", None, "connect", &e))?
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| store_error("fixture", None, "connect", &e))?;
        sqlx::raw_sql(script)
            .execute(&pool)
            .await
            .map_err(|e| store_error("fixture", None, "script", &e))?;
        pool.close().await;
        Ok(())
    }

    fn err(&self, table: Option<&str>, op: &str, e: &sqlx::Error) -> StoreError {
        store_error(&self.store, table, op, e)
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind<'q>(q: Query<'q>, v: &Value) -> Query<'q> {
    match v {
        Value::Null => q.bind(Option::<String>::None),
        Value::Bool(b) => q.bind(*b),
        Value::Int(i) => q.bind(*i),
        Value::Float(f) => q.bind(*f),
        Value::Text(s) => q.bind(s.clone()),
        Value::Bytes(b) => q.bind(b.clone()),
    }
}

fn decode(row: &SqliteRow, idx: usize) -> Value {
    let Ok(raw) = row.try_get_raw(idx) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let type_name = raw.type_info().name().to_ascii_uppercase();
    match type_name.as_str() {
        "INTEGER" | "INT8" | "BIGINT" => row.try_get::<i64, _>(idx).map(Value::Int),
        "BOOLEAN" => row.try_get::<bool, _>(idx).map(Value::Bool),
        "REAL" | "FLOAT" | "DOUBLE" => row.try_get::<f64, _>(idx).map(Value::Float),
        "BLOB" => row.try_get::<Vec<u8>, _>(idx).map(Value::Bytes),
        _ => row.try_get::<String, _>(idx).map(Value::Text),
    }
    .unwrap_or(Value::Null)
}

#[async_trait::async_trait]
impl Connector for SqliteConnector {
    fn store(&self) -> &str {
        &self.store
    }

    async fn describe(&self, tables: &[&str]) -> Result<BTreeMap<String, LiveTable>, StoreError> {
        let mut out = BTreeMap::new();
        for &t in tables {
            let (schema, name) = match t.split_once('.') {
                Some((s, n)) => (s, n),
                None => ("main", t),
            };
            let rows = sqlx::query(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2) ORDER BY cid",
            )
            .bind(name)
            .bind(schema)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(Some(t), "describe", &e))?;
            if rows.is_empty() {
                continue;
            }
            let mut lt = LiveTable::default();
            let mut pk: Vec<(i64, String)> = Vec::new();
            for r in rows {
                let col: String = r
                    .try_get(0)
                    .map_err(|e| self.err(Some(t), "describe", &e))?;
                let ty: String = r.try_get(1).unwrap_or_default();
                let notnull: i64 = r.try_get(2).unwrap_or(0);
                let pkpos: i64 = r.try_get(3).unwrap_or(0);
                if notnull != 0 {
                    lt.not_null.push(col.clone());
                }
                if pkpos > 0 {
                    pk.push((pkpos, col.clone()));
                }
                lt.columns.insert(col, ty);
            }
            pk.sort();
            lt.primary_key = pk.into_iter().map(|(_, c)| c).collect();
            out.insert(t.to_string(), lt);
        }
        Ok(out)
    }

    async fn find(&self, q: FindQuery<'_>) -> Result<Vec<Found>, StoreError> {
        let d = SqliteDialect;
        let table = q.table.id.table.as_str();
        let select = q.table.select_columns();
        let mut out = Vec::new();
        for chunk in q.values.chunks(d.max_params()) {
            let sql = dialect::lookup_sql(&d, table, &select, q.column, q.normalizer, chunk.len());
            let mut query = sqlx::query(&sql);
            for v in chunk {
                query = query.bind(v.as_str());
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(Some(table), "find", &e))?;
            for row in rows {
                let mut values = BTreeMap::new();
                let mut matched = String::new();
                for (i, col) in row.columns().iter().enumerate() {
                    if col.name() == MATCH_ALIAS {
                        matched = decode(&row, i).as_text().unwrap_or_default();
                    } else {
                        values.insert(col.name().to_string(), decode(&row, i));
                    }
                }
                let key = q
                    .table
                    .key
                    .iter()
                    .map(|k| values.get(k).cloned().unwrap_or(Value::Null))
                    .collect();
                out.push(Found {
                    matched,
                    record: Record { key, values },
                });
            }
        }
        Ok(out)
    }

    async fn erase(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        let d = SqliteDialect;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.err(None, "begin", &e))?;
        let mut outcomes = Vec::with_capacity(groups.len());
        for (gi, group) in groups.iter().enumerate() {
            let sp = format!("dsr_g{gi}");
            sqlx::query(&format!("SAVEPOINT {sp}"))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(None, "savepoint", &e))?;
            let mut counts = Vec::with_capacity(group.ops.len());
            let mut failure = None;
            for op in &group.ops {
                let (table, res) = match op {
                    EraseOp::Delete {
                        table,
                        key_columns,
                        key,
                    } => {
                        let sql = dialect::delete_sql(&d, table, key_columns);
                        let mut q = sqlx::query(&sql);
                        for v in key {
                            q = bind(q, v);
                        }
                        (table, q.execute(&mut *tx).await)
                    }
                    EraseOp::Mask {
                        table,
                        key_columns,
                        key,
                        set,
                    } => {
                        let cols: Vec<String> = set.iter().map(|(c, _)| c.clone()).collect();
                        let sql = dialect::update_sql(&d, table, &cols, key_columns);
                        let mut q = sqlx::query(&sql);
                        for (_, v) in set {
                            q = bind(q, v);
                        }
                        for v in key {
                            q = bind(q, v);
                        }
                        (table, q.execute(&mut *tx).await)
                    }
                };
                match res {
                    Ok(r) => counts.push(r.rows_affected()),
                    Err(e) => {
                        failure = Some(self.err(Some(table), "erase", &e));
                        break;
                    }
                }
            }
            let result = match failure {
                None => {
                    sqlx::query(&format!("RELEASE {sp}"))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.err(None, "release", &e))?;
                    Ok(counts)
                }
                Some(err) => {
                    sqlx::query(&format!("ROLLBACK TO {sp}"))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.err(None, "rollback", &e))?;
                    sqlx::query(&format!("RELEASE {sp}"))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.err(None, "release", &e))?;
                    Err(err)
                }
            };
            outcomes.push(GroupOutcome {
                request_id: group.request_id.clone(),
                result,
            });
        }
        tx.commit()
            .await
            .map_err(|e| self.err(None, "commit", &e))?;
        Ok(outcomes)
    }

    async fn count_present(
        &self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        let d = SqliteDialect;
        let per = (d.max_params() / key_columns.len().max(1)).max(1);
        let mut total = 0u64;
        for chunk in keys.chunks(per) {
            let sql = dialect::count_sql(&d, table, key_columns, chunk.len());
            let mut q = sqlx::query(&sql);
            for key in chunk {
                for v in key {
                    q = bind(q, v);
                }
            }
            let row = q
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err(Some(table), "verify", &e))?;
            let n: i64 = row
                .try_get(0)
                .map_err(|e| self.err(Some(table), "verify", &e))?;
            total += u64::try_from(n).unwrap_or(0);
        }
        Ok(total)
    }
}
