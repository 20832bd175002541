//! Correctable fields: the columns declared `correct = "<field>"`, by field, checked as they
//! are collected (SQL stores only; never a key column or a unique identity).

use super::build::Issues;
use super::files::StoreFile;
use super::model::TableRef;
use std::collections::BTreeMap;

/// Field → every column holding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrectionMap {
    /// Field name → (table, column).
    pub fields: BTreeMap<String, Vec<(TableRef, String)>>,
}

impl CorrectionMap {
    /// The columns of `table` holding `field`.
    pub fn columns<'a>(
        &'a self,
        field: &str,
        table: &'a TableRef,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .get(field)
            .into_iter()
            .flatten()
            .filter(move |(t, _)| t == table)
            .map(|(_, c)| c.as_str())
    }
}

/// Collects the correctable columns of one store file.
pub(super) fn collect(
    file: &str,
    store: &str,
    sf: &StoreFile,
    map: &mut CorrectionMap,
    issues: &mut Issues,
) {
    let sql = matches!(sf.kind.as_str(), "sqlite" | "postgres" | "mysql");
    for (tname, tf) in &sf.tables {
        for (cname, cf) in &tf.columns {
            let Some(field) = &cf.correct else { continue };
            let key = format!("tables.{tname}.columns.{cname}.correct");
            let valid = !field.is_empty()
                && field.len() <= 64
                && field
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                issues.add(file, key, "a field name is 1-64 characters of a-z 0-9 _");
            } else if !sql {
                issues.add(file, key, "corrections are made in SQL stores only");
            } else if cf.unique || tf.key.as_ref().is_some_and(|k| k.contains(cname)) {
                issues.add(
                    file,
                    key,
                    "a key or unique identity column is not corrected (it names the record)",
                );
            } else {
                map.fields.entry(field.clone()).or_default().push((
                    TableRef {
                        store: store.to_string(),
                        table: tname.clone(),
                    },
                    cname.clone(),
                ));
            }
        }
    }
}
