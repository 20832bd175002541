//! SQL text shared by every dialect, parameterised by a small [`Dialect`] trait.

use dsr_core::identity::Normalizer;

/// What differs between SQL dialects when building statements.
pub trait Dialect: Send + Sync {
    /// Quotes one identifier part.
    fn quote_part(&self, ident: &str) -> String;
    /// The placeholder for the `n`th parameter (1-based).
    fn placeholder(&self, n: usize) -> String;
    /// An expression normalising `column_sql` the way `normalizer` normalises identities, so
    /// that exact equality with a normalised value is the comparison.
    fn normalized(&self, column_sql: &str, normalizer: Normalizer) -> String;
    /// Most parameters one statement may carry.
    fn max_params(&self) -> usize;

    /// Quotes a possibly schema-qualified name (`schema.table`).
    fn quote_name(&self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote_part(p))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Alias of the match column added to every lookup.
pub const MATCH_ALIAS: &str = "__dsr_match";

/// `SELECT cols, <normalised column> AS __dsr_match FROM table WHERE <normalised column> IN (…)`
/// for `n` values.
pub fn lookup_sql(
    d: &dyn Dialect,
    table: &str,
    select: &[String],
    column: &str,
    normalizer: Normalizer,
    n: usize,
) -> String {
    let expr = d.normalized(&d.quote_part(column), normalizer);
    let cols: Vec<String> = select.iter().map(|c| d.quote_part(c)).collect();
    let ph: Vec<String> = (1..=n).map(|i| d.placeholder(i)).collect();
    format!(
        "SELECT {}, {expr} AS {} FROM {} WHERE {expr} IN ({})",
        cols.join(", "),
        d.quote_part(MATCH_ALIAS),
        d.quote_name(table),
        ph.join(", ")
    )
}

/// `(k1 = ? AND k2 = ?) OR …` for `rows` keys of `key_columns`, placeholders from `start`.
pub fn key_predicate(d: &dyn Dialect, key_columns: &[String], rows: usize, start: usize) -> String {
    let mut n = start;
    let mut parts = Vec::with_capacity(rows);
    for _ in 0..rows {
        let conj: Vec<String> = key_columns
            .iter()
            .map(|k| {
                let s = format!("{} = {}", d.quote_part(k), d.placeholder(n));
                n += 1;
                s
            })
            .collect();
        parts.push(format!("({})", conj.join(" AND ")));
    }
    parts.join(" OR ")
}

/// `DELETE FROM t WHERE <key predicate>` for one key.
pub fn delete_sql(d: &dyn Dialect, table: &str, key_columns: &[String]) -> String {
    format!(
        "DELETE FROM {} WHERE {}",
        d.quote_name(table),
        key_predicate(d, key_columns, 1, 1)
    )
}

/// `UPDATE t SET c1 = ?, … WHERE <key predicate>` for one key.
pub fn update_sql(d: &dyn Dialect, table: &str, set: &[String], key_columns: &[String]) -> String {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = {}", d.quote_part(c), d.placeholder(i + 1)))
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        d.quote_name(table),
        sets.join(", "),
        key_predicate(d, key_columns, 1, set.len() + 1)
    )
}

/// `SELECT count(*) FROM t WHERE <key predicate>` for `rows` keys.
pub fn count_sql(d: &dyn Dialect, table: &str, key_columns: &[String], rows: usize) -> String {
    format!(
        "SELECT count(*) FROM {} WHERE {}",
        d.quote_name(table),
        key_predicate(d, key_columns, rows, 1)
    )
}
