//! Duplicates: a submission of the same kind about the same subject (the same set of identity
//! hashes) as an open or answered request received within `[requests] duplicate_window_days`
//! is not run again. It is stored with status `duplicate`, its `duplicate` event names the
//! original (`duplicate_of`), and its answer is the original's outcome.
//!
//! A correction is never a duplicate: it carries its own fields and values.
//!
//! A denied request is never an original: a consumer refused (say, for insufficient
//! verification) may ask again. A duplicate's identity hashes are not recorded, so it counts
//! for no request limit and is never itself an original.

use crate::control::{ControlDb, Pools, Status, db, pg_sql, with_db};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use dsr_core::request::Request;
use serde_json::json;
use sqlx::Row;
use std::collections::BTreeSet;

/// Statuses a request may have to be an original: open, waiting for a person, or answered.
const ORIGINAL: [Status; 7] = [
    Status::Received,
    Status::Admitted,
    Status::AwaitingVerification,
    Status::InProgress,
    Status::PartiallyFulfilled,
    Status::HeldForReview,
    Status::Fulfilled,
];

impl ControlDb {
    /// The request `req` repeats, if any: same kind, same set of identity hashes, not denied,
    /// received within `window_days` of it (either side). The earliest such request.
    pub async fn find_duplicate(
        &self,
        req: &Request,
        identity_hashes: &[String],
        window_days: u32,
    ) -> Result<Option<String>> {
        // A correction carries its own content (which fields, which values): two corrections
        // about one person are two requests. Repeating one changes nothing the second time.
        if window_days == 0 || req.kind == dsr_core::request::RequestKind::Correction {
            return Ok(None);
        }
        let window = chrono::Duration::days(i64::from(window_days));
        let since = req
            .received_at
            .checked_sub_signed(window)
            .unwrap_or(req.received_at);
        let until = req
            .received_at
            .checked_add_signed(window)
            .unwrap_or(req.received_at);
        let want: BTreeSet<&str> = identity_hashes.iter().map(String::as_str).collect();
        let statuses: Vec<&str> = ORIGINAL.iter().map(|s| s.key()).collect();
        let list = (5..5 + statuses.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        with_db!(self, pool, sql => {
            let stmt = format!(
                "SELECT id FROM requests
                  WHERE kind = ?1 AND id <> ?2 AND received_at >= ?3 AND received_at <= ?4
                    AND status IN ({list})
                  ORDER BY received_at, id"
            );
            let text = sql(&stmt);
            let mut q = sqlx::query(&text)
                .bind(req.kind.key())
                .bind(&req.id)
                .bind(since.to_rfc3339())
                .bind(until.to_rfc3339());
            for s in &statuses {
                q = q.bind(*s);
            }
            let candidates: Vec<String> = q
                .fetch_all(pool)
                .await
                .map_err(db)?
                .iter()
                .map(|r| r.try_get(0).map_err(db))
                .collect::<Result<_>>()?;
            for id in candidates {
                let hashes: Vec<String> = sqlx::query(&sql("SELECT identity_hash FROM request_identities WHERE request_id = ?1"))
                    .bind(&id)
                    .fetch_all(pool)
                    .await
                    .map_err(db)?
                    .iter()
                    .map(|r| r.try_get(0).map_err(db))
                    .collect::<Result<_>>()?;
                let have: BTreeSet<&str> = hashes.iter().map(String::as_str).collect();
                if have == want {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })
    }

    /// Stores `req` as a duplicate of `original`: status `duplicate`, events `received` and
    /// `duplicate` (`{"duplicate_of": original}`), in one transaction. `req.id` must be new.
    pub async fn store_duplicate(
        &self,
        req: &Request,
        due_at: Option<DateTime<Utc>>,
        original: &str,
    ) -> Result<()> {
        let body = serde_json::to_string(req).map_err(|e| Error::Control(e.to_string()))?;
        let detail = json!({ "duplicate_of": original }).to_string();
        with_db!(self, pool, sql => {
            let now = Utc::now().to_rfc3339();
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query(&sql("INSERT INTO requests (id, kind, jurisdiction, received_at, due_at, status, body, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"))
                .bind(&req.id)
                .bind(req.kind.key())
                .bind(&req.jurisdiction)
                .bind(req.received_at.to_rfc3339())
                .bind(due_at.map(|d| d.to_rfc3339()))
                .bind(Status::Duplicate.key())
                .bind(&body)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for (event, detail) in [("received", "{}"), ("duplicate", detail.as_str())] {
                sqlx::query(&sql("INSERT INTO request_events (request_id, at, event, detail) VALUES (?1, ?2, ?3, ?4)"))
                    .bind(&req.id)
                    .bind(&now)
                    .bind(event)
                    .bind(detail)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
    }

    /// The request a duplicate is linked to.
    pub async fn duplicate_of(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .events(id)
            .await?
            .into_iter()
            .filter(|(_, event, _)| event == "duplicate")
            .find_map(|(_, _, detail)| {
                serde_json::from_str::<serde_json::Value>(&detail)
                    .ok()
                    .and_then(|d| d["duplicate_of"].as_str().map(str::to_string))
            }))
    }
}
