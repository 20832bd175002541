//! The rule table per regime: legal clocks, request limits, lookback, withholding and the
//! exemption bases each regime knows.
//!
//! One entry per regime ([`rules`]); admission, the clocks of the control DB, reports and the
//! portal read it, and nothing else encodes these numbers. Requests a Client forwards to us as
//! its service provider run on their own clock ([`CLIENT_FORWARDED_DAYS`]) but keep their
//! regime's other rules.
//!
//! Clocks are computed by [`Calendar`]: calendar days and months from the moment of receipt,
//! business days in the company's time zone (Monday to Friday, less configured holidays), due
//! at the end of the last business day there.

use crate::request::RequestKind;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeSet;

/// A legal regime a request is handled under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// California: CCPA as amended by the CPRA.
    Ccpa,
    /// EU/EEA and UK GDPR.
    Gdpr,
}

impl Regime {
    /// Config spelling (`ccpa`, `gdpr`).
    pub fn key(self) -> &'static str {
        match self {
            Regime::Ccpa => "ccpa",
            Regime::Gdpr => "gdpr",
        }
    }

    /// Every regime, in table order.
    pub const ALL: [Regime; 2] = [Regime::Ccpa, Regime::Gdpr];

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Regime> {
        Regime::ALL.into_iter().find(|r| r.key() == s)
    }
}

/// A length of time on a legal clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar days from the moment of receipt.
    Days(u32),
    /// Business days after the day of receipt, due at the end of the last one (company time).
    BusinessDays(u32),
    /// Calendar months from the moment of receipt (31 January + 1 month = end of February).
    Months(u32),
}

/// How an access report withholds sensitive values under a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Withholding {
    /// 11 CCR §7024(d): SSNs, government ids, financial accounts, health-insurance ids,
    /// passwords, security questions and biometrics are never disclosed, only described.
    Ccpa7024d,
    /// Withheld as the data map's `sensitive` kinds say (the operator's choice, e.g. to
    /// protect the subject or others under GDPR Art. 15(4)).
    Configured,
}

/// Whether and how a regime limits repeated requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestLimit {
    /// At most this many right-to-know requests per subject in any 12 months; the next is
    /// denied `too_many_requests`.
    RightToKnowPer12Months(u32),
    /// No fixed number; only a manifestly unfounded or excessive request may be refused, by a
    /// person, with a recorded reason.
    ManifestlyUnfoundedOrExcessive,
}

/// The rules of one regime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// The regime.
    pub regime: Regime,
    /// Time to answer a request to know, delete or correct.
    pub respond: Period,
    /// The one extension allowed, with a recorded reason sent to the requester before the
    /// first deadline.
    pub extension: Period,
    /// Time to confirm receipt, where required.
    pub confirm_receipt: Option<Period>,
    /// Time to honour an opt-out of sale/sharing. Opt-outs need no verification.
    pub opt_out: Period,
    /// Repeated requests.
    pub limit: RequestLimit,
    /// Months of data an access report covers by default (`None`: everything held).
    pub lookback_months: Option<u32>,
    /// Earliest date the consumer may ask to go back to.
    pub extended_lookback_floor: Option<NaiveDate>,
    /// What an access report withholds.
    pub withholding: Withholding,
    /// Citation prefixes of the exemption bases this regime knows: an exemption applies to a
    /// request only when its basis under the request's regime starts with one of these.
    pub exemption_bases: &'static [&'static str],
    /// Legal citation of the clocks.
    pub citation: &'static str,
}

/// Days to answer a request a Client forwarded to us as its service provider, counted from
/// when we received it from the Client (our contracts' term; the Client answers the consumer).
pub const CLIENT_FORWARDED_DAYS: u32 = 30;

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

/// The rules of a regime: the table.
pub fn rules(regime: Regime) -> Rules {
    match regime {
        Regime::Ccpa => Rules {
            regime,
            respond: Period::Days(45),
            extension: Period::Days(45),
            confirm_receipt: Some(Period::BusinessDays(10)),
            opt_out: Period::BusinessDays(15),
            limit: RequestLimit::RightToKnowPer12Months(2),
            lookback_months: Some(12),
            extended_lookback_floor: NaiveDate::from_ymd_opt(2022, 1, 1),
            withholding: Withholding::Ccpa7024d,
            exemption_bases: &["Cal. Civ. Code §1798.105(d)", "Cal. Civ. Code §1798.145"],
            citation: "Cal. Civ. Code §1798.130(a)(2); 11 CCR §§7021, 7026(f)",
        },
        Regime::Gdpr => Rules {
            regime,
            respond: Period::Months(1),
            extension: Period::Months(2),
            confirm_receipt: None,
            opt_out: Period::Months(1),
            limit: RequestLimit::ManifestlyUnfoundedOrExcessive,
            lookback_months: None,
            extended_lookback_floor: None,
            withholding: Withholding::Configured,
            exemption_bases: &["GDPR Art. 17(3)", "GDPR Art. 23"],
            citation: "GDPR Art. 12(3)-(5)",
        },
    }
}

/// Counts legal time: calendar arithmetic, and business days in the company's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The company's time zone: business days are its days.
    pub tz: Tz,
    /// Days that are not business days besides Saturdays and Sundays.
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            tz: Tz::UTC,
            holidays: BTreeSet::new(),
        }
    }
}

impl Calendar {
    /// A calendar in `tz` with `holidays`.
    pub fn new(tz: Tz, holidays: impl IntoIterator<Item = NaiveDate>) -> Calendar {
        Calendar {
            tz,
            holidays: holidays.into_iter().collect(),
        }
    }

    /// Whether `d` is a business day.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The moment `period` after `from`.
    pub fn add(&self, from: DateTime<Utc>, period: Period) -> DateTime<Utc> {
        match period {
            Period::Days(n) => from + Duration::days(i64::from(n)),
            Period::Months(n) => from.checked_add_months(Months::new(n)).unwrap_or(from),
            Period::BusinessDays(n) => {
                let mut day = from.with_timezone(&self.tz).date_naive();
                let mut left = n;
                while left > 0 {
                    day = day.succ_opt().unwrap_or(day);
                    if self.is_business_day(day) {
                        left -= 1;
                    }
                }
                self.end_of_day(day)
            }
        }
    }

    /// The last instant of local day `d` (the start of the next day, less a second).
    fn end_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        let next = d.succ_opt().unwrap_or(d);
        let start = next
            .and_hms_opt(0, 0, 0)
            .and_then(|t| self.tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc));
        start.map_or_else(
            || d.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc(),
            |s| s - Duration::seconds(1),
        )
    }
}

/// A request's legal deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// Receipt must be confirmed by then (CCPA), when required.
    pub confirm_by: Option<DateTime<Utc>>,
    /// The answer is due then, before any extension.
    pub respond_by: DateTime<Utc>,
    /// The latest the answer may come with the one extension.
    pub extendable_to: Option<DateTime<Utc>>,
}

impl Rules {
    /// When the answer is due for a direct (not forwarded) request to know, delete or
    /// correct, received at `received_at`, counting in calendar time.
    pub fn due(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        Calendar::default().add(received_at, self.respond)
    }

    /// The deadlines of a request of `kind` received at `received_at`; `forwarded` when a
    /// Client forwarded it to us (the Client confirms receipt and answers the consumer).
    pub fn deadlines(
        &self,
        kind: RequestKind,
        received_at: DateTime<Utc>,
        forwarded: bool,
        cal: &Calendar,
    ) -> Deadlines {
        if forwarded {
            return Deadlines {
                confirm_by: None,
                respond_by: cal.add(received_at, Period::Days(CLIENT_FORWARDED_DAYS)),
                extendable_to: None,
            };
        }
        if kind == RequestKind::OptOut {
            return Deadlines {
                confirm_by: None,
                respond_by: cal.add(received_at, self.opt_out),
                extendable_to: None,
            };
        }
        let respond_by = cal.add(received_at, self.respond);
        Deadlines {
            confirm_by: self.confirm_receipt.map(|p| cal.add(received_at, p)),
            respond_by,
            extendable_to: Some(cal.add(respond_by, self.extension)),
        }
    }

    /// The new due date when the answer is extended at `now` with `reason`. Refused when the
    /// deadlines allow no extension, when `now` is past the first deadline (the reasons must
    /// reach the requester before it), or without a reason.
    pub fn extend(
        &self,
        deadlines: &Deadlines,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<DateTime<Utc>, &'static str> {
        let Some(to) = deadlines.extendable_to else {
            return Err("this request's deadline cannot be extended");
        };
        if reason.trim().is_empty() {
            return Err("an extension needs a reason, sent to the requester");
        }
        if now > deadlines.respond_by {
            return Err("the extension must be noticed before the first deadline");
        }
        Ok(to)
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

    /// Right-to-know requests allowed per subject in 12 months, `None` when not limited.
    pub fn right_to_know_per_12_months(&self) -> Option<u32> {
        match self.limit {
            RequestLimit::RightToKnowPer12Months(n) => Some(n),
            RequestLimit::ManifestlyUnfoundedOrExcessive => None,
        }
    }

    /// Whether `basis` (a citation) is an exemption basis of this regime.
    pub fn knows_basis(&self, basis: &str) -> bool {
        self.exemption_bases.iter().any(|p| basis.starts_with(p))
    }
}

#[cfg(test)]
#[path = "tests/jurisdiction.rs"]
mod tests;
