//! Job files and fire times: DST transitions in America/Los_Angeles, catch-up after downtime,
//! first start, 5-field expressions, and errors that name the field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::America::Los_Angeles as LA;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn la(expr: &str) -> JobSchedule {
    JobSchedule::new(expr, LA).unwrap()
}

/// Ticks a scheduler every `step` from `from` to `to` (inclusive), starting with `last`
/// recorded; returns the fire times run.
fn simulate(
    s: &JobSchedule,
    mut last: Option<DateTime<Utc>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
) -> Vec<DateTime<Utc>> {
    let mut fired = Vec::new();
    let mut now = from;
    while now <= to {
        match s.decide(last, now) {
            Decision::Arm { .. } => last = Some(now),
            Decision::Run { at, .. } => {
                assert!(at <= now, "never runs early");
                fired.push(at);
                last = Some(at);
            }
            Decision::Wait { .. } => {}
        }
        now += step;
    }
    fired
}

/// Fire times of `s` within the local calendar day `y-m-d` in Los Angeles.
fn fires_on_local_day(s: &JobSchedule, y: i32, m: u32, d: u32) -> Vec<DateTime<Utc>> {
    let start = LA
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let end = LA
        .with_ymd_and_hms(y, m, d + 1, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    // Armed the evening before, ticking every 5 minutes through the day.
    let fired = simulate(
        s,
        Some(start - Duration::hours(3)),
        start - Duration::hours(3),
        end,
        Duration::minutes(5),
    );
    fired
        .into_iter()
        .filter(|f| *f >= start && *f < end)
        .collect()
}

#[test]
fn two_am_across_spring_forward_and_fall_back() {
    let s = la("0 2 * * *");
    // 2026-03-08: clocks jump 02:00 PST → 03:00 PDT; 02:00 does not exist, so the run is at
    // the first instant after the gap, 03:00 PDT = 10:00 UTC.
    assert_eq!(
        s.next_after(utc("2026-03-07T12:00:00Z")),
        Some(utc("2026-03-08T10:00:00Z"))
    );
    // The next day at 02:00 PDT.
    assert_eq!(
        s.next_after(utc("2026-03-08T10:00:00Z")),
        Some(utc("2026-03-09T09:00:00Z"))
    );
    // 2026-11-01: 01:00–01:59 happens twice; 02:00 PST happens once, 10:00 UTC.
    assert_eq!(
        s.next_after(utc("2026-10-31T12:00:00Z")),
        Some(utc("2026-11-01T10:00:00Z"))
    );
    assert_eq!(
        s.next_after(utc("2026-11-01T10:00:00Z")),
        Some(utc("2026-11-02T10:00:00Z"))
    );
    assert_eq!(fires_on_local_day(&s, 2026, 3, 8).len(), 1);
    assert_eq!(fires_on_local_day(&s, 2026, 11, 1).len(), 1);
}

#[test]
fn two_thirty_fires_once_on_each_transition_day() {
    let s = la("30 2 * * *");
    assert_eq!(
        fires_on_local_day(&s, 2026, 3, 8),
        vec![utc("2026-03-08T10:00:00Z")],
        "02:30 does not exist on the spring-forward day: once, at 03:00 PDT"
    );
    assert_eq!(
        fires_on_local_day(&s, 2026, 11, 1),
        vec![utc("2026-11-01T10:30:00Z")],
        "02:30 PST, once"
    );
    // The days around are untouched.
    assert_eq!(
        fires_on_local_day(&s, 2026, 3, 7),
        vec![utc("2026-03-07T10:30:00Z")]
    );
    assert_eq!(
        fires_on_local_day(&s, 2026, 3, 9),
        vec![utc("2026-03-09T09:30:00Z")]
    );
}

#[test]
fn one_thirty_fires_once_on_the_fall_back_day() {
    let s = la("30 1 * * *");
    // 01:30 occurs at 08:30 UTC (PDT) and again at 09:30 UTC (PST): only the first runs.
    assert_eq!(
        fires_on_local_day(&s, 2026, 11, 1),
        vec![utc("2026-11-01T08:30:00Z")]
    );
    assert_eq!(
        s.next_after(utc("2026-11-01T08:30:00Z")),
        Some(utc("2026-11-02T09:30:00Z")),
        "the second 01:30 is not a fire time"
    );
    // A scheduler that ticks right after the second 01:30 has nothing to do.
    assert_eq!(
        s.decide(
            Some(utc("2026-11-01T08:30:00Z")),
            utc("2026-11-01T09:31:00Z")
        ),
        Decision::Wait {
            next: Some(utc("2026-11-02T09:30:00Z"))
        }
    );
}

#[test]
fn every_fifteen_minutes_through_the_gap_runs_once_at_its_end() {
    let s = la("*/15 * * * *");
    // 02:00, 02:15, 02:30, 02:45 do not exist: one run at 03:00 PDT, then 03:15.
    let fired = simulate(
        &s,
        Some(utc("2026-03-08T09:45:00Z")),
        utc("2026-03-08T09:45:00Z"),
        utc("2026-03-08T10:20:00Z"),
        Duration::minutes(1),
    );
    assert_eq!(
        fired,
        vec![utc("2026-03-08T10:00:00Z"), utc("2026-03-08T10:15:00Z")]
    );
}

#[test]
fn a_week_of_downtime_is_caught_up_once_then_the_normal_next() {
    let s = la("0 2 * * *");
    // Last run Monday 2026-11-09 02:00 PST; the scheduler was down until Monday 12:00.
    let last = utc("2026-11-09T10:00:00Z");
    let now = utc("2026-11-16T20:00:00Z");
    match s.decide(Some(last), now) {
        Decision::Run { at, missed, next } => {
            assert_eq!(
                at,
                utc("2026-11-16T10:00:00Z"),
                "the most recent missed run"
            );
            assert_eq!(missed, 6, "six earlier ones skipped");
            assert_eq!(next, Some(utc("2026-11-17T10:00:00Z")));
        }
        d => panic!("expected a run, got {d:?}"),
    }
    // Recorded: nothing more today, then the normal next.
    let at = utc("2026-11-16T10:00:00Z");
    assert_eq!(
        s.decide(Some(at), now + Duration::minutes(1)),
        Decision::Wait {
            next: Some(utc("2026-11-17T10:00:00Z"))
        }
    );
    let fired = simulate(
        &s,
        Some(at),
        now,
        utc("2026-11-17T12:00:00Z"),
        Duration::minutes(10),
    );
    assert_eq!(fired, vec![utc("2026-11-17T10:00:00Z")]);
}

#[test]
fn first_start_arms_and_never_fires_retroactively() {
    let s = la("0 2 * * *");
    let now = utc("2026-11-16T20:00:00Z");
    assert_eq!(
        s.decide(None, now),
        Decision::Arm {
            next: Some(utc("2026-11-17T10:00:00Z"))
        }
    );
    // Armed at `now`: the 02:00 earlier today is not run.
    assert_eq!(
        s.decide(Some(now), now + Duration::hours(1)),
        Decision::Wait {
            next: Some(utc("2026-11-17T10:00:00Z"))
        }
    );
}

#[test]
fn a_clock_that_goes_back_does_not_run_again() {
    let s = la("0 2 * * *");
    let last = utc("2026-11-16T10:00:00Z");
    assert_eq!(
        s.decide(Some(last), utc("2026-11-15T12:00:00Z")),
        Decision::Wait {
            next: Some(utc("2026-11-17T10:00:00Z"))
        }
    );
}

#[test]
fn five_field_expressions_read_as_crontab() {
    // Sundays 03:00: 0 is Sunday in crontab (the cron crate alone would read 1 as Sunday).
    let s = la("0 3 * * 0");
    let next = s.next_after(utc("2026-11-24T00:00:00Z")).unwrap(); // a Tuesday
    assert_eq!(next, utc("2026-11-29T11:00:00Z"), "Sunday 03:00 PST");
    assert_eq!(
        la("0 3 * * 7").next_after(utc("2026-11-24T00:00:00Z")),
        Some(next)
    );
    assert_eq!(
        la("0 3 * * SUN").next_after(utc("2026-11-24T00:00:00Z")),
        Some(next)
    );
    // 1-5 is Monday to Friday.
    let weekdays = la("0 8 * * 1-5");
    let sat = utc("2026-11-28T12:00:00Z");
    assert_eq!(weekdays.next_after(sat), Some(utc("2026-11-30T16:00:00Z")));
    // 5-7: Friday to Sunday.
    let weekend = la("0 8 * * 5-7");
    assert_eq!(
        weekend.next_after(utc("2026-11-23T12:00:00Z")),
        Some(utc("2026-11-27T16:00:00Z"))
    );
    assert_eq!(
        weekend.next_after(utc("2026-11-29T17:00:00Z")),
        Some(utc("2026-12-04T16:00:00Z")),
        "Sunday 08:00 passed: next Friday"
    );
    // Seconds-first expressions pass to the cron crate as they are.
    let six = la("0 0 8 * * *");
    assert_eq!(
        six.next_after(utc("2026-11-28T12:00:00Z")),
        Some(utc("2026-11-28T16:00:00Z"))
    );
    assert_eq!(cron_expression("0 2 * * *").unwrap(), "0 0 2 * * *");
    assert_eq!(cron_expression("0 2 * * 1,3").unwrap(), "0 0 2 * * MON,WED");
    assert!(
        cron_expression("0 2 1 * 1").is_err(),
        "day-of-month and day-of-week"
    );
    assert!(cron_expression("0 2 * *").is_err());
    assert!(cron_expression("0 2 * * 8").is_err());
}

fn job_err(text: &str) -> String {
    parse_job("j", "jobs/j.toml", text).unwrap_err().to_string()
}

#[test]
fn job_files_parse() {
    let j = parse_job(
        "nightly",
        "jobs/nightly.toml",
        "schedule = \"0 2 * * *\"\ntimezone = \"America/Los_Angeles\"\nkind = \"fulfilment\"\nkinds = [\"access\", \"deletion\"]\n",
    )
    .unwrap();
    assert_eq!(
        j.kind,
        JobKind::Fulfilment {
            kinds: vec![RequestKind::Access, RequestKind::Deletion],
            sweep: false,
        }
    );
    let j = parse_job(
        "nightly",
        "jobs/nightly.toml",
        "schedule = \"0 2 * * *\"\nkinds = [\"deletion\"]\nsweep = true\n",
    )
    .unwrap();
    assert_eq!(
        j.kind,
        JobKind::Fulfilment {
            kinds: vec![RequestKind::Deletion],
            sweep: true,
        }
    );
    let j = parse_job(
        "drop",
        "jobs/drop.toml",
        "schedule = \"0 5 * * 1\"\ntimezone = \"America/Los_Angeles\"\nkind = \"drop_cycle\"\ninbox = \"var/drop/inbox\"\noutbox = \"var/drop/outbox\"\n",
    )
    .unwrap();
    assert_eq!(
        j.kind,
        JobKind::DropCycle {
            inbox: "var/drop/inbox".into(),
            outbox: "var/drop/outbox".into(),
        }
    );
    // Inside the maintenance window (02:30 Pacific), or too seldom (quarterly): refused.
    for (expr, why) in [
        ("30 2 * * 1", "maintenance window"),
        ("0 5 1 */3 *", "days between"),
    ] {
        let text = format!(
            "schedule = \"{expr}\"\ntimezone = \"America/Los_Angeles\"\nkind = \"drop_cycle\"\ninbox = \"i\"\noutbox = \"o\"\n"
        );
        let e = parse_job("drop", "jobs/drop.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{expr}: {e}");
    }
    // 10:00 UTC is 02:00 Pacific in winter: the window is judged in Pacific time.
    let e = parse_job(
        "drop",
        "jobs/drop.toml",
        "schedule = \"0 10 * * 1\"\nkind = \"drop_cycle\"\ninbox = \"i\"\noutbox = \"o\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("maintenance window"), "{e}");
    let e = parse_job(
        "drop",
        "jobs/drop.toml",
        "schedule = \"0 5 * * 1\"\nkind = \"drop_cycle\"\ninbox = \"x\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("outbox"), "{e}");
    let e = parse_job(
        "n",
        "jobs/n.toml",
        "schedule = \"@daily\"\nkind = \"retention\"\nsweep = true\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sweep") && e.contains("only for kind"), "{e}");
    assert_eq!(j.schedule.timezone(), LA);
    // No kind: fulfilment; no timezone: UTC.
    let j = parse_job(
        "n",
        "jobs/n.toml",
        "schedule = \"0 2 * * *\"\nkinds = [\"access\"]",
    )
    .unwrap();
    assert_eq!(j.schedule.timezone(), chrono_tz::UTC);
    let r = parse_job(
        "r",
        "jobs/r.toml",
        "schedule = \"0 3 * * 0\"\nkind = \"retention\"",
    )
    .unwrap();
    assert_eq!(r.kind, JobKind::Retention { keep_months: 24 });
    let o = parse_job(
        "o",
        "jobs/o.toml",
        "schedule = \"0 8 * * *\"\nkind = \"overdue_report\"\nwithin_days = 3",
    )
    .unwrap();
    assert_eq!(o.kind, JobKind::OverdueReport { within_days: 3 });
}

#[test]
fn bad_job_files_name_the_file_and_field() {
    let e = job_err("schedule = \"0 25 * * *\"\nkinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: schedule: "), "{e}");
    let e = job_err("schedule = \"every day\"\nkinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: schedule: "), "{e}");
    let e = job_err("schedule = \"0 2 * * *\"\ntimezone = \"Mars/Olympus\"\nkinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: timezone: "), "{e}");
    let e = job_err("schedule = \"0 2 * * *\"\nkind = \"backup\"");
    assert!(e.starts_with("jobs/j.toml: kind: "), "{e}");
    let e = job_err("schedule = \"0 2 * * *\"\nkinds = [\"access\"]\nshedule = 1");
    assert!(e.starts_with("jobs/j.toml: shedule: "), "{e}");
    let e = job_err("schedule = \"0 2 * * *\"\nkinds = [\"refund\"]");
    assert!(e.starts_with("jobs/j.toml: kinds: "), "{e}");
    let e = job_err("schedule = 2\nkinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: schedule: "), "{e}");
    let e = job_err("schedule = \"0 2 * * *\"");
    assert!(e.starts_with("jobs/j.toml: kinds: "), "{e}");
    let e = job_err("schedule = \"0 3 * * 0\"\nkind = \"retention\"\nkeep_months = 12");
    assert!(e.starts_with("jobs/j.toml: keep_months: "), "{e}");
    let e = job_err("schedule = \"0 3 * * 0\"\nkind = \"retention\"\nkinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: kinds: "), "{e}");
    let e = job_err("kinds = [\"access\"]");
    assert!(e.starts_with("jobs/j.toml: schedule: missing field"), "{e}");
}

#[test]
fn shipped_job_files_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../jobs");
    for (name, kind) in [
        ("nightly", "fulfilment"),
        ("retention", "retention"),
        ("overdue", "overdue_report"),
    ] {
        let path = format!("{dir}/{name}.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let j = parse_job(name, &path, &text).unwrap();
        assert_eq!(j.kind.key(), kind);
        assert_eq!(j.schedule.timezone(), LA);
    }
}

/// Why `fire` places local times itself: iterating in the zone, the `cron` crate loses the
/// spring-forward run and doubles the fall-back one. If this starts failing, the crate changed
/// its handling and the module docs of `fire` need a look.
#[test]
fn the_cron_crate_alone_loses_and_doubles_runs() {
    use std::str::FromStr;
    let count = |expr: &str, y: i32, m: u32, d: u32| {
        let c = cron::Schedule::from_str(expr).unwrap();
        let start = LA.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        let end = start + Duration::hours(25);
        c.after(&start).take_while(|t| *t < end).count()
    };
    assert_eq!(count("0 30 2 * * *", 2026, 3, 8), 0, "02:30 skipped");
    assert_eq!(count("0 30 1 * * *", 2026, 11, 1), 2, "01:30 twice");
    // Ours: once each.
    assert_eq!(fires_on_local_day(&la("30 2 * * *"), 2026, 3, 8).len(), 1);
    assert_eq!(fires_on_local_day(&la("30 1 * * *"), 2026, 11, 1).len(), 1);
}

#[test]
fn error_messages_read_well() {
    for text in [
        "schedule = \"0 25 * * *\"\nkinds = [\"access\"]",
        "schedule = \"0 2 * * *\"\ntimezone = \"Mars/Olympus\"\nkinds = [\"access\"]",
        "schedule = \"0 2 * * *\"\nkinds = [\"access\"]\nshedule = 1",
        "kinds = [\"access\"]",
        "schedule = \"0 2 * * *\"\nkinds = [\"access\"\n",
    ] {
        let e = job_err(text);
        assert!(e.starts_with("jobs/j.toml: "), "{e}");
        println!("{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
