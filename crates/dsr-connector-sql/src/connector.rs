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
    Connector, EraseGroup, EraseOp, FENCED, FindQuery, Found, GroupOutcome, Ledger, LiveTable,
};
use dsr_core::value::{Record, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Database, Executor, IntoArguments, Pool};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The fence table (see the connector contract), created on the first erase.
    fence: String,
    fence_ready: AtomicBool,
}

/// The fence table's name unless the store's config names another.
pub const DEFAULT_FENCE_TABLE: &str = "dsr_fence";

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
            fence: DEFAULT_FENCE_TABLE.to_string(),
            fence_ready: AtomicBool::new(false),
        })
    }

    /// Uses `table` (`schema.table` allowed) as the fence table instead of `dsr_fence`.
    pub fn with_fence_table(mut self, table: &str) -> SqlConnector {
        self.fence = table.to_string();
        self
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
    integers: bool,
    width: usize,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let q = DB::bind_lookup(sqlx::query::<DB>(sql), values, repeat, integers);
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
    /// A delete (else a mask), for the ledger.
    delete: bool,
}

/// The fence statements of one group (absent in a rehearsal).
struct FenceStmts {
    request_id: String,
    lease: String,
    insert: String,
    claim: String,
    add: String,
    read: String,
}

/// The statements of one erase group.
struct Prepared {
    fence: Option<FenceStmts>,
    stmts: Vec<Stmt>,
}

/// Why a group rolled back: a statement failed on a table, or a later lease holds the fence.
enum Failure {
    Db(String, sqlx::Error),
    Fenced,
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

/// Outcome of an erase: per group the counts and the ledger, or why it rolled back; the outer
/// error is a failure to begin, savepoint or commit (then nothing changed).
type EraseResult = Result<Vec<Result<(Vec<u64>, Ledger), Failure>>, (&'static str, sqlx::Error)>;

/// The erase transaction, written once and expanded per concrete pool type (an `async fn`
/// generic over the driver trips the compiler's higher-ranked `Send` inference).
macro_rules! erase_in {
    ($pool:expr, $groups:expr, $commit:expr, $fence_table:expr) => {{
        async {
            let groups: &[Prepared] = $groups;
            let mut tx = $pool.begin().await.map_err(|e| ("begin", e))?;
            let mut out = Vec::with_capacity(groups.len());
            for (gi, g) in groups.iter().enumerate() {
                let sp = format!("dsr_g{gi}");
                (&mut *tx)
                    .execute(format!("SAVEPOINT {sp}").as_str())
                    .await
                    .map_err(|e| ("savepoint", e))?;
                let mut counts = Vec::with_capacity(g.stmts.len());
                let mut ledger = Ledger::default();
                let mut failure = None;
                let fenced = |e: sqlx::Error| Failure::Db($fence_table.to_string(), e);
                // Claim the fence first: its row lock orders this group after (or before) any
                // other lease's work on the same request.
                if let Some(f) = &g.fence {
                    let claimed = async {
                        bind_all(sqlx::query(&f.insert), &[Some(f.request_id.clone())])
                            .execute(&mut *tx)
                            .await?;
                        let r = bind_all(
                            sqlx::query(&f.claim),
                            &[
                                Some(f.lease.clone()),
                                Some(f.request_id.clone()),
                                Some(f.lease.clone()),
                            ],
                        )
                        .execute(&mut *tx)
                        .await?;
                        Ok::<bool, sqlx::Error>(r.rows_affected() > 0)
                    }
                    .await;
                    match claimed {
                        Ok(true) => {}
                        Ok(false) => failure = Some(Failure::Fenced),
                        Err(e) => failure = Some(fenced(e)),
                    }
                }
                if failure.is_none() {
                    for s in &g.stmts {
                        match bind_all(sqlx::query(&s.sql), &s.params)
                            .execute(&mut *tx)
                            .await
                        {
                            Ok(r) => counts.push(r.rows_affected()),
                            Err(e) => {
                                failure = Some(Failure::Db(s.table.clone(), e));
                                break;
                            }
                        }
                    }
                }
                if failure.is_none()
                    && let Some(f) = &g.fence
                {
                    let deleted: u64 = g
                        .stmts
                        .iter()
                        .zip(&counts)
                        .filter(|(s, _)| s.delete)
                        .map(|(_, n)| n)
                        .sum();
                    let masked: u64 = g
                        .stmts
                        .iter()
                        .zip(&counts)
                        .filter(|(s, _)| !s.delete)
                        .map(|(_, n)| n)
                        .sum();
                    let read = async {
                        bind_all(
                            sqlx::query(&f.add),
                            &[
                                Some(deleted.to_string()),
                                Some(masked.to_string()),
                                Some(f.request_id.clone()),
                            ],
                        )
                        .execute(&mut *tx)
                        .await?;
                        let row = bind_all(sqlx::query(&f.read), &[Some(f.request_id.clone())])
                            .fetch_one(&mut *tx)
                            .await?;
                        let num = |i: usize| -> Result<u64, sqlx::Error> {
                            Ok(text_of($pool, &row, i)?
                                .and_then(|t| t.parse().ok())
                                .unwrap_or(0))
                        };
                        Ok::<Ledger, sqlx::Error>(Ledger {
                            deleted: num(0)?,
                            masked: num(1)?,
                        })
                    }
                    .await;
                    match read {
                        Ok(l) => ledger = l,
                        Err(e) => failure = Some(fenced(e)),
                    }
                }
                match failure {
                    None => {
                        (&mut *tx)
                            .execute(format!("RELEASE SAVEPOINT {sp}").as_str())
                            .await
                            .map_err(|e| ("release", e))?;
                        out.push(Ok((counts, ledger)));
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

/// Column `i` of a row as text; the pool names the driver.
fn text_of<DB: Driver>(
    _pool: &Pool<DB>,
    row: &DB::Row,
    i: usize,
) -> Result<Option<String>, sqlx::Error> {
    DB::text_at(row, i)
}

impl SqlConnector {
    /// Creates the fence table if it does not exist yet (once per connector).
    async fn ensure_fence(&self) -> Result<(), StoreError> {
        if self.fence_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let sql = dialect::fence_create(self.dialect.as_ref(), &self.fence);
        // Two workers creating it at once may collide in the catalog: the loser retries once.
        let mut last = None;
        for _ in 0..2 {
            match with_pool!(&self.pools, p => p.execute(sql.as_str()).await.map(|_| ())) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(self.err(Some(&self.fence), "fence", &e));
        }
        self.fence_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Applies `groups` in one transaction (savepoint per group), committed or rolled back.
    /// Committed erasures are fenced; a rehearsal touches no fence.
    async fn apply(
        &self,
        groups: &[EraseGroup],
        commit: bool,
    ) -> Result<Vec<GroupOutcome>, StoreError> {
        let d = self.dialect.as_ref();
        if commit {
            self.ensure_fence().await?;
        }
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
        let mut prepared: Vec<Prepared> = Vec::with_capacity(groups.len());
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
                if let EraseOp::Mask { set, .. } = op {
                    // The "already masked?" test compares with the new values again.
                    params.extend(set.iter().map(|(_, v)| text(v)));
                }
                stmts.push(Stmt {
                    table: table.clone(),
                    sql,
                    params,
                    delete: matches!(op, EraseOp::Delete { .. }),
                });
            }
            let fence = commit.then(|| FenceStmts {
                request_id: g.request_id.clone(),
                lease: g.lease.to_string(),
                insert: d.fence_insert(&self.fence),
                claim: dialect::fence_claim(d, &self.fence),
                add: dialect::fence_add(d, &self.fence),
                read: dialect::fence_read(d, &self.fence),
            });
            prepared.push(Prepared { fence, stmts });
        }
        let fence_table = self.fence.clone();
        let results = with_pool!(&self.pools, p => erase_in!(p, &prepared, commit, fence_table))
            .map_err(|(op, e)| self.err(None, op, &e))?;
        Ok(groups
            .iter()
            .zip(results)
            .map(|(g, r)| {
                let (result, ledger) = match r {
                    Ok((counts, ledger)) => (Ok(counts), ledger),
                    Err(Failure::Db(table, e)) => {
                        (Err(self.err(Some(&table), "erase", &e)), Ledger::default())
                    }
                    Err(Failure::Fenced) => (
                        Err(StoreError {
                            store: self.store.clone(),
                            table: Some(self.fence.clone()),
                            code: FENCED.into(),
                            message: "erase: a later lease has written for this request".into(),
                        }),
                        Ledger::default(),
                    ),
                };
                GroupOutcome {
                    request_id: g.request_id.clone(),
                    result,
                    ledger,
                    rewrites: Vec::new(),
                }
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
    let rows = rows_in(pool, sql, params, 1).await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten()))
}

/// Runs `sql` with text parameters; every row's first `width` columns as text.
async fn rows_in<DB>(
    pool: &Pool<DB>,
    sql: &str,
    params: Vec<Option<String>>,
    width: usize,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let mut q = sqlx::query::<DB>(sql);
    for p in params {
        q = DB::bind_text(q, p);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| (0..width).map(|i| DB::text_at(r, i)).collect())
        .collect()
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
            let rows = with_pool!(&self.pools, p => find_in(p, &lookup.sql, chunk, lookup.repeat, lookup.integers, width).await)
                .map_err(|e| self.err(Some(table), "find", &e))?;
            out.reserve(rows.len());
            for row in rows {
                // Each cell moves into the record; only the key is copied out of it.
                let mut cells = row.into_iter();
                let values: BTreeMap<String, Value> = select
                    .iter()
                    .zip(cells.by_ref())
                    .map(|(name, v)| (name.clone(), v.map(Value::Text).unwrap_or(Value::Null)))
                    .collect();
                let matched = cells.next().flatten().unwrap_or_default();
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
        self.page(table, None, limit, "sample").await
    }

    async fn scan(
        &self,
        table: &TableMap,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        if table.key.is_empty() {
            return Err(StoreError {
                store: self.store.clone(),
                table: Some(table.id.table.clone()),
                code: dsr_core::connector::UNSUPPORTED.into(),
                message: "a table without key columns cannot be scanned".into(),
            });
        }
        self.page(table, Some(after.unwrap_or(&[])), limit, "scan")
            .await
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

impl SqlConnector {
    /// Up to `limit` records of `table`: any (a sample) or, with an offset, the page at
    /// `offset` in key order (a scan). Limit and offset are numbers, not request data.
    async fn page(
        &self,
        table: &TableMap,
        after: Option<&[Value]>,
        limit: usize,
        op: &str,
    ) -> Result<Vec<Record>, StoreError> {
        let name = table.id.table.as_str();
        let live = self.live(name).await?;
        let select = table.select_columns();
        let d = self.dialect.as_ref();
        let cols: Vec<String> = cols(&select, &live)
            .iter()
            .map(|c| d.as_text(&d.quote_part(c.name), c.declared))
            .collect();
        // A sample: any records. A scan: key order, after the given key (keyset paging; the
        // key values are bound, typed as their columns).
        let mut params: Vec<Option<String>> = Vec::new();
        let sql = match after {
            None => format!(
                "SELECT {} FROM {} LIMIT {limit}",
                cols.join(", "),
                d.quote_name(name)
            ),
            Some(after) => {
                let key = self::cols(&table.key, &live);
                let order: Vec<String> = key.iter().map(|c| d.quote_part(c.name)).collect();
                let filter = if after.is_empty() {
                    String::new()
                } else {
                    params = after.iter().map(text).collect();
                    let ps: Vec<String> = key
                        .iter()
                        .enumerate()
                        .map(|(i, c)| d.typed_param(i + 1, c.declared))
                        .collect();
                    format!(" WHERE ({}) > ({})", order.join(", "), ps.join(", "))
                };
                format!(
                    "SELECT {} FROM {}{filter} ORDER BY {} LIMIT {limit}",
                    cols.join(", "),
                    d.quote_name(name),
                    order.join(", ")
                )
            }
        };
        let width = select.len();
        let rows = with_pool!(&self.pools, p => rows_in(p, &sql, params.clone(), width).await)
            .map_err(|e| self.err(Some(name), op, &e))?;
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
}
