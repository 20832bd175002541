//! Redaction of sensitive numbers typed into free text (notes, tickets, any text value).
//!
//! Two detectors run over the original text and their findings are merged:
//!
//! * **Payment cards**: 13–19 digits, optionally separated by single spaces or dashes, that
//!   pass the Luhn check. Every group-aligned window of a digit sequence is tried, so a card
//!   written next to other numbers (`4111 1111 1111 1111 123`) is still found; numbers that
//!   fail the Luhn check (order numbers, phone numbers) stay.
//! * **Social Security numbers**: `123-45-6789` between word boundaries, and nine consecutive
//!   digits between word boundaries that are not part of a longer number (not glued to more
//!   digits by `-`, `.`, `,` or `/`, and not an international phone number after `+`).

/// Replacement for a Social Security number.
pub const SSN_REDACTION: &str = "[redacted: Social Security number]";
/// Replacement for a payment card or other financial account number.
pub const CARD_REDACTION: &str = "[redacted: financial account number]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ssn,
    Card,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

/// A maximal run of ASCII digits, as byte offsets `[start, end)`.
type Group = (usize, usize);

/// Redacts SSN patterns and Luhn-valid card numbers in `text`; returns the new text and
/// whether anything was replaced.
pub fn redact_free_text(text: &str) -> (String, bool) {
    let bytes = text.as_bytes();
    let chains = chains(bytes);
    let mut spans = Vec::new();
    for chain in &chains {
        card_spans(bytes, chain, &mut spans);
        ssn_spans(text, chain, &mut spans);
    }
    if spans.is_empty() {
        return (text.to_string(), false);
    }
    spans.sort_by_key(|s| (s.start, s.end));
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start < last.end => {
                if s.end - s.start > last.end - last.start {
                    last.kind = s.kind;
                }
                last.end = last.end.max(s.end);
            }
            _ => merged.push(s),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in merged {
        // Offsets are at ASCII digits, hence at char boundaries.
        out.push_str(text.get(at..s.start).unwrap_or_default());
        out.push_str(match s.kind {
            Kind::Ssn => SSN_REDACTION,
            Kind::Card => CARD_REDACTION,
        });
        at = s.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    (out, true)
}

/// Maximal digit runs, chained where consecutive runs are separated by exactly one space or
/// dash.
fn chains(bytes: &[u8]) -> Vec<Vec<Group>> {
    let mut chains: Vec<Vec<Group>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let group = (start, i);
        let glued = chains
            .last()
            .and_then(|c| c.last())
            .is_some_and(|&(_, prev_end)| {
                prev_end + 1 == start && matches!(bytes[prev_end], b' ' | b'-')
            });
        match chains.last_mut() {
            Some(chain) if glued => chain.push(group),
            _ => chains.push(vec![group]),
        }
    }
    chains
}

fn card_spans(bytes: &[u8], chain: &[Group], spans: &mut Vec<Span>) {
    for i in 0..chain.len() {
        let mut digits = 0;
        for j in i..chain.len() {
            digits += chain[j].1 - chain[j].0;
            if digits > 19 {
                break;
            }
            if digits >= 13 && luhn(bytes, &chain[i..=j]) {
                spans.push(Span {
                    start: chain[i].0,
                    end: chain[j].1,
                    kind: Kind::Card,
                });
            }
        }
    }
}

fn luhn(bytes: &[u8], groups: &[Group]) -> bool {
    let digits = groups
        .iter()
        .flat_map(|&(s, e)| bytes[s..e].iter().map(|b| u32::from(b - b'0')));
    let digits: Vec<u32> = digits.collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `\b` before byte offset `at` (which starts a digit).
fn boundary_before(text: &str, at: usize) -> bool {
    !text
        .get(..at)
        .and_then(|t| t.chars().next_back())
        .is_some_and(is_word_char)
}

/// `\b` after byte offset `at` (which ends a digit).
fn boundary_after(text: &str, at: usize) -> bool {
    !text
        .get(at..)
        .and_then(|t| t.chars().next())
        .is_some_and(is_word_char)
}

fn ssn_spans(text: &str, chain: &[Group], spans: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let len = |g: Group| g.1 - g.0;
    // 123-45-6789
    for w in chain.windows(3) {
        if len(w[0]) == 3
            && len(w[1]) == 2
            && len(w[2]) == 4
            && bytes[w[0].1] == b'-'
            && bytes[w[1].1] == b'-'
            && boundary_before(text, w[0].0)
            && boundary_after(text, w[2].1)
        {
            spans.push(Span {
                start: w[0].0,
                end: w[2].1,
                kind: Kind::Ssn,
            });
        }
    }
    // 123456789, not part of a longer number.
    let Some(&(chain_start, _)) = chain.first() else {
        return;
    };
    let international_phone = chain_start > 0 && bytes[chain_start - 1] == b'+';
    if international_phone {
        return;
    }
    let glue = |b: u8| matches!(b, b'-' | b'.' | b',' | b'/');
    for &(s, e) in chain {
        if e - s != 9 || !boundary_before(text, s) || !boundary_after(text, e) {
            continue;
        }
        let glued_before = s >= 2 && glue(bytes[s - 1]) && bytes[s - 2].is_ascii_digit();
        let glued_after = e + 1 < bytes.len() && glue(bytes[e]) && bytes[e + 1].is_ascii_digit();
        if !glued_before && !glued_after {
            spans.push(Span {
                start: s,
                end: e,
                kind: Kind::Ssn,
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact_free_text(s).0
    }

    #[test]
    fn ssn_forms() {
        assert_eq!(r("ssn 123-45-6789."), format!("ssn {SSN_REDACTION}."));
        assert_eq!(r("ssn: 123456789"), format!("ssn: {SSN_REDACTION}"));
        assert_eq!(r("(078051120)"), format!("({SSN_REDACTION})"));
        // Part of a longer number, or inside a word: not an SSN by the pattern.
        for keep in [
            "1234567890",
            "12.123456789",
            "123456789-12",
            "+33 612345678",
            "+612345678",
            "ORD123456789",
            "1234-45-6789",
            "123-45-67890",
        ] {
            assert_eq!(redact_free_text(keep), (keep.to_string(), false), "{keep}");
        }
    }

    #[test]
    fn cards_by_luhn() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5500 0000 0000 0004",
            "378282246310005",
            "6011000990139424",
        ] {
            let (out, changed) = redact_free_text(&format!("paid with {card} ok"));
            assert!(changed, "{card}");
            assert_eq!(out, format!("paid with {CARD_REDACTION} ok"));
        }
        // Glued to more digits (a CVV, a date): the card is still found.
        let out = r("4111 1111 1111 1111 123 and 2026-11-02 4111111111111111");
        assert!(!out.contains("4111"), "{out}");
        // Not Luhn-valid, too short, or double separators: kept.
        for keep in [
            "4111111111111112",
            "order 1000234567891",
            "call 415-555-0123",
            "4111  1111  1111  1111",
        ] {
            assert_eq!(redact_free_text(keep), (keep.to_string(), false), "{keep}");
        }
    }

    #[test]
    fn keeps_non_ascii_text_intact() {
        let s = "Café – Zoë’s note: 123-45-6789 ✓";
        assert_eq!(r(s), format!("Café – Zoë’s note: {SSN_REDACTION} ✓"));
        assert_eq!(r("no digits here"), "no digits here");
    }
}
