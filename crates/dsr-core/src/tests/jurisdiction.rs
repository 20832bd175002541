//! The rule table, entry by entry, and the clocks with a fixed "now".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn la() -> Calendar {
    Calendar::new(chrono_tz::America::Los_Angeles, [])
}

#[test]
fn regimes_by_jurisdiction() {
    assert_eq!(regime_for("ca"), Some(Regime::Ccpa));
    assert_eq!(regime_for("US-CA"), Some(Regime::Ccpa));
    assert_eq!(regime_for("DE"), Some(Regime::Gdpr));
    assert_eq!(regime_for("UK"), Some(Regime::Gdpr));
    assert_eq!(regime_for("TX"), None);
    assert_eq!(Regime::parse("gdpr"), Some(Regime::Gdpr));
    assert_eq!(Regime::parse("GDPR"), None);
}

#[test]
fn ccpa_entry() {
    let r = rules(Regime::Ccpa);
    assert_eq!(r.respond, Period::Days(45));
    assert_eq!(r.extension, Period::Days(45));
    assert_eq!(r.confirm_receipt, Some(Period::BusinessDays(10)));
    assert_eq!(r.opt_out, Period::BusinessDays(15));
    assert_eq!(r.right_to_know_per_12_months(), Some(2));
    assert_eq!(r.withholding, Withholding::Ccpa7024d);
    let received = t("2026-11-02T10:00:00Z");
    assert_eq!(
        r.lookback_start(received, false),
        Some(t("2025-11-02T10:00:00Z"))
    );
    assert_eq!(
        r.lookback_start(received, true),
        Some(t("2022-01-01T00:00:00Z"))
    );
    assert!(r.knows_basis("Cal. Civ. Code §1798.105(d)(1): complete the transaction"));
    assert!(r.knows_basis("Cal. Civ. Code §1798.145(a)(1)(D): legal claims"));
    assert!(!r.knows_basis("GDPR Art. 17(3)(b): legal obligation"));
}

#[test]
fn gdpr_entry() {
    let r = rules(Regime::Gdpr);
    assert_eq!(r.respond, Period::Months(1));
    assert_eq!(r.extension, Period::Months(2));
    assert_eq!(r.confirm_receipt, None);
    assert_eq!(r.right_to_know_per_12_months(), None);
    assert_eq!(r.limit, RequestLimit::ManifestlyUnfoundedOrExcessive);
    assert_eq!(r.lookback_months, None);
    assert_eq!(r.lookback_start(t("2026-11-02T10:00:00Z"), false), None);
    assert_eq!(r.withholding, Withholding::Configured);
    assert!(r.knows_basis("GDPR Art. 17(3)(b): compliance with a legal obligation"));
    assert!(!r.knows_basis("Cal. Civ. Code §1798.105(d)(1)"));
}

#[test]
fn ccpa_clocks_count_business_days_across_weekends() {
    let r = rules(Regime::Ccpa);
    // Friday 2026-11-06, 10:00 in Los Angeles: ten business days later is Friday 2026-11-20
    // (two weekends skipped), due at the end of that day in Los Angeles (08:00 UTC next day).
    let received = t("2026-11-06T18:00:00Z");
    let d = r.deadlines(RequestKind::Access, received, false, &la());
    assert_eq!(d.confirm_by, Some(t("2026-11-21T07:59:59Z")));
    assert_eq!(d.respond_by, t("2026-12-21T18:00:00Z"));
    assert_eq!(d.extendable_to, Some(t("2027-02-04T18:00:00Z")));
    // Received late on Saturday: counting starts from the next business day.
    let sat = t("2026-11-08T06:00:00Z"); // Saturday 22:00 in Los Angeles
    let d = r.deadlines(RequestKind::Deletion, sat, false, &la());
    assert_eq!(d.confirm_by, Some(t("2026-11-21T07:59:59Z")));
    // A holiday is not a business day.
    let cal = Calendar::new(
        chrono_tz::America::Los_Angeles,
        [NaiveDate::from_ymd_opt(2026, 11, 11).unwrap()],
    );
    let d = r.deadlines(RequestKind::Access, received, false, &cal);
    assert_eq!(d.confirm_by, Some(t("2026-11-24T07:59:59Z")));
}

#[test]
fn ccpa_opt_out_is_fifteen_business_days_and_not_extendable() {
    let r = rules(Regime::Ccpa);
    let received = t("2026-11-02T17:00:00Z"); // Monday 09:00 in Los Angeles
    let d = r.deadlines(RequestKind::OptOut, received, false, &la());
    // 15 business days after Monday 2 November: Monday 23 November.
    assert_eq!(d.respond_by, t("2026-11-24T07:59:59Z"));
    assert_eq!(d.confirm_by, None);
    assert_eq!(d.extendable_to, None);
    assert!(r.extend(&d, received, "busy").is_err());
}

#[test]
fn ccpa_extension_once_by_45_days_with_a_reason_before_the_deadline() {
    let r = rules(Regime::Ccpa);
    let received = t("2026-11-02T10:00:00Z");
    let d = r.deadlines(RequestKind::Deletion, received, false, &la());
    assert_eq!(d.respond_by, t("2026-12-17T10:00:00Z"));
    let to = r
        .extend(&d, t("2026-12-01T00:00:00Z"), "many stores")
        .unwrap();
    assert_eq!(to, t("2027-01-31T10:00:00Z"));
    assert_eq!((to - received).num_days(), 90);
    assert!(r.extend(&d, t("2026-12-01T00:00:00Z"), "  ").is_err());
    assert!(
        r.extend(&d, t("2026-12-18T00:00:00Z"), "late").is_err(),
        "after the first deadline"
    );
}

#[test]
fn gdpr_clock_is_one_month_extendable_by_two() {
    let r = rules(Regime::Gdpr);
    let received = t("2026-01-31T09:00:00Z");
    let d = r.deadlines(RequestKind::Access, received, false, &la());
    assert_eq!(d.respond_by, t("2026-02-28T09:00:00Z"), "end of February");
    assert_eq!(d.confirm_by, None);
    assert_eq!(d.extendable_to, Some(t("2026-04-28T09:00:00Z")));
    assert_eq!(
        r.extend(&d, t("2026-02-20T00:00:00Z"), "complex").unwrap(),
        t("2026-04-28T09:00:00Z")
    );
    assert!(r.extend(&d, t("2026-03-01T00:00:00Z"), "complex").is_err());
}

#[test]
fn client_forwarded_requests_are_due_in_30_days_from_our_receipt() {
    for regime in Regime::ALL {
        let r = rules(regime);
        let received = t("2026-11-02T10:00:00Z");
        let d = r.deadlines(RequestKind::Deletion, received, true, &la());
        assert_eq!(d.respond_by, t("2026-12-02T10:00:00Z"), "{regime:?}");
        assert_eq!(d.confirm_by, None);
        assert_eq!(d.extendable_to, None);
    }
}

#[test]
fn business_days_are_counted_in_the_company_time_zone() {
    // 2026-11-06 23:30 in Los Angeles is already Saturday in UTC: the day of receipt is the
    // local Friday, so counting starts on Monday either way, and the UTC calendar would
    // differ by starting from Saturday.
    let received = t("2026-11-07T07:30:00Z");
    let local = la().add(received, Period::BusinessDays(1));
    assert_eq!(local, t("2026-11-10T07:59:59Z"), "Monday, Los Angeles");
    let utc = Calendar::default().add(received, Period::BusinessDays(1));
    assert_eq!(utc, t("2026-11-09T23:59:59Z"), "Monday, UTC");
}
