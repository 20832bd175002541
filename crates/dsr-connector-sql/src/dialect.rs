//! SQL text, built from a small [`Dialect`] trait: what differs between SQLite, PostgreSQL and
//! MySQL/MariaDB when writing a statement. Every value is a placeholder; every identifier comes
//! from the validated data map and is quoted.

use dsr_core::identity::Normalizer;

/// The column a lookup compares, as the live schema describes it.
#[derive(Debug, Clone, Copy)]
pub struct LookupCol<'a> {
    /// Column name (unquoted).
    pub name: &'a str,
    /// Declared type ("" when unknown).
    pub declared: &'a str,
    /// Collation, where the server reports one ("" otherwise).
    pub collation: &'a str,
    /// How identities of this column are normalised.
    pub normalizer: Normalizer,
}

/// The `WHERE` predicate of a lookup of `n` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupWhere {
    /// The predicate.
    pub sql: String,
    /// How many times the list of values is bound, one list after the other (a sargable
    /// pre-filter and an exact re-check each take the list).
    pub repeat: usize,
    /// The values are canonical integers (see [`accepts`]) compared in the column's integer
    /// type: a driver that binds one array binds a `bigint[]` rather than text to be cast.
    pub integers: bool,
}

/// What differs between SQL dialects when building statements.
pub trait Dialect: Send + Sync {
    /// Quotes one identifier part.
    fn quote_part(&self, ident: &str) -> String;
    /// The placeholder for the `n`th parameter (1-based).
    fn placeholder(&self, n: usize) -> String;
    /// `a` differs from `b`, NULLs compared as values (`NULL` vs `NULL` is not a difference).
    fn distinct(&self, a: &str, b: &str) -> String;
    /// The column normalised the way its identities are, as text compared byte for byte:
    /// the exact test every lookup applies, and the value a found record reports as matched.
    fn normalized(&self, c: &LookupCol<'_>) -> String;
    /// The predicate of a lookup of `n` values: where the server can, an index-friendly
    /// pre-filter (the plain column on an integer or case-insensitive column) and the exact
    /// test of [`Dialect::normalized`].
    fn lookup_where(&self, c: &LookupCol<'_>, n: usize) -> LookupWhere;
    /// Most values one lookup statement carries.
    fn max_params(&self) -> usize;
    /// Whether lookups bind one array parameter instead of a parameter per value.
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

    /// Inserts the fence row of a request (parameter 1) if it is absent, doing nothing if it
    /// exists.
    fn fence_insert(&self, fence: &str) -> String {
        format!(
            "INSERT INTO {} (request_id, lease, writes, deleted, masked) VALUES ({}, 0, 0, 0, 0) ON CONFLICT (request_id) DO NOTHING",
            self.quote_name(fence),
            self.placeholder(1)
        )
    }

    /// Quotes a possibly schema-qualified name (`schema.table`).
    fn quote_name(&self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote_part(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `n` placeholders from `start`, comma-separated, each wrapped by `wrap` ("{}" = bare).
    fn placeholders(&self, n: usize, start: usize, wrap: &str) -> String {
        (start..start + n)
            .map(|i| wrap.replace("{}", &self.placeholder(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a declared type is an integer type.
pub fn is_integer(declared: &str) -> bool {
    let t = declared.to_ascii_lowercase();
    t.contains("int") && !t.contains("interval") && !t.contains("point")
}

/// Whether a declared type is text.
pub fn is_text(declared: &str) -> bool {
    let t = declared.to_ascii_lowercase();
    t.is_empty() || t.contains("char") || t.contains("text") || t.contains("clob")
}

/// Whether `value` can equal a value of the column at all: integer columns hold canonical
/// integers only (a server would otherwise coerce `x'…` to 0, or fail the whole batch).
pub fn accepts(c: &LookupCol<'_>, value: &str) -> bool {
    if value.contains('\0') {
        return false;
    }
    if c.normalizer == Normalizer::Exact && is_integer(c.declared) {
        return value.parse::<i64>().is_ok_and(|i| i.to_string() == value);
    }
    true
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

/// `SELECT <cols as text>, <normalised column> AS __dsr_match FROM t WHERE <lookup predicate>`.
pub fn lookup_sql(
    d: &dyn Dialect,
    table: &str,
    select: &[Col<'_>],
    c: &LookupCol<'_>,
    n: usize,
) -> LookupWhere {
    let cols: Vec<String> = select
        .iter()
        .map(|x| {
            format!(
                "{} AS {}",
                d.as_text(&d.quote_part(x.name), x.declared),
                d.quote_part(x.name)
            )
        })
        .collect();
    let w = d.lookup_where(c, n);
    LookupWhere {
        sql: format!(
            "SELECT {}, {} AS {} FROM {} WHERE {}",
            cols.join(", "),
            d.as_text(&d.normalized(c), ""),
            d.quote_part(MATCH_ALIAS),
            d.quote_name(table),
            w.sql
        ),
        repeat: w.repeat,
        integers: w.integers,
    }
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

/// `UPDATE t SET c1 = ?, … WHERE <key predicate> AND (c1 differs from ? OR …)` for one key.
/// Parameters: the new values, the key, the new values again. A row that already holds every
/// new value (masked by an earlier lease whose commit this one did not see when it planned) is
/// left alone and not counted, so the fence ledger counts each record's masking once on every
/// server (PostgreSQL counts matched rows, MySQL changed ones).
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
    let after_key = set.len() + key.len() + 1;
    let changes: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| {
            d.distinct(
                &d.quote_part(c.name),
                &d.typed_param(after_key + i, c.declared),
            )
        })
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {} AND ({})",
        d.quote_name(table),
        sets.join(", "),
        key_predicate(d, key, 1, set.len() + 1),
        changes.join(" OR ")
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

/// The fence table: per request, the highest lease token that has written and the running
/// totals of records deleted and masked (see [`dsr_core::connector`]'s fencing contract).
/// `writes` changes on every claim, so MySQL's "changed rows" count is never 0 for a claim
/// that matched.
pub fn fence_create(d: &dyn Dialect, fence: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (request_id VARCHAR(64) NOT NULL PRIMARY KEY, lease BIGINT NOT NULL, writes BIGINT NOT NULL, deleted BIGINT NOT NULL, masked BIGINT NOT NULL)",
        d.quote_name(fence)
    )
}

/// Claims the fence for a lease: parameters (lease, request id, lease). Affects one row when
/// the stored lease is not higher, none when a later lease has written.
pub fn fence_claim(d: &dyn Dialect, fence: &str) -> String {
    format!(
        "UPDATE {} SET lease = {}, writes = writes + 1 WHERE request_id = {} AND lease <= {}",
        d.quote_name(fence),
        d.typed_param(1, "bigint"),
        d.placeholder(2),
        d.typed_param(3, "bigint"),
    )
}

/// Adds to the ledger: parameters (deleted, masked, request id).
pub fn fence_add(d: &dyn Dialect, fence: &str) -> String {
    format!(
        "UPDATE {} SET deleted = deleted + {}, masked = masked + {} WHERE request_id = {}",
        d.quote_name(fence),
        d.typed_param(1, "bigint"),
        d.typed_param(2, "bigint"),
        d.placeholder(3),
    )
}

/// Reads the ledger of a request (parameter 1) as text: `deleted`, `masked`.
pub fn fence_read(d: &dyn Dialect, fence: &str) -> String {
    format!(
        "SELECT {}, {} FROM {} WHERE request_id = {}",
        d.as_text("deleted", "bigint"),
        d.as_text("masked", "bigint"),
        d.quote_name(fence),
        d.placeholder(1),
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
    fn distinct(&self, a: &str, b: &str) -> String {
        format!("{a} IS NOT {b}")
    }
    fn normalized(&self, c: &LookupCol<'_>) -> String {
        let col = self.quote_part(c.name);
        // Functions and CAST yield BINARY-collated text, whatever the column declares.
        // lower() folds ASCII only: a non-ASCII capital then fails to match (a miss, never a
        // wrong match).
        match c.normalizer {
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
    fn lookup_where(&self, c: &LookupCol<'_>, n: usize) -> LookupWhere {
        let exact = format!(
            "{} IN ({})",
            self.normalized(c),
            self.placeholders(n, 1, "{}")
        );
        if c.normalizer == Normalizer::Exact {
            // The plain column uses its index (integer affinity converts the text values);
            // the CAST re-check keeps a NOCASE column from widening the match.
            let pre = format!(
                "{} IN ({})",
                self.quote_part(c.name),
                self.placeholders(n, 1, "{}")
            );
            return LookupWhere {
                sql: format!("{pre} AND {exact}"),
                repeat: 1,
                integers: false,
            };
        }
        LookupWhere {
            sql: exact,
            repeat: 1,
            integers: false,
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
    fn distinct(&self, a: &str, b: &str) -> String {
        format!("{a} IS DISTINCT FROM {b}")
    }
    fn normalized(&self, c: &LookupCol<'_>) -> String {
        let col = self.quote_part(c.name);
        let text = if is_text(c.declared) {
            col
        } else {
            format!("({col})::text")
        };
        // Equality under PostgreSQL's deterministic collations is byte equality.
        match c.normalizer {
            Normalizer::Email | Normalizer::CaseInsensitive => format!("lower(btrim({text}))"),
            Normalizer::Phone => format!("regexp_replace({text}, '[^0-9]', '', 'g')"),
            Normalizer::Exact => text,
        }
    }
    fn lookup_where(&self, c: &LookupCol<'_>, _n: usize) -> LookupWhere {
        let p = self.placeholder(1);
        let integers = c.normalizer == Normalizer::Exact && is_integer(c.declared);
        let sql = if integers {
            // Values were filtered to canonical integers: compare in the column's own type so
            // its index serves the lookup.
            format!("{} = ANY(CAST({p} AS bigint[]))", self.quote_part(c.name))
        } else {
            // Sargable with an expression index on exactly this expression.
            format!("{} = ANY(CAST({p} AS text[]))", self.normalized(c))
        };
        LookupWhere {
            sql,
            repeat: 1,
            integers,
        }
    }
    fn max_params(&self) -> usize {
        10_000
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
    fn distinct(&self, a: &str, b: &str) -> String {
        format!("NOT ({a} <=> {b})")
    }
    fn normalized(&self, c: &LookupCol<'_>) -> String {
        let col = self.quote_part(c.name);
        // The default collations are case- and accent-insensitive: compare bytes, so `anä`
        // never equals `ana` (values are bound as UTF-8 on a utf8mb4 connection).
        let e = match c.normalizer {
            Normalizer::Email | Normalizer::CaseInsensitive => format!("lower(trim({col}))"),
            Normalizer::Phone => format!("regexp_replace(CAST({col} AS CHAR), '[^0-9]', '')"),
            Normalizer::Exact => format!("CAST({col} AS CHAR)"),
        };
        format!("CAST({e} AS BINARY)")
    }
    fn lookup_where(&self, c: &LookupCol<'_>, n: usize) -> LookupWhere {
        let col = self.quote_part(c.name);
        if c.normalizer == Normalizer::Exact && is_integer(c.declared) {
            // Values are canonical integers: the index answers exactly.
            return LookupWhere {
                sql: format!("{col} IN ({})", self.placeholders(n, 1, "{}")),
                repeat: 1,
                integers: true,
            };
        }
        let exact = format!(
            "{} IN ({})",
            self.normalized(c),
            self.placeholders(n, 1, "CAST({} AS BINARY)")
        );
        let case_insensitive = c.collation.to_ascii_lowercase().ends_with("_ci");
        if matches!(
            c.normalizer,
            Normalizer::Email | Normalizer::CaseInsensitive | Normalizer::Exact
        ) && case_insensitive
        {
            // Under a case-insensitive, trailing-space-padded collation the plain column is a
            // superset of the exact matches and uses the index; the byte re-check narrows it.
            let pre = format!("{col} IN ({})", self.placeholders(n, 1, "{}"));
            return LookupWhere {
                sql: format!("{pre} AND {exact}"),
                repeat: 2,
                integers: false,
            };
        }
        LookupWhere {
            sql: exact,
            repeat: 1,
            integers: false,
        }
    }
    fn max_params(&self) -> usize {
        1_000
    }
    fn as_text(&self, col: &str, declared: &str) -> String {
        if is_binary(declared) {
            format!("lower(hex({col}))")
        } else {
            format!("CAST({col} AS CHAR)")
        }
    }
    fn fence_insert(&self, fence: &str) -> String {
        // The statement is fixed (no column of ours can fail but the duplicate key).
        format!(
            "INSERT IGNORE INTO {} (request_id, lease, writes, deleted, masked) VALUES ({}, 0, 0, 0, 0)",
            self.quote_name(fence),
            self.placeholder(1)
        )
    }
}
