//! Leases: how runs and workers take requests from the control DB without stepping on each
//! other.
//!
//! A lease is a batch of requests held by one worker under a **fencing token** until an expiry.
//! Tokens only grow (a PostgreSQL sequence; a counter row in SQLite). Taking a lease writes
//! the new token into each request's `lease` column; every later write for that request —
//! status transitions here, evidence entries (write-once chain positions) and store erasures
//! (the store's fence table) — is checked against it, so a worker that stalled past its expiry
//! and wakes up after another took the request over cannot write. With PostgreSQL, candidates
//! are chosen with `FOR UPDATE SKIP LOCKED`, so workers on many machines never block on each
//! other's rows.
//!
//! Expiry times are Unix milliseconds of the worker's clock: machines sharing a control DB
//! must keep their clocks in sync (NTP) to well within the lease time.

use crate::control::{ControlDb, Pools, db, pg_sql, token, with_db};
use crate::error::Result;
use dsr_core::request::RequestKind;
use sqlx::Row;
use std::time::Duration;

/// Statuses a lease may take: not finished, not waiting for a person.
const OPEN: [&str; 5] = [
    "received",
    "admitted",
    "awaiting_verification",
    "in_progress",
    "partially_fulfilled",
];

/// What to lease.
#[derive(Debug, Clone)]
pub struct LeaseSpec {
    /// Who holds it (recorded; for people and `dsr status`).
    pub worker: String,
    /// Request kinds wanted.
    pub kinds: Vec<RequestKind>,
    /// Only these request ids (all when `None`).
    pub only: Option<Vec<String>>,
    /// At most this many requests.
    pub limit: usize,
    /// How long the lease lasts unless renewed.
    pub ttl: Duration,
    /// Skip requests waiting for a retry time (workers); a scheduled run takes them anyway.
    pub respect_retry_time: bool,
    /// Take requests even while another lease on them is live (after a crash, rather than
    /// wait for its expiry). Safe: the other holder is fenced out; it only wastes its work.
    pub take_over: bool,
}

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The fencing token.
    pub token: u64,
    /// The requests held, oldest first.
    pub ids: Vec<String>,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `?start, ?start+1, …` for `n` values.
fn list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ControlDb {
    /// Takes a lease on up to `spec.limit` open requests that no live lease holds, oldest
    /// first. `None` when there is nothing to take.
    pub async fn acquire(&self, spec: &LeaseSpec) -> Result<Option<Lease>> {
        if spec.limit == 0 || spec.kinds.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let kinds: Vec<&str> = spec.kinds.iter().map(|k| k.key()).collect();
        // ?1 token, ?2 owner, ?3 expiry, ?4 now, ?5 ignore retry time, ?6 limit, ?7 take
        // over, then lists.
        let mut next = 8;
        let statuses = list(next, OPEN.len());
        next += OPEN.len();
        let kind_list = list(next, kinds.len());
        next += kinds.len();
        let only_clause = match &spec.only {
            Some(ids) if !ids.is_empty() => format!(" AND id IN ({})", list(next, ids.len())),
            Some(_) => return Ok(None),
            None => String::new(),
        };
        let skip_locked = match &self.pools {
            Pools::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pools::Sqlite(_) => "",
        };
        let stmt = format!(
            "UPDATE requests SET lease = ?1, lease_owner = ?2, lease_expires_ms = ?3
              WHERE id IN (SELECT id FROM requests
                            WHERE status IN ({statuses})
                              AND kind IN ({kind_list}){only_clause}
                              AND (?7 OR lease_expires_ms IS NULL OR lease_expires_ms < ?4)
                              AND (?5 OR not_before_ms IS NULL OR not_before_ms <= ?4)
                            ORDER BY received_at, id
                            LIMIT ?6{skip_locked})
          RETURNING id, received_at"
        );
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            let tok: i64 = match &self.pools {
                Pools::Postgres(_) => sqlx::query("SELECT nextval('lease_tokens')")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?
                    .try_get(0)
                    .map_err(db)?,
                Pools::Sqlite(_) => sqlx::query(
                    "UPDATE counters SET value = value + 1 WHERE name = 'lease' RETURNING value",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(db)?,
            };
            let text = sql(&stmt);
            let mut q = sqlx::query(&text)
                .bind(tok)
                .bind(&spec.worker)
                .bind(now.saturating_add(ms(spec.ttl)))
                .bind(now)
                .bind(!spec.respect_retry_time)
                .bind(i64::try_from(spec.limit).unwrap_or(i64::MAX))
                .bind(spec.take_over);
            for s in OPEN {
                q = q.bind(s);
            }
            for k in &kinds {
                q = q.bind(*k);
            }
            for id in spec.only.iter().flatten() {
                q = q.bind(id);
            }
            let rows = q.fetch_all(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            let mut held: Vec<(String, String)> = rows
                .iter()
                .map(|r| Ok((r.try_get(1).map_err(db)?, r.try_get(0).map_err(db)?)))
                .collect::<Result<_>>()?;
            if held.is_empty() {
                return Ok(None);
            }
            held.sort();
            Ok(Some(Lease {
                token: u64::try_from(tok).unwrap_or(0),
                ids: held.into_iter().map(|(_, id)| id).collect(),
            }))
        })
    }

    /// Extends the lease `token` by `ttl` from now; returns how many requests it still holds
    /// (fewer than leased means some were taken over or finished).
    pub async fn renew(&self, lease: u64, ttl: Duration) -> Result<u64> {
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql(
                "UPDATE requests SET lease_expires_ms = ?1 WHERE lease = ?2 AND lease_expires_ms IS NOT NULL",
            ))
            .bind(now_ms().saturating_add(ms(ttl)))
            .bind(token(lease))
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(r.rows_affected())
        })
    }

    /// Gives the lease back. Requests it leaves open wait `retry_after` before a worker takes
    /// them again (a failed store is not retried in a tight loop). The token stays recorded,
    /// so the fence keeps refusing the released lease.
    pub async fn release(&self, lease: u64, retry_after: Duration) -> Result<()> {
        with_db!(self, pool, sql => {
            sqlx::query(&sql(
                "UPDATE requests
                    SET not_before_ms = CASE WHEN status IN ('received', 'admitted', 'awaiting_verification', 'in_progress', 'partially_fulfilled') THEN ?1 ELSE NULL END,
                        lease_owner = NULL, lease_expires_ms = NULL
                  WHERE lease = ?2",
            ))
            .bind(now_ms().saturating_add(ms(retry_after)))
            .bind(token(lease))
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(())
        })
    }

    /// Requests still open (received, admitted, awaiting verification, in progress); a worker told to exit when done
    /// stops when this is 0. Partially fulfilled requests wait for their retry and do not count.
    pub async fn open_count(&self) -> Result<i64> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql(
                "SELECT count(*) FROM requests WHERE status IN ('received', 'admitted', 'awaiting_verification', 'in_progress')",
            ))
            .fetch_one(pool)
            .await
            .map_err(db)?;
            row.try_get(0).map_err(db)
        })
    }
}
