//! The suppression list: keyed identity hashes that sale and sharing pipelines must leave
//! out, each with why it is there ([`Source`]), and its export.
//!
//! Hashes are `KeyedHasher::identity(type, normalised value)` under the configuration's
//! `hash_key`: a pipeline holding the same key hashes its own identities the same way and
//! drops every row whose hash is listed. The list never holds a value.

use crate::control::{ControlDb, Pools, db, pg_sql, with_db};
use crate::error::Result;
use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

/// Why an identity hash is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An opt-out request.
    OptOut,
    /// A Global Privacy Control signal received with a request (of any kind).
    Gpc,
    /// The subject's records show them under 16; they have not opted in to sale.
    MinorNotOptedIn,
    /// A DROP identifier matched several people: all of them are opted out (status 4).
    Drop,
}

impl Source {
    /// Stored spelling.
    pub fn key(self) -> &'static str {
        match self {
            Source::OptOut => "opt_out",
            Source::Gpc => "gpc",
            Source::MinorNotOptedIn => "minor_not_opted_in",
            Source::Drop => "drop",
        }
    }
}

/// One entry of the list, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// `hmac:` + 32 hex digits.
    pub identity_hash: String,
    /// `opt_out`, `gpc`, `minor_not_opted_in` or `drop`.
    pub source: String,
    /// When it was added (RFC 3339).
    pub at: String,
}

impl ControlDb {
    /// Adds identity hashes to the suppression list for `source`. A hash already listed keeps
    /// its first entry.
    pub async fn suppress_from(
        &self,
        request_id: &str,
        identity_hashes: &[String],
        source: Source,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
            let now = Utc::now().to_rfc3339();
            for h in identity_hashes {
                sqlx::query(&sql("INSERT INTO suppressions (identity_hash, request_id, at, source) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"))
                    .bind(h)
                    .bind(request_id)
                    .bind(&now)
                    .bind(source.key())
                    .execute(pool)
                    .await
                    .map_err(db)?;
            }
            Ok(())
        })
    }

    /// Removes the entries of `identity_hashes` whose source is one of `sources` (an opt-in);
    /// how many were removed.
    pub async fn lift_suppressions(
        &self,
        identity_hashes: &[String],
        sources: &[Source],
    ) -> Result<u64> {
        let mut n = 0;
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            for h in identity_hashes {
                for s in sources {
                    n += sqlx::query(&sql("DELETE FROM suppressions WHERE identity_hash = ?1 AND source = ?2"))
                        .bind(h)
                        .bind(s.key())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?
                        .rows_affected();
                }
            }
            tx.commit().await.map_err(db)?;
            Ok::<(), crate::Error>(())
        })?;
        Ok(n)
    }

    /// The whole list, oldest first.
    pub async fn suppressions(&self) -> Result<Vec<Entry>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT identity_hash, source, at FROM suppressions ORDER BY at, identity_hash"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|r| {
                    Ok(Entry {
                        identity_hash: r.try_get(0).map_err(db)?,
                        source: r.try_get(1).map_err(db)?,
                        at: r.try_get(2).map_err(db)?,
                    })
                })
                .collect()
        })
    }

    /// The source an identity hash is suppressed for, if it is.
    pub async fn suppression_source(&self, identity_hash: &str) -> Result<Option<String>> {
        with_db!(self, pool, sql => {
            let row = sqlx::query(&sql("SELECT source FROM suppressions WHERE identity_hash = ?1"))
                .bind(identity_hash)
                .fetch_optional(pool)
                .await
                .map_err(db)?;
            row.map(|r| r.try_get(0).map_err(db)).transpose()
        })
    }
}

/// The list as JSON lines, one `{"identity_hash", "source", "at"}` per entry.
pub fn export_lines(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        // An `Entry` always serialises; an empty line would only drop one.
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    out
}
