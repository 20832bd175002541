//! [`SqlConnector`]: the one implementation of [`Connector`] for every SQL dialect. The
//! statement text comes from the [`Dialect`], the driver glue from [`Driver`]; the logic —
//! chunked batched lookups, one transaction per erase with a savepoint per request, re-query
//! by key — is written once and instantiated per sqlx driver.

use crate::dialect::{self, Col, Dialect};
use crate::driver::Driver;
use crate::error::store_error;
use dsr_core::StoreError;
use dsr_core::config::TableMap;
use dsr_core::connector::{
    Connector, EraseGroup, EraseOp, FindQuery, Found, GroupOutcome, LiveTable,
};
use dsr_core::value::{Record, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Database, Executor, IntoArguments, Pool};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

enum Pools {
    Sqlite(Pool<sqlx::Sqlite>),
    Postgres(Pool<sqlx::Postgres>),
    MySql(Pool<sqlx::MySql>),
}

/// Runs `$body` with `$p` bound to the concrete pool.
macro_rules! with_pool {
    ($pools:expr, $p:ident => $body:expr) => {
        match $pools {
            Pools::Sqlite($p) => $body,
            Pools::Postgres($p) => $body,
            Pools::MySql($p) => $body,
        }
    };
}

/// A SQL store: SQLite (`sqlite://path`), PostgreSQL (`postgres://…`) or MySQL/MariaDB
/// (`mysql://…`, `mariadb://…`), chosen by the URL's scheme.
pub struct SqlConnector {
    store: String,
    pools: Pools,
    dialect: Box<dyn Dialect>,
    /// Live descriptions by table, read once.
    schema: Mutex<HashMap<String, LiveTable>>,
}

/// Which dialect a URL speaks.
pub fn scheme_of(url: &str) -> Option<&'static str> {
    let s = url.split(':').next()?.to_ascii_lowercase();
    match s.as_str() {
        "sqlite" => Some("sqlite"),
        "postgres" | "postgresql" => Some("postgres"),
        "mysql" | "mariadb" => Some("mysql"),
        _ => None,
    }
}

fn mysql_url(url: &str) -> String {
    match url.strip_prefix("mariadb:") {
        Some(rest) => format!("mysql:{rest}"),
        None => url.to_string(),
    }
}

impl SqlConnector {
    /// Connects to the store at `url`. A SQLite file must already exist.
    pub async fn connect(store: &str, url: &str) -> Result<SqlConnector, StoreError> {
        let e = |err: sqlx::Error| store_error(store, None, "connect", &err);
        let (pools, dialect): (Pools, Box<dyn Dialect>) = match scheme_of(url) {
            Some("sqlite") => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(e)?
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .create_if_missing(false)
                    .disable_statement_logging();
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts)
                    .await
                    .map_err(e)?;
                (Pools::Sqlite(pool), Box::new(dialect::Sqlite))
            }
            Some("postgres") => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(e)?
                    .disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(e)?;
                (Pools::Postgres(pool), Box::new(dialect::Postgres))
            }
            Some("mysql") => {
                let opts = MySqlConnectOptions::from_str(&mysql_url(url))
                    .map_err(e)?
                    .charset("utf8mb4")
                    .disable_statement_logging();
                let pool = MySqlPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(e)?;
                (Pools::MySql(pool), Box::new(dialect::MySql))
            }
            _ => {
                return Err(StoreError {
                    store: store.into(),
                    table: None,
                    code: "config".into(),
                    message: "connect: URL scheme must be sqlite:, postgres: or mysql:/mariadb:"
                        .into(),
                });
            }
        };
        Ok(SqlConnector {
            store: store.to_string(),
            pools,
            dialect,
            schema: Mutex::new(HashMap::new()),
        })
    }

    /// Runs a multi-statement `script` against `url` (creating a SQLite file if needed) —
    /// for fixture estates and tests, never with request data.
    pub async fn run_script(url: &str, script: &str) -> Result<(), StoreError> {
        let e = |err: sqlx::Error| store_error("fixture", None, "script", &err);
        match scheme_of(url) {
            Some("sqlite") => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(e)?
                    .create_if_missing(true);
                let mut c = opts.connect().await.map_err(e)?;
                sqlx::raw_sql(script).execute(&mut c).await.map_err(e)?;
            }
            Some("postgres") => {
                let mut c = PgConnectOptions::from_str(url)
                    .map_err(e)?
                    .disable_statement_logging()
                    .connect()
                    .await
                    .map_err(e)?;
                sqlx::raw_sql(script).execute(&mut c).await.map_err(e)?;
            }
            Some("mysql") => {
                let mut c = MySqlConnectOptions::from_str(&mysql_url(url))
                    .map_err(e)?
                    .disable_statement_logging()
                    .connect()
                    .await
                    .map_err(e)?;
                sqlx::raw_sql(script).execute(&mut c).await.map_err(e)?;
            }
            _ => {
                return Err(StoreError {
                    store: "fixture".into(),
                    table: None,
                    code: "config".into(),
                    message: "script: unsupported URL scheme".into(),
                });
            }
        }
        Ok(())
    }

    fn err(&self, table: Option<&str>, op: &str, e: &sqlx::Error) -> StoreError {
        store_error(&self.store, table, op, e)
    }

    /// The live description of `table`, read once and cached.
    async fn live(&self, table: &str) -> Result<LiveTable, StoreError> {
        if let Ok(cache) = self.schema.lock()
            && let Some(t) = cache.get(table)
        {
            return Ok(t.clone());
        }
        let got = with_pool!(&self.pools, p => describe(p, table).await)
            .map_err(|e| self.err(Some(table), "describe", &e))?;
        let Some(t) = got else {
            return Err(StoreError {
                store: self.store.clone(),
                table: Some(table.into()),
                code: "schema".into(),
                message: "table does not exist".into(),
            });
        };
        if let Ok(mut cache) = self.schema.lock() {
            cache.insert(table.to_string(), t.clone());
        }
        Ok(t)
    }
}

async fn describe<DB: Driver>(
    pool: &Pool<DB>,
    table: &str,
) -> Result<Option<LiveTable>, sqlx::Error> {
    DB::describe(pool, table).await
}

fn cols<'a>(names: &'a [String], live: &'a LiveTable) -> Vec<Col<'a>> {
    names
        .iter()
        .map(|n| Col {
            name: n,
            declared: live.columns.get(n).map(String::as_str).unwrap_or(""),
        })
        .collect()
}

fn text(v: &Value) -> Option<String> {
    v.as_text()
}

async fn find_in<DB>(
    pool: &Pool<DB>,
    sql: &str,
    values: &[String],
    repeat: usize,
    width: usize,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let q = DB::bind_lookup(sqlx::query::<DB>(sql), values, repeat);
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| (0..width).map(|i| DB::text_at(r, i)).collect())
        .collect()
}

/// One statement of an erase group: SQL and its parameters.
struct Stmt {
    table: String,
    sql: String,
    params: Vec<Option<String>>,
}

fn bind_all<'q, DB: Driver>(
    mut q: crate::driver::Query<'q, DB>,
    params: &[Option<String>],
) -> crate::driver::Query<'q, DB> {
    for p in params {
        q = DB::bind_text(q, p.clone());
    }
    q
}

/// Outcome of an erase: per group the counts, or the table and error that rolled it back; the
/// outer error is a failure to begin, savepoint or commit (then nothing changed).
type EraseResult =
    Result<Vec<Result<Vec<u64>, (String, sqlx::Error)>>, (&'static str, sqlx::Error)>;

/// The erase transaction, written once and expanded per concrete pool type (an `async fn`
/// generic over the driver trips the compiler's higher-ranked `Send` inference).
macro_rules! erase_in {
    ($pool:expr, $groups:expr, $commit:expr) => {{
        async {
            let groups: &[Vec<Stmt>] = $groups;
            let mut tx = $pool.begin().await.map_err(|e| ("begin", e))?;
            let mut out = Vec::with_capacity(groups.len());
            for (gi, stmts) in groups.iter().enumerate() {
                let sp = format!("dsr_g{gi}");
                (&mut *tx)
                    .execute(format!("SAVEPOINT {sp}").as_str())
                    .await
                    .map_err(|e| ("savepoint", e))?;
                let mut counts = Vec::with_capacity(stmts.len());
                let mut failure = None;
                for s in stmts {
                    match bind_all(sqlx::query(&s.sql), &s.params)
                        .execute(&mut *tx)
                        .await
                    {
                        Ok(r) => counts.push(r.rows_affected()),
                        Err(e) => {
                            failure = Some((s.table.clone(), e));
                            break;
                        }
                    }
                }
                match failure {
                    None => {
                        (&mut *tx)
                            .execute(format!("RELEASE SAVEPOINT {sp}").as_str())
                            .await
                            .map_err(|e| ("release", e))?;
                        out.push(Ok(counts));
                    }
                    Some(f) => {
                        (&mut *tx)
                            .execute(format!("ROLLBACK TO SAVEPOINT {sp}").as_str())
                            .await
                            .map_err(|e| ("rollback", e))?;
                        (&mut *tx)
                            .execute(format!("RELEASE SAVEPOINT {sp}").as_str())
                            .await
                            .map_err(|e| ("release", e))?;
                        out.push(Err(f));
                    }
                }
            }
            if $commit {
                crate::failpoint::hit("in_store_tx");
                tx.commit().await.map_err(|e| ("commit", e))?;
            } else {
                tx.rollback().await.map_err(|e| ("rollback", e))?;
            }
            let r: EraseResult = Ok(out);
            r
        }
        .await
    }};
}

impl SqlConnector {
    /// Applies `groups` in one transaction (savepoint per group), committed or rolled back.
    async fn apply(
        &self,
        groups: &[EraseGroup],
        commit: bool,
    ) -> Result<Vec<GroupOutcome>, StoreError> {
        let d = self.dialect.as_ref();
        // Read every table's description first, so no borrow of an op lives across an await.
        let mut tables: Vec<String> = groups
            .iter()
            .flat_map(|g| g.ops.iter())
            .map(|op| match op {
                EraseOp::Delete { table, .. } | EraseOp::Mask { table, .. } => table.clone(),
            })
            .collect();
        tables.sort();
        tables.dedup();
        let mut lives: HashMap<String, LiveTable> = HashMap::new();
        for t in tables {
            let lt = self.live(&t).await?;
            lives.insert(t, lt);
        }
        let empty = LiveTable::default();
        let mut prepared: Vec<Vec<Stmt>> = Vec::with_capacity(groups.len());
        for g in groups {
            let mut stmts = Vec::with_capacity(g.ops.len());
            for op in &g.ops {
                let (table, key_columns, key) = match op {
                    EraseOp::Delete {
                        table,
                        key_columns,
                        key,
                    }
                    | EraseOp::Mask {
                        table,
                        key_columns,
                        key,
                        ..
                    } => (table, key_columns, key),
                };
                let live = lives.get(table).unwrap_or(&empty);
                let kc = cols(key_columns, live);
                let mut params: Vec<Option<String>> = Vec::new();
                let sql = match op {
                    EraseOp::Delete { .. } => dialect::delete_sql(d, table, &kc),
                    EraseOp::Mask { set, .. } => {
                        let names: Vec<String> = set.iter().map(|(c, _)| c.clone()).collect();
                        params.extend(set.iter().map(|(_, v)| text(v)));
                        dialect::update_sql(d, table, &cols(&names, live), &kc)
                    }
                };
                params.extend(key.iter().map(text));
                stmts.push(Stmt {
                    table: table.clone(),
                    sql,
                    params,
                });
            }
            prepared.push(stmts);
        }
        let results = with_pool!(&self.pools, p => erase_in!(p, &prepared, commit))
            .map_err(|(op, e)| self.err(None, op, &e))?;
        Ok(groups
            .iter()
            .zip(results)
            .map(|(g, r)| GroupOutcome {
                request_id: g.request_id.clone(),
                result: r.map_err(|(table, e)| self.err(Some(&table), "erase", &e)),
            })
            .collect())
    }
}

async fn scalar_in<DB>(
    pool: &Pool<DB>,
    sql: &str,
    params: Vec<Option<String>>,
) -> Result<Option<String>, sqlx::Error>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let mut q = sqlx::query::<DB>(sql);
    for p in params {
        q = DB::bind_text(q, p);
    }
    let row = q.fetch_one(pool).await?;
    DB::text_at(&row, 0)
}

#[async_trait::async_trait]
impl Connector for SqlConnector {
    fn store(&self) -> &str {
        &self.store
    }

    fn max_batch(&self) -> usize {
        self.dialect.max_params()
    }

    async fn describe(&self, tables: &[&str]) -> Result<BTreeMap<String, LiveTable>, StoreError> {
        let mut out = BTreeMap::new();
        for &t in tables {
            let got = with_pool!(&self.pools, p => describe(p, t).await)
                .map_err(|e| self.err(Some(t), "describe", &e))?;
            if let Some(lt) = got {
                if let Ok(mut cache) = self.schema.lock() {
                    cache.insert(t.to_string(), lt.clone());
                }
                out.insert(t.to_string(), lt);
            }
        }
        Ok(out)
    }

    async fn find(&self, q: FindQuery<'_>) -> Result<Vec<Found>, StoreError> {
        let table = q.table.id.table.as_str();
        let live = self.live(table).await?;
        let select = q.table.select_columns();
        let select_cols = cols(&select, &live);
        let lc = dialect::LookupCol {
            name: q.column,
            declared: live.columns.get(q.column).map(String::as_str).unwrap_or(""),
            collation: live
                .collations
                .get(q.column)
                .map(String::as_str)
                .unwrap_or(""),
            normalizer: q.normalizer,
        };
        // Values the column cannot hold (NUL, non-integers for an integer column) match
        // nothing; they are dropped rather than coerced or failing the batch.
        let values: Vec<String> = q
            .values
            .iter()
            .filter(|v| dialect::accepts(&lc, v))
            .cloned()
            .collect();
        let d = self.dialect.as_ref();
        let mut out = Vec::new();
        for chunk in values.chunks(d.max_params()) {
            let lookup = dialect::lookup_sql(d, table, &select_cols, &lc, chunk.len());
            let width = select.len() + 1;
            let rows = with_pool!(&self.pools, p => find_in(p, &lookup.sql, chunk, lookup.repeat, width).await)
                .map_err(|e| self.err(Some(table), "find", &e))?;
            for row in rows {
                let mut values = BTreeMap::new();
                for (i, name) in select.iter().enumerate() {
                    values.insert(
                        name.clone(),
                        row[i].clone().map(Value::Text).unwrap_or(Value::Null),
                    );
                }
                let matched = row[select.len()].clone().unwrap_or_default();
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
        self.apply(groups, true).await
    }

    async fn rehearse(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        self.apply(groups, false).await
    }

    async fn sample(&self, table: &TableMap, limit: usize) -> Result<Vec<Record>, StoreError> {
        let name = table.id.table.as_str();
        let live = self.live(name).await?;
        let select = table.select_columns();
        let d = self.dialect.as_ref();
        let cols: Vec<String> = cols(&select, &live)
            .iter()
            .map(|c| d.as_text(&d.quote_part(c.name), c.declared))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} LIMIT {limit}",
            cols.join(", "),
            d.quote_name(name)
        );
        let rows = with_pool!(&self.pools, p => find_in(p, &sql, &[], 0, select.len()).await)
            .map_err(|e| self.err(Some(name), "sample", &e))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let values: BTreeMap<String, Value> = select
                    .iter()
                    .zip(row)
                    .map(|(n, v)| (n.clone(), v.map(Value::Text).unwrap_or(Value::Null)))
                    .collect();
                let key = table
                    .key
                    .iter()
                    .map(|k| values.get(k).cloned().unwrap_or(Value::Null))
                    .collect();
                Record { key, values }
            })
            .collect())
    }

    async fn count_present(
        &self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        let d = self.dialect.as_ref();
        let live = self.live(table).await?;
        let kc = cols(key_columns, &live);
        let per = (d.max_params() / key_columns.len().max(1)).max(1);
        let mut total = 0u64;
        for chunk in keys.chunks(per) {
            let sql = dialect::count_sql(d, table, &kc, chunk.len());
            let params: Vec<Option<String>> =
                chunk.iter().flat_map(|k| k.iter().map(text)).collect();
            let n = with_pool!(&self.pools, p => scalar_in(p, &sql, params).await)
                .map_err(|e| self.err(Some(table), "verify", &e))?;
            total += n.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        }
        Ok(total)
    }
}
