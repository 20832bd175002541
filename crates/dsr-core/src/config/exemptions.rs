//! `exemptions.toml`: per-record exemption rules and legal holds, validated against the data
//! map, the declared identity types and the exemption bases each regime knows.

use super::build::Issues;
use super::files::*;
use super::model::*;
use crate::exemption::{Basis, Condition, ExemptionRule, Exemptions, LegalHold, Test};
use crate::identity::Normalizer;
use crate::jurisdiction::{Regime, rules};
use crate::request::Identity;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn condition(v: &toml::Value, key: &str, issues: &mut Issues) -> Option<Condition> {
    let f = "exemptions.toml";
    let Some(t) = v.as_table() else {
        issues.add(
            f,
            key,
            "a condition is a table: { column = …, in = […] } or { all = […] } / { any = […] }",
        );
        return None;
    };
    let list = |name: &str, issues: &mut Issues| -> Option<Vec<Condition>> {
        let arr = t.get(name)?.as_array();
        let Some(arr) = arr else {
            issues.add(f, format!("{key}.{name}"), "must be a list of conditions");
            return None;
        };
        let out: Vec<Condition> = arr
            .iter()
            .enumerate()
            .filter_map(|(i, c)| condition(c, &format!("{key}.{name}[{i}]"), issues))
            .collect();
        (out.len() == arr.len() && !out.is_empty()).then_some(out)
    };
    if t.contains_key("all") || t.contains_key("any") {
        if t.len() != 1 {
            issues.add(f, key, "`all`/`any` stands alone in its condition");
            return None;
        }
        return if t.contains_key("all") {
            list("all", issues).map(Condition::All)
        } else {
            list("any", issues).map(Condition::Any)
        };
    }
    let Some(column) = t.get("column").and_then(|c| c.as_str()) else {
        issues.add(
            f,
            format!("{key}.column"),
            "is required (the column the test reads)",
        );
        return None;
    };
    let tests: Vec<&String> = t.keys().filter(|k| *k != "column").collect();
    if tests.len() != 1 {
        issues.add(
            f,
            key,
            "give exactly one test: in, equals, is_true, younger_than_days or older_than_days",
        );
        return None;
    }
    let name = tests[0].as_str();
    let val = &t[name];
    let scalar = |v: &toml::Value| -> Option<String> {
        match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            toml::Value::Float(x) => Some(x.to_string()),
            _ => None,
        }
    };
    let days = |v: &toml::Value| v.as_integer().and_then(|i| u32::try_from(i).ok());
    let test = match name {
        "in" => val
            .as_array()
            .and_then(|a| a.iter().map(scalar).collect::<Option<Vec<_>>>())
            .map(Test::In),
        "equals" => scalar(val).map(Test::Equals),
        "is_true" => val.as_bool().map(Test::IsTrue),
        "younger_than_days" => days(val).map(Test::YoungerThanDays),
        "older_than_days" => days(val).map(Test::OlderThanDays),
        other => {
            issues.add(
                f,
                format!("{key}.{other}"),
                "unknown test; expected in, equals, is_true, younger_than_days or older_than_days",
            );
            return None;
        }
    };
    if test.is_none() {
        issues.add(
            f,
            format!("{key}.{name}"),
            "has the wrong type for this test",
        );
    }
    test.map(|test| Condition::Column {
        column: column.to_string(),
        test,
    })
}

pub(super) fn exemptions(
    e: ExemptionsFile,
    map: &DataMap,
    identity_types: Option<&BTreeMap<String, Normalizer>>,
    unparsed: &BTreeSet<String>,
    issues: &mut Issues,
) -> Exemptions {
    let f = "exemptions.toml";
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, x) in e.exemption.into_iter().enumerate() {
        let key = format!("exemption[{i}]");
        if !names.insert(x.name.clone()) {
            issues.add(
                f,
                format!("{key}.name"),
                format!("duplicate exemption name `{}`", x.name),
            );
        }
        let when = condition(&x.when, &format!("{key}.when"), issues);
        let mut tables = Vec::new();
        for t in &x.tables {
            let Some((s, tb)) = t.split_once('.') else {
                issues.add(
                    f,
                    format!("{key}.tables"),
                    format!("`{t}` is not store.table"),
                );
                continue;
            };
            let r = TableRef {
                store: s.into(),
                table: tb.into(),
            };
            match map.table(&r) {
                // Its store file did not parse (reported there).
                None if unparsed.contains(s) => {}
                None => issues.add(
                    f,
                    format!("{key}.tables"),
                    format!("table `{t}` is not mapped"),
                ),
                Some(tm) => {
                    if let Some(w) = &when {
                        for c in w.columns() {
                            if tm.column(c).is_none() && tm.collected_at.as_deref() != Some(c) {
                                issues.add(
                                    f,
                                    format!("{key}.when"),
                                    format!("column `{c}` is not mapped in `{t}` (map it, even as `{{}}`)"),
                                );
                            }
                        }
                    }
                    tables.push(r);
                }
            }
        }
        let basis = basis(x.basis, &format!("{key}.basis"), issues);
        if let Some(when) = when {
            rules.push(ExemptionRule {
                name: x.name,
                basis,
                tables,
                when,
            });
        }
    }
    let mut legal_holds = Vec::new();
    for (i, h) in e.legal_hold.into_iter().enumerate() {
        let key = format!("legal_hold[{i}]");
        if !names.insert(h.name.clone()) {
            issues.add(
                f,
                format!("{key}.name"),
                format!("duplicate name `{}`", h.name),
            );
        }
        let mut ids = Vec::new();
        for (j, id) in h.identities.iter().enumerate() {
            match identity_types.map(|m| m.get(&id.kind)) {
                // dsr.toml did not parse (reported there): the type cannot be checked.
                None => {}
                Some(None) => issues.add(
                    f,
                    format!("{key}.identities[{j}].type"),
                    format!("identity type `{}` is not declared", id.kind),
                ),
                Some(Some(n)) => match n.normalize(&id.value) {
                    Ok(v) => ids.push(Identity {
                        kind: id.kind.clone(),
                        value: v,
                    }),
                    Err(m) => issues.add(
                        f,
                        format!("{key}.identities[{j}].value"),
                        format!("value {m}"),
                    ),
                },
            }
        }
        let basis = basis(h.basis, &format!("{key}.basis"), issues);
        legal_holds.push(LegalHold {
            name: h.name,
            basis,
            identities: ids,
        });
    }
    Exemptions { rules, legal_holds }
}

/// A basis, checked against the exemption bases of each regime's rule table.
fn basis(b: BasisFile, key: &str, issues: &mut Issues) -> Basis {
    let f = "exemptions.toml";
    let known = || {
        Regime::ALL
            .iter()
            .map(|r| format!("{}: {}", r.key(), rules(*r).exemption_bases.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = Vec::new();
    match b {
        BasisFile::One(text) => {
            match Regime::ALL
                .into_iter()
                .find(|r| rules(*r).knows_basis(&text))
            {
                Some(r) => out.push((r, text)),
                None => issues.add(
                    f,
                    key,
                    format!(
                        "not an exemption basis of any regime; citations start with {}",
                        known()
                    ),
                ),
            }
        }
        BasisFile::PerRegime(m) => {
            if m.is_empty() {
                issues.add(f, key, "needs a basis for at least one regime");
            }
            for (k, text) in m {
                match Regime::parse(&k) {
                    None => issues.add(
                        f,
                        format!("{key}.{k}"),
                        "unknown regime; expected ccpa or gdpr",
                    ),
                    Some(r) if !rules(r).knows_basis(&text) => issues.add(
                        f,
                        format!("{key}.{k}"),
                        format!(
                            "not a {} exemption basis; it must start with one of: {}",
                            r.key(),
                            rules(r).exemption_bases.join(", ")
                        ),
                    ),
                    Some(r) => out.push((r, text)),
                }
            }
        }
    }
    Basis(out)
}
