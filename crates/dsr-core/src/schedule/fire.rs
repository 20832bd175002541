//! Fire times: when a job's cron expression fires in its time zone, and whether a run is due.
//!
//! The expression is matched against local wall-clock times only: the `cron` crate iterates
//! the expression over a *naive* calendar (local times dressed as UTC, where no day has a gap
//! or an overlap), and each local time is then placed on the time line here:
//!
//! * a local time that exists once is that instant;
//! * one that occurs twice (the fall-back hour) is its **first** occurrence: the second is
//!   never a fire time;
//! * one that does not exist (the spring-forward gap, e.g. 02:30 when clocks jump from 02:00
//!   to 03:00) is the **first instant after the gap**; several local times in one gap give that
//!   one instant once.
//!
//! So the fire times are non-decreasing in local time, and a day never gets a run twice or
//! loses one. The `cron` crate itself (0.15–0.17), asked to iterate in a `chrono_tz` zone,
//! builds each candidate with `with_ymd_and_hms` and *skips* a local time that does not exist
//! (the spring-forward run would be lost) and yields *both* instants of one that occurs twice
//! (the fall-back run would happen twice); that is why it is only ever given the naive
//! calendar.

use chrono::offset::LocalResult;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// How far local wall-clock time can be from a fixed offset around a transition: more than
/// any real zone's jump (Pacific/Apia skipped a whole day in 2011).
fn slack() -> Duration {
    Duration::hours(26)
}

/// How many missed fire times [`Decision::Run`] counts at most.
const MISSED_CAP: u64 = 10_000;

/// A job's cron expression in its time zone.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    expression: String,
    cron: cron::Schedule,
    tz: Tz,
}

/// Whether a run is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The job has no recorded fire time (first start): nothing runs now; the caller records
    /// `now` as the job's baseline, and the first run is `next`.
    Arm {
        /// The first fire time after now.
        next: Option<DateTime<Utc>>,
    },
    /// Run now, for the scheduled time `at`: the most recent fire time not after now and
    /// after the last recorded one. Earlier fire times missed since then (`missed`, counted up
    /// to 10,000) are not run: one catch-up only.
    Run {
        /// The scheduled fire time this run stands for (record it).
        at: DateTime<Utc>,
        /// Fire times between the last recorded one and `at`, skipped.
        missed: u64,
        /// The fire time after now.
        next: Option<DateTime<Utc>>,
    },
    /// Nothing is due; the next fire time.
    Wait {
        /// The next fire time, if the expression has one.
        next: Option<DateTime<Utc>>,
    },
}

impl JobSchedule {
    /// `expression` (see [`super::JobFile::schedule`]) read in `tz`; the error says what is
    /// wrong with the expression.
    pub fn new(expression: &str, tz: Tz) -> Result<JobSchedule, String> {
        let full = super::cron_expression(expression)?;
        let cron = cron::Schedule::from_str(&full).map_err(|e| {
            // The crate's message spans lines and quotes its own form of the expression.
            let msg = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "bad cron expression `{}` (read as `{full}`): {msg}",
                expression.trim()
            )
        })?;
        let s = JobSchedule {
            expression: expression.trim().to_string(),
            cron,
            tz,
        };
        Ok(s)
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The instant a local wall-clock time fires at (see the module docs). `None` only for a
    /// local time outside the zone's range.
    pub fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                // In a gap: the first whole local minute after it (zone transitions happen on
                // whole minutes), i.e. the instant the gap ends.
                let mut m = local.with_second(0)?.with_nanosecond(0)?;
                for _ in 0..(48 * 60) {
                    m += Duration::minutes(1);
                    if let Some(t) = self.tz.from_local_datetime(&m).earliest() {
                        return Some(t.with_timezone(&Utc));
                    }
                }
                None
            }
        }
    }

    /// Local wall-clock time at `t`.
    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// Fire times strictly after `t`, in order, each once.
    pub fn fires_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let start = self.local(t) - slack();
        let mut prev: Option<DateTime<Utc>> = None;
        self.cron
            .after(&start.and_utc())
            .filter_map(move |naive| self.instant(naive.naive_utc()))
            .filter(move |f| *f > t)
            .filter(move |f| {
                let fresh = prev != Some(*f);
                prev = Some(*f);
                fresh
            })
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.fires_after(t).next()
    }

    /// The latest fire time at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = self.local(t) + slack();
        self.cron
            .after(&start.and_utc())
            .rev()
            .filter_map(|naive| self.instant(naive.naive_utc()))
            .find(|f| *f <= t)
    }

    /// Whether a run is due at `now`, given the last recorded fire time (or baseline) `last`.
    ///
    /// * No `last` (first start): [`Decision::Arm`]; never a retroactive run.
    /// * The latest fire time at or before `now` is after `last`: [`Decision::Run`] for it,
    ///   once, however many were missed.
    /// * Otherwise (also when `last` is after `now`, e.g. the clock went back):
    ///   [`Decision::Wait`] for the next fire time after both.
    pub fn decide(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Decision {
        let Some(last) = last else {
            return Decision::Arm {
                next: self.next_after(now),
            };
        };
        match self.latest_at_or_before(now) {
            Some(at) if at > last => {
                let missed = self
                    .fires_after(last)
                    .take_while(|f| *f < at)
                    .take(usize::try_from(MISSED_CAP).unwrap_or(usize::MAX))
                    .count();
                Decision::Run {
                    at,
                    missed: u64::try_from(missed).unwrap_or(MISSED_CAP),
                    next: self.next_after(now),
                }
            }
            _ => Decision::Wait {
                next: self.next_after(now.max(last)),
            },
        }
    }
}
