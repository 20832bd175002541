//! Mask strategies: how a column is de-identified when its table's erase action is `mask`.
//!
//! A keyed hash is pseudonymisation, not deletion (the value stays linkable for anyone with
//! the key), so it is refused as an erase strategy.

use crate::value::Value;
use serde::Serialize;

/// Unit a date or timestamp is truncated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateUnit {
    /// Keep the year only (`2026-01-01`).
    Year,
    /// Keep year and month (`2026-11-01`).
    Month,
    /// Keep the date, drop the time.
    Day,
}

/// How one column is masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "strategy", content = "arg")]
pub enum MaskStrategy {
    /// Set to NULL.
    Null,
    /// Set to a fixed value (`fixed:[erased]`).
    Fixed(String),
    /// A random alphanumeric string of the given length (`random:12`; default 16), so unique
    /// columns stay unique.
    Random(usize),
    /// Truncate a date/timestamp (`truncate:month`).
    TruncateDate(DateUnit),
    /// Keep the first N characters of a text (`truncate:3`).
    TruncateText(usize),
}

impl MaskStrategy {
    /// Parses the config spelling; the error says what is accepted.
    pub fn parse(s: &str) -> Result<MaskStrategy, String> {
        let (head, arg) = match s.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (s, None),
        };
        match (head, arg) {
            ("null", None) => Ok(MaskStrategy::Null),
            ("fixed", Some(v)) => Ok(MaskStrategy::Fixed(v.to_string())),
            ("random", None) => Ok(MaskStrategy::Random(16)),
            ("random", Some(n)) => match n.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => Ok(MaskStrategy::Random(n)),
                _ => Err("random:N needs N between 1 and 256".into()),
            },
            ("truncate", Some("year")) => Ok(MaskStrategy::TruncateDate(DateUnit::Year)),
            ("truncate", Some("month")) => Ok(MaskStrategy::TruncateDate(DateUnit::Month)),
            ("truncate", Some("day")) => Ok(MaskStrategy::TruncateDate(DateUnit::Day)),
            ("truncate", Some(n)) => n
                .parse::<usize>()
                .map(MaskStrategy::TruncateText)
                .map_err(|_| "truncate takes year, month, day or a character count".into()),
            ("hash" | "keyed_hash" | "hmac" | "sha256", _) => Err(
                "a keyed hash is pseudonymisation, not deletion; use null, fixed:VALUE, random[:N] or truncate:UNIT"
                    .into(),
            ),
            _ => Err("unknown mask strategy; use null, fixed:VALUE, random[:N] or truncate:year|month|day|N".into()),
        }
    }

    /// The masked value for `current`. `random` supplies random alphanumeric strings of a length.
    pub fn apply(&self, current: &Value, random: &mut dyn FnMut(usize) -> String) -> Value {
        match self {
            MaskStrategy::Null => Value::Null,
            MaskStrategy::Fixed(v) => Value::Text(v.clone()),
            MaskStrategy::Random(n) => Value::Text(random(*n)),
            MaskStrategy::TruncateText(n) => match current.as_text() {
                Some(t) => Value::Text(t.chars().take(*n).collect()),
                None => Value::Null,
            },
            MaskStrategy::TruncateDate(unit) => match current.as_text() {
                Some(t) if t.len() >= 10 && t.is_char_boundary(10) => {
                    let (y, m, d) = (&t[0..4], &t[5..7], &t[8..10]);
                    let out = match unit {
                        DateUnit::Year => format!("{y}-01-01"),
                        DateUnit::Month => format!("{y}-{m}-01"),
                        DateUnit::Day => format!("{y}-{m}-{d}"),
                    };
                    Value::Text(out)
                }
                // Not a date we can truncate: erase it rather than keep it.
                _ => Value::Null,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_hash() {
        assert_eq!(MaskStrategy::parse("null"), Ok(MaskStrategy::Null));
        assert_eq!(
            MaskStrategy::parse("fixed:[erased]"),
            Ok(MaskStrategy::Fixed("[erased]".into()))
        );
        assert!(
            MaskStrategy::parse("hash")
                .unwrap_err()
                .contains("pseudonymisation")
        );
        assert!(MaskStrategy::parse("blur").is_err());
    }

    #[test]
    fn applies() {
        let mut r = |n: usize| "x".repeat(n);
        let ts = Value::Text("2026-11-02T10:00:00Z".into());
        assert_eq!(
            MaskStrategy::TruncateDate(DateUnit::Month).apply(&ts, &mut r),
            Value::Text("2026-11-01".into())
        );
        assert_eq!(
            MaskStrategy::Random(4).apply(&ts, &mut r),
            Value::Text("xxxx".into())
        );
        assert_eq!(
            MaskStrategy::TruncateText(3).apply(&Value::Text("94107".into()), &mut r),
            Value::Text("941".into())
        );
    }
}
