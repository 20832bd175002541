//! Validation of what verification and minors need from the data map: the columns declared
//! `verify = "<type>"`, each store's `deletion_verification`, and the `birth_date` columns.

use super::build::Issues;
use super::files::StoreFile;
use super::model::TableRef;
use crate::request::VerificationLevel;
use crate::verification::PointRule;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The verification side of the data map.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct VerificationMap {
    /// Per table, the columns holding verification data points: (column, data-point type).
    pub columns: BTreeMap<TableRef, Vec<(String, String)>>,
    /// Per store, the level a deletion request must reach for the store's records to be
    /// deleted (absent: [`VerificationLevel::Reasonable`]).
    pub deletion: BTreeMap<String, VerificationLevel>,
    /// Per table, the column giving the subject's date of birth.
    pub birth_dates: BTreeMap<TableRef, String>,
}

impl VerificationMap {
    /// The level a deletion must reach to delete records of `store`.
    pub fn deletion_level(&self, store: &str) -> VerificationLevel {
        self.deletion
            .get(store)
            .copied()
            .unwrap_or(VerificationLevel::Reasonable)
    }
}

/// Collects and checks the verification keys of one store file. `point_types` is `None` when
/// `dsr.toml` did not parse (types cannot be checked then).
pub(super) fn collect(
    file: &str,
    store: &str,
    sf: &StoreFile,
    point_types: Option<&BTreeMap<String, PointRule>>,
    map: &mut VerificationMap,
    issues: &mut Issues,
) {
    match sf.deletion_verification.as_deref() {
        None | Some("reasonable") => {}
        Some("reasonably_high") => {
            map.deletion
                .insert(store.to_string(), VerificationLevel::ReasonablyHigh);
        }
        Some(other) => issues.add(
            file,
            "deletion_verification",
            format!("unknown level `{other}`; expected reasonable or reasonably_high"),
        ),
    }
    for (tname, tf) in &sf.tables {
        let table = TableRef {
            store: store.to_string(),
            table: tname.clone(),
        };
        for (cname, cf) in &tf.columns {
            let ckey = format!("tables.{tname}.columns.{cname}");
            if let Some(kind) = &cf.verify {
                if point_types.is_some_and(|m| !m.contains_key(kind)) {
                    issues.add(
                        file,
                        format!("{ckey}.verify"),
                        format!(
                            "data point type `{kind}` is not declared in dsr.toml [data_points]"
                        ),
                    );
                } else {
                    map.columns
                        .entry(table.clone())
                        .or_default()
                        .push((cname.clone(), kind.clone()));
                }
            }
            if cf.role.as_deref() == Some("birth_date") {
                if let Some(prev) = map.birth_dates.get(&table) {
                    issues.add(
                        file,
                        format!("{ckey}.role"),
                        format!("table already has a birth_date column ({prev})"),
                    );
                } else {
                    map.birth_dates.insert(table.clone(), cname.clone());
                }
            }
        }
    }
}

/// Every declared data-point type must be verified by some column, else no requester could
/// ever match it.
pub(super) fn check_types_used(
    point_types: Option<&BTreeMap<String, PointRule>>,
    map: &VerificationMap,
    issues: &mut Issues,
) {
    let Some(types) = point_types else { return };
    let used: BTreeSet<&String> = map.columns.values().flatten().map(|(_, t)| t).collect();
    for t in types.keys() {
        if !super::build::valid_name(t) {
            issues.add(
                "dsr.toml",
                format!("data_points.{t}"),
                "data point type must be a-z 0-9 _ -",
            );
        }
        if !used.contains(t) {
            issues.add(
                "dsr.toml",
                format!("data_points.{t}"),
                "no column verifies this type (add verify = \"…\" to a column of a store)",
            );
        }
    }
}
