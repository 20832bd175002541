//! Validation of Parquet tables: their file glob, normalised identity columns and default key.

use super::build::Issues;
use super::files::TableFile;
use super::model::{ColumnMap, LakeLimits, LakeTable, StoreKind};

/// Default glob of a Parquet table's files.
pub const DEFAULT_FILES: &str = "**/*.parquet";

/// The `files`/`normalized` settings of a table: required shape in a Parquet store, refused
/// elsewhere. Parquet rows are deleted or retained, not masked.
pub(super) fn lake_table(
    file: &str,
    tkey: &str,
    kind: Option<StoreKind>,
    tf: &TableFile,
    columns: &[ColumnMap],
    issues: &mut Issues,
) -> Option<LakeTable> {
    let normalized: Vec<String> = tf
        .columns
        .iter()
        .filter(|(_, c)| c.normalized)
        .map(|(n, _)| n.clone())
        .collect();
    if kind != Some(StoreKind::Parquet) {
        if tf.files.is_some() {
            issues.add(
                file,
                format!("{tkey}.files"),
                "only tables of a parquet store have `files`",
            );
        }
        for n in &normalized {
            issues.add(
                file,
                format!("{tkey}.columns.{n}.normalized"),
                "only columns of a parquet store take `normalized`",
            );
        }
        return None;
    }
    let files = tf.files.clone().unwrap_or_else(|| DEFAULT_FILES.to_owned());
    if files.trim().is_empty() || files.starts_with('/') || files.split('/').any(|p| p == "..") {
        issues.add(
            file,
            format!("{tkey}.files"),
            "must be a glob relative to the lake URL (no leading `/`, no `..`)",
        );
    }
    if let Err(e) = globset::Glob::new(&files) {
        issues.add(
            file,
            format!("{tkey}.files"),
            format!("not a valid glob: {e}"),
        );
    }
    for n in &normalized {
        if !columns.iter().any(|c| &c.name == n && c.identity.is_some()) {
            issues.add(
                file,
                format!("{tkey}.columns.{n}.normalized"),
                "`normalized` applies to identity columns only",
            );
        }
    }
    if tf.erase == "mask" {
        issues.add(
            file,
            format!("{tkey}.erase"),
            "Parquet rows are deleted or retained, not masked",
        );
    }
    if tf.key.is_none() && default_key(columns).is_empty() {
        issues.add(
            file,
            format!("{tkey}.key"),
            "a Parquet table with more than one identity column needs `key` (the columns that identify a row)",
        );
    }
    Some(LakeTable { files, normalized })
}

/// A Parquet table's key when none is configured: its only identity column (empty when it has
/// none or several).
pub(super) fn default_key(columns: &[ColumnMap]) -> Vec<String> {
    let ids: Vec<&ColumnMap> = columns.iter().filter(|c| c.identity.is_some()).collect();
    match ids.as_slice() {
        [one] => vec![one.name.clone()],
        _ => Vec::new(),
    }
}

/// A store's `threads` and `memory_mb`: Parquet stores only, within bounds.
pub(super) fn limits(
    file: &str,
    kind: Option<StoreKind>,
    threads: Option<usize>,
    memory_mb: Option<usize>,
    issues: &mut Issues,
) -> LakeLimits {
    if kind != Some(StoreKind::Parquet) {
        for (key, set) in [
            ("threads", threads.is_some()),
            ("memory_mb", memory_mb.is_some()),
        ] {
            if set {
                issues.add(file, key, format!("only a parquet store takes `{key}`"));
            }
        }
        return LakeLimits::default();
    }
    if threads.is_some_and(|t| !(1..=256).contains(&t)) {
        issues.add(file, "threads", "must be between 1 and 256");
    }
    if memory_mb.is_some_and(|m| !(16..=65_536).contains(&m)) {
        issues.add(file, "memory_mb", "must be between 16 and 65536");
    }
    LakeLimits { threads, memory_mb }
}
