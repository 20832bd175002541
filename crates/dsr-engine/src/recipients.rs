//! The recipient ledger and the propagation of deletions and opt-outs (11 CCR §7022(b),
//! §7026(f)).
//!
//! * **Ledger**: per keyed identity hash, which configured recipient received which
//!   categories, fed by `dsr ledger import` from the sale/share export logs
//!   ([`parse_ledger_csv`] checks the whole file first; [`ControlDb::ledger_import`] stores it in
//!   one transaction).
//! * **Propagation** ([`notify`]): after a deletion or an opt-out, exactly the recipients the
//!   ledger holds for the subject's identities are told, never another. A webhook recipient
//!   gets a POST of `{event, request_id, identities, categories, sent_at}` signed with
//!   HMAC-SHA-256 under its secret (`X-DSR-Signature: sha256=<hex>` over
//!   `<X-DSR-Timestamp>.<body>`), retried with backoff; a recipient without one is listed for
//!   `dsr notifications export`. Each outcome is recorded in the control DB and, by the caller,
//!   in the request's evidence (`recipients_notified`: recipient ids, channels, outcomes and
//!   attempts). [`retry_failed`] sends failed ones again later (`dsr notifications retry`, and
//!   every run of a job with `sweep = true`), recorded as a run summary in evidence. The webhook body carries the consumer's identities: the recipient received
//!   them and needs them to act; nothing else (logs, evidence, errors) does.

use crate::control::{ControlDb, Pools, db, pg_sql, with_db};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use dsr_core::category::Category;
use dsr_core::config::{Channel, Config};
use dsr_core::hash::KeyedHasher;
use dsr_core::request::Identity;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One checked ledger line: a recipient received these categories of the person with these
/// identity hashes, at this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    /// Recipient id.
    pub recipient: String,
    /// Keyed identity hashes.
    pub identity_hashes: Vec<String>,
    /// Category keys.
    pub categories: BTreeSet<String>,
    /// When it was shared.
    pub at: DateTime<Utc>,
}

/// Reads a sale/share export log: a CSV with `recipient`, `categories` (separated by `;`),
/// `shared_at` (RFC 3339 or `YYYY-MM-DD`) and a column per identity type (`email`, `phone`, …).
/// The first bad line fails the whole file, naming the line and column, never a value.
pub fn parse_ledger_csv(config: &Config, text: &str) -> Result<Vec<LedgerLine>> {
    let hasher = KeyedHasher::new(config.settings.hash_key.as_bytes().to_vec());
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|_| ledger_err("the header cannot be read as CSV"))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (Some(rc), Some(cc), Some(tc)) = (col("recipient"), col("categories"), col("shared_at"))
    else {
        return Err(ledger_err(
            "the header needs recipient, categories and shared_at columns",
        ));
    };
    let ids: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let k = h.to_ascii_lowercase();
            config
                .settings
                .identity_types
                .contains_key(&k)
                .then_some((i, k))
        })
        .collect();
    if ids.is_empty() {
        return Err(ledger_err(
            "no column is named after an identity type (email, phone, customer_id, …)",
        ));
    }
    let mut out = Vec::new();
    for (n, rec) in rd.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|_| ledger_err(&format!("line {line}: malformed CSV")))?;
        let recipient = rec.get(rc).unwrap_or("").to_string();
        if !config.recipients.iter().any(|r| r.id == recipient) {
            return Err(ledger_err(&format!(
                "line {line}: recipient is not one of [[recipients]] ({})",
                config
                    .recipients
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut categories = BTreeSet::new();
        for c in rec.get(cc).unwrap_or("").split(';').map(str::trim) {
            if c.is_empty() {
                continue;
            }
            if Category::parse(c).is_none() {
                return Err(ledger_err(&format!(
                    "line {line}: categories: unknown category"
                )));
            }
            categories.insert(c.to_string());
        }
        if categories.is_empty() {
            return Err(ledger_err(&format!("line {line}: categories is empty")));
        }
        let t = rec.get(tc).unwrap_or("");
        let at = DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| ledger_err(&format!("line {line}: shared_at is not a date")))?;
        let mut identity_hashes = Vec::new();
        for (i, kind) in &ids {
            let v = rec.get(*i).unwrap_or("");
            if v.is_empty() {
                continue;
            }
            let norm = config.settings.identity_types.get(kind).copied();
            let Some(v) = norm.and_then(|n| n.normalize(v).ok()) else {
                return Err(ledger_err(&format!(
                    "line {line}: {kind} is not a valid {kind}"
                )));
            };
            identity_hashes.push(hasher.identity(kind, &v));
        }
        if identity_hashes.is_empty() {
            return Err(ledger_err(&format!("line {line}: no identity")));
        }
        out.push(LedgerLine {
            recipient,
            identity_hashes,
            categories,
            at,
        });
    }
    Ok(out)
}

fn ledger_err(m: &str) -> Error {
    Error::Refused(format!("ledger: {m}"))
}

/// One notification's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notified {
    /// Recipient id.
    pub recipient: String,
    /// Recipient name (for the consumer's answer).
    #[serde(skip)]
    pub name: String,
    /// `webhook` or `manual`.
    pub channel: &'static str,
    /// `delivered`, `failed` or `manual`.
    pub outcome: &'static str,
    /// Attempts made.
    pub attempts: u32,
    /// The last HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// Categories the recipient received.
    pub categories: Vec<String>,
}

/// A notification waiting to be handled by hand, or failed, as exported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// Request id.
    pub request_id: String,
    /// Recipient id.
    pub recipient: String,
    /// `deletion` or `opt_out`.
    pub event: String,
    /// Categories the recipient received (`;`-separated).
    pub categories: String,
    /// `manual` or `failed`.
    pub status: String,
    /// When it was recorded.
    pub at: String,
}

impl ControlDb {
    /// Stores ledger lines in one transaction (a recipient seen again widens the categories
    /// and the time span).
    pub async fn ledger_import(&self, lines: &[LedgerLine]) -> Result<usize> {
        let mut n = 0;
        with_db!(self, pool, sql => {
            let mut tx = pool.begin().await.map_err(db)?;
            for l in lines {
                for h in &l.identity_hashes {
                    let row = sqlx::query(&sql("SELECT categories, first_at, last_at FROM recipient_ledger WHERE identity_hash = ?1 AND recipient = ?2"))
                        .bind(h)
                        .bind(&l.recipient)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    let at = l.at.to_rfc3339();
                    let (cats, first, last) = match row {
                        None => (l.categories.clone(), at.clone(), at.clone()),
                        Some(r) => {
                            let old: String = r.try_get(0).map_err(db)?;
                            let first: String = r.try_get(1).map_err(db)?;
                            let last: String = r.try_get(2).map_err(db)?;
                            let mut c: BTreeSet<String> = old.split(';').map(str::to_string).collect();
                            c.extend(l.categories.iter().cloned());
                            (c, first.min(at.clone()), last.max(at.clone()))
                        }
                    };
                    let cats: Vec<String> = cats.into_iter().collect();
                    sqlx::query(&sql("INSERT INTO recipient_ledger (identity_hash, recipient, categories, first_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5)
                          ON CONFLICT (identity_hash, recipient) DO UPDATE SET categories = ?3, first_at = ?4, last_at = ?5"))
                        .bind(h)
                        .bind(&l.recipient)
                        .bind(cats.join(";"))
                        .bind(first)
                        .bind(last)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    n += 1;
                }
            }
            tx.commit().await.map_err(db)?;
            Ok::<(), Error>(())
        })?;
        Ok(n)
    }

    /// The recipients the ledger holds for any of `identity_hashes`, with the categories.
    pub async fn recipients_of(
        &self,
        identity_hashes: &[String],
    ) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        with_db!(self, pool, sql => {
            for h in identity_hashes {
                let rows = sqlx::query(&sql("SELECT recipient, categories FROM recipient_ledger WHERE identity_hash = ?1"))
                    .bind(h)
                    .fetch_all(pool)
                    .await
                    .map_err(db)?;
                for r in rows {
                    let rec: String = r.try_get(0).map_err(db)?;
                    let cats: String = r.try_get(1).map_err(db)?;
                    out.entry(rec)
                        .or_default()
                        .extend(cats.split(';').filter(|c| !c.is_empty()).map(str::to_string));
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok(out)
    }

    /// Records a notification's outcome (a retrying lease overwrites its own earlier one).
    pub async fn record_notification(
        &self,
        request_id: &str,
        event: &str,
        n: &Notified,
    ) -> Result<()> {
        with_db!(self, pool, sql => {
            sqlx::query(&sql("INSERT INTO recipient_notifications (request_id, recipient, event, categories, channel, status, attempts, http_status, at)
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                  ON CONFLICT (request_id, recipient) DO UPDATE SET status = ?6, attempts = ?7, http_status = ?8, at = ?9"))
                .bind(request_id)
                .bind(&n.recipient)
                .bind(event)
                .bind(n.categories.join(";"))
                .bind(n.channel)
                .bind(n.outcome)
                .bind(i64::from(n.attempts))
                .bind(n.http_status.map(i64::from))
                .bind(Utc::now().to_rfc3339())
                .execute(pool)
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    /// Notifications to handle by hand or that failed, oldest first.
    pub async fn pending_notifications(&self) -> Result<Vec<Pending>> {
        with_db!(self, pool, sql => {
            let rows = sqlx::query(&sql("SELECT request_id, recipient, event, categories, status, at FROM recipient_notifications WHERE status IN ('manual', 'failed') ORDER BY at, request_id, recipient"))
                .fetch_all(pool)
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|r| {
                    Ok(Pending {
                        request_id: r.try_get(0).map_err(db)?,
                        recipient: r.try_get(1).map_err(db)?,
                        event: r.try_get(2).map_err(db)?,
                        categories: r.try_get(3).map_err(db)?,
                        status: r.try_get(4).map_err(db)?,
                        at: r.try_get(5).map_err(db)?,
                    })
                })
                .collect()
        })
    }
}

/// Webhook notifications that failed every attempt, retried: each is sent again (with its
/// retries) to the recipient's current webhook, its outcome recorded in the control DB, and
/// the pass recorded in evidence as the run summary `runs/notify-<time>.json` (request and
/// recipient ids, outcomes, attempts). Returns the outcomes.
pub async fn retry_failed(
    config: &Config,
    control: &ControlDb,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Notified)>> {
    let failed: Vec<Pending> = control
        .pending_notifications()
        .await?
        .into_iter()
        .filter(|p| p.status == "failed")
        .collect();
    let mut out = Vec::new();
    let mut forbidden: Vec<String> = Vec::new();
    for p in failed {
        let Some(recipient) = config.recipients.iter().find(|r| r.id == p.recipient) else {
            continue;
        };
        let Channel::Webhook { url, secret_env } = &recipient.channel else {
            continue;
        };
        let Some(stored) = control.get(&p.request_id).await? else {
            continue;
        };
        let identities = &stored.request.subject.identities;
        forbidden.extend(identities.iter().map(|i| i.value.clone()));
        let categories: Vec<String> = p
            .categories
            .split(';')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let hook = Hook {
            recipient: &p.recipient,
            name: recipient.name.clone(),
            url,
            secret_env,
        };
        let n = send_webhook(hook, &p.event, &p.request_id, identities, categories).await;
        tracing::info!(request = %p.request_id, recipient = %n.recipient, outcome = n.outcome, attempts = n.attempts, "recipient notification retried");
        control
            .record_notification(&p.request_id, &p.event, &n)
            .await?;
        out.push((p.request_id, n));
    }
    if !out.is_empty() {
        let sink = crate::load::evidence_sink(&config.settings).await?;
        let run = format!("notify-{}", now.format("%Y%m%dT%H%M%S%3fZ"));
        let guard = dsr_evidence::Guard::new(forbidden);
        let evidence = crate::load::evidence_writer(&config.settings, sink, guard, &run, 0)?;
        let retried: Vec<serde_json::Value> = out
            .iter()
            .map(|(r, n)| json!({"request": r, "recipient": n.recipient, "outcome": n.outcome, "attempts": n.attempts, "http_status": n.http_status}))
            .collect();
        evidence
            .write_run(json!({"kind": "recipient_notifications_retried", "retried": retried}))
            .await?;
    }
    Ok(out)
}

/// Attempts per webhook notification.
pub const ATTEMPTS: u32 = 4;
/// Backoff before the second attempt; doubled before each next one.
pub const BACKOFF: Duration = Duration::from_millis(250);

/// Tells exactly the recipients the ledger holds for `identity_hashes` of `event`
/// (`deletion` or `opt_out`) about request `request_id`; records each outcome in the control
/// DB and returns them (for the caller's evidence entry and the consumer's answer).
pub async fn notify(
    config: &Config,
    control: &ControlDb,
    request_id: &str,
    event: &str,
    identities: &[Identity],
    identity_hashes: &[String],
) -> Result<Vec<Notified>> {
    let ledger = control.recipients_of(identity_hashes).await?;
    let mut out = Vec::new();
    for (rid, cats) in ledger {
        // A recipient no longer configured cannot be told by dsr: listed by hand.
        let recipient = config.recipients.iter().find(|r| r.id == rid);
        let categories: Vec<String> = cats.into_iter().collect();
        let name = recipient
            .map(|r| r.name.clone())
            .unwrap_or_else(|| rid.clone());
        let n = match recipient.map(|r| &r.channel) {
            Some(Channel::Webhook { url, secret_env }) => {
                let hook = Hook {
                    recipient: &rid,
                    name,
                    url,
                    secret_env,
                };
                send_webhook(hook, event, request_id, identities, categories).await
            }
            _ => Notified {
                recipient: rid.clone(),
                name,
                channel: "manual",
                outcome: "manual",
                attempts: 0,
                http_status: None,
                categories,
            },
        };
        tracing::info!(request = %request_id, recipient = %n.recipient, outcome = n.outcome, attempts = n.attempts, "recipient notified");
        control.record_notification(request_id, event, &n).await?;
        out.push(n);
    }
    Ok(out)
}

/// A webhook recipient to send to.
struct Hook<'a> {
    recipient: &'a str,
    name: String,
    url: &'a str,
    secret_env: &'a str,
}

/// Sends one notification to a webhook recipient (the body of the module documentation,
/// signed, with retries) and says how it went.
async fn send_webhook(
    hook: Hook<'_>,
    event: &str,
    request_id: &str,
    identities: &[Identity],
    categories: Vec<String>,
) -> Notified {
    let body = json!({
        "event": event,
        "request_id": request_id,
        "identities": identities.iter().map(|i| json!({"type": i.kind, "value": i.value})).collect::<Vec<_>>(),
        "categories": categories,
        "sent_at": Utc::now().to_rfc3339(),
    })
    .to_string();
    let secret = std::env::var(hook.secret_env).unwrap_or_default();
    let (outcome, attempts, http_status) = post_with_retries(hook.url, &secret, &body).await;
    Notified {
        recipient: hook.recipient.to_string(),
        name: hook.name,
        channel: "webhook",
        outcome,
        attempts,
        http_status,
        categories,
    }
}

/// `sha256=<hex>` of HMAC-SHA-256 under `secret` over `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `body` until a 2xx, at most [`ATTEMPTS`] times with doubling backoff. No redirects;
/// a secret that is unset fails every attempt (an unsigned notification is never sent).
async fn post_with_retries(
    url: &str,
    secret: &str,
    body: &str,
) -> (&'static str, u32, Option<u16>) {
    if secret.is_empty() {
        return ("failed", 0, None);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return ("failed", 0, None);
    };
    let mut wait = BACKOFF;
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        let ts = Utc::now().timestamp().to_string();
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-dsr-timestamp", &ts)
            .header("x-dsr-signature", signature(secret, &ts, body))
            .body(body.to_string())
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => {
                return ("delivered", attempt, Some(resp.status().as_u16()));
            }
            Ok(resp) => last = Some(resp.status().as_u16()),
            Err(_) => last = None,
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    ("failed", ATTEMPTS, last)
}
