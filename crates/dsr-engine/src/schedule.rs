//! What `dsr schedule` keeps in the control DB: job locks, the record of scheduled fires, the
//! retention purge and the overdue report (migration `0004_schedule.sql`).
//!
//! * **Job locks** (`job_locks`): one holder per job at a time, across processes and
//!   machines. [`ControlDb::take_job_lock`] succeeds only when the lock is absent or expired
//!   (one atomic upsert, so of two concurrent takers exactly one wins); a crashed holder's lock
//!   frees itself at expiry. The holder renews it while the job runs
//!   ([`ControlDb::renew_job_lock`]) and releases it at the end. Expiry times are Unix ms of
//!   each taker's clock, like request leases (see [`crate::lease`]).
//! * **Fires** (`job_fires`): one row per scheduled fire time run (unique per job and time, so
//!   one fire is never run twice), plus an `armed` row, the job's baseline, when a scheduler
//!   first sees the job. [`ControlDb::last_fire`] is what [`dsr_core::schedule::JobSchedule::decide`]
//!   takes. Outcomes carry counts only.
//! * **Retention** ([`ControlDb::purge_requests`]): requests whose final status is older than
//!   the record-keeping period are deleted with their events and identity hashes. The
//!   `request_events` triggers allow that DELETE only for requests marked purged, final and
//!   more than 24 months old by the database's clock; UPDATE stays refused. Evidence is never
//!   touched, nor the suppression list (an opt-out outlives its request record).
//! * **Deadlines** ([`ControlDb::deadlines`]): open requests overdue or due soon.

use crate::control::{ControlDb, Pools, db, pg_sql, with_db};
use crate::error::{Error, Result};
use crate::lease::now_ms;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use sqlx::Row;
use std::time::Duration;

/// Final statuses: a request in one of these is done (and subject to retention).
pub const FINAL_STATUSES: [&str; 5] = [
    "fulfilled",
    "partially_fulfilled",
    "denied",
    "expired",
    "revoked",
];

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// How a fire ended (`job_fires.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireOutcome {
    /// The job's baseline: first seen, nothing run.
    Armed,
    /// Started, not finished (or the holder crashed).
    Running,
    /// Finished.
    Ok,
    /// Finished with an error.
    Failed,
}

impl FireOutcome {
    /// Stored spelling.
    pub fn key(self) -> &'static str {
        match self {
            FireOutcome::Armed => "armed",
            FireOutcome::Running => "running",
            FireOutcome::Ok => "ok",
            FireOutcome::Failed => "failed",
        }
    }
}

/// A recorded fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    /// Job name.
    pub job: String,
    /// The scheduled fire time (or the baseline of an `armed` row).
    pub scheduled: DateTime<Utc>,
    /// `armed`, `running`, `ok`, `failed`.
    pub outcome: String,
    /// Outcome detail (counts only), JSON.
    pub detail: String,
}

/// What a retention purge deleted (counts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeCounts {
    /// Requests deleted.
    pub requests: u64,
    /// Their events.
    pub events: u64,
    /// Their identity hashes.
    pub identities: u64,
}

/// An open request with a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// Request id (never PI).
    pub id: String,
    /// Request kind.
    pub kind: String,
    /// Status.
    pub status: String,
    /// Which deadline: `due_at` (the answer) or `confirm_by` (the receipt confirmation).
    pub deadline: &'static str,
    /// When.
    pub due_at: DateTime<Utc>,
    /// Whole days left, rounded down: negative means overdue.
    pub days_left: i64,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| Error::Control("control DB holds a timestamp that is not RFC 3339".into()))
}

impl ControlDb {
    /// Takes the lock of `job` for `holder` until `ttl` from now, if no live lock is held
    /// (absent or expired). Returns whether it was taken.
    pub async fn take_job_lock(&self, job: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let now = now_ms();
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql(
                "INSERT INTO job_locks (job, holder, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                  WHERE job_locks.expires_ms < ?4",
            ))
            .bind(job)
            .bind(holder)
            .bind(now.saturating_add(ms(ttl)))
            .bind(now)
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Extends `holder`'s lock of `job` to `ttl` from now; `false` when it no longer holds it
    /// (it expired and another took it).
    pub async fn renew_job_lock(&self, job: &str, holder: &str, ttl: Duration) -> Result<bool> {
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql(
                "UPDATE job_locks SET expires_ms = ?1 WHERE job = ?2 AND holder = ?3",
            ))
            .bind(now_ms().saturating_add(ms(ttl)))
            .bind(job)
            .bind(holder)
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Gives `holder`'s lock of `job` back (nothing when another holds it now).
    pub async fn release_job_lock(&self, job: &str, holder: &str) -> Result<()> {
        with_db!(self, pool, sql => {
            sqlx::query(&sql("DELETE FROM job_locks WHERE job = ?1 AND holder = ?2"))
                .bind(job)
                .bind(holder)
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    /// The last recorded fire time (or baseline) of `job`; `None` if it never was seen.
    pub async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT max(scheduled_ms) FROM job_fires WHERE job = ?1"))
                .bind(job)
                .fetch_one(pool)
                .await
                .map_err(db)?;
            let v: Option<i64> = row.try_get(0).map_err(db)?;
            Ok(v.and_then(DateTime::<Utc>::from_timestamp_millis))
        })
    }

    /// Records a fire of `job` for the scheduled time `at`: `armed` (the baseline) or
    /// `running` (started now). `false` when that fire is already recorded (another scheduler
    /// ran it): then the caller must not run it.
    pub async fn record_fire(
        &self,
        job: &str,
        at: DateTime<Utc>,
        holder: &str,
        outcome: FireOutcome,
    ) -> Result<bool> {
        let started = (outcome == FireOutcome::Running).then(|| Utc::now().to_rfc3339());
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql(
                "INSERT INTO job_fires (job, scheduled_ms, scheduled_at, holder, started_at, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (job, scheduled_ms) DO NOTHING",
            ))
            .bind(job)
            .bind(at.timestamp_millis())
            .bind(at.to_rfc3339())
            .bind(holder)
            .bind(started)
            .bind(outcome.key())
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Records how the fire of `job` at `at` ended, with a detail object (counts only).
    pub async fn finish_fire(
        &self,
        job: &str,
        at: DateTime<Utc>,
        outcome: FireOutcome,
        detail: &serde_json::Value,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
            sqlx::query(&sql(
                "UPDATE job_fires SET finished_at = ?1, outcome = ?2, detail = ?3
                  WHERE job = ?4 AND scheduled_ms = ?5",
            ))
            .bind(Utc::now().to_rfc3339())
            .bind(outcome.key())
            .bind(detail.to_string())
            .bind(job)
            .bind(at.timestamp_millis())
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(())
        })
    }

    /// The recorded fires of `job`, oldest first.
    pub async fn fires(&self, job: &str) -> Result<Vec<Fire>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql(
                "SELECT scheduled_ms, outcome, detail FROM job_fires WHERE job = ?1 ORDER BY scheduled_ms",
            ))
            .bind(job)
            .fetch_all(pool)
            .await
            .map_err(db)?;
            rows.into_iter()
                .map(|r| {
                    let at: i64 = r.try_get(0).map_err(db)?;
                    Ok(Fire {
                        job: job.to_string(),
                        scheduled: DateTime::<Utc>::from_timestamp_millis(at)
                            .ok_or_else(|| Error::Control("fire time out of range".into()))?,
                        outcome: r.try_get(1).map_err(db)?,
                        detail: r.try_get(2).map_err(db)?,
                    })
                })
                .collect()
        })
    }

    /// Deletes the requests whose final status was reached (their last change, `updated_at`)
    /// more than `keep_months` before `now`, with their events and identity hashes, in one
    /// transaction; a request under a live lease is left alone. `keep_months` below 24 is
    /// refused. Returns the counts.
    pub async fn purge_requests(
        &self,
        keep_months: u32,
        now: DateTime<Utc>,
    ) -> Result<PurgeCounts> {
        if keep_months < dsr_core::schedule::MIN_KEEP_MONTHS {
            return Err(Error::Control(format!(
                "keep_months {keep_months} is below the 24 months records are kept (11 CCR §7101)"
            )));
        }
        let cutoff = now
            .checked_sub_months(Months::new(keep_months))
            .ok_or_else(|| Error::Control("retention cutoff out of range".into()))?;
        // Compared as times, not text: SQLite's julianday and PostgreSQL's timestamptz read
        // any RFC 3339 spelling. The database's own clock bounds it too, as in the
        // `request_events` trigger, so a `now` in the future cannot purge younger records.
        let older = match &self.pools {
            Pools::Sqlite(_) => {
                "julianday(updated_at) < julianday(?1)
                 AND julianday(updated_at) < julianday('now', '-24 months')"
            }
            Pools::Postgres(_) => {
                "updated_at::timestamptz < CAST(?1 AS TEXT)::timestamptz
                 AND updated_at::timestamptz < now() - interval '24 months'"
            }
        };
        let mark = format!(
            "UPDATE requests SET purged_at = ?2
              WHERE purged_at IS NULL AND {older}
                AND status IN (?3, ?4, ?5, ?6, ?7)
                AND (lease_expires_ms IS NULL OR lease_expires_ms < ?8)"
        );
        let purged = "SELECT id FROM requests WHERE purged_at IS NOT NULL";
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            let text = sql(&mark);
            let mut q = sqlx::query(&text)
                .bind(cutoff.to_rfc3339())
                .bind(now.to_rfc3339());
            for s in FINAL_STATUSES {
                q = q.bind(s);
            }
            q.bind(now_ms()).execute(&mut *tx).await.map_err(db)?;
            let events = sqlx::query(&format!("DELETE FROM request_events WHERE request_id IN ({purged})"))
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            let identities = sqlx::query(&format!("DELETE FROM request_identities WHERE request_id IN ({purged})"))
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            let requests = sqlx::query("DELETE FROM requests WHERE purged_at IS NOT NULL")
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            tx.commit().await.map_err(db)?;
            Ok(PurgeCounts { requests, events, identities })
        })
    }

    /// Open requests (not in a final status) whose deadline is past or within `within_days`
    /// of `now`, soonest first: `due_at` (the answer) and `confirm_by` (the receipt
    /// confirmation, until the portal records it sent). A request may appear twice.
    pub async fn deadlines(&self, now: DateTime<Utc>, within_days: u32) -> Result<Vec<Deadline>> {
        let horizon = now + chrono::Duration::days(i64::from(within_days));
        let rows = with_db!(self, pool, sql => {
            sqlx::query(&sql(
                "SELECT id, kind, status, 'due_at', due_at FROM requests
                  WHERE due_at IS NOT NULL AND status NOT IN (?1, ?2, ?3, ?4, ?5)
                 UNION ALL
                 SELECT id, kind, status, 'confirm_by', confirm_by FROM requests
                  WHERE confirm_by IS NOT NULL AND receipt_confirmed_at IS NULL
                    AND status NOT IN (?1, ?2, ?3, ?4, ?5)",
            ))
            .bind(FINAL_STATUSES[0])
            .bind(FINAL_STATUSES[1])
            .bind(FINAL_STATUSES[2])
            .bind(FINAL_STATUSES[3])
            .bind(FINAL_STATUSES[4])
            .fetch_all(pool)
            .await
            .map_err(db)?
            .into_iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0).map_err(db)?,
                    r.try_get::<String, _>(1).map_err(db)?,
                    r.try_get::<String, _>(2).map_err(db)?,
                    r.try_get::<String, _>(3).map_err(db)?,
                    r.try_get::<String, _>(4).map_err(db)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?
        });
        let mut out = Vec::new();
        for (id, kind, status, which, due) in rows {
            let due_at = parse_time(&due)?;
            if due_at <= horizon {
                let secs = (due_at - now).num_seconds();
                out.push(Deadline {
                    id,
                    kind,
                    status,
                    deadline: if which == "confirm_by" {
                        "confirm_by"
                    } else {
                        "due_at"
                    },
                    due_at,
                    days_left: secs.div_euclid(86_400),
                });
            }
        }
        out.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(out)
    }
}

/// A held job lock, renewed in the background until [`JobLock::release`] (or drop, which
/// stops renewing and lets it expire).
pub struct JobLock {
    control: ControlDb,
    job: String,
    holder: String,
    beat: tokio::task::JoinHandle<()>,
}

impl JobLock {
    /// Takes the lock of `job` for `holder` (see [`ControlDb::take_job_lock`]) and renews it
    /// every third of `ttl`; `None` when another holder has it.
    pub async fn take(
        control: &ControlDb,
        job: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<JobLock>> {
        if !control.take_job_lock(job, holder, ttl).await? {
            return Ok(None);
        }
        let (c, j, h) = (control.clone(), job.to_string(), holder.to_string());
        let beat = tokio::spawn(async move {
            let every = (ttl / 3).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                match c.renew_job_lock(&j, &h, ttl).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %j, "job lock lost (expired and taken)");
                        break;
                    }
                    Err(e) => tracing::warn!(job = %j, error = %e, "job lock renewal failed"),
                }
            }
        });
        Ok(Some(JobLock {
            control: control.clone(),
            job: job.to_string(),
            holder: holder.to_string(),
            beat,
        }))
    }

    /// Stops renewing and gives the lock back.
    pub async fn release(self) -> Result<()> {
        self.beat.abort();
        self.control.release_job_lock(&self.job, &self.holder).await
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        self.beat.abort();
    }
}
