//! The control DB's side of the Data Rights Protocol (DRP v1.0): authorized agents' bearer
//! tokens, the DRP record of each request an agent sent, replay refusal, the DRP status of a
//! request (mapped from the lifecycle [`Status`]), revocation, and the status callbacks owed
//! to agents. Migration `0006_drp.sql`.
//!
//! Everything here holds ids, statuses, times, hashes and the agent's callback URL: never
//! subject data. Signature checks and claim parsing are the server's (`dsr-server`).
//!
//! Callbacks are a durable outbox: [`ControlDb::drp_watch`] compares each watched request's
//! current status object with the last one queued and queues a callback when it changed
//! (after a run by any process, a revoke, an extension); [`ControlDb::drp_due_callbacks`]
//! and [`ControlDb::drp_callback_result`] drive delivery with backoff. A restart loses
//! nothing: the queue is in the control DB. Delivery is at least once.

use crate::control::{ControlDb, Pools, Status, db, pg_sql, with_db};
use crate::error::Result;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// DRP request states (DRP 1.0 §3.02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DrpStatus {
    /// Received, not yet taken up by a run.
    Open,
    /// A run works on it, or part of it is done, or a person reviews it.
    InProgress,
    /// Done.
    Fulfilled,
    /// Withdrawn by the agent before processing.
    Revoked,
    /// Refused, with a reason.
    Denied,
    /// Closed without an answer on the merits (not verified in time).
    Expired,
}

impl DrpStatus {
    /// Wire spelling.
    pub fn key(self) -> &'static str {
        match self {
            DrpStatus::Open => "open",
            DrpStatus::InProgress => "in_progress",
            DrpStatus::Fulfilled => "fulfilled",
            DrpStatus::Revoked => "revoked",
            DrpStatus::Denied => "denied",
            DrpStatus::Expired => "expired",
        }
    }

    /// Whether the state is final (no further callback follows).
    pub fn is_final(self) -> bool {
        !matches!(self, DrpStatus::Open | DrpStatus::InProgress)
    }
}

/// The DRP Exercise Status object (DRP 1.0 §3.03).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusObject {
    /// Our request id.
    pub request_id: String,
    /// DRP state.
    pub status: DrpStatus,
    /// DRP reason (denials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When we received the request (RFC 3339).
    pub received_at: String,
    /// Our current deadline, from the regime's clocks (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_by: Option<String>,
    /// A fixed sentence on the state; never subject data.
    pub processing_details: String,
}

/// Maps a lifecycle status (and denial reason, and whether the deadline was extended) to the
/// DRP state, reason and details. `duplicate` is mapped by the caller from its original.
///
/// `received`, `admitted` and `awaiting_verification` are `open` (nothing was done yet; the
/// DRP `in_progress` starts when a run takes the request); `partially_fulfilled` (the failed
/// stores are retried) and `held_for_review` are still `in_progress`. A denial without a
/// stored reason says `other`.
pub fn map_status(
    status: &str,
    denial_reason: Option<&str>,
    extended: bool,
) -> (DrpStatus, Option<String>, &'static str) {
    let s = Status::parse(status);
    let (drp, details) = match s {
        Some(Status::Received | Status::Admitted) => (
            DrpStatus::Open,
            "received; waiting for processing within the legal deadline",
        ),
        Some(Status::AwaitingVerification) => (
            DrpStatus::Open,
            "received; the identity claims are matched against our records when processed",
        ),
        Some(Status::InProgress) => (DrpStatus::InProgress, "being processed"),
        Some(Status::PartiallyFulfilled) => (
            DrpStatus::InProgress,
            "partly done; the remaining systems are retried",
        ),
        Some(Status::HeldForReview) => (
            DrpStatus::InProgress,
            "held for review by the privacy team before anything is changed",
        ),
        Some(Status::Fulfilled) => (
            DrpStatus::Fulfilled,
            "done; any report is delivered to the consumer directly",
        ),
        Some(Status::Denied) => (DrpStatus::Denied, "denied; see reason"),
        Some(Status::Expired) => (
            DrpStatus::Expired,
            "closed: the consumer's identity could not be verified in time",
        ),
        Some(Status::Revoked) => (DrpStatus::Revoked, "revoked by the authorized agent"),
        Some(Status::Duplicate) | None => (DrpStatus::InProgress, "being processed"),
    };
    let reason = (drp == DrpStatus::Denied).then(|| denial_reason.unwrap_or("other").to_string());
    let details = if extended && !drp.is_final() {
        "the deadline was extended as the law allows; processing continues"
    } else {
        details
    };
    (drp, reason, details)
}

/// A new DRP record.
#[derive(Debug, Clone)]
pub struct NewDrp<'a> {
    /// Our request id (also the `requests` id when `submitted`).
    pub id: &'a str,
    /// The agent (from its bearer token).
    pub agent: &'a str,
    /// The agent's own id of the request, when given.
    pub agent_request_id: Option<&'a str>,
    /// The DRP `exercise`.
    pub exercise: &'a str,
    /// The DRP `regime`.
    pub regime: Option<&'a str>,
    /// Whether a request entered the pipeline under `id`.
    pub submitted: bool,
    /// For a request answered at intake: its denial reason.
    pub denied: Option<&'a str>,
    /// Where to send status callbacks.
    pub status_callback: Option<&'a str>,
    /// When we received it.
    pub received_at: DateTime<Utc>,
}

/// What a revoke did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// Revoked now.
    Revoked,
    /// Already revoked (idempotent).
    AlreadyRevoked,
    /// Too late: the request is in this DRP state.
    TooLate(DrpStatus),
}

/// A callback due for delivery.
#[derive(Debug, Clone)]
pub struct DueCallback {
    /// Queue position.
    pub seq: i64,
    /// DRP request id.
    pub drp_id: String,
    /// Agent's callback URL.
    pub url: String,
    /// The status object, as JSON text.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Attempts before a callback is given up (`failed`); about 5 hours with the backoff.
pub const MAX_CALLBACK_ATTEMPTS: i64 = 10;

/// Wait before the next attempt after `attempts` failed ones: 1 s doubling, at most an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 13) - 1).unwrap_or(12);
    (1000_i64 << exp).min(3_600_000)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stored key of a status object for change detection (everything but the request id).
fn state_key(o: &StatusObject) -> String {
    format!(
        "{}|{}|{}|{}",
        o.status.key(),
        o.reason.as_deref().unwrap_or(""),
        o.expected_by.as_deref().unwrap_or(""),
        o.processing_details
    )
}

const DRP_COLUMNS: &str = "d.id, d.agent, d.submitted, d.status, d.reason, d.received_at, \
    d.status_callback, d.notified, r.status, r.denial_reason, r.due_at, r.extended_at";

/// One joined row of `drp_requests` and `requests`.
struct DrpRow {
    id: String,
    agent: String,
    submitted: bool,
    status: String,
    reason: Option<String>,
    received_at: String,
    callback: Option<String>,
    notified: String,
    req_status: Option<String>,
    req_reason: Option<String>,
    due_at: Option<String>,
    extended_at: Option<String>,
}

fn drp_row<R: Row>(r: &R) -> Result<DrpRow>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(DrpRow {
        id: r.try_get(0).map_err(db)?,
        agent: r.try_get(1).map_err(db)?,
        submitted: r.try_get::<i64, _>(2).map_err(db)? != 0,
        status: r.try_get(3).map_err(db)?,
        reason: r.try_get(4).map_err(db)?,
        received_at: r.try_get(5).map_err(db)?,
        callback: r.try_get(6).map_err(db)?,
        notified: r.try_get(7).map_err(db)?,
        req_status: r.try_get(8).map_err(db)?,
        req_reason: r.try_get(9).map_err(db)?,
        due_at: r.try_get(10).map_err(db)?,
        extended_at: r.try_get(11).map_err(db)?,
    })
}

impl ControlDb {
    /// Pairwise setup: a new bearer token for `agent`, shown once (only its SHA-256 is kept).
    /// The agent's earlier tokens are revoked: one live token per agent.
    pub async fn drp_create_token(&self, agent: &str) -> Result<String> {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let token = format!("drp_{}", hex_of(&secret));
        let now = Utc::now().to_rfc3339();
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query(&sql("UPDATE drp_agent_tokens SET revoked_at = ?1 WHERE agent = ?2 AND revoked_at IS NULL"))
                .bind(&now).bind(agent).execute(&mut *tx).await.map_err(db)?;
            sqlx::query(&sql("INSERT INTO drp_agent_tokens (token_hash, agent, created_at) VALUES (?1, ?2, ?3)"))
                .bind(sha256_hex(token.as_bytes())).bind(agent).bind(&now)
                .execute(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
        });
        Ok(token)
    }

    /// The agent of a live DRP bearer token.
    pub async fn drp_token_agent(&self, token: &str) -> Result<Option<String>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT agent FROM drp_agent_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"))
                .bind(sha256_hex(token.as_bytes()))
                .fetch_optional(pool).await.map_err(db)?;
            row.map(|r| r.try_get(0).map_err(db)).transpose()
        })
    }

    /// Claims a signature (its SHA-256 is kept until `expires_ms`, Unix ms): `false` when it
    /// was already seen, i.e. a replay. Signatures past their expiry are dropped first.
    pub async fn drp_claim_signature(
        &self,
        signature: &[u8],
        agent: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let hash = sha256_hex(signature);
        with_db!(self, pool, sql => {
            sqlx::query(&sql("DELETE FROM drp_seen WHERE expires_ms < ?1"))
                .bind(now_ms).execute(pool).await.map_err(db)?;
            let n = sqlx::query(&sql("INSERT INTO drp_seen (signature_hash, agent, expires_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"))
                .bind(&hash).bind(agent).bind(expires_ms)
                .execute(pool).await.map_err(db)?.rows_affected();
            Ok(n == 1)
        })
    }

    /// Forgets a claimed signature (the request it came with was refused after the claim).
    pub async fn drp_release_signature(&self, signature: &[u8]) -> Result<()> {
        let hash = sha256_hex(signature);
        with_db!(self, pool, sql => {
            sqlx::query(&sql("DELETE FROM drp_seen WHERE signature_hash = ?1"))
                .bind(&hash).execute(pool).await.map_err(db)?;
            Ok(())
        })
    }

    /// The request id an agent's `agent-request-id` was already given, if any.
    pub async fn drp_by_agent_request_id(
        &self,
        agent: &str,
        agent_request_id: &str,
    ) -> Result<Option<String>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT id FROM drp_requests WHERE agent = ?1 AND agent_request_id = ?2"))
                .bind(agent).bind(agent_request_id)
                .fetch_optional(pool).await.map_err(db)?;
            row.map(|r| r.try_get(0).map_err(db)).transpose()
        })
    }

    /// Records a DRP request. Its current status counts as already notified (the agent got it
    /// in the response); a request answered at intake is final and not watched.
    pub async fn drp_insert(&self, n: &NewDrp<'_>) -> Result<()> {
        let status = if n.submitted {
            "submitted"
        } else {
            DrpStatus::Denied.key()
        };
        let now = Utc::now();
        with_db!(self, pool, sql => {
            sqlx::query(&sql("INSERT INTO drp_requests (id, agent, agent_request_id, exercise, regime, submitted, status, reason,
                    status_callback, received_at, final_notified, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"))
                .bind(n.id).bind(n.agent).bind(n.agent_request_id).bind(n.exercise).bind(n.regime)
                .bind(i64::from(n.submitted)).bind(status).bind(n.denied).bind(n.status_callback)
                .bind(n.received_at.to_rfc3339()).bind(i64::from(!n.submitted)).bind(now.to_rfc3339())
                .execute(pool).await.map_err(db)?;
        });
        if n.submitted
            && let Some(o) = self.drp_status(n.id, n.agent).await?
        {
            with_db!(self, pool, sql => {
                sqlx::query(&sql("UPDATE drp_requests SET notified = ?1 WHERE id = ?2"))
                    .bind(state_key(&o)).bind(n.id).execute(pool).await.map_err(db)?;
            });
        }
        Ok(())
    }

    async fn drp_row(&self, id: &str) -> Result<Option<DrpRow>> {
        with_db!(self, pool, sql => {
            let q = format!("SELECT {DRP_COLUMNS} FROM drp_requests d LEFT JOIN requests r ON r.id = d.id WHERE d.id = ?1");
            let row = sqlx::query(&sql(&q)).bind(id).fetch_optional(pool).await.map_err(db)?;
            row.map(|r| drp_row(&r)).transpose()
        })
    }

    /// The status object of an agent's request; `None` when there is no such request *or* it
    /// belongs to another agent (the caller answers both alike, so nothing leaks).
    pub async fn drp_status(&self, id: &str, agent: &str) -> Result<Option<StatusObject>> {
        let Some(row) = self.drp_row(id).await? else {
            return Ok(None);
        };
        if row.agent != agent {
            return Ok(None);
        }
        self.status_object(&row).await.map(Some)
    }

    async fn status_object(&self, row: &DrpRow) -> Result<StatusObject> {
        let (status, reason, details, expected_by) = match (&row.req_status, row.submitted) {
            (Some(s), true) => {
                let (mut st, mut rs) = (s.clone(), row.req_reason.clone());
                let mut dup = false;
                if st == Status::Duplicate.key()
                    && let Some(orig) = self.duplicate_of(&row.id).await?
                    && let Some(o) = self.get(&orig).await?
                {
                    (st, rs, dup) = (o.status, o.denial_reason, true);
                }
                let (d, r, details) = map_status(&st, rs.as_deref(), row.extended_at.is_some());
                let details = if dup {
                    "repeats an earlier request for the same consumer; answered with its outcome"
                } else {
                    details
                };
                (d, r, details, row.due_at.clone())
            }
            // Answered at intake, or the pipeline's record was purged: the DRP record stands.
            _ => {
                let st = if row.status == DrpStatus::Denied.key() {
                    DrpStatus::Denied
                } else {
                    DrpStatus::Expired
                };
                let reason = (st == DrpStatus::Denied)
                    .then(|| row.reason.clone().unwrap_or_else(|| "other".into()));
                (st, reason, intake_details(row.reason.as_deref()), None)
            }
        };
        Ok(StatusObject {
            request_id: row.id.clone(),
            status,
            reason,
            received_at: row.received_at.clone(),
            expected_by: if status.is_final() { None } else { expected_by },
            processing_details: details.to_string(),
        })
    }

    /// Revokes an agent's request if no run has taken it yet (`received`, `admitted`,
    /// `awaiting_verification` and no live lease). `None`: no such request for this agent.
    pub async fn drp_revoke(&self, id: &str, agent: &str, now_ms: i64) -> Result<Option<Revoke>> {
        let Some(row) = self.drp_row(id).await? else {
            return Ok(None);
        };
        if row.agent != agent {
            return Ok(None);
        }
        if !row.submitted {
            return Ok(Some(Revoke::TooLate(
                self.status_object(&row).await?.status,
            )));
        }
        let detail = serde_json::json!({"by": "drp_agent", "agent": agent});
        let changed = self.revoke_unstarted(id, detail, now_ms).await?;
        if changed {
            return Ok(Some(Revoke::Revoked));
        }
        let row = self.drp_row(id).await?;
        let status = match &row {
            Some(r) => self.status_object(r).await?.status,
            None => DrpStatus::Expired,
        };
        Ok(Some(if status == DrpStatus::Revoked {
            Revoke::AlreadyRevoked
        } else {
            Revoke::TooLate(status)
        }))
    }

    /// Queues a callback for every watched request whose status object changed since the last
    /// one queued; an older pending callback of the same request is superseded. Returns how
    /// many were queued.
    pub async fn drp_watch(&self, now_ms: i64) -> Result<usize> {
        let rows = with_db!(self, pool, sql => {
            let q = format!("SELECT {DRP_COLUMNS} FROM drp_requests d LEFT JOIN requests r ON r.id = d.id
                 WHERE d.final_notified = 0 AND d.status_callback IS NOT NULL ORDER BY d.created_at");
            let rows = sqlx::query(&sql(&q)).fetch_all(pool).await.map_err(db)?;
            rows.iter().map(drp_row).collect::<Result<Vec<_>>>()?
        });
        let mut queued = 0;
        for row in rows {
            let o = self.status_object(&row).await?;
            let key = state_key(&o);
            let Some(url) = row.callback.as_deref() else {
                continue;
            };
            if key == row.notified {
                continue;
            }
            let payload = serde_json::to_string(&o)
                .map_err(|e| crate::Error::Control(format!("status object: {e}")))?;
            let now = Utc::now().to_rfc3339();
            let moved = with_db!(self, pool, sql => {
                let mut tx = pool.begin().await.map_err(db)?;
                let n = sqlx::query(&sql("UPDATE drp_requests SET notified = ?1, final_notified = ?2 WHERE id = ?3 AND notified = ?4"))
                    .bind(&key).bind(i64::from(o.status.is_final())).bind(&row.id).bind(&row.notified)
                    .execute(&mut *tx).await.map_err(db)?.rows_affected();
                if n == 1 {
                    sqlx::query(&sql("UPDATE drp_callbacks SET state = 'superseded' WHERE drp_id = ?1 AND state = 'pending'"))
                        .bind(&row.id).execute(&mut *tx).await.map_err(db)?;
                    sqlx::query(&sql("INSERT INTO drp_callbacks (drp_id, url, payload, state, attempts, next_ms, created_at)
                         VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5)"))
                        .bind(&row.id).bind(url).bind(&payload).bind(now_ms).bind(&now)
                        .execute(&mut *tx).await.map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                n == 1
            });
            if moved {
                tracing::info!(drp_request = %row.id, status = o.status.key(), "status callback queued");
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Pending callbacks due at `now_ms`, oldest first, each claimed for `claim_ms` (another
    /// server skips it meanwhile).
    pub async fn drp_due_callbacks(
        &self,
        now_ms: i64,
        claim_ms: i64,
        limit: i64,
    ) -> Result<Vec<DueCallback>> {
        let due = with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT seq, drp_id, url, payload, attempts, next_ms FROM drp_callbacks
                 WHERE state = 'pending' AND next_ms <= ?1 ORDER BY seq LIMIT ?2"))
                .bind(now_ms).bind(limit).fetch_all(pool).await.map_err(db)?;
            let mut out = Vec::new();
            for r in rows {
                let seq: i64 = r.try_get(0).map_err(db)?;
                let next: i64 = r.try_get(5).map_err(db)?;
                let n = sqlx::query(&sql("UPDATE drp_callbacks SET next_ms = ?1 WHERE seq = ?2 AND next_ms = ?3 AND state = 'pending'"))
                    .bind(now_ms + claim_ms).bind(seq).bind(next)
                    .execute(pool).await.map_err(db)?.rows_affected();
                if n == 1 {
                    out.push(DueCallback {
                        seq,
                        drp_id: r.try_get(1).map_err(db)?,
                        url: r.try_get(2).map_err(db)?,
                        payload: r.try_get(3).map_err(db)?,
                        attempts: r.try_get(4).map_err(db)?,
                    });
                }
            }
            out
        });
        Ok(due)
    }

    /// Records a delivery attempt: `Ok` delivered; `Err(what)` (a short, value-free summary
    /// such as `http 500`) retried after [`backoff_ms`], or `failed` after
    /// [`MAX_CALLBACK_ATTEMPTS`].
    pub async fn drp_callback_result(
        &self,
        cb: &DueCallback,
        outcome: std::result::Result<(), String>,
        now_ms: i64,
    ) -> Result<()> {
        let attempts = cb.attempts + 1;
        let now = Utc::now().to_rfc3339();
        with_db!(self, pool, sql => {
            match &outcome {
                Ok(()) => {
                    sqlx::query(&sql("UPDATE drp_callbacks SET state = 'delivered', attempts = ?1, delivered_at = ?2 WHERE seq = ?3"))
                        .bind(attempts).bind(&now).bind(cb.seq).execute(pool).await.map_err(db)?;
                }
                Err(why) => {
                    let state = if attempts >= MAX_CALLBACK_ATTEMPTS { "failed" } else { "pending" };
                    sqlx::query(&sql("UPDATE drp_callbacks SET state = CASE WHEN state = 'pending' THEN ?1 ELSE state END,
                            attempts = ?2, last_error = ?3, next_ms = ?4 WHERE seq = ?5"))
                        .bind(state).bind(attempts).bind(why).bind(now_ms + backoff_ms(attempts)).bind(cb.seq)
                        .execute(pool).await.map_err(db)?;
                }
            }
        });
        Ok(())
    }

    /// Callbacks of a DRP request, oldest first: (state, attempts, payload). For status and
    /// tests.
    pub async fn drp_callbacks(&self, drp_id: &str) -> Result<Vec<(String, i64, String)>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT state, attempts, payload FROM drp_callbacks WHERE drp_id = ?1 ORDER BY seq"))
                .bind(drp_id).fetch_all(pool).await.map_err(db)?;
            rows.iter()
                .map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?, r.try_get(2).map_err(db)?)))
                .collect()
        })
    }
}

/// Details of a request answered at intake, by reason.
fn intake_details(reason: Option<&str>) -> &'static str {
    match reason {
        Some("claim_not_covered") => {
            "this right is not offered under the protocol by this business"
        }
        Some("outside_jurisdiction") => "only requests under the CCPA regime are handled",
        Some("insuf_verification") => {
            "no verified identity claim (email_verified, phone_number_verified) to match"
        }
        Some("no_match") => "no identity claim (email, phone_number) to look the consumer up by",
        _ => "denied at intake",
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_maps_to_drp_states() {
        let m = |s: &str, r: Option<&str>| {
            let (d, reason, _) = map_status(s, r, false);
            (d, reason)
        };
        assert_eq!(m("received", None), (DrpStatus::Open, None));
        assert_eq!(m("admitted", None), (DrpStatus::Open, None));
        assert_eq!(m("awaiting_verification", None), (DrpStatus::Open, None));
        assert_eq!(m("in_progress", None), (DrpStatus::InProgress, None));
        assert_eq!(
            m("partially_fulfilled", None),
            (DrpStatus::InProgress, None)
        );
        assert_eq!(m("held_for_review", None), (DrpStatus::InProgress, None));
        assert_eq!(m("fulfilled", None), (DrpStatus::Fulfilled, None));
        assert_eq!(m("expired", None), (DrpStatus::Expired, None));
        assert_eq!(m("revoked", None), (DrpStatus::Revoked, None));
        assert_eq!(
            m("denied", Some("insuf_verification")),
            (DrpStatus::Denied, Some("insuf_verification".into()))
        );
        assert_eq!(m("denied", None), (DrpStatus::Denied, Some("other".into())));
        // Every lifecycle status maps, and only open/in_progress are not final.
        for s in Status::ALL {
            let (d, _, details) = map_status(s.key(), None, false);
            assert!(!details.is_empty());
            let open = matches!(d, DrpStatus::Open | DrpStatus::InProgress);
            assert_eq!(open, !d.is_final(), "{s:?}");
        }
        let (_, _, details) = map_status("admitted", None, true);
        assert!(details.contains("extended"));
        let (_, _, details) = map_status("fulfilled", None, true);
        assert!(!details.contains("extended"));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(40), 3_600_000);
    }
}
