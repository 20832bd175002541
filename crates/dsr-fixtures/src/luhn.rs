//! The Luhn checksum of payment card numbers.

/// Whether `number` (digits, optionally grouped by spaces or hyphens) passes the Luhn check.
/// Fewer than 12 digits, or any other character, is never valid.
pub fn is_valid(number: &str) -> bool {
    if !number
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return false;
    }
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    digits.len() >= 12 && luhn_sum(&digits, false).is_multiple_of(10)
}

/// The check digit that makes `payload` (ASCII digits, no separators) Luhn-valid.
pub(crate) fn check_digit(payload: &str) -> char {
    let digits: Vec<u32> = payload.chars().filter_map(|c| c.to_digit(10)).collect();
    let d = (10 - luhn_sum(&digits, true) % 10) % 10;
    char::from_digit(d, 10).unwrap_or('0')
}

/// Luhn sum; `double_last` when the last digit is doubled (computing a check digit).
fn luhn_sum(digits: &[u32], double_last: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if (i % 2 == 0) == double_last {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert!(is_valid("4539 1488 0343 6467"));
        assert!(is_valid("4111111111111111"));
        assert!(!is_valid("4539 1488 0343 6468"));
        assert!(!is_valid("4539x1488"));
        assert!(!is_valid("0"));
    }

    #[test]
    fn check_digit_completes_a_number() {
        assert_eq!(check_digit("453914880343646"), '7');
        assert_eq!(check_digit("411111111111111"), '1');
    }
}
