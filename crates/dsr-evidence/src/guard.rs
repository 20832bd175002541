//! The guard: refuses evidence that contains a value of the batch's subjects.
//!
//! Evidence may hold keyed hashes and counts only. The guard is built from the batch's
//! forbidden values (identity values and sensitive values) and inspects every document before
//! it is written. A document is refused when
//!
//! * any string scalar, object key or number (as written in JSON) equals a forbidden value, or
//! * a forbidden value of 6 or more characters occurs inside any string scalar or object key,
//!
//! comparing case-insensitively. Values shorter than 3 characters are ignored: they would match
//! ordinary words and counts. A match that lies inside a long hexadecimal token (a SHA-256 or
//! HMAC digest, 32+ hex digits) is not a leak — a customer id `100023` occurs by chance in one
//! digest of a few thousand — and is ignored, and so is an all-digit match inside a longer run
//! of digits (a timestamp's fraction, a date in a run id: another number, not that value).
//! The guard never reveals which value matched.

use aho_corasick::AhoCorasick;
use std::collections::HashSet;
use std::fmt;

use serde_json::Value;

/// Shortest forbidden value the guard considers, in characters.
const MIN_LEN: usize = 3;
/// Shortest forbidden value also searched for inside strings, in characters.
const MIN_SUBSTRING_LEN: usize = 6;

/// The batch's forbidden values, lower-cased.
#[derive(Clone, Default)]
pub struct Guard {
    exact: HashSet<String>,
    /// One automaton over every value searched for inside strings.
    substrings: Option<AhoCorasick>,
    /// The automaton could not be built: refuse every string (fail closed).
    refuse_all: bool,
}

/// Shortest run of hex digits treated as a digest.
const DIGEST_MIN_HEX: usize = 32;

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guard({} values)", self.exact.len())
    }
}

impl Guard {
    /// A guard over `values` (identity values and sensitive values of the batch). Values
    /// shorter than 3 characters are ignored. An empty guard ([`Guard::default`]) permits all.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut exact = HashSet::new();
        for v in values {
            let v = v.to_lowercase();
            if v.chars().count() >= MIN_LEN {
                exact.insert(v);
            }
        }
        let patterns: Vec<&String> = exact
            .iter()
            .filter(|v| v.chars().count() >= MIN_SUBSTRING_LEN)
            .collect();
        // Building fails only for absurd pattern sets; then every string is refused.
        let (substrings, refuse_all) = if patterns.is_empty() {
            (None, false)
        } else {
            match AhoCorasick::new(patterns) {
                Ok(ac) => (Some(ac), false),
                Err(_) => (None, true),
            }
        };
        Guard {
            exact,
            substrings,
            refuse_all,
        }
    }

    /// Number of values guarded.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    /// Whether the guard has no values (and so permits everything).
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Whether `doc` is free of forbidden values (see the module documentation).
    pub fn permits(&self, doc: &Value) -> bool {
        if self.exact.is_empty() {
            return true;
        }
        match doc {
            Value::Null | Value::Bool(_) => true,
            Value::Number(n) => !self.exact.contains(&n.to_string()),
            Value::String(s) => self.permits_str(s),
            Value::Array(items) => items.iter().all(|v| self.permits(v)),
            Value::Object(map) => map
                .iter()
                .all(|(k, v)| self.permits_str(k) && self.permits(v)),
        }
    }

    /// Whether the serialised JSON document `bytes` is free of forbidden values; a document
    /// that does not parse is not permitted.
    pub fn permits_json(&self, bytes: &[u8]) -> bool {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(doc) => self.permits(&doc),
            Err(_) => false,
        }
    }

    fn permits_str(&self, s: &str) -> bool {
        if s.chars().count() < MIN_LEN {
            return true;
        }
        let s = s.to_lowercase();
        if self.refuse_all || self.exact.contains(&s) {
            return false;
        }
        let Some(ac) = &self.substrings else {
            return true;
        };
        ac.find_overlapping_iter(&s)
            .all(|m| inside_digest(&s, m.start(), m.end()) || inside_number(&s, m.start(), m.end()))
    }
}

/// Whether `s[start..end]` is all digits and part of a longer run of digits (a timestamp's
/// fraction, a date in a run id): a customer id `281271` inside `44.281271269` is another
/// number, not that id.
fn inside_number(s: &str, start: usize, end: usize) -> bool {
    let b = s.as_bytes();
    b[start..end].iter().all(u8::is_ascii_digit)
        && ((start > 0 && b[start - 1].is_ascii_digit())
            || b.get(end).is_some_and(u8::is_ascii_digit))
}

/// Whether `s[start..end]` lies inside a run of 32+ hex digits (a digest), so a match there is
/// chance, not a leak.
fn inside_digest(s: &str, start: usize, end: usize) -> bool {
    let b = s.as_bytes();
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    if !b[start..end].iter().all(|&c| is_hex(c)) {
        return false;
    }
    let mut lo = start;
    while lo > 0 && is_hex(b[lo - 1]) {
        lo -= 1;
    }
    let mut hi = end;
    while hi < b.len() && is_hex(b[hi]) {
        hi += 1;
    }
    hi - lo >= DIGEST_MIN_HEX
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn guard() -> Guard {
        Guard::new(
            [
                "Ana@Example.com",
                "123-45-6789",
                "4242",
                "555012",
                "ab",
                "9990001234",
            ]
            .map(String::from),
        )
    }

    #[test]
    fn exact_matches_are_refused() {
        let g = guard();
        assert!(!g.permits(&json!({"x": "ana@example.com"})));
        assert!(!g.permits(&json!({"x": ["ok", {"y": "4242"}]})));
        assert!(!g.permits(&json!({"x": 4242})));
        assert!(!g.permits(&json!({"x": 9990001234u64})));
        assert!(!g.permits(&json!({"ANA@EXAMPLE.COM": 1})));
        assert!(!g.permits(&json!("123-45-6789")));
    }

    #[test]
    fn long_values_are_refused_inside_strings() {
        let g = guard();
        assert!(!g.permits(&json!({"note": "mail to ANA@example.COM please"})));
        assert!(!g.permits(&json!({"note": "ssn 123-45-6789."})));
        assert!(!g.permits(&json!({"note": "call 555012 now"})));
        assert!(!g.permits(&json!({"note": "tel:555012"})));
    }

    #[test]
    fn chance_matches_inside_digests_are_not_leaks() {
        let g = Guard::new(["100023".to_string(), "d4471123".to_string()]);
        let digest = format!("{}100023{}", "a".repeat(20), "b".repeat(20));
        assert!(g.permits(&json!({"keys_sha256": digest})));
        assert!(g.permits(
            &json!({"subject": format!("hmac:{}d4471123{}", "0".repeat(12), "f".repeat(12))})
        ));
        assert!(!g.permits(&json!({"note": "customer 100023 erased"})));
        assert!(!g.permits(&json!({"note": "id-100023-x"})));
        // A short hex-looking run is not a digest.
        assert!(!g.permits(&json!({"note": "ab100023cd"})));
        // Inside a longer number (a timestamp's fraction, a date in an id) it is another
        // number.
        assert!(g.permits(&json!({"at": "2026-11-29T11:12:44.3100023269+00:00"})));
        assert!(g.permits(&json!({"run": "run-20100023T110756Z-9694"})));
        assert!(!g.permits(&json!({"at": "2026-11-29 100023"})));
    }

    #[test]
    fn short_values_only_match_exactly() {
        let g = guard();
        // "4242" is shorter than 6 characters: only an exact match counts.
        assert!(g.permits(&json!({"note": "card ending 42424"})));
        assert!(g.permits(&json!({"n": 42420})));
        // Values under 3 characters are ignored altogether.
        assert!(g.permits(&json!({"x": "ab"})));
        // Numbers are compared whole, not searched.
        assert!(g.permits(&json!({"n": 5550120})));
    }

    #[test]
    fn hashes_and_counts_pass() {
        let g = guard();
        let doc =
            json!({"subject": "hmac:0123456789abcdef0123456789abcdef", "rows": 3, "ok": true});
        assert!(g.permits(&doc));
        assert!(g.permits_json(serde_json::to_string(&doc).unwrap().as_bytes()));
        assert!(!g.permits_json(b"{not json"));
        assert!(Guard::default().permits(&json!("ana@example.com")));
    }

    #[test]
    fn debug_does_not_show_values() {
        let s = format!("{:?}", guard());
        assert!(!s.contains("example"));
        assert_eq!(guard().len(), 5);
    }
}
