//! The per-driver glue: binding text, reading text, and reading the live schema. Everything
//! crosses the driver as `Option<String>` (see [`crate::dialect::Dialect::as_text`]) — save
//! PostgreSQL's integer lookups, bound as one `bigint[]` — so this is all that differs between
//! sqlx's drivers.

use dsr_core::connector::LiveTable;
use sqlx::{Database, Pool, Row};

/// A query of driver `DB`.
pub type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// What one sqlx driver contributes.
pub trait Driver: Database {
    /// Binds one text value (or NULL).
    fn bind_text<'q>(q: Query<'q, Self>, v: Option<String>) -> Query<'q, Self>;
    /// Binds the values of one lookup, `repeat` times over: one array (PostgreSQL, whose
    /// predicate reuses it; `bigint[]` when `integers`, else `text[]`) or one text parameter
    /// per value.
    fn bind_lookup<'q>(
        mut q: Query<'q, Self>,
        values: &[String],
        repeat: usize,
        integers: bool,
    ) -> Query<'q, Self> {
        let _ = integers;
        for _ in 0..repeat {
            for v in values {
                q = Self::bind_text(q, Some(v.clone()));
            }
        }
        q
    }
    /// Column `i` of `row` as text.
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error>;
    /// The live description of `table` (`schema.table` allowed), `None` when it does not exist.
    fn describe(
        pool: &Pool<Self>,
        table: &str,
    ) -> impl std::future::Future<Output = Result<Option<LiveTable>, sqlx::Error>> + Send;
}

fn split(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, table),
    }
}

/// A live description from describe rows of `(name, type, not null '1'/'0', pk position[,
/// collation])`, read as text.
fn live_from<R: Row>(
    rows: &[R],
    get: impl Fn(&R, usize) -> Result<Option<String>, sqlx::Error>,
    with_collation: bool,
) -> Result<Option<LiveTable>, sqlx::Error> {
    let width = if with_collation { 5 } else { 4 };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let v = text_row(r, width, &get)?;
        let collation = if with_collation {
            v[4].clone()
        } else {
            String::new()
        };
        out.push((
            v[0].clone(),
            v[1].clone(),
            v[2] == "1",
            v[3].parse().unwrap_or(0),
            collation,
        ));
    }
    Ok(assemble(out))
}

fn assemble(rows: Vec<(String, String, bool, i64, String)>) -> Option<LiveTable> {
    if rows.is_empty() {
        return None;
    }
    let mut lt = LiveTable::default();
    let mut pk: Vec<(i64, String)> = Vec::new();
    for (name, ty, not_null, pk_pos, collation) in rows {
        if !collation.is_empty() {
            lt.collations.insert(name.clone(), collation);
        }
        if not_null {
            lt.not_null.push(name.clone());
        }
        if pk_pos > 0 {
            pk.push((pk_pos, name.clone()));
        }
        lt.columns.insert(name, ty);
    }
    pk.sort();
    lt.primary_key = pk.into_iter().map(|(_, c)| c).collect();
    Some(lt)
}

fn text_row<R: Row>(
    r: &R,
    n: usize,
    get: impl Fn(&R, usize) -> Result<Option<String>, sqlx::Error>,
) -> Result<Vec<String>, sqlx::Error> {
    (0..n)
        .map(|i| get(r, i).map(Option::unwrap_or_default))
        .collect()
}

impl Driver for sqlx::Sqlite {
    fn bind_text<'q>(q: Query<'q, Self>, v: Option<String>) -> Query<'q, Self> {
        q.bind(v)
    }
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    async fn describe(pool: &Pool<Self>, table: &str) -> Result<Option<LiveTable>, sqlx::Error> {
        let (schema, name) = split(table);
        let rows = sqlx::query(
            "SELECT name, type, CAST(\"notnull\" AS TEXT), CAST(pk AS TEXT) FROM pragma_table_info(?1, ?2) ORDER BY cid",
        )
        .bind(name)
        .bind(schema.unwrap_or("main"))
        .fetch_all(pool)
        .await?;
        live_from(&rows, Self::text_at, false)
    }
}

impl Driver for sqlx::Postgres {
    fn bind_text<'q>(q: Query<'q, Self>, v: Option<String>) -> Query<'q, Self> {
        q.bind(v)
    }
    fn bind_lookup<'q>(
        q: Query<'q, Self>,
        values: &[String],
        _repeat: usize,
        integers: bool,
    ) -> Query<'q, Self> {
        if integers {
            // `accepts` let through canonical integers only, so every value parses; the array
            // is typed, and the server compares without casting a text array.
            let ints: Vec<i64> = values.iter().filter_map(|v| v.parse().ok()).collect();
            if ints.len() == values.len() {
                return q.bind(ints);
            }
        }
        q.bind(values.to_vec())
    }
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    async fn describe(pool: &Pool<Self>, table: &str) -> Result<Option<LiveTable>, sqlx::Error> {
        let (schema, name) = split(table);
        let rows = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attnotnull THEN '1' ELSE '0' END,
                    COALESCE((SELECT array_position(string_to_array(i.indkey::text, ' ')::int2[], a.attnum)::text
                                FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), '0')
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = $2
                AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
        )
        .bind(schema)
        .bind(name)
        .fetch_all(pool)
        .await?;
        live_from(&rows, Self::text_at, false)
    }
}

impl Driver for sqlx::MySql {
    fn bind_text<'q>(q: Query<'q, Self>, v: Option<String>) -> Query<'q, Self> {
        q.bind(v)
    }
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    async fn describe(pool: &Pool<Self>, table: &str) -> Result<Option<LiveTable>, sqlx::Error> {
        let (schema, name) = split(table);
        let rows = sqlx::query(
            "SELECT CAST(c.COLUMN_NAME AS CHAR), CAST(c.COLUMN_TYPE AS CHAR),
                    CASE WHEN c.IS_NULLABLE = 'NO' THEN '1' ELSE '0' END,
                    CAST(COALESCE(k.ORDINAL_POSITION, 0) AS CHAR),
                    CAST(COALESCE(c.COLLATION_NAME, '') AS CHAR)
               FROM information_schema.COLUMNS c
               LEFT JOIN information_schema.KEY_COLUMN_USAGE k
                 ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY'
              WHERE c.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND c.TABLE_NAME = ?
              ORDER BY c.ORDINAL_POSITION",
        )
        .bind(schema)
        .bind(name)
        .fetch_all(pool)
        .await?;
        live_from(&rows, Self::text_at, true)
    }
}
