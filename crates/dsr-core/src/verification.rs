//! Verification worked out by dsr: the data points a requester gives, how each type is
//! normalised, and the level that matching them against the subject's own records reaches.
//!
//! The rules (11 CCR §7060–7062):
//!
//! * every data-point type whose normalised value equals a value of a column declared
//!   `verify = "<type>"` in the subject's own records is one **match** (distinct types count
//!   once); a submitted identity that found the subject is a match of its type;
//! * a data point that matches nothing in those records is a **mismatch**; each mismatch
//!   cancels one match (a requester who gets facts wrong is not shown to be the subject);
//! * matches − mismatches ≥ 2 → a reasonable degree of certainty; ≥ 3 with a signed
//!   declaration → a reasonably high degree; otherwise no level;
//! * an identity-verification provider's attestation gives its own level; the level reached
//!   is the higher of the two.
//!
//! Values are compared as keyed hashes ([`point_hash`]) so neither side is ever logged or kept.

use crate::hash::KeyedHasher;
use crate::identity::Normalizer;
use crate::request::VerificationLevel;
use serde::{Deserialize, Serialize};

/// Matches (net of mismatches) needed for a reasonable degree of certainty.
pub const REASONABLE_MATCHES: usize = 2;
/// Matches (net of mismatches) needed, with a signed declaration, for a reasonably high degree.
pub const REASONABLY_HIGH_MATCHES: usize = 3;

/// How values of a data-point type are normalised before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointRule {
    /// As an identity of type `email`.
    Email,
    /// As an identity of type `phone` (digits only).
    Phone,
    /// Trimmed, otherwise exact.
    Exact,
    /// Trimmed and lower-cased.
    CaseInsensitive,
    /// The last four digits of a number (a card): submitted as exactly four digits; a stored
    /// value is reduced to its digits and its last four are compared.
    Last4,
    /// A postal code: letters and digits only, upper-cased (`sw1a 1aa` = `SW1A-1AA`).
    Postcode,
    /// A calendar date `YYYY-MM-DD`; a stored timestamp compares by its date part.
    Date,
}

impl PointRule {
    /// Config spelling.
    pub fn key(self) -> &'static str {
        match self {
            PointRule::Email => "email",
            PointRule::Phone => "phone",
            PointRule::Exact => "exact",
            PointRule::CaseInsensitive => "case_insensitive",
            PointRule::Last4 => "last4",
            PointRule::Postcode => "postcode",
            PointRule::Date => "date",
        }
    }

    /// Normalises a submitted value, or says why it is malformed (never quoting it).
    pub fn normalize(self, raw: &str) -> Result<String, String> {
        if raw.len() > crate::identity::MAX_IDENTITY_LEN {
            return Err(format!(
                "longer than {} bytes",
                crate::identity::MAX_IDENTITY_LEN
            ));
        }
        if raw.contains('\0') {
            return Err("contains a NUL character".into());
        }
        match self {
            PointRule::Email => Normalizer::Email.normalize(raw),
            PointRule::Phone => Normalizer::Phone.normalize(raw),
            PointRule::Exact => Normalizer::Exact.normalize(raw),
            PointRule::CaseInsensitive => Normalizer::CaseInsensitive.normalize(raw),
            PointRule::Last4 => {
                let v = raw.trim();
                if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(v.to_string())
                } else {
                    Err("must be exactly the last four digits".into())
                }
            }
            PointRule::Postcode => {
                let v = raw.trim();
                if !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
                {
                    return Err("is not a postal code (letters, digits, spaces, -)".into());
                }
                let out = postcode(v);
                if (3..=10).contains(&out.len()) {
                    Ok(out)
                } else {
                    Err("is not a postal code (3 to 10 letters and digits)".into())
                }
            }
            PointRule::Date => date(raw.trim())
                .filter(|_| raw.trim().len() == 10)
                .ok_or_else(|| "must be a date YYYY-MM-DD".to_string()),
        }
    }

    /// Normalises a value read from a store; `None` when it cannot be compared.
    pub fn normalize_stored(self, raw: &str) -> Option<String> {
        match self {
            PointRule::Email => Normalizer::Email.normalize_stored(raw),
            PointRule::Phone => Normalizer::Phone.normalize_stored(raw),
            PointRule::Exact => Normalizer::Exact.normalize_stored(raw),
            PointRule::CaseInsensitive => Normalizer::CaseInsensitive.normalize_stored(raw),
            PointRule::Last4 => {
                let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
                (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
            }
            PointRule::Postcode => Some(postcode(raw)).filter(|p| !p.is_empty()),
            PointRule::Date => date(raw.trim()),
        }
    }
}

fn postcode(v: &str) -> String {
    v.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `YYYY-MM-DD` from the first ten characters of `v`, when they are a valid date.
fn date(v: &str) -> Option<String> {
    let head = v.get(..10)?;
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// The keyed hash a data point is compared by: HMAC(`verify`, type, normalised value).
pub fn point_hash(hasher: &KeyedHasher, kind: &str, normalized: &str) -> String {
    hasher.hash(&[b"verify", kind.as_bytes(), normalized.as_bytes()])
}

/// The level matching data points reaches: `matched` distinct types, `mismatched` points
/// that matched nothing, and whether the requester signed a declaration under penalty of
/// perjury.
pub fn level_from_points(
    matched: usize,
    mismatched: usize,
    signed_declaration: bool,
) -> VerificationLevel {
    let net = matched.saturating_sub(mismatched);
    if net >= REASONABLY_HIGH_MATCHES && signed_declaration {
        VerificationLevel::ReasonablyHigh
    } else if net >= REASONABLE_MATCHES {
        VerificationLevel::Reasonable
    } else {
        VerificationLevel::None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use VerificationLevel::*;

    #[test]
    fn levels() {
        assert_eq!(level_from_points(2, 0, false), Reasonable);
        assert_eq!(level_from_points(3, 0, false), Reasonable);
        assert_eq!(level_from_points(3, 0, true), ReasonablyHigh);
        assert_eq!(level_from_points(1, 0, true), None);
        assert_eq!(level_from_points(2, 2, false), None);
        assert_eq!(level_from_points(4, 1, true), ReasonablyHigh);
        assert_eq!(level_from_points(3, 1, true), Reasonable);
        assert_eq!(level_from_points(0, 3, true), None);
    }

    #[test]
    fn normalisers() {
        let l = PointRule::Last4;
        assert_eq!(l.normalize(" 6467 ").as_deref(), Ok("6467"));
        assert!(l.normalize("4539 1488 0343 6467").is_err());
        assert!(l.normalize("64a7").is_err());
        assert_eq!(
            l.normalize_stored("4539 1488 0343 6467").as_deref(),
            Some("6467")
        );
        assert_eq!(l.normalize_stored("12"), Option::None);
        let p = PointRule::Postcode;
        assert_eq!(p.normalize("sw1a 1aa").as_deref(), Ok("SW1A1AA"));
        assert_eq!(p.normalize_stored("SW1A-1AA").as_deref(), Some("SW1A1AA"));
        assert!(p.normalize("9'; drop").is_err());
        assert!(p.normalize("1").is_err());
        let d = PointRule::Date;
        assert_eq!(d.normalize("1988-04-12").as_deref(), Ok("1988-04-12"));
        assert!(d.normalize("1988-02-30").is_err());
        assert!(d.normalize("12/04/1988").is_err());
        assert!(d.normalize("1988-04-12T00:00:00Z").is_err());
        assert_eq!(
            d.normalize_stored("1988-04-12 00:00:00").as_deref(),
            Some("1988-04-12")
        );
        assert_eq!(
            PointRule::Phone.normalize("+1 415 555 0101").as_deref(),
            Ok("14155550101")
        );
    }

    #[test]
    fn hashes_are_keyed_and_typed() {
        let h = KeyedHasher::new(b"0123456789abcdef".to_vec());
        assert_eq!(
            point_hash(&h, "postcode", "94110"),
            point_hash(&h, "postcode", "94110")
        );
        assert_ne!(
            point_hash(&h, "postcode", "94110"),
            point_hash(&h, "zip", "94110")
        );
        assert!(!point_hash(&h, "postcode", "94110").contains("94110"));
    }
}
