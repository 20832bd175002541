//! The control DB's record of DROP batches and work items (ids, lists, codes and the requests
//! made for them; never a DROP hash).

use crate::control::{ControlDb, Pools, db, pg_sql, with_db};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use dsr_core::drop::StatusCode;
use sqlx::Row;

/// One work item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// DROP's work item id.
    pub work_item: String,
    /// List key (`email`, …).
    pub list: String,
    /// Batch it came in.
    pub batch_id: String,
    /// The status decided, when it is.
    pub code: Option<StatusCode>,
    /// The deletion request made for it.
    pub request_id: Option<String>,
    /// When DROP withdrew it.
    pub withdrawn: bool,
    /// When its status was exported.
    pub exported: bool,
}

/// A work item to store with its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// DROP's work item id.
    pub work_item: String,
    /// List key.
    pub list: String,
    /// Status decided at import (not found, opted out), if any.
    pub code: Option<StatusCode>,
    /// Request made for it, if any.
    pub request_id: Option<String>,
}

impl ControlDb {
    /// The batch imported from a download with this SHA-256, if any.
    pub async fn drop_batch_by_sha(&self, sha256: &str) -> Result<Option<String>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT id FROM drop_batches WHERE source_sha256 = ?1"))
                .bind(sha256)
                .fetch_optional(pool)
                .await
                .map_err(db)?;
            row.map(|r| r.try_get(0).map_err(db)).transpose()
        })
    }

    /// Stores a batch and its items in one transaction. A work item already stored (an
    /// earlier download) is an error naming it.
    pub async fn insert_drop_batch(
        &self,
        id: &str,
        sha256: &str,
        removed: usize,
        items: &[NewItem],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query(&sql("INSERT INTO drop_batches (id, source_sha256, imported_at, items, removed) VALUES (?1, ?2, ?3, ?4, ?5)"))
                .bind(id)
                .bind(sha256)
                .bind(now.to_rfc3339())
                .bind(items.len() as i64)
                .bind(removed as i64)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for it in items {
                let done = sqlx::query(&sql("INSERT INTO drop_items (work_item, list, batch_id, code, request_id) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"))
                    .bind(&it.work_item)
                    .bind(&it.list)
                    .bind(id)
                    .bind(it.code.map(|c| i64::from(c.code())))
                    .bind(&it.request_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(Error::Drop(format!(
                        "work item {} was already imported in an earlier batch",
                        it.work_item
                    )));
                }
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
    }

    /// How many work items were made into request `request_id`.
    pub async fn drop_item_count(&self, request_id: &str) -> Result<u64> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT COUNT(*) FROM drop_items WHERE request_id = ?1"))
                .bind(request_id)
                .fetch_one(pool)
                .await
                .map_err(db)?;
            let n: i64 = row.try_get(0).map_err(db)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Work item ids already stored, of `ids`.
    pub async fn drop_items_known(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        with_db!(self, pool, sql => {
            for id in ids {
                let row = sqlx::query(&sql("SELECT 1 FROM drop_items WHERE work_item = ?1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(db)?;
                if row.is_some() {
                    out.push(id.clone());
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok(out)
    }

    /// Sets the status of every work item whose request is `request_id` (the request's run
    /// decided it). Items already exported keep their code.
    pub async fn set_drop_code(&self, request_id: &str, code: StatusCode) -> Result<u64> {
        with_db!(self, pool, sql => {
            let r = sqlx::query(&sql("UPDATE drop_items SET code = ?1 WHERE request_id = ?2 AND exported_at IS NULL"))
                .bind(i64::from(code.code()))
                .bind(request_id)
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(r.rows_affected())
        })
    }

    /// Marks a work item withdrawn; its item as it was before, or `None` if unknown.
    pub async fn withdraw_drop_item(
        &self,
        work_item: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredItem>> {
        let before = self.drop_item(work_item).await?;
        if before.is_some() {
            with_db!(self, pool, sql => {
                sqlx::query(&sql("UPDATE drop_items SET withdrawn_at = ?1 WHERE work_item = ?2 AND withdrawn_at IS NULL"))
                    .bind(now.to_rfc3339())
                    .bind(work_item)
                    .execute(pool)
                    .await
                    .map_err(db)?;
                Ok::<(), Error>(())
            })?;
        }
        Ok(before)
    }

    /// One work item.
    pub async fn drop_item(&self, work_item: &str) -> Result<Option<StoredItem>> {
        Ok(self
            .drop_items_where("work_item = ?1", work_item)
            .await?
            .into_iter()
            .next())
    }

    /// Every work item of a batch, in id order.
    pub async fn drop_items(&self, batch_id: &str) -> Result<Vec<StoredItem>> {
        self.drop_items_where("batch_id = ?1", batch_id).await
    }

    async fn drop_items_where(&self, cond: &str, arg: &str) -> Result<Vec<StoredItem>> {
        let q = format!(
            "SELECT work_item, list, batch_id, code, request_id, withdrawn_at, exported_at FROM drop_items WHERE {cond} ORDER BY work_item"
        );
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql(&q))
                .bind(arg)
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|r| {
                    let code: Option<i64> = r.try_get(3).map_err(db)?;
                    let withdrawn: Option<String> = r.try_get(5).map_err(db)?;
                    let exported: Option<String> = r.try_get(6).map_err(db)?;
                    Ok(StoredItem {
                        work_item: r.try_get(0).map_err(db)?,
                        list: r.try_get(1).map_err(db)?,
                        batch_id: r.try_get(2).map_err(db)?,
                        code: code.and_then(StatusCode::from_code),
                        request_id: r.try_get(4).map_err(db)?,
                        withdrawn: withdrawn.is_some(),
                        exported: exported.is_some(),
                    })
                })
                .collect()
        })
    }

    /// Batches, newest first.
    pub async fn drop_batches(&self) -> Result<Vec<String>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT id FROM drop_batches ORDER BY imported_at DESC, id DESC"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter().map(|r| r.try_get(0).map_err(db)).collect()
        })
    }

    /// Marks items exported.
    pub async fn mark_drop_exported(
        &self,
        work_items: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            for w in work_items {
                sqlx::query(&sql("UPDATE drop_items SET exported_at = ?1 WHERE work_item = ?2"))
                    .bind(now.to_rfc3339())
                    .bind(w)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
    }
}
