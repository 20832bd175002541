//! Exemption rules, evaluated by dsr on found records so one rule serves every kind of store.
//!
//! A rule names the tables it covers and a condition on a record's columns; a legal hold names
//! subjects (by identity) whose records are all kept. Both carry the legal basis that the
//! consumer's answer and the evidence cite.

use crate::config::TableRef;
use crate::jurisdiction::Regime;
use crate::request::Identity;
use crate::value::{Record, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

/// A test on one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The value (as text) is one of these.
    In(Vec<String>),
    /// The value (as text) equals this.
    Equals(String),
    /// The value is truthy (`true`, non-zero, `yes` …) when `true`, falsy otherwise.
    IsTrue(bool),
    /// The value is a date/timestamp less than N days before now.
    YoungerThanDays(u32),
    /// The value is a date/timestamp more than N days before now.
    OlderThanDays(u32),
}

/// A condition on a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// A test on a column.
    Column {
        /// Column name.
        column: String,
        /// The test.
        test: Test,
    },
}

/// Parses a stored date or timestamp: RFC 3339, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD`, or Unix
/// seconds.
pub fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Int(secs) => DateTime::from_timestamp(*secs, 0),
        Value::Text(s)
            if !s.trim().is_empty()
                && s.trim().bytes().all(|b| b.is_ascii_digit())
                && s.trim().len() >= 9 =>
        {
            // Unix seconds stored in an integer column arrive as text.
            s.trim()
                .parse::<i64>()
                .ok()
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
        }
        Value::Text(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.to_utc())
                .ok()
                .or_else(|| {
                    // PostgreSQL's timestamptz text: `2026-11-01 10:00:00.5+00`.
                    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
                        .map(|d| d.to_utc())
                        .ok()
                })
                .or_else(|| {
                    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                        .ok()
                        .map(|d| d.and_utc())
                })
                .or_else(|| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc())
                })
        }
        _ => None,
    }
}

impl Condition {
    /// Every column the condition reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Condition::All(cs) | Condition::Any(cs) => {
                cs.iter().flat_map(|c| c.columns()).collect()
            }
            Condition::Column { column, .. } => vec![column.as_str()],
        }
    }

    /// Whether the condition holds for `record` at time `now`. A date that cannot be parsed
    /// makes a date test false.
    pub fn holds(&self, record: &Record, now: DateTime<Utc>) -> bool {
        match self {
            Condition::All(cs) => cs.iter().all(|c| c.holds(record, now)),
            Condition::Any(cs) => cs.iter().any(|c| c.holds(record, now)),
            Condition::Column { column, test } => {
                let v = record.get(column);
                match test {
                    Test::In(set) => v.as_text().is_some_and(|t| set.contains(&t)),
                    Test::Equals(x) => v.as_text().is_some_and(|t| &t == x),
                    Test::IsTrue(want) => v.is_truthy() == *want,
                    Test::YoungerThanDays(n) => parse_timestamp(v)
                        .is_some_and(|t| now.signed_duration_since(t).num_days() < i64::from(*n)),
                    Test::OlderThanDays(n) => parse_timestamp(v)
                        .is_some_and(|t| now.signed_duration_since(t).num_days() > i64::from(*n)),
                }
            }
        }
    }
}

/// The legal basis of an exemption or hold under each regime it applies in: an exemption
/// keeps records only for requests under a regime it has a basis for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis(pub Vec<(Regime, String)>);

impl Basis {
    /// The citation under `regime`; `None` when the rule has no basis there. Without a
    /// regime (a request outside every jurisdiction is denied before planning), the first.
    pub fn under(&self, regime: Option<Regime>) -> Option<&str> {
        match regime {
            Some(r) => self
                .0
                .iter()
                .find(|(g, _)| *g == r)
                .map(|(_, b)| b.as_str()),
            None => self.0.first().map(|(_, b)| b.as_str()),
        }
    }
}

/// An exemption rule from `exemptions.toml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExemptionRule {
    /// Unique name, cited in reports and evidence.
    pub name: String,
    /// Legal basis per regime (statute / regulation).
    pub basis: Basis,
    /// Tables it covers.
    pub tables: Vec<TableRef>,
    /// When a record is exempt.
    pub when: Condition,
}

/// A legal hold: every record of these subjects is kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegalHold {
    /// Unique name (matter or case number).
    pub name: String,
    /// Legal basis per regime.
    pub basis: Basis,
    /// Subjects held, by normalised identity.
    #[serde(skip)]
    pub identities: Vec<Identity>,
}

/// Why a record is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Retention {
    /// Rule, hold or reason name.
    pub name: String,
    /// Legal basis or explanation.
    pub basis: String,
}

/// All exemption rules and legal holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exemptions {
    /// Per-record rules.
    pub rules: Vec<ExemptionRule>,
    /// Per-subject holds.
    pub legal_holds: Vec<LegalHold>,
}

impl Exemptions {
    /// The first rule with a basis under `regime` that keeps `record` of `table`, if any.
    pub fn record_exemption(
        &self,
        table: &TableRef,
        record: &Record,
        now: DateTime<Utc>,
        regime: Option<Regime>,
    ) -> Option<Retention> {
        self.rules.iter().find_map(|r| {
            let basis = r.basis.under(regime)?;
            (r.tables.contains(table) && r.when.holds(record, now)).then(|| Retention {
                name: r.name.clone(),
                basis: basis.to_string(),
            })
        })
    }

    /// The first legal hold covering any of `identities`. A hold keeps records under every
    /// regime: it cites its basis under `regime`, or its first one when it has none there.
    pub fn legal_hold<'a>(
        &self,
        identities: impl IntoIterator<Item = &'a Identity> + Clone,
        regime: Option<Regime>,
    ) -> Option<Retention> {
        self.legal_holds
            .iter()
            .find(|h| {
                identities
                    .clone()
                    .into_iter()
                    .any(|i| h.identities.contains(i))
            })
            .map(|h| Retention {
                name: h.name.clone(),
                basis: h
                    .basis
                    .under(regime)
                    .or_else(|| h.basis.under(None))
                    .unwrap_or_default()
                    .to_string(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, Value)]) -> Record {
        Record {
            key: vec![Value::Int(1)],
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn open_young_order() {
        let now = parse_timestamp(&Value::Text("2026-11-28T00:00:00Z".into())).unwrap_or_default();
        let c = Condition::All(vec![
            Condition::Column {
                column: "status".into(),
                test: Test::In(vec!["open".into()]),
            },
            Condition::Column {
                column: "created_at".into(),
                test: Test::YoungerThanDays(90),
            },
        ]);
        assert!(c.holds(
            &rec(&[
                ("status", Value::Text("open".into())),
                ("created_at", Value::Text("2026-11-01".into()))
            ]),
            now
        ));
        assert!(!c.holds(
            &rec(&[
                ("status", Value::Text("open".into())),
                ("created_at", Value::Text("2025-11-01".into()))
            ]),
            now
        ));
        assert!(!c.holds(
            &rec(&[
                ("status", Value::Text("closed".into())),
                ("created_at", Value::Text("2026-11-01".into()))
            ]),
            now
        ));
        assert!(!c.holds(
            &rec(&[
                ("status", Value::Text("open".into())),
                ("created_at", Value::Text("garbage".into()))
            ]),
            now
        ));
        assert!(parse_timestamp(&Value::Text("1795341600".into())).is_some());
        for text in [
            "2026-11-01 10:00:00+00",
            "2026-11-01 10:00:00.25+02",
            "2026-11-01 10:00:00.123456",
            "2026-11-01T10:00:00Z",
        ] {
            assert!(
                parse_timestamp(&Value::Text(text.into())).is_some(),
                "{text}"
            );
        }
        let f = Condition::Column {
            column: "fraud_flag".into(),
            test: Test::IsTrue(true),
        };
        assert!(f.holds(&rec(&[("fraud_flag", Value::Int(1))]), now));
        assert!(!f.holds(&rec(&[("fraud_flag", Value::Int(0))]), now));
    }
}
