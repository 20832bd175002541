//! Verification worked out from a resolution, and minors.
//!
//! After a batch is resolved, a request's data points are matched against its subject's
//! **own** records only (never a shared row or another subject's), column by column where the
//! data map declares `verify = "<type>"`, comparing keyed hashes
//! ([`dsr_core::verification::point_hash`]); the level follows the rules of
//! [`dsr_core::verification`]. Nothing here logs, returns or records a value: only counts,
//! type names and labels.
//!
//! A subject is a minor when a `birth_date` column of their own records puts them under 16 on
//! the day the request was received.

use crate::resolve::{Resolution, Resolved};
use chrono::{DateTime, Months, NaiveDate, Utc};
use dsr_core::config::Config;
use dsr_core::hash::KeyedHasher;
use dsr_core::request::{Request, VerificationLevel};
use dsr_core::verification::{level_from_points, point_hash};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Age under which a subject's personal information may not be sold without opt-in
/// (Cal. Civ. Code §1798.120(c)).
pub const MINOR_AGE: u32 = 16;

/// The verification a request reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The level reached: the higher of the data points' and the attestation's.
    pub level: VerificationLevel,
    /// Whether data points were matched (else the level is the attestation's).
    pub computed: bool,
    /// Distinct data-point types that matched (submitted identities that found the subject
    /// included).
    pub matched: usize,
    /// Data points that matched nothing in the subject's own records.
    pub mismatched: usize,
    /// The types that matched (type names, never values).
    pub matched_types: Vec<String>,
    /// The requester signed a declaration.
    pub signed_declaration: bool,
}

impl Verified {
    /// The verification a provider attested, without data points.
    pub fn attested(req: &Request) -> Verified {
        Verified {
            level: req.verification_level(),
            computed: false,
            matched: 0,
            mismatched: 0,
            matched_types: Vec::new(),
            signed_declaration: req.signed_declaration,
        }
    }

    /// The evidence form: level, counts, method and provider (labels only).
    pub fn to_json(&self, req: &Request) -> Value {
        let attestation = req.verification.as_ref().map(|v| {
            json!({"level": v.level, "method": v.method, "provider": v.provider, "verified_at": v.verified_at})
        });
        let (method, provider) = match (&req.verification, self.computed) {
            (_, true) => ("data_points".to_string(), None),
            (Some(v), false) => (v.method.clone(), v.provider.clone()),
            (None, false) => ("none".to_string(), None),
        };
        json!({
            "level": self.level,
            "computed": self.computed,
            "method": method,
            "provider": provider,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "matched_types": self.matched_types,
            "signed_declaration": self.signed_declaration,
            "attestation": attestation,
        })
    }

    /// Reads back the evidence form of a computed verification (a retried request keeps the
    /// verification its first run worked out: records deleted since cannot lower it).
    pub fn from_json(v: &Value) -> Option<Verified> {
        if v["computed"].as_bool() != Some(true) {
            return None;
        }
        Some(Verified {
            level: serde_json::from_value(v["level"].clone()).ok()?,
            computed: true,
            matched: usize::try_from(v["matched"].as_u64()?).ok()?,
            mismatched: usize::try_from(v["mismatched"].as_u64()?).ok()?,
            matched_types: v["matched_types"]
                .as_array()?
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            signed_declaration: v["signed_declaration"].as_bool().unwrap_or(false),
        })
    }
}

/// Works out the verification of `req` from its subject's own records in `resolution`.
/// Without data points, the attestation's level.
pub fn compute(
    config: &Config,
    hasher: &KeyedHasher,
    resolution: &Resolution,
    resolved: &Resolved,
    req: &Request,
) -> Verified {
    if !req.verification_computed() {
        return Verified::attested(req);
    }
    // Keyed hashes of what the subject's own records hold: data points per type, identities.
    let mut points: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut identities: BTreeSet<String> = BTreeSet::new();
    for &r in &resolved.own {
        let Some(row) = resolution.rows.get(r) else {
            continue;
        };
        for (column, kind) in config
            .verification
            .columns
            .get(&row.table)
            .into_iter()
            .flatten()
        {
            let Some(rule) = config.settings.data_point_types.get(kind) else {
                continue;
            };
            if let Some(v) = row
                .record
                .get(column)
                .as_text()
                .and_then(|t| rule.normalize_stored(&t))
            {
                points
                    .entry(kind.as_str())
                    .or_default()
                    .insert(point_hash(hasher, kind, &v));
            }
        }
        identities.extend(row_identity_hashes(config, hasher, row));
    }
    let mut matched: BTreeSet<String> = BTreeSet::new();
    for i in &req.subject.identities {
        if identities.contains(&hasher.identity(&i.kind, &i.value)) {
            matched.insert(i.kind.clone());
        }
    }
    let mut mismatched = 0;
    for p in &req.data_points {
        let hit = points
            .get(p.kind.as_str())
            .is_some_and(|s| s.contains(&point_hash(hasher, &p.kind, &p.value)));
        if hit {
            matched.insert(p.kind.clone());
        } else {
            mismatched += 1;
        }
    }
    let from_points = level_from_points(matched.len(), mismatched, req.signed_declaration);
    Verified {
        level: from_points.max(req.verification_level()),
        computed: true,
        matched: matched.len(),
        mismatched,
        matched_types: matched.into_iter().collect(),
        signed_declaration: req.signed_declaration,
    }
}

/// Whether the subject's own records give a date of birth putting them under
/// [`MINOR_AGE`] on `at` (the day the request was received).
pub fn minor(
    config: &Config,
    resolution: &Resolution,
    resolved: &Resolved,
    at: DateTime<Utc>,
) -> bool {
    younger_than(config, resolution, resolved, at, MINOR_AGE)
}

/// Whether the subject's own records show them younger than `years` at `at` (by a
/// `role = "birth_date"` column).
pub fn younger_than(
    config: &Config,
    resolution: &Resolution,
    resolved: &Resolved,
    at: DateTime<Utc>,
    years: u32,
) -> bool {
    let day = at.date_naive();
    resolved.own.iter().any(|&r| {
        let Some(row) = resolution.rows.get(r) else {
            return false;
        };
        let Some(column) = config.verification.birth_dates.get(&row.table) else {
            return false;
        };
        row.record
            .get(column)
            .as_text()
            .and_then(|t| t.get(..10).map(str::to_string))
            .and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
            .is_some_and(|birth| under(birth, day, years))
    })
}

/// Whether someone born on `birth` is younger than `years` on `day`.
fn under(birth: NaiveDate, day: NaiveDate, years: u32) -> bool {
    birth
        .checked_add_months(Months::new(years * 12))
        .is_some_and(|birthday| day < birthday)
}

/// Keyed hashes of every identity of the subject: the submitted ones and those in the
/// subject's own records (for the suppression list of a minor).
pub fn subject_hashes(
    config: &Config,
    hasher: &KeyedHasher,
    resolution: &Resolution,
    resolved: &Resolved,
    req: &Request,
) -> Vec<String> {
    let mut out: BTreeSet<String> = req
        .subject
        .identities
        .iter()
        .map(|i| hasher.identity(&i.kind, &i.value))
        .collect();
    out.extend(
        resolved
            .keys
            .iter()
            .map(|k| hasher.identity(&k.kind, &k.value)),
    );
    for &r in &resolved.own {
        let Some(row) = resolution.rows.get(r) else {
            continue;
        };
        out.extend(row_identity_hashes(config, hasher, row));
    }
    out.into_iter().collect()
}

/// Keyed hashes of the identities a fetched row holds, normalised as stored values are.
fn row_identity_hashes(
    config: &Config,
    hasher: &KeyedHasher,
    row: &crate::resolve::FetchedRow,
) -> Vec<String> {
    let Some(tm) = config.data_map.table(&row.table) else {
        return Vec::new();
    };
    tm.identity_columns()
        .filter_map(|(c, role)| {
            let v = row
                .record
                .get(&c.name)
                .as_text()
                .and_then(|t| role.normalizer.normalize_stored(&t))?;
            Some(hasher.identity(&role.kind, &v))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sixteenth_birthday_ends_minority() {
        assert!(under(d("2010-11-29"), d("2026-11-28"), 16));
        assert!(!under(d("2010-11-29"), d("2026-11-29"), 16));
        assert!(!under(d("1988-04-12"), d("2026-11-29"), 16));
        assert!(under(d("2008-02-29"), d("2024-02-28"), 16));
        assert!(!under(d("2008-02-29"), d("2024-02-29"), 16));
    }

    #[test]
    fn evidence_form_round_trips_counts_only() {
        let v = Verified {
            level: VerificationLevel::Reasonable,
            computed: true,
            matched: 2,
            mismatched: 1,
            matched_types: vec!["email".into(), "phone".into()],
            signed_declaration: false,
        };
        let req: Request = serde_json::from_value(json!({
            "id": "r", "kind": "access", "jurisdiction": "CA",
            "received_at": "2026-11-02T10:00:00Z",
            "subject": {"identities": [{"type": "email", "value": "a@b.c"}]},
            "verification": null, "client": null,
            "data_points": [{"type": "phone", "value": "14155550101"}]
        }))
        .unwrap();
        let j = v.to_json(&req);
        assert_eq!(j["method"], "data_points");
        assert!(!j.to_string().contains("14155550101"));
        assert_eq!(Verified::from_json(&j), Some(v));
    }
}
