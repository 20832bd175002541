//! `dsr schedule`'s control DB on SQLite and PostgreSQL: job locks (one holder, expiry,
//! renewal, concurrent takers in two connections pools as two processes would), fire records,
//! the retention purge through the `request_events` triggers, and deadlines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{DateTime, Duration as CDuration, Utc};
use dsr_connector_sql::SqlConnector;
use dsr_connector_sql::testing::{Server, TempDb};
use dsr_core::identity::Normalizer;
use dsr_core::request::Request;
use dsr_engine::control::ControlDb;
use dsr_engine::schedule::{FireOutcome, JobLock, PurgeCounts};
use std::time::Duration;

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("control.db").display())
}

/// Two handles on one control DB, as two scheduler processes would have.
async fn two(url: &str) -> (ControlDb, ControlDb) {
    (
        ControlDb::open(url).await.expect("open a"),
        ControlDb::open(url).await.expect("open b"),
    )
}

async fn locks(url: &str) {
    let (a, b) = two(url).await;
    let long = Duration::from_secs(60);
    // Two concurrent takers: exactly one wins.
    let (x, y) = tokio::join!(
        a.take_job_lock("nightly", "a", long),
        b.take_job_lock("nightly", "b", long)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x ^ y, "exactly one taker wins: a {x}, b {y}");
    let (winner, wname, loser, lname) = if x {
        (&a, "a", &b, "b")
    } else {
        (&b, "b", &a, "a")
    };
    // Refused while held, also to the holder's name from another process.
    assert!(!loser.take_job_lock("nightly", lname, long).await.unwrap());
    // Another job's lock is independent.
    assert!(loser.take_job_lock("retention", lname, long).await.unwrap());
    // Renew: only the holder can.
    assert!(winner.renew_job_lock("nightly", wname, long).await.unwrap());
    assert!(!loser.renew_job_lock("nightly", lname, long).await.unwrap());
    // A non-holder's release changes nothing; the holder's frees it.
    loser.release_job_lock("nightly", lname).await.unwrap();
    assert!(!loser.take_job_lock("nightly", lname, long).await.unwrap());
    winner.release_job_lock("nightly", wname).await.unwrap();
    assert!(loser.take_job_lock("nightly", lname, long).await.unwrap());

    // Expiry: a crashed holder's lock is taken once it expired.
    assert!(
        a.take_job_lock("overdue", "crashed", Duration::from_millis(200))
            .await
            .unwrap()
    );
    assert!(!b.take_job_lock("overdue", "next", long).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.take_job_lock("overdue", "next", long).await.unwrap());
    // The crashed holder can no longer renew it.
    assert!(!a.renew_job_lock("overdue", "crashed", long).await.unwrap());

    // Renewal keeps a short lock alive past its first expiry.
    assert!(
        a.take_job_lock("short", "a", Duration::from_millis(300))
            .await
            .unwrap()
    );
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            a.renew_job_lock("short", "a", Duration::from_millis(300))
                .await
                .unwrap()
        );
    }
    assert!(
        !b.take_job_lock("short", "b", long).await.unwrap(),
        "renewed: still held"
    );

    // JobLock renews in the background and releases.
    let held = JobLock::take(&a, "guarded", "a", Duration::from_millis(300))
        .await
        .unwrap()
        .expect("free");
    assert!(
        JobLock::take(&b, "guarded", "b", long)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        JobLock::take(&b, "guarded", "b", long)
            .await
            .unwrap()
            .is_none(),
        "renewed past its ttl"
    );
    held.release().await.unwrap();
    let next = JobLock::take(&b, "guarded", "b", long).await.unwrap();
    assert!(next.is_some(), "released");
    next.unwrap().release().await.unwrap();

    // Many concurrent takers on both handles: one winner.
    let mut tries = Vec::new();
    for i in 0..8 {
        let c = if i % 2 == 0 { a.clone() } else { b.clone() };
        tries.push(tokio::spawn(async move {
            c.take_job_lock("race", &format!("t{i}"), Duration::from_secs(60))
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn sqlite_job_locks() {
    let dir = tempfile::tempdir().unwrap();
    locks(&sqlite_url(&dir)).await;
}

#[tokio::test]
async fn postgres_job_locks() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    locks(&db.url).await;
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn fires(url: &str) {
    let (a, b) = two(url).await;
    assert_eq!(a.last_fire("nightly").await.unwrap(), None);
    let base = t("2026-11-20T12:00:00Z");
    assert!(
        a.record_fire("nightly", base, "a", FireOutcome::Armed)
            .await
            .unwrap()
    );
    assert_eq!(b.last_fire("nightly").await.unwrap(), Some(base));
    let at = t("2026-11-21T10:00:00Z");
    assert!(
        a.record_fire("nightly", at, "a", FireOutcome::Running)
            .await
            .unwrap()
    );
    assert!(
        !b.record_fire("nightly", at, "b", FireOutcome::Running)
            .await
            .unwrap(),
        "one fire is recorded once"
    );
    a.finish_fire(
        "nightly",
        at,
        FireOutcome::Ok,
        &serde_json::json!({"requests": 2}),
    )
    .await
    .unwrap();
    let f = b.fires("nightly").await.unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].outcome.as_str(), f[0].scheduled), ("armed", base));
    assert_eq!((f[1].outcome.as_str(), f[1].scheduled), ("ok", at));
    assert_eq!(f[1].detail, r#"{"requests":2}"#);
    assert_eq!(b.last_fire("nightly").await.unwrap(), Some(at));
    assert_eq!(b.last_fire("other").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_fires() {
    let dir = tempfile::tempdir().unwrap();
    fires(&sqlite_url(&dir)).await;
}

#[tokio::test]
async fn postgres_fires() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    fires(&db.url).await;
}

fn req(id: &str, received: DateTime<Utc>) -> Request {
    let json = format!(
        r#"{{"id":"{id}","kind":"deletion","jurisdiction":"CA","received_at":"{}",
        "subject":{{"identities":[{{"type":"email","value":"{id}@example.com"}}]}},
        "verification":{{"level":"reasonably_high","method":"t","verified_at":"{}"}}}}"#,
        received.to_rfc3339(),
        received.to_rfc3339()
    );
    Request::from_json(&json, &[("email".to_string(), Normalizer::Email)].into()).unwrap()
}

/// Sets status and `updated_at` directly, as if the request had ended then.
async fn age(url: &str, id: &str, status: &str, updated: DateTime<Utc>) {
    SqlConnector::run_script(
        url,
        &format!(
            "UPDATE requests SET status = '{status}', updated_at = '{}' WHERE id = '{id}'",
            updated.to_rfc3339()
        ),
    )
    .await
    .unwrap();
}

async fn retention(url: &str) {
    let c = ControlDb::open(url).await.unwrap();
    let now = Utc::now();
    let months = |m: u32| now.checked_sub_months(chrono::Months::new(m)).unwrap();
    for id in [
        "old-done",
        "old-denied",
        "new-done",
        "old-open",
        "old-leased",
    ] {
        let r = req(id, months(30));
        let d = due(r.received_at + CDuration::days(45));
        c.submit(&r, &[format!("h-{id}")], Some(&d)).await.unwrap();
    }
    age(url, "old-done", "fulfilled", months(25)).await;
    age(url, "old-denied", "denied", months(26)).await;
    age(url, "new-done", "fulfilled", months(23)).await;
    age(url, "old-open", "admitted", months(25)).await;
    age(url, "old-leased", "partially_fulfilled", months(25)).await;
    SqlConnector::run_script(
        url,
        &format!(
            "UPDATE requests SET lease = 9, lease_expires_ms = {} WHERE id = 'old-leased'",
            now.timestamp_millis() + 600_000
        ),
    )
    .await
    .unwrap();

    // Events stay append-only for every request not purged.
    for stmt in [
        "DELETE FROM request_events WHERE request_id = 'old-done'",
        "DELETE FROM request_events WHERE request_id = 'new-done'",
        "UPDATE request_events SET event = 'x' WHERE request_id = 'old-done'",
    ] {
        SqlConnector::run_script(url, stmt)
            .await
            .expect_err("request_events refuses it");
    }
    // Marked purged but younger than 24 months by the database's clock: still refused.
    age(url, "new-done", "fulfilled", months(23)).await;
    SqlConnector::run_script(
        url,
        "UPDATE requests SET purged_at = 'x' WHERE id = 'new-done'",
    )
    .await
    .unwrap();
    SqlConnector::run_script(
        url,
        "DELETE FROM request_events WHERE request_id = 'new-done'",
    )
    .await
    .expect_err("not past retention");
    SqlConnector::run_script(
        url,
        "UPDATE requests SET purged_at = NULL WHERE id = 'new-done'",
    )
    .await
    .unwrap();

    assert!(
        c.purge_requests(12, now).await.is_err(),
        "below 24 months refused"
    );
    let counts = c.purge_requests(24, now).await.unwrap();
    assert_eq!(
        counts,
        PurgeCounts {
            requests: 2,
            events: 2,
            identities: 2
        }
    );
    for (id, kept) in [
        ("old-done", false),
        ("old-denied", false),
        ("new-done", true),
        ("old-open", true),
        ("old-leased", true),
    ] {
        assert_eq!(c.get(id).await.unwrap().is_some(), kept, "{id}");
        assert_eq!(!c.events(id).await.unwrap().is_empty(), kept, "{id} events");
    }
    // Idempotent; a longer period keeps more.
    assert_eq!(
        c.purge_requests(24, now).await.unwrap(),
        PurgeCounts::default()
    );
    // UPDATE of a kept request's events is still refused.
    SqlConnector::run_script(url, "UPDATE request_events SET event = 'x'")
        .await
        .expect_err("append-only");
}

#[tokio::test]
async fn sqlite_retention_purge() {
    let dir = tempfile::tempdir().unwrap();
    retention(&sqlite_url(&dir)).await;
}

#[tokio::test]
async fn postgres_retention_purge() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    retention(&db.url).await;
}

async fn deadlines(url: &str) {
    let c = ControlDb::open(url).await.unwrap();
    let now = t("2026-11-29T12:00:00Z");
    for (id, due_days, status) in [
        ("late", -3i64, "admitted"),
        ("soon", 2, "received"),
        ("later", 20, "admitted"),
        ("done", -10, "fulfilled"),
        ("held", 1, "held_for_review"),
    ] {
        let r = req(id, now - CDuration::days(40));
        let d = due(now + CDuration::days(due_days) + CDuration::hours(1));
        c.submit(&r, &[], Some(&d)).await.unwrap();
        SqlConnector::run_script(
            url,
            &format!("UPDATE requests SET status = '{status}' WHERE id = '{id}'"),
        )
        .await
        .unwrap();
    }
    let d = c.deadlines(now, 7).await.unwrap();
    let got: Vec<(&str, i64)> = d.iter().map(|d| (d.id.as_str(), d.days_left)).collect();
    assert_eq!(got, vec![("late", -3), ("held", 1), ("soon", 2)]);
    assert_eq!(d[0].deadline, "due_at");
    assert_eq!(d[0].kind, "deletion");
    let d = c.deadlines(now, 0).await.unwrap();
    assert_eq!(d.len(), 1, "only the overdue one");
}

#[tokio::test]
async fn sqlite_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    deadlines(&sqlite_url(&dir)).await;
}

#[tokio::test]
async fn postgres_deadlines() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    deadlines(&db.url).await;
}

/// Deadlines with only the answer due at `at`.
fn due(at: chrono::DateTime<chrono::Utc>) -> dsr_core::jurisdiction::Deadlines {
    dsr_core::jurisdiction::Deadlines {
        confirm_by: None,
        respond_by: at,
        extendable_to: None,
    }
}
