//! Identity types and their normalisation rules.
//!
//! Identities are compared only after normalisation, with exact equality: emails are
//! trimmed and lower-cased, phones reduced to their digits, ids trimmed. Accents are never
//! folded, so `anä@…` never matches `ana@…`.

use serde::{Deserialize, Serialize};

/// How values of an identity type are normalised before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    /// Trim surrounding whitespace, lower-case (Unicode simple lower-casing).
    Email,
    /// Keep only the ASCII digits; a value with fewer than 7 digits is refused.
    Phone,
    /// Trim surrounding whitespace; otherwise byte-exact.
    Exact,
    /// Trim surrounding whitespace and lower-case.
    CaseInsensitive,
}

/// Longest identity value accepted (bytes), before normalisation.
pub const MAX_IDENTITY_LEN: usize = 1024;

impl Normalizer {
    /// Normalises `raw`, or says why it cannot be an identity of this kind.
    pub fn normalize(self, raw: &str) -> Result<String, String> {
        if raw.len() > MAX_IDENTITY_LEN {
            return Err(format!("longer than {MAX_IDENTITY_LEN} bytes"));
        }
        if raw.contains('\0') {
            return Err("contains a NUL character".into());
        }
        let out = match self {
            Normalizer::Email => {
                let v = raw.trim().to_lowercase();
                let (local, domain) = v
                    .rsplit_once('@')
                    .ok_or_else(|| "is not an email address (no @)".to_string())?;
                if local.is_empty() || domain.is_empty() || v.chars().any(char::is_whitespace) {
                    return Err("is not an email address".into());
                }
                v
            }
            Normalizer::Phone => {
                let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
                let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
                if !raw.trim().chars().all(allowed) {
                    return Err("is not a phone number".into());
                }
                if digits.len() < 7 || digits.len() > 15 {
                    return Err("is not a phone number (7 to 15 digits)".into());
                }
                digits
            }
            Normalizer::Exact => raw.trim().to_string(),
            Normalizer::CaseInsensitive => raw.trim().to_lowercase(),
        };
        if out.is_empty() {
            return Err("is empty".into());
        }
        Ok(out)
    }

    /// Normalises a value read from a store; `None` when it cannot be an identity (then it
    /// matches nothing).
    pub fn normalize_stored(self, raw: &str) -> Option<String> {
        match self {
            Normalizer::Phone => {
                let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
                (!digits.is_empty()).then_some(digits)
            }
            Normalizer::Email | Normalizer::CaseInsensitive => {
                let v = raw.trim().to_lowercase();
                (!v.is_empty()).then_some(v)
            }
            Normalizer::Exact => {
                let v = raw.trim();
                (!v.is_empty()).then(|| v.to_string())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        let n = Normalizer::Email;
        assert_eq!(
            n.normalize(" Ana@Example.COM ").as_deref(),
            Ok("ana@example.com")
        );
        assert_eq!(
            n.normalize("anä@example.com").as_deref(),
            Ok("anä@example.com")
        );
        assert!(n.normalize("no-at-sign").is_err());
        assert!(n.normalize("a b@example.com").is_err());
        assert!(n.normalize("a\0@example.com").is_err());
        assert_eq!(n.normalize("%@example.com").as_deref(), Ok("%@example.com"));
    }

    #[test]
    fn phone_rules() {
        let n = Normalizer::Phone;
        assert_eq!(
            n.normalize("+1 (415) 555-0101").as_deref(),
            Ok("14155550101")
        );
        assert!(n.normalize("555").is_err());
        assert!(n.normalize("x' OR '1'='1").is_err());
    }

    #[test]
    fn exact_rules() {
        assert_eq!(Normalizer::Exact.normalize(" 42 ").as_deref(), Ok("42"));
        assert!(Normalizer::Exact.normalize("   ").is_err());
        assert!(Normalizer::Exact.normalize(&"x".repeat(2000)).is_err());
    }
}
