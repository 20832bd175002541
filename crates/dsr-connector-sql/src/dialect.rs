//! SQL text, built from a small [`Dialect`] trait: what differs between SQLite, PostgreSQL and
//! MySQL/MariaDB when writing a statement. Every value is a placeholder; every identifier comes
//! from the validated data map and is quoted.

use dsr_core::identity::Normalizer;

/// What differs between SQL dialects when building statements.
pub trait Dialect: Send + Sync {
    /// Quotes one identifier part.
    fn quote_part(&self, ident: &str) -> String;
    /// The placeholder for the `n`th parameter (1-based).
    fn placeholder(&self, n: usize) -> String;
    /// An expression normalising `col` (already quoted) the way `normalizer` normalises
    /// identities, compared under a binary collation so that exact equality with a normalised
    /// value is the comparison.
    fn normalized(&self, col: &str, normalizer: Normalizer) -> String;
    /// Most values one lookup statement carries.
    fn max_params(&self) -> usize;
    /// `<expr> IN (…)` for `n` values from placeholder `start`; PostgreSQL binds one array.
    fn in_list(&self, expr: &str, n: usize, start: usize) -> String {
        let ph: Vec<String> = (start..start + n).map(|i| self.placeholder(i)).collect();
        format!("{expr} IN ({})", ph.join(", "))
    }
    /// Whether [`Dialect::in_list`] takes one array parameter instead of `n` scalars.
    fn binds_array(&self) -> bool {
        false
    }
    /// `col` (quoted) read as text: every value crosses the driver as text (or NULL), so dates,
    /// decimals, JSON and enums need no per-type decoding. Binary columns come as hex.
    fn as_text(&self, col: &str, declared: &str) -> String;
    /// The placeholder `n` converted to the column's declared type, where the server needs it.
    fn typed_param(&self, n: usize, declared: &str) -> String {
        let _ = declared;
        self.placeholder(n)
    }

    /// Quotes a possibly schema-qualified name (`schema.table`).
    fn quote_name(&self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote_part(p))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Whether a declared type holds bytes.
pub fn is_binary(declared: &str) -> bool {
    let t = declared.to_ascii_lowercase();
    t.contains("blob") || t.contains("binary") || t == "bytea"
}

/// Alias of the match column added to every lookup.
pub const MATCH_ALIAS: &str = "__dsr_match";

/// A column with its declared type.
#[derive(Debug, Clone)]
pub struct Col<'a> {
    /// Name.
    pub name: &'a str,
    /// Declared type from the live schema ("" when unknown).
    pub declared: &'a str,
}

/// `SELECT <cols as text>, <normalised column> AS __dsr_match FROM t WHERE <normalised> IN (…)`.
pub fn lookup_sql(
    d: &dyn Dialect,
    table: &str,
    select: &[Col<'_>],
    column: &str,
    normalizer: Normalizer,
    n: usize,
) -> String {
    let expr = d.normalized(&d.quote_part(column), normalizer);
    let cols: Vec<String> = select
        .iter()
        .map(|c| {
            format!(
                "{} AS {}",
                d.as_text(&d.quote_part(c.name), c.declared),
                d.quote_part(c.name)
            )
        })
        .collect();
    format!(
        "SELECT {}, {} AS {} FROM {} WHERE {}",
        cols.join(", "),
        d.as_text(&expr, ""),
        d.quote_part(MATCH_ALIAS),
        d.quote_name(table),
        d.in_list(&expr, n, 1)
    )
}

/// `(k1 = ? AND k2 = ?) OR …` for `rows` keys, placeholders from `start`.
pub fn key_predicate(d: &dyn Dialect, key: &[Col<'_>], rows: usize, start: usize) -> String {
    let mut n = start;
    let mut parts = Vec::with_capacity(rows);
    for _ in 0..rows {
        let conj: Vec<String> = key
            .iter()
            .map(|k| {
                let s = format!(
                    "{} = {}",
                    d.quote_part(k.name),
                    d.typed_param(n, k.declared)
                );
                n += 1;
                s
            })
            .collect();
        parts.push(format!("({})", conj.join(" AND ")));
    }
    parts.join(" OR ")
}

/// `DELETE FROM t WHERE <key predicate>` for one key.
pub fn delete_sql(d: &dyn Dialect, table: &str, key: &[Col<'_>]) -> String {
    format!(
        "DELETE FROM {} WHERE {}",
        d.quote_name(table),
        key_predicate(d, key, 1, 1)
    )
}

/// `UPDATE t SET c1 = ?, … WHERE <key predicate>` for one key.
pub fn update_sql(d: &dyn Dialect, table: &str, set: &[Col<'_>], key: &[Col<'_>]) -> String {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} = {}",
                d.quote_part(c.name),
                d.typed_param(i + 1, c.declared)
            )
        })
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        d.quote_name(table),
        sets.join(", "),
        key_predicate(d, key, 1, set.len() + 1)
    )
}

/// `SELECT count(*) FROM t WHERE <key predicate>` for `rows` keys (count as text).
pub fn count_sql(d: &dyn Dialect, table: &str, key: &[Col<'_>], rows: usize) -> String {
    format!(
        "SELECT {} FROM {} WHERE {}",
        d.as_text("count(*)", "bigint"),
        d.quote_name(table),
        key_predicate(d, key, rows, 1)
    )
}

/// SQLite.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn quote_part(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }
    fn normalized(&self, col: &str, normalizer: Normalizer) -> String {
        // SQLite compares TEXT with BINARY collation unless a column declares otherwise, so
        // the expression is re-collated explicitly. lower() folds ASCII only: a non-ASCII
        // capital then fails to match (a miss, never a wrong match).
        match normalizer {
            Normalizer::Email | Normalizer::CaseInsensitive => {
                format!("lower(trim({col})) COLLATE BINARY")
            }
            Normalizer::Phone => {
                let mut e = format!("CAST({col} AS TEXT)");
                for ch in [" ", "-", "(", ")", "+", "."] {
                    e = format!("replace({e}, '{ch}', '')");
                }
                format!("{e} COLLATE BINARY")
            }
            Normalizer::Exact => format!("CAST({col} AS TEXT) COLLATE BINARY"),
        }
    }
    fn max_params(&self) -> usize {
        900
    }
    fn as_text(&self, col: &str, declared: &str) -> String {
        if is_binary(declared) {
            format!("lower(hex({col}))")
        } else {
            format!("CAST({col} AS TEXT)")
        }
    }
}

/// PostgreSQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Dialect for Postgres {
    fn quote_part(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
    fn normalized(&self, col: &str, normalizer: Normalizer) -> String {
        // PostgreSQL's default collations are deterministic: equality is byte equality.
        // `COLLATE "C"` makes that explicit for columns declared with another collation.
        match normalizer {
            Normalizer::Email | Normalizer::CaseInsensitive => {
                format!("(lower(btrim(({col})::text)) COLLATE \"C\")")
            }
            Normalizer::Phone => {
                format!("(regexp_replace(({col})::text, '[^0-9]', '', 'g') COLLATE \"C\")")
            }
            Normalizer::Exact => format!("((({col})::text) COLLATE \"C\")"),
        }
    }
    fn max_params(&self) -> usize {
        10_000
    }
    fn in_list(&self, expr: &str, _n: usize, start: usize) -> String {
        format!("{expr} = ANY({}::text[])", self.placeholder(start))
    }
    fn binds_array(&self) -> bool {
        true
    }
    fn as_text(&self, col: &str, declared: &str) -> String {
        if is_binary(declared) {
            format!("encode({col}, 'hex')")
        } else {
            format!("({col})::text")
        }
    }
    fn typed_param(&self, n: usize, declared: &str) -> String {
        if declared.is_empty() {
            self.placeholder(n)
        } else {
            format!("CAST({} AS {declared})", self.placeholder(n))
        }
    }
}

/// MySQL and MariaDB.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySql;

impl Dialect for MySql {
    fn quote_part(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }
    fn placeholder(&self, _n: usize) -> String {
        "?".into()
    }
    fn normalized(&self, col: &str, normalizer: Normalizer) -> String {
        // The default collations are case- and accent-insensitive: compare bytes, so `anä`
        // never equals `ana` (the values bound are UTF-8 on a utf8mb4 connection).
        let e = match normalizer {
            Normalizer::Email | Normalizer::CaseInsensitive => format!("lower(trim({col}))"),
            Normalizer::Phone => format!("regexp_replace(CAST({col} AS CHAR), '[^0-9]', '')"),
            Normalizer::Exact => format!("CAST({col} AS CHAR)"),
        };
        format!("CAST({e} AS BINARY)")
    }
    fn max_params(&self) -> usize {
        1_000
    }
    fn in_list(&self, expr: &str, n: usize, _start: usize) -> String {
        let ph = vec!["CAST(? AS BINARY)"; n];
        format!("{expr} IN ({})", ph.join(", "))
    }
    fn as_text(&self, col: &str, declared: &str) -> String {
        if is_binary(declared) {
            format!("lower(hex({col}))")
        } else {
            format!("CAST({col} AS CHAR)")
        }
    }
}
