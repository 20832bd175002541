//! The control DB's side of the portal API: bearer tokens (stored as SHA-256 only), the legal
//! clocks of each request (receipt confirmation, extension), listing with due dates, the
//! 11 CCR §7102 metrics, and the on-demand runs the API starts.
//!
//! Everything here holds request ids, kinds, statuses, times and counts: no subject data.

use crate::control::{ControlDb, Pools, Status, db, pg_sql, with_db};
use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, Utc};
use dsr_core::jurisdiction::{Deadlines, regime_for, rules};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Submit requests and read them (the privacy portal).
    Portal,
    /// Everything `portal` may, and start runs and extend deadlines (privacy operations).
    Admin,
}

impl Scope {
    /// Stored and CLI spelling.
    pub fn key(self) -> &'static str {
        match self {
            Scope::Portal => "portal",
            Scope::Admin => "admin",
        }
    }

    /// Parses the stored and CLI spelling.
    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Portal, Scope::Admin]
            .into_iter()
            .find(|x| x.key() == s)
    }

    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Admin || needed == Scope::Portal
    }
}

/// A newly created token: shown once, only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Token id (for listing and revoking; not a secret).
    pub id: String,
    /// The bearer token itself.
    pub token: String,
}

/// The SHA-256 of a bearer token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request as the portal sees it: state, clocks and answer.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// Request id.
    pub id: String,
    /// Request kind.
    pub kind: String,
    /// Jurisdiction code.
    pub jurisdiction: String,
    /// Lifecycle status.
    pub status: String,
    /// Data Rights Protocol denial reason, when denied.
    pub denial_reason: Option<String>,
    /// When the business received the request.
    pub received_at: String,
    /// Receipt must be confirmed by then (CCPA).
    pub confirm_by: Option<String>,
    /// When the portal reported the receipt confirmed.
    pub receipt_confirmed_at: Option<String>,
    /// The first deadline.
    pub respond_by: Option<String>,
    /// The current deadline (the first, or the extended one).
    pub due_at: Option<String>,
    /// The latest deadline the one extension allows.
    pub extendable_to: Option<String>,
    /// When the deadline was extended.
    pub extended_at: Option<String>,
    /// The Client that forwarded the request.
    pub client: Option<String>,
    /// When the requester was first answered.
    pub closed_at: Option<String>,
    /// Where the report was delivered, once fulfilled.
    pub report: Option<String>,
    /// Whole days left to the current deadline at the time of the query (negative: overdue);
    /// `None` once answered or without a deadline.
    pub days_left: Option<i64>,
}

const VIEW_COLUMNS: &str = "id, kind, jurisdiction, status, denial_reason, received_at, confirm_by, \
    receipt_confirmed_at, respond_by, due_at, extendable_to, extended_at, client, closed_at, report";

fn view_of<R: Row>(r: &R, now: DateTime<Utc>) -> Result<RequestView>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |i: usize| r.try_get::<String, _>(i).map_err(db);
    let o = |i: usize| r.try_get::<Option<String>, _>(i).map_err(db);
    let closed_at = o(13)?;
    let due_at = o(9)?;
    let days_left = match (&closed_at, due_at.as_deref()) {
        (None, Some(d)) => DateTime::parse_from_rfc3339(d)
            .ok()
            .map(|d| (d.to_utc() - now).num_seconds().div_euclid(86_400)),
        _ => None,
    };
    Ok(RequestView {
        id: s(0)?,
        kind: s(1)?,
        jurisdiction: s(2)?,
        status: s(3)?,
        denial_reason: o(4)?,
        received_at: s(5)?,
        confirm_by: o(6)?,
        receipt_confirmed_at: o(7)?,
        respond_by: o(8)?,
        due_at,
        extendable_to: o(10)?,
        extended_at: o(11)?,
        client: o(12)?,
        closed_at,
        report: o(14)?,
        days_left,
    })
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only open requests past their deadline or their receipt confirmation.
    pub overdue: bool,
    /// At most this many, oldest first.
    pub limit: usize,
}

/// One request kind's figures for a calendar year (11 CCR §7102(a)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindMetrics {
    /// Request kind.
    pub kind: String,
    /// Requests received in the year.
    pub received: u64,
    /// Complied with in whole or in part.
    pub complied_in_whole_or_part: u64,
    /// Denied.
    pub denied: u64,
    /// Median days from receipt to the answer (answered requests), `None` when none.
    pub median_days_to_respond: Option<f64>,
    /// Mean days from receipt to the answer.
    pub mean_days_to_respond: Option<f64>,
}

/// A change to an on-demand run's record.
#[derive(Debug, Clone, Copy)]
pub struct PortalRunUpdate<'a> {
    /// `running`, `finished` or `failed`.
    pub status: &'a str,
    /// Requests the run took.
    pub total: i64,
    /// Steps done.
    pub done: i64,
    /// The engine's run id, once known.
    pub engine_run: Option<&'a str>,
    /// Per request id, the status the run left it in.
    pub summary: Option<&'a serde_json::Value>,
    /// Why it failed (no subject data).
    pub error: Option<&'a str>,
}

/// An on-demand run started over the API.
#[derive(Debug, Clone, Serialize)]
pub struct PortalRun {
    /// Run id given to the caller.
    pub id: String,
    /// `queued`, `running`, `finished`, `failed`.
    pub status: String,
    /// The request ids asked for (`None`: every admitted request).
    pub requests: Option<Vec<String>>,
    /// Requests the run took.
    pub total: i64,
    /// Steps done so far.
    pub done: i64,
    /// The engine's run id (names the evidence run summary).
    pub engine_run: Option<String>,
    /// Per request id, the status the run left it in.
    pub summary: Option<serde_json::Value>,
    /// Why the run failed (no subject data).
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
}

/// Days between two RFC 3339 times, as a fraction.
fn days_between(from: &str, to: &str) -> Option<f64> {
    let a = DateTime::parse_from_rfc3339(from).ok()?;
    let b = DateTime::parse_from_rfc3339(to).ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some((b - a).num_seconds() as f64 / 86_400.0)
}

/// Median and mean of `xs`, rounded to a tenth of a day.
fn median_mean(mut xs: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    #[allow(clippy::cast_precision_loss)]
    let mean = xs.iter().sum::<f64>() / n as f64;
    let r = |x: f64| (x * 10.0).round() / 10.0;
    (Some(r(median)), Some(r(mean)))
}

impl ControlDb {
    /// Creates a token of `scope`; returns it once. Only its SHA-256 is stored.
    pub async fn create_token(&self, scope: Scope, label: &str) -> Result<NewToken> {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let mut idb = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut idb);
        let token = format!("dsr_{}", hex(&secret));
        let id = format!("tok_{}", hex(&idb));
        with_db!(self, pool, sql => {
            sqlx::query(&sql("INSERT INTO api_tokens (id, token_hash, scope, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"))
                .bind(&id)
                .bind(token_hash(&token))
                .bind(scope.key())
                .bind(label)
                .bind(Utc::now().to_rfc3339())
                .execute(pool)
                .await
                .map_err(db)?;
        });
        Ok(NewToken { id, token })
    }

    /// The id and scope of a live (not revoked) token, `None` for an unknown one.
    pub async fn token_scope(&self, token: &str) -> Result<Option<(String, Scope)>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT id, scope FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"))
                .bind(token_hash(token))
                .fetch_optional(pool)
                .await
                .map_err(db)?;
            let Some(r) = row else { return Ok(None) };
            let id: String = r.try_get(0).map_err(db)?;
            let scope: String = r.try_get(1).map_err(db)?;
            Ok(Scope::parse(&scope).map(|s| (id, s)))
        })
    }

    /// Revokes a token by id; `false` when there is no live token with that id.
    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        with_db!(self, pool, sql => {
            let n = sqlx::query(&sql("UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL"))
                .bind(Utc::now().to_rfc3339())
                .bind(id)
                .execute(pool)
                .await
                .map_err(db)?
                .rows_affected();
            Ok(n > 0)
        })
    }

    /// One request as the portal sees it.
    pub async fn view(&self, id: &str, now: DateTime<Utc>) -> Result<Option<RequestView>> {
        with_db!(self, pool, sql => {
            let q = format!("SELECT {VIEW_COLUMNS} FROM requests WHERE id = ?1");
            let row = sqlx::query(&sql(&q)).bind(id).fetch_optional(pool).await.map_err(db)?;
            row.map(|r| view_of(&r, now)).transpose()
        })
    }

    /// Requests by `filter`, oldest first.
    pub async fn list(&self, filter: &ListFilter, now: DateTime<Utc>) -> Result<Vec<RequestView>> {
        let limit = i64::try_from(filter.limit.clamp(1, 10_000)).unwrap_or(10_000);
        let mut out = with_db!(self, pool, sql => {
            let q = format!(
                "SELECT {VIEW_COLUMNS} FROM requests WHERE (?1 IS NULL OR status = ?1) \
                 ORDER BY received_at, id"
            );
            let rows = sqlx::query(&sql(&q))
                .bind(filter.status.map(Status::key))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.iter().map(|r| view_of(r, now)).collect::<Result<Vec<_>>>()?
        });
        if filter.overdue {
            // One definition of "overdue" for the API, `dsr status --overdue` and the
            // scheduled report: a deadline of `ControlDb::deadlines` already past.
            let past: std::collections::BTreeSet<String> = self
                .deadlines(now, 0)
                .await?
                .into_iter()
                .filter(|d| d.due_at < now)
                .map(|d| d.id)
                .collect();
            out.retain(|v| past.contains(&v.id));
        }
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Records that the requester was sent the receipt confirmation (idempotent).
    pub async fn confirm_receipt(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            let n = sqlx::query(&sql("UPDATE requests SET receipt_confirmed_at = ?1, updated_at = ?1 WHERE id = ?2 AND receipt_confirmed_at IS NULL"))
                .bind(now.to_rfc3339())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if n > 0 {
                sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, 'receipt_confirmed', '{}')"))
                    .bind(id)
                    .bind(now.to_rfc3339())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(n > 0)
        })
    }

    /// Extends a request's deadline once, by its regime's extension, with `reason` (recorded
    /// in the event history; it is sent to the requester). Refused with [`Error::Refused`]
    /// when the regime allows no extension for it, it was already extended, it is answered,
    /// the first deadline has passed, or the reason is empty.
    pub async fn extend(&self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<RequestView> {
        let Some(v) = self.view(id, now).await? else {
            return Err(Error::NotFound(format!("no request with id {id}")));
        };
        if v.extended_at.is_some() {
            return Err(Error::Refused(
                "the deadline was already extended once".into(),
            ));
        }
        if v.closed_at.is_some() {
            return Err(Error::Refused("the request is already answered".into()));
        }
        let (Some(regime), Some(respond_by)) =
            (regime_for(&v.jurisdiction), v.respond_by.as_deref())
        else {
            return Err(Error::Refused(
                "this request has no legal deadline to extend".into(),
            ));
        };
        let time = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.to_utc()).ok();
        let deadlines = Deadlines {
            confirm_by: v.confirm_by.as_deref().and_then(time),
            respond_by: time(respond_by).unwrap_or(now),
            extendable_to: v.extendable_to.as_deref().and_then(time),
        };
        let to = rules(regime)
            .extend(&deadlines, now, reason)
            .map_err(|m| Error::Refused(m.into()))?;
        let detail = serde_json::json!({"reason": reason, "due_at": to.to_rfc3339()}).to_string();
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            let n = sqlx::query(&sql("UPDATE requests SET due_at = ?1, extended_at = ?2, updated_at = ?2 WHERE id = ?3 AND extended_at IS NULL"))
                .bind(to.to_rfc3339())
                .bind(now.to_rfc3339())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if n == 0 {
                return Err(Error::Refused("the deadline was already extended once".into()));
            }
            sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, 'extended', ?3)"))
                .bind(id)
                .bind(now.to_rfc3339())
                .bind(&detail)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
        });
        self.view(id, now)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no request with id {id}")))
    }

    /// Records where a request's report was delivered.
    pub async fn set_report(&self, id: &str, location: &str) -> Result<()> {
        with_db!(self, pool, sql => {
            sqlx::query(&sql("UPDATE requests SET report = ?1 WHERE id = ?2"))
                .bind(location)
                .bind(id)
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    /// The 11 CCR §7102 figures of requests received in calendar `year` (UTC), per kind.
    pub async fn metrics(&self, year: i32) -> Result<Vec<KindMetrics>> {
        let from = format!("{year:04}-01-01T00:00:00");
        let to = format!("{:04}-01-01T00:00:00", year + 1);
        let rows: Vec<(String, String, String, Option<String>)> = with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT kind, status, received_at, closed_at FROM requests WHERE received_at >= ?1 AND received_at < ?2"))
                .bind(&from)
                .bind(&to)
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.iter()
                .map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?, r.try_get(2).map_err(db)?, r.try_get(3).map_err(db)?)))
                .collect::<Result<Vec<_>>>()?
        });
        let mut out = Vec::new();
        for kind in dsr_core::request::RequestKind::ALL.map(|k| k.key()) {
            let mine: Vec<_> = rows
                .iter()
                .filter(|r| r.0 == kind && received_in(&r.2, year))
                .collect();
            let count = |f: &dyn Fn(&str) -> bool| mine.iter().filter(|r| f(&r.1)).count() as u64;
            let days: Vec<f64> = mine
                .iter()
                .filter_map(|r| days_between(&r.2, r.3.as_deref()?))
                .collect();
            let (median, mean) = median_mean(days);
            out.push(KindMetrics {
                kind: kind.to_string(),
                received: mine.len() as u64,
                complied_in_whole_or_part: count(&|s| {
                    s == Status::Fulfilled.key() || s == Status::PartiallyFulfilled.key()
                }),
                denied: count(&|s| s == Status::Denied.key()),
                median_days_to_respond: median,
                mean_days_to_respond: mean,
            });
        }
        Ok(out)
    }

    /// Records an on-demand run asked for over the API.
    pub async fn create_portal_run(&self, id: &str, only: Option<&[String]>) -> Result<()> {
        let only = only.map(|o| serde_json::to_string(o).unwrap_or_default());
        with_db!(self, pool, sql => {
            sqlx::query(&sql("INSERT INTO portal_runs (id, only_ids, status, created_at) VALUES (?1, ?2, 'queued', ?3)"))
                .bind(id)
                .bind(only)
                .bind(Utc::now().to_rfc3339())
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    /// Updates an on-demand run's progress; a `finished`/`failed` status also stamps its end.
    pub async fn update_portal_run(&self, id: &str, u: &PortalRunUpdate<'_>) -> Result<()> {
        let PortalRunUpdate {
            status,
            total,
            done,
            engine_run,
            summary,
            error,
        } = *u;
        let ended = matches!(status, "finished" | "failed").then(|| Utc::now().to_rfc3339());
        with_db!(self, pool, sql => {
            sqlx::query(&sql("UPDATE portal_runs SET status = ?1, total = ?2, done = ?3,
                    engine_run = COALESCE(?4, engine_run), summary = COALESCE(?5, summary),
                    error = COALESCE(?6, error), finished_at = COALESCE(?7, finished_at) WHERE id = ?8"))
                .bind(status)
                .bind(total)
                .bind(done)
                .bind(engine_run)
                .bind(summary.map(|s| s.to_string()))
                .bind(error)
                .bind(ended)
                .bind(id)
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    /// One on-demand run.
    pub async fn portal_run(&self, id: &str) -> Result<Option<PortalRun>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT id, status, only_ids, total, done, engine_run, summary, error, created_at, finished_at FROM portal_runs WHERE id = ?1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(db)?;
            let Some(r) = row else { return Ok(None) };
            let only: Option<String> = r.try_get(2).map_err(db)?;
            let summary: Option<String> = r.try_get(6).map_err(db)?;
            Ok(Some(PortalRun {
                id: r.try_get(0).map_err(db)?,
                status: r.try_get(1).map_err(db)?,
                requests: only.and_then(|o| serde_json::from_str(&o).ok()),
                total: r.try_get(3).map_err(db)?,
                done: r.try_get(4).map_err(db)?,
                engine_run: r.try_get(5).map_err(db)?,
                summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                error: r.try_get(7).map_err(db)?,
                created_at: r.try_get(8).map_err(db)?,
                finished_at: r.try_get(9).map_err(db)?,
            }))
        })
    }
}

/// Whether an RFC 3339 time falls in calendar `year` (UTC).
fn received_in(t: &str, year: i32) -> bool {
    DateTime::parse_from_rfc3339(t).is_ok_and(|t| t.to_utc().year() == year)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mean() {
        assert_eq!(median_mean(vec![]), (None, None));
        assert_eq!(median_mean(vec![3.0, 1.0, 2.0]), (Some(2.0), Some(2.0)));
        assert_eq!(
            median_mean(vec![1.0, 2.0, 3.0, 10.0]),
            (Some(2.5), Some(4.0))
        );
    }

    #[test]
    fn scopes() {
        assert!(Scope::Admin.allows(Scope::Portal));
        assert!(Scope::Admin.allows(Scope::Admin));
        assert!(Scope::Portal.allows(Scope::Portal));
        assert!(!Scope::Portal.allows(Scope::Admin));
        assert_eq!(Scope::parse("admin"), Some(Scope::Admin));
        assert_eq!(token_hash("x").len(), 64);
    }
}
