//! `[drop]` in `dsr.toml`: which DROP lists the business processes and where each list's
//! fields are in its records; validated against the data map.
//!
//! The email and phone lists need no sources: every column mapped as an identity of a type
//! normalised as `email` (resp. `phone`) is one. Every other list names, per source, one
//! table whose rows hold all of the list's fields.

use super::build::Issues;
use super::model::DataMap;
use crate::drop::{Field, ListType};
use crate::identity::Normalizer;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[drop]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropFile {
    /// The data broker id DROP assigned (its file names carry it).
    pub broker_id: String,
    /// The lists processed: every list whose identifiers the records hold (`email`, `phone`,
    /// `ndz`, `name_vin`, `maid`, `ctv_id`).
    pub lists: Vec<String>,
    /// Where a list's fields are, for lists other than email and phone (those use every
    /// identity column of their type unless sources are given here).
    #[serde(default)]
    pub sources: Vec<DropSourceFile>,
    /// Base URL of the DROP API (`GET /data/download`, status upload). Empty: files only.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Environment variable holding the DROP API key (sent as `X-API-KEY`).
    #[serde(default = "default_key_env")]
    pub api_key_env: String,
}

fn default_key_env() -> String {
    "DSR_DROP_API_KEY".into()
}

/// `[[drop.sources]]`: one table whose rows hold every field of a list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropSourceFile {
    /// The list (`ndz`, `name_vin`, …).
    pub list: String,
    /// Store name.
    pub store: String,
    /// Table name (mapped in the store's file).
    pub table: String,
    /// Field → column. A column holding a whole name gives `first_name` as `"<col>:first"`
    /// (its first word) and `last_name` as `"<col>:last"` (its last word).
    pub fields: BTreeMap<String, String>,
}

/// Where one field's value comes from in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldColumn {
    /// The column's value.
    Whole(String),
    /// The first word of the column's value.
    FirstWord(String),
    /// The last word of the column's value.
    LastWord(String),
}

impl FieldColumn {
    /// The column read.
    pub fn column(&self) -> &str {
        match self {
            FieldColumn::Whole(c) | FieldColumn::FirstWord(c) | FieldColumn::LastWord(c) => c,
        }
    }

    /// The field's raw value from the column's text.
    pub fn pick<'a>(&self, text: &'a str) -> Option<&'a str> {
        match self {
            FieldColumn::Whole(_) => Some(text),
            FieldColumn::FirstWord(_) => text.split_whitespace().next(),
            FieldColumn::LastWord(_) => text.split_whitespace().last(),
        }
    }
}

/// One validated source: a table whose rows give every field of `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSource {
    /// The list.
    pub list: ListType,
    /// Store.
    pub store: String,
    /// Table.
    pub table: String,
    /// The list's fields in its order, each with where it is read.
    pub fields: Vec<FieldColumn>,
}

/// Validated `[drop]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSettings {
    /// Data broker id.
    pub broker_id: String,
    /// Lists processed.
    pub lists: Vec<ListType>,
    /// Every source of every processed list.
    pub sources: Vec<DropSource>,
    /// DROP API base URL, when configured.
    pub api_url: Option<String>,
    /// Environment variable of the API key.
    pub api_key_env: String,
}

const FILE: &str = "dsr.toml";

/// Validates `[drop]` against the data map; `None` (with issues) when it is wrong.
pub(super) fn build(
    f: DropFile,
    api_url: Option<String>,
    map: &DataMap,
    all_stores_parsed: bool,
    issues: &mut Issues,
) -> Option<DropSettings> {
    let before = issues.0.len();
    if f.broker_id.is_empty()
        || !f
            .broker_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        issues.add(FILE, "drop.broker_id", "must be letters, digits and -");
    }
    let mut lists = Vec::new();
    for (i, l) in f.lists.iter().enumerate() {
        match ListType::parse(l) {
            Some(t) if !lists.contains(&t) => lists.push(t),
            Some(_) => issues.add(FILE, format!("drop.lists[{i}]"), "is listed twice"),
            None => issues.add(FILE, format!("drop.lists[{i}]"), unknown_list()),
        }
    }
    let mut sources = Vec::new();
    for (i, s) in f.sources.into_iter().enumerate() {
        let key = format!("drop.sources[{i}]");
        if let Some(src) = source(&key, s, &lists, map, issues) {
            sources.push(src);
        }
    }
    for list in [ListType::Email, ListType::Phone] {
        if lists.contains(&list) && !sources.iter().any(|s| s.list == list) {
            sources.extend(identity_sources(list, map));
        }
    }
    // A store file that did not parse may hold the missing source: no follow-on noise.
    for l in lists.iter().filter(|_| all_stores_parsed) {
        if !sources.iter().any(|s| s.list == *l) {
            issues.add(
                FILE,
                "drop.lists",
                format!(
                    "list `{}` has no source: no mapped column holds it; add a [[drop.sources]]",
                    l.key()
                ),
            );
        }
    }
    (issues.0.len() == before).then_some(DropSettings {
        broker_id: f.broker_id,
        lists,
        sources,
        api_url,
        api_key_env: f.api_key_env,
    })
}

fn unknown_list() -> String {
    format!(
        "unknown list; expected one of {}",
        ListType::ALL.map(|l| l.key()).join(", ")
    )
}

/// The identity columns of the type normalised as the list's field.
fn identity_sources(list: ListType, map: &DataMap) -> Vec<DropSource> {
    let wanted = match list {
        ListType::Email => Normalizer::Email,
        _ => Normalizer::Phone,
    };
    let mut out = Vec::new();
    for store in map.stores.iter().filter(|s| s.kind.is_sql()) {
        for t in &store.tables {
            for (c, role) in t.identity_columns() {
                if role.normalizer == wanted {
                    out.push(DropSource {
                        list,
                        store: store.name.clone(),
                        table: t.id.table.clone(),
                        fields: vec![FieldColumn::Whole(c.name.clone())],
                    });
                }
            }
        }
    }
    out
}

fn source(
    key: &str,
    s: DropSourceFile,
    lists: &[ListType],
    map: &DataMap,
    issues: &mut Issues,
) -> Option<DropSource> {
    let Some(list) = ListType::parse(&s.list) else {
        issues.add(FILE, format!("{key}.list"), unknown_list());
        return None;
    };
    if !lists.contains(&list) {
        issues.add(
            FILE,
            format!("{key}.list"),
            format!("list `{}` is not in drop.lists", list.key()),
        );
    }
    let Some(store) = map.store(&s.store) else {
        issues.add(FILE, format!("{key}.store"), "no such store");
        return None;
    };
    if !store.kind.is_sql() {
        issues.add(
            FILE,
            format!("{key}.store"),
            "DROP sources must be SQL stores (they are scanned)",
        );
        return None;
    }
    let Some(table) = store.tables.iter().find(|t| t.id.table == s.table) else {
        issues.add(FILE, format!("{key}.table"), "no such mapped table");
        return None;
    };
    for name in s.fields.keys() {
        if Field::parse(name).is_none_or(|f| !list.fields().contains(&f)) {
            issues.add(
                FILE,
                format!("{key}.fields.{name}"),
                format!(
                    "is not a field of list `{}` (fields: {})",
                    list.key(),
                    list.fields()
                        .iter()
                        .map(|f| f.key())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    let mut fields = Vec::new();
    for f in list.fields() {
        let Some(spec) = s.fields.get(f.key()) else {
            issues.add(
                FILE,
                format!("{key}.fields"),
                format!("field `{}` is missing", f.key()),
            );
            continue;
        };
        let fc = match spec.split_once(':') {
            None => FieldColumn::Whole(spec.clone()),
            Some((c, "first")) => FieldColumn::FirstWord(c.to_string()),
            Some((c, "last")) => FieldColumn::LastWord(c.to_string()),
            Some(_) => {
                issues.add(
                    FILE,
                    format!("{key}.fields.{}", f.key()),
                    "must be `<column>`, `<column>:first` or `<column>:last`",
                );
                continue;
            }
        };
        if !table.columns.iter().any(|c| c.name == fc.column()) {
            issues.add(
                FILE,
                format!("{key}.fields.{}", f.key()),
                format!(
                    "column `{}` is not mapped in table `{}`",
                    fc.column(),
                    s.table
                ),
            );
            continue;
        }
        fields.push(fc);
    }
    (fields.len() == list.fields().len()).then_some(DropSource {
        list,
        store: s.store,
        table: s.table,
        fields,
    })
}
