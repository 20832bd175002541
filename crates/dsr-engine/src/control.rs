//! The control DB: requests, their append-only event history, suppressions and runs.
//!
//! SQLite by default (a file created on first use); every statement is parameterised.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use dsr_core::jurisdiction::Deadlines;
use dsr_core::request::Request;
use serde::Serialize;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Lifecycle states of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Stored, not yet admitted.
    Received,
    /// Passed admission; waiting for a run.
    Admitted,
    /// A run is working on it.
    InProgress,
    /// Done in whole.
    Fulfilled,
    /// Done in part (a store failed; retried next run).
    PartiallyFulfilled,
    /// Refused, with a reason.
    Denied,
    /// Not verified within the response period: closed without an answer on the merits.
    Expired,
    /// Identities lead to several subjects: a person must look.
    HeldForReview,
    /// Admitted by the jurisdiction's rules; the run works out its verification from the
    /// data points it carries (taken by a run like an admitted request).
    AwaitingVerification,
    /// Repeats an open or recently answered request (same kind, same subject): linked to it
    /// (`duplicate_of` in its event) and answered with its outcome, never run itself.
    Duplicate,
    /// Withdrawn by the requester's authorized agent (Data Rights Protocol revoke) before any
    /// run took it: final, never run.
    Revoked,
}

impl Status {
    /// The status of a stored spelling.
    pub fn parse(key: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether this status answers the requester (in whole, in part, or by a denial or
    /// expiry): the first one stops the response clock of the 11 CCR §7102 metrics.
    pub fn is_answer(self) -> bool {
        matches!(
            self,
            Status::Fulfilled | Status::PartiallyFulfilled | Status::Denied | Status::Expired
        )
    }

    /// Every status, in lifecycle order.
    pub const ALL: [Status; 11] = [
        Status::Received,
        Status::Admitted,
        Status::AwaitingVerification,
        Status::InProgress,
        Status::Fulfilled,
        Status::PartiallyFulfilled,
        Status::Denied,
        Status::Expired,
        Status::HeldForReview,
        Status::Duplicate,
        Status::Revoked,
    ];

    /// Stored spelling.
    pub fn key(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Admitted => "admitted",
            Status::InProgress => "in_progress",
            Status::Fulfilled => "fulfilled",
            Status::PartiallyFulfilled => "partially_fulfilled",
            Status::Denied => "denied",
            Status::Expired => "expired",
            Status::HeldForReview => "held_for_review",
            Status::AwaitingVerification => "awaiting_verification",
            Status::Duplicate => "duplicate",
            Status::Revoked => "revoked",
        }
    }
}

/// A stored request with its state.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    /// The request.
    pub request: Request,
    /// Current status spelling.
    pub status: String,
    /// Denial reason, when denied.
    pub denial_reason: Option<String>,
}

/// Handle on the control DB.
#[derive(Clone)]
pub struct ControlDb {
    pub(crate) pools: Pools,
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite(SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool and `$sql` rewriting the `?N`
/// placeholders of a statement for it (PostgreSQL takes `$N`).
macro_rules! with_db {
    ($self:expr, $pool:ident, $sql:ident => $body:expr) => {
        match &$self.pools {
            Pools::Sqlite($pool) => {
                let $sql = |q: &str| q.to_string();
                $body
            }
            Pools::Postgres($pool) => {
                let $sql = pg_sql;
                $body
            }
        }
    };
}
pub(crate) use with_db;

/// `?N` → `$N`.
pub(crate) fn pg_sql(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Outcome of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Newly stored.
    New,
    /// The same request was already stored (idempotent resubmission).
    AlreadyStored,
}

impl ControlDb {
    /// Opens the control DB at `url` — `sqlite://path` (created when absent) or
    /// `postgres://…` (the database must exist) — and applies migrations.
    pub async fn open(url: &str) -> Result<ControlDb> {
        let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
        let pools = match scheme.as_str() {
            "sqlite" => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| Error::Control(format!("bad control DB URL: {e}")))?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .disable_statement_logging();
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts)
                    .await
                    .map_err(|e| Error::Control(format!("cannot open control DB: {e}")))?;
                sqlx::migrate!("./migrations/sqlite")
                    .run(&pool)
                    .await
                    .map_err(|e| Error::Control(format!("control DB migration failed: {e}")))?;
                Pools::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|_| Error::Control("bad control DB URL".into()))?
                    .disable_statement_logging();
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|e| Error::Control(format!("cannot open control DB: {}", db(e))))?;
                sqlx::migrate!("./migrations/postgres")
                    .run(&pool)
                    .await
                    .map_err(|e| Error::Control(format!("control DB migration failed: {e}")))?;
                Pools::Postgres(pool)
            }
            other => {
                return Err(Error::Control(format!(
                    "control DB URL must be sqlite: or postgres:; got scheme {other}"
                )));
            }
        };
        Ok(ControlDb { pools })
    }

    /// Stores a validated request with the keyed hashes of its identities. Resubmitting the
    /// same request is a no-op; reusing an id for a different request is an error.
    pub async fn submit(
        &self,
        req: &Request,
        identity_hashes: &[String],
        deadlines: Option<&Deadlines>,
    ) -> Result<Submitted> {
        with_db!(self, pool, sql => {
        let body = serde_json::to_string(req).map_err(|e| Error::Control(e.to_string()))?;
        let mut tx = pool.begin().await.map_err(db)?;
        if let Some(row) = sqlx::query(&sql("SELECT body FROM requests WHERE id = ?1"))
            .bind(&req.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
        {
            let existing: String = row.try_get(0).map_err(db)?;
            return if existing == body {
                Ok(Submitted::AlreadyStored)
            } else {
                Err(Error::Conflict(format!(
                    "request id {} is already used by a different request",
                    req.id
                )))
            };
        }
        let now = Utc::now().to_rfc3339();
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        sqlx::query(&sql("INSERT INTO requests (id, kind, jurisdiction, received_at, due_at, status, body, created_at, updated_at,
                                 confirm_by, respond_by, extendable_to, client)
             VALUES (?1, ?2, ?3, ?4, ?5, 'received', ?6, ?7, ?7, ?8, ?5, ?9, ?10)"))
        .bind(&req.id)
        .bind(req.kind.key())
        .bind(&req.jurisdiction)
        .bind(req.received_at.to_rfc3339())
        .bind(time(deadlines.map(|d| d.respond_by)))
        .bind(&body)
        .bind(&now)
        .bind(time(deadlines.and_then(|d| d.confirm_by)))
        .bind(time(deadlines.and_then(|d| d.extendable_to)))
        .bind(&req.client)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        for h in identity_hashes {
            sqlx::query(&sql("INSERT INTO request_identities (request_id, identity_hash) VALUES (?1, ?2) ON CONFLICT DO NOTHING"))
                .bind(&req.id)
                .bind(h)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, 'received', '{}')"))
            .bind(&req.id)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Submitted::New)
        })
    }

    /// Requests in any of `statuses`, oldest first.
    pub async fn by_status(&self, statuses: &[Status]) -> Result<Vec<StoredRequest>> {
        with_db!(self, pool, sql => {
        let mut out = Vec::new();
        for s in statuses {
            let rows = sqlx::query(&sql("SELECT body, status, denial_reason FROM requests WHERE status = ?1 ORDER BY received_at, id"))
            .bind(s.key())
            .fetch_all(pool)
            .await
            .map_err(db)?;
            for r in rows {
                let body: String = r.try_get(0).map_err(db)?;
                let request: Request = serde_json::from_str(&body)
                    .map_err(|e| Error::Control(format!("stored request unreadable: {e}")))?;
                out.push(StoredRequest {
                    request,
                    status: r.try_get(1).map_err(db)?,
                    denial_reason: r.try_get(2).map_err(db)?,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.request.received_at, &a.request.id).cmp(&(b.request.received_at, &b.request.id))
        });
        Ok(out)
        })
    }

    /// One request by id.
    pub async fn get(&self, id: &str) -> Result<Option<StoredRequest>> {
        with_db!(self, pool, sql => {
        let row = sqlx::query(&sql("SELECT body, status, denial_reason FROM requests WHERE id = ?1"))
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let body: String = r.try_get(0).map_err(db)?;
        Ok(Some(StoredRequest {
            request: serde_json::from_str(&body).map_err(|e| Error::Control(e.to_string()))?,
            status: r.try_get(1).map_err(db)?,
            denial_reason: r.try_get(2).map_err(db)?,
        }))
        })
    }

    /// Moves a request to `status` and appends the event (with a detail object that holds no
    /// subject data), if the request is still held under `lease`: a later lease (the request
    /// was taken over) makes this [`Error::Fenced`] and changes nothing.
    pub async fn transition(
        &self,
        id: &str,
        status: Status,
        denial_reason: Option<&str>,
        detail: serde_json::Value,
        lease: u64,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
        let now = Utc::now().to_rfc3339();
        let mut tx = pool.begin().await.map_err(db)?;
        // An answer closes the request (the clock of the 11 CCR §7102 metrics stops).
        let closed = status.is_answer().then(|| now.clone());
        let changed = sqlx::query(&sql("UPDATE requests SET status = ?1, denial_reason = ?2, updated_at = ?3,
                closed_at = COALESCE(?6, closed_at) WHERE id = ?4 AND lease = ?5"))
        .bind(status.key())
        .bind(denial_reason)
        .bind(&now)
        .bind(id)
        .bind(token(lease))
        .bind(closed)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if changed == 0 {
            return Err(Error::Fenced { request: id.to_string(), lease });
        }
        sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, ?3, ?4)"))
        .bind(id)
        .bind(&now)
        .bind(status.key())
        .bind(with_lease(detail, lease))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
        })
    }

    /// Revokes a request its requester withdrew (an authorized agent's `DELETE`, a DROP
    /// withdrawal) if no run has taken it: still `received`, `admitted` or
    /// `awaiting_verification` and no live lease at `now_ms`. Status `revoked`, and a
    /// `revoked` event with `detail` (no subject data). Whether it was revoked.
    pub async fn revoke_unstarted(
        &self,
        id: &str,
        detail: serde_json::Value,
        now_ms: i64,
    ) -> Result<bool> {
        let now = Utc::now().to_rfc3339();
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            let n = sqlx::query(&sql("UPDATE requests SET status = ?1, updated_at = ?2
                  WHERE id = ?3 AND status IN ('received', 'admitted', 'awaiting_verification')
                    AND (lease_expires_ms IS NULL OR lease_expires_ms < ?4)"))
                .bind(Status::Revoked.key())
                .bind(&now)
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if n == 1 {
                sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, 'revoked', ?3)"))
                    .bind(id)
                    .bind(&now)
                    .bind(detail.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(n == 1)
        })
    }

    /// Puts a request back to wait for the next run and appends a `deferred` event (with a
    /// detail object that holds no subject data). An admitted or in-progress request becomes
    /// `admitted`; a partially fulfilled one stays `partially_fulfilled` (part of it is done,
    /// its failed stores are still retried). Returns the status the request is left in.
    /// Fenced by `lease` as [`ControlDb::transition`].
    pub async fn defer(&self, id: &str, detail: serde_json::Value, lease: u64) -> Result<String> {
        with_db!(self, pool, sql => {
        let now = Utc::now().to_rfc3339();
        let mut tx = pool.begin().await.map_err(db)?;
        let row = sqlx::query(&sql("UPDATE requests
                SET status = CASE status WHEN ?1 THEN status ELSE ?2 END, updated_at = ?3
              WHERE id = ?4 AND lease = ?5
          RETURNING status"))
        .bind(Status::PartiallyFulfilled.key())
        .bind(Status::Admitted.key())
        .bind(&now)
        .bind(id)
        .bind(token(lease))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Err(Error::Fenced { request: id.to_string(), lease });
        };
        let status: String = row.try_get(0).map_err(db)?;
        sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, 'deferred', ?3)"))
        .bind(id)
        .bind(&now)
        .bind(with_lease(detail, lease))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(status)
        })
    }

    /// Events of a request, oldest first: (at, event, detail JSON).
    pub async fn events(&self, id: &str) -> Result<Vec<(String, String, String)>> {
        with_db!(self, pool, sql => {
        let rows = sqlx::query(&sql("SELECT at, event, detail FROM request_events WHERE request_id = ?1 ORDER BY seq"))
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(db)?,
                    r.try_get(1).map_err(db)?,
                    r.try_get(2).map_err(db)?,
                ))
            })
            .collect()
        })
    }

    /// How many right-to-know requests sharing an identity with `id` were received in the
    /// 12 months before `received_at` and not denied.
    pub async fn prior_right_to_know(&self, id: &str, received_at: DateTime<Utc>) -> Result<i64> {
        with_db!(self, pool, sql => {
        let since = received_at
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(received_at)
            .to_rfc3339();
        let row = sqlx::query(&sql("SELECT count(DISTINCT r.id) FROM requests r
               JOIN request_identities ri ON ri.request_id = r.id
              WHERE ri.identity_hash IN (SELECT identity_hash FROM request_identities WHERE request_id = ?1)
                AND r.id <> ?1
                AND r.kind IN ('access', 'access_categories')
                AND r.status NOT IN ('denied', 'received')
                AND r.received_at >= ?2 AND r.received_at <= ?3"))
        .bind(id)
        .bind(since)
        .bind(received_at.to_rfc3339())
        .fetch_one(pool)
        .await
        .map_err(db)?;
        row.try_get(0).map_err(db)
        })
    }

    /// Adds identity hashes to the suppression list (opt-out).
    pub async fn suppress(&self, request_id: &str, identity_hashes: &[String]) -> Result<()> {
        with_db!(self, pool, sql => {
        let now = Utc::now().to_rfc3339();
        for h in identity_hashes {
            sqlx::query(&sql("INSERT INTO suppressions (identity_hash, request_id, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"))
                .bind(h)
                .bind(request_id)
                .bind(&now)
                .execute(pool)
                .await
                .map_err(db)?;
        }
        Ok(())
        })
    }

    /// Whether an identity hash is suppressed.
    pub async fn is_suppressed(&self, identity_hash: &str) -> Result<bool> {
        with_db!(self, pool, sql => {
        let row = sqlx::query(&sql("SELECT 1 FROM suppressions WHERE identity_hash = ?1"))
            .bind(identity_hash)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
        Ok(row.is_some())
        })
    }

    /// Records the start of a run.
    pub async fn start_run(&self, run_id: &str, job: &str) -> Result<()> {
        with_db!(self, pool, sql => {
        sqlx::query(&sql("INSERT INTO runs (id, job, started_at) VALUES (?1, ?2, ?3)"))
            .bind(run_id)
            .bind(job)
            .bind(Utc::now().to_rfc3339())
            .execute(pool)
            .await
            .map_err(db)?;
        Ok(())
        })
    }

    /// Records the end of a run with its summary (counts only).
    pub async fn finish_run(&self, run_id: &str, summary: &serde_json::Value) -> Result<()> {
        with_db!(self, pool, sql => {
        sqlx::query(&sql("UPDATE runs SET finished_at = ?1, summary = ?2 WHERE id = ?3"))
            .bind(Utc::now().to_rfc3339())
            .bind(summary.to_string())
            .bind(run_id)
            .execute(pool)
            .await
            .map_err(db)?;
        Ok(())
        })
    }

    /// Number of stored requests (for tests and status).
    pub async fn count(&self) -> Result<i64> {
        with_db!(self, pool, sql => {
        let row = sqlx::query(&sql("SELECT count(*) FROM requests"))
            .fetch_one(pool)
            .await
            .map_err(db)?;
        row.try_get(0).map_err(db)
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite(p) => p.close().await,
            Pools::Postgres(p) => p.close().await,
        }
    }
}

/// A lease token as the control DB stores it (BIGINT).
pub(crate) fn token(lease: u64) -> i64 {
    i64::try_from(lease).unwrap_or(i64::MAX)
}

/// The event detail with the lease it was written under.
fn with_lease(mut detail: serde_json::Value, lease: u64) -> String {
    if let Some(o) = detail.as_object_mut() {
        o.insert("lease".into(), lease.into());
    }
    detail.to_string()
}

pub(crate) fn db(e: sqlx::Error) -> Error {
    // Control-DB errors carry no subject data in their codes; the message is kept short.
    let code = match &e {
        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()).unwrap_or_default(),
        _ => String::new(),
    };
    Error::Control(format!("control DB error {code}").trim().to_string())
}
