//! The rule table per regime: clocks, request limits, lookback.
//!
//! One entry per regime; admission and reporting read it, nothing else encodes these numbers.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::Serialize;

/// A legal regime a request is handled under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// California: CCPA as amended by the CPRA.
    Ccpa,
    /// EU/EEA and UK GDPR.
    Gdpr,
}

/// The rules of one regime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// The regime.
    pub regime: Regime,
    /// Calendar days to respond from receipt.
    pub response_days: u32,
    /// Extension allowed, in days, with notice and a recorded reason.
    pub extension_days: u32,
    /// Business days to confirm receipt, where required.
    pub confirm_receipt_business_days: Option<u32>,
    /// Right-to-know requests allowed per subject in any 12 months.
    pub right_to_know_per_12_months: Option<u32>,
    /// Months of data an access report covers by default (`None`: everything held).
    pub lookback_months: Option<u32>,
    /// Earliest date the consumer may ask to go back to.
    pub extended_lookback_floor: Option<NaiveDate>,
    /// Legal citation for the response clock.
    pub citation: &'static str,
}

/// The regime for a jurisdiction code, `None` when dsr serves no regime there.
pub fn regime_for(jurisdiction: &str) -> Option<Regime> {
    const GDPR: [&str; 33] = [
        "EU", "EEA", "UK", "GB", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE",
        "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES",
        "SE", "IS", "NO",
    ];
    let j = jurisdiction.to_ascii_uppercase();
    if j == "CA" || j == "US-CA" {
        Some(Regime::Ccpa)
    } else if GDPR.contains(&j.as_str()) {
        Some(Regime::Gdpr)
    } else {
        None
    }
}

/// The rules of a regime.
pub fn rules(regime: Regime) -> Rules {
    match regime {
        Regime::Ccpa => Rules {
            regime,
            response_days: 45,
            extension_days: 45,
            confirm_receipt_business_days: Some(10),
            right_to_know_per_12_months: Some(2),
            lookback_months: Some(12),
            extended_lookback_floor: NaiveDate::from_ymd_opt(2022, 1, 1),
            citation: "Cal. Civ. Code §1798.130(a)(2); 11 CCR §7021",
        },
        Regime::Gdpr => Rules {
            regime,
            response_days: 30,
            extension_days: 60,
            confirm_receipt_business_days: None,
            right_to_know_per_12_months: None,
            lookback_months: None,
            extended_lookback_floor: None,
            citation: "GDPR Art. 12(3)",
        },
    }
}

impl Rules {
    /// When the answer is due for a request received at `received_at`.
    pub fn due(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        received_at + Duration::days(i64::from(self.response_days))
    }

    /// Start of the window an access report covers, `None` for no limit.
    pub fn lookback_start(
        &self,
        received_at: DateTime<Utc>,
        extended: bool,
    ) -> Option<DateTime<Utc>> {
        if extended {
            return self
                .extended_lookback_floor
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc());
        }
        self.lookback_months
            .and_then(|m| received_at.checked_sub_months(Months::new(m)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ccpa_entry() {
        let r = rules(Regime::Ccpa);
        assert_eq!(regime_for("ca"), Some(Regime::Ccpa));
        assert_eq!(r.response_days, 45);
        assert_eq!(r.right_to_know_per_12_months, Some(2));
        let t = DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").map(|d| d.to_utc());
        let t = t.unwrap_or_default();
        assert_eq!(
            r.lookback_start(t, false)
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2025-11-02T10:00:00+00:00")
        );
        assert_eq!(
            r.lookback_start(t, true)
                .map(|d| d.date_naive().to_string())
                .as_deref(),
            Some("2022-01-01")
        );
    }

    #[test]
    fn gdpr_entry() {
        assert_eq!(regime_for("DE"), Some(Regime::Gdpr));
        assert_eq!(regime_for("TX"), None);
        let r = rules(Regime::Gdpr);
        assert_eq!(r.right_to_know_per_12_months, None);
        assert_eq!(r.lookback_months, None);
    }
}
