//! Job files (`jobs/<name>.toml`) and when a scheduled job is due, with no IO.
//!
//! [`parse_job`] turns a job file's text into a validated [`Job`]; errors name the file and the
//! key. [`JobSchedule`] (in `fire`) is the cron expression with its time zone and decides, for
//! a recorded last fire time and a `now`, whether a run is due ([`JobSchedule::decide`]): a
//! missed run is caught up once, daylight-saving transitions neither skip nor double a run, and
//! a job seen for the first time is armed rather than fired retroactively.
//!
//! Expressions go to the [`cron`] crate, which wants a seconds field and numbers days of the
//! week 1–7 from Sunday; a standard 5-field expression is converted (`0 ` prefixed, its
//! day-of-week numbers 0–7 turned into names) so it means what crontab means.

mod fire;
#[cfg(test)]
mod tests;

pub use fire::{Decision, JobSchedule};

use crate::error::{Error, Result};
use crate::request::RequestKind;
use serde::Deserialize;
use std::str::FromStr;

/// Fewest months request records are kept: 11 CCR §7101 requires at least 24.
pub const MIN_KEEP_MONTHS: u32 = 24;

/// Default look-ahead of the overdue report, in days.
pub const DEFAULT_WITHIN_DAYS: u32 = 7;

/// A job file, `jobs/<name>.toml`, as written. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// When `dsr schedule` runs the job: a cron expression in the job's `timezone`. A
    /// standard 5-field expression (`minute hour day-of-month month day-of-week`, days of the
    /// week 0–7 with 0 and 7 = Sunday, or `SUN`–`SAT`) is read as crontab reads it (a seconds
    /// field `0` is prefixed for the `cron` crate). 6 or 7 fields (seconds first, optional year)
    /// go to the `cron` crate as they are: there days of the week are 1–7 from Sunday, so use
    /// names. Restrict day-of-month or day-of-week in a 5-field expression, not both (crontab
    /// would take either; the `cron` crate needs both). `@daily`, `@weekly`, … are accepted.
    pub schedule: String,
    /// IANA time zone the expression is read in (`America/Los_Angeles`); default `UTC`. A time
    /// that does not exist on the spring-forward day fires once, at the first instant after the
    /// gap; a time that occurs twice on the fall-back day fires once, at its first occurrence.
    #[serde(default)]
    pub timezone: Option<String>,
    /// What the job does: `fulfilment` (default; a run over the open requests of `kinds`, as
    /// `dsr run --job NAME`), `retention` (deletes control DB records of requests finished more
    /// than `keep_months` ago) or `overdue_report` (lists open requests due within
    /// `within_days`, or overdue).
    #[serde(default)]
    pub kind: Option<String>,
    /// What the job is for, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// `fulfilment` only, required: request kinds the job processes (`access`,
    /// `access_categories`, `deletion`, `opt_out`).
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// `retention` only: months a request's records are kept after its final status (fulfilled,
    /// partially fulfilled, denied, expired); default 24, at least 24 (11 CCR §7101).
    #[serde(default)]
    pub keep_months: Option<i64>,
    /// `overdue_report` only: also list requests due within this many days; default 7.
    #[serde(default)]
    pub within_days: Option<i64>,
    /// `fulfilment` only: before the run, sweep every store for people deleted earlier (their
    /// tombstones) whose data was acquired again, and delete it again in the same run.
    #[serde(default)]
    pub sweep: Option<bool>,
    /// `drop_cycle` only, required: directory the DROP downloads (`*.zip`) are put in; each
    /// is imported once and moved to `done/` inside it.
    #[serde(default)]
    pub inbox: Option<String>,
    /// `drop_cycle` only, required: directory the status files are written to for upload.
    #[serde(default)]
    pub outbox: Option<String>,
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// A run over the open requests of these kinds (the same as `dsr run --job NAME`).
    Fulfilment {
        /// Request kinds processed.
        kinds: Vec<RequestKind>,
        /// Sweep for tombstoned people acquired again first.
        sweep: bool,
    },
    /// The DROP cycle: import the downloads waiting in `inbox` (and pull one from the DROP
    /// API when configured), run their deletion requests, write the status file to `outbox`.
    DropCycle {
        /// Directory of downloads.
        inbox: String,
        /// Directory of status files.
        outbox: String,
    },
    /// Deletes the control DB records of requests whose final status is older than this.
    Retention {
        /// Months kept after the final status (≥ [`MIN_KEEP_MONTHS`]).
        keep_months: u32,
    },
    /// Lists open requests overdue or due within `within_days`.
    OverdueReport {
        /// Look-ahead in days.
        within_days: u32,
    },
}

impl JobKind {
    /// The spelling in job files.
    pub fn key(&self) -> &'static str {
        match self {
            JobKind::Fulfilment { .. } => "fulfilment",
            JobKind::DropCycle { .. } => "drop_cycle",
            JobKind::Retention { .. } => "retention",
            JobKind::OverdueReport { .. } => "overdue_report",
        }
    }
}

/// A validated job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Name: the file name without `.toml`.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it runs.
    pub schedule: JobSchedule,
    /// What it does.
    pub kind: JobKind,
}

/// Longest gap the Delete Act allows between two DROP cycles, in days.
pub const DROP_DUTY_DAYS: i64 = 45;

/// A DROP cycle must run at least every [`DROP_DUTY_DAYS`] days, with room to spare (at
/// most 30 days apart here), and never in the platform's daily maintenance window, 01:00 to
/// 03:00 Pacific time. Checked over the fires of the next two years.
pub fn check_drop_schedule(schedule: &JobSchedule) -> std::result::Result<(), String> {
    use chrono::Timelike;
    let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_798_761_600, 0) // 2027-01-01
        .unwrap_or_default();
    let end = start + chrono::Duration::days(731);
    let mut prev = start;
    for t in schedule.fires_after(start) {
        if t > end {
            break;
        }
        let pacific = t.with_timezone(&chrono_tz::America::Los_Angeles);
        if (1..3).contains(&pacific.hour()) {
            return Err(format!(
                "fires at {} Pacific, inside DROP's daily maintenance window (01:00-03:00 Pacific)",
                pacific.format("%H:%M")
            ));
        }
        if t - prev > chrono::Duration::days(30) {
            return Err(format!(
                "leaves {} days between two DROP cycles; the duty is every {DROP_DUTY_DAYS} days, so run at least every 30",
                (t - prev).num_days()
            ));
        }
        prev = t;
    }
    if end - prev > chrono::Duration::days(30) {
        return Err("does not fire at least every 30 days".into());
    }
    Ok(())
}

/// Whether `name` may name a job (`a-z A-Z 0-9 _ -`, not empty): it becomes a file name.
pub fn valid_job_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses and validates the job file `file` (its path, for messages) holding `text`, for the
/// job `name`. The error names the file and the key at fault.
pub fn parse_job(name: &str, file: &str, text: &str) -> Result<Job> {
    let err = |field: &str, message: String| Error::Job {
        file: file.to_string(),
        field: field.to_string(),
        message,
    };
    if !valid_job_name(name) {
        return Err(err("", "job names are a-z A-Z 0-9 _ -".into()));
    }
    let de = toml::Deserializer::new(text);
    let jf: JobFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let field = if path != "." {
            path
        } else if let Some(k) = backticked(&message, "unknown field `")
            .or_else(|| backticked(&message, "missing field `"))
        {
            k
        } else {
            inner
                .span()
                .map(|s| {
                    format!(
                        "line {}",
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default()
        };
        err(&field, message)
    })?;
    let timezone = jf.timezone.as_deref().unwrap_or("UTC");
    let tz = chrono_tz::Tz::from_str(timezone).map_err(|_| {
        err(
            "timezone",
            format!("unknown time zone `{timezone}` (an IANA name such as America/Los_Angeles)"),
        )
    })?;
    let schedule = JobSchedule::new(&jf.schedule, tz).map_err(|m| err("schedule", m))?;
    let kind_key = jf.kind.as_deref().unwrap_or("fulfilment");
    let only = |field: &str, present: bool, for_kind: &str| {
        if present && kind_key != for_kind {
            Err(err(field, format!("only for kind = \"{for_kind}\"")))
        } else {
            Ok(())
        }
    };
    only("kinds", jf.kinds.is_some(), "fulfilment")?;
    only("keep_months", jf.keep_months.is_some(), "retention")?;
    only("within_days", jf.within_days.is_some(), "overdue_report")?;
    only("sweep", jf.sweep.is_some(), "fulfilment")?;
    only("inbox", jf.inbox.is_some(), "drop_cycle")?;
    only("outbox", jf.outbox.is_some(), "drop_cycle")?;
    let kind = match kind_key {
        "fulfilment" => {
            let Some(keys) = jf.kinds else {
                return Err(err("kinds", "required for kind = \"fulfilment\"".into()));
            };
            let mut kinds = Vec::new();
            for k in &keys {
                let Some(rk) = RequestKind::parse(k) else {
                    return Err(err("kinds", format!("unknown request kind `{k}`")));
                };
                kinds.push(rk);
            }
            if kinds.is_empty() {
                return Err(err("kinds", "name at least one request kind".into()));
            }
            JobKind::Fulfilment {
                kinds,
                sweep: jf.sweep.unwrap_or(false),
            }
        }
        "drop_cycle" => {
            let dir = |field: &str, v: Option<String>| {
                v.filter(|d| !d.trim().is_empty())
                    .ok_or_else(|| err(field, "required for kind = \"drop_cycle\"".into()))
            };
            check_drop_schedule(&schedule).map_err(|m| err("schedule", m))?;
            JobKind::DropCycle {
                inbox: dir("inbox", jf.inbox)?,
                outbox: dir("outbox", jf.outbox)?,
            }
        }
        "retention" => {
            let m = jf.keep_months.unwrap_or(i64::from(MIN_KEEP_MONTHS));
            let keep_months = u32::try_from(m)
                .ok()
                .filter(|m| *m >= MIN_KEEP_MONTHS && *m <= 1200)
                .ok_or_else(|| {
                    err(
                        "keep_months",
                        format!("must be {MIN_KEEP_MONTHS}–1200: records are kept at least 24 months (11 CCR §7101)"),
                    )
                })?;
            JobKind::Retention { keep_months }
        }
        "overdue_report" => {
            let d = jf.within_days.unwrap_or(i64::from(DEFAULT_WITHIN_DAYS));
            let within_days = u32::try_from(d)
                .ok()
                .filter(|d| *d <= 366)
                .ok_or_else(|| err("within_days", "must be 0–366".into()))?;
            JobKind::OverdueReport { within_days }
        }
        other => {
            return Err(err(
                "kind",
                format!(
                    "unknown job kind `{other}` (fulfilment, retention, overdue_report, drop_cycle)"
                ),
            ));
        }
    };
    Ok(Job {
        name: name.to_string(),
        description: jf.description,
        schedule,
        kind,
    })
}

/// The text between `prefix` and the next backtick in `message`.
fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// A cron expression as the `cron` crate reads it: a standard 5-field expression gets a
/// seconds field and its day-of-week numbers as names; 6–7 fields and `@` shorthands pass.
pub fn cron_expression(expr: &str) -> std::result::Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    match fields.as_slice() {
        [one] if one.starts_with('@') => Ok((*one).to_string()),
        [minute, hour, dom, month, dow] => {
            if *dom != "*" && *dow != "*" {
                return Err(
                    "restrict day-of-month or day-of-week, not both (crontab would run on either)"
                        .into(),
                );
            }
            Ok(format!(
                "0 {minute} {hour} {dom} {month} {}",
                standard_dow(dow)?
            ))
        }
        [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => Ok(fields.join(" ")),
        _ => Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), or 6–7 with seconds first; got {}",
            fields.len()
        )),
    }
}

/// A crontab day-of-week field (0–7, 0 and 7 = Sunday) with its numbers as names.
fn standard_dow(field: &str) -> std::result::Result<String, String> {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let bad = || format!("day-of-week `{field}`: use 0–7 (0 and 7 = Sunday) or SUN–SAT");
    let day = |s: &str| -> std::result::Result<Option<usize>, String> {
        if s.chars().all(|c| c.is_ascii_alphabetic()) {
            return Ok(None);
        }
        match s.parse::<usize>() {
            Ok(n) if n <= 7 => Ok(Some(n)),
            _ => Err(bad()),
        }
    };
    let name = |s: &str| -> std::result::Result<String, String> {
        Ok(match day(s)? {
            Some(n) => NAMES[n].to_string(),
            None => s.to_string(),
        })
    };
    let mut out = Vec::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        let base = match base.split_once('-') {
            _ if base == "*" => "*".to_string(),
            Some((a, b)) => match (day(a)?, day(b)?) {
                (Some(0), Some(7)) if step.is_none() => "SUN-SAT".to_string(),
                (Some(a), Some(7)) if step.is_none() && a > 0 => format!("{}-SAT,SUN", NAMES[a]),
                (_, Some(7)) => return Err(bad()),
                _ => format!("{}-{}", name(a)?, name(b)?),
            },
            None if step.is_some() => return Err(bad()),
            None => name(base)?,
        };
        out.push(match step {
            Some(s) => format!("{base}/{s}"),
            None => base,
        });
    }
    Ok(out.join(","))
}
