//! The control DB behaves the same on SQLite and on PostgreSQL: idempotent intake, lifecycle
//! with an append-only event history, request limits, suppression, and leases with fencing
//! tokens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::testing::{Server, TempDb};
use dsr_core::identity::Normalizer;
use dsr_core::request::Request;
use dsr_core::request::RequestKind;
use dsr_engine::Error;
use dsr_engine::control::{ControlDb, Status, Submitted};
use dsr_engine::lease::{Lease, LeaseSpec};
use std::time::Duration;

fn req(id: &str, email: &str, kind: &str, day: u32) -> Request {
    let json = format!(
        r#"{{"id":"{id}","kind":"{kind}","jurisdiction":"CA","received_at":"2026-11-{day:02}T10:00:00Z",
        "subject":{{"identities":[{{"type":"email","value":"{email}"}}]}},
        "verification":{{"level":"reasonably_high","method":"t","verified_at":"2026-11-01T00:00:00Z"}}}}"#
    );
    Request::from_json(&json, &[("email".to_string(), Normalizer::Email)].into()).unwrap()
}

fn spec(only: Option<&[&str]>, limit: usize, ttl_ms: u64) -> LeaseSpec {
    LeaseSpec {
        worker: "test".into(),
        kinds: vec![RequestKind::Access, RequestKind::Deletion],
        only: only.map(|ids| ids.iter().map(|s| s.to_string()).collect()),
        limit,
        ttl: Duration::from_millis(ttl_ms),
        respect_retry_time: true,
        take_over: false,
    }
}

/// Leases: disjoint while live, taken over when expired, fenced by token, retried later.
async fn leases(url: &str) {
    let c = ControlDb::open(url).await.expect("open");
    for (i, id) in ["l1", "l2", "l3", "l4"].iter().enumerate() {
        let r = req(id, &format!("{id}@example.com"), "deletion", 1 + i as u32);
        c.submit(&r, &[format!("h-{id}")], None).await.unwrap();
    }
    // Two workers at once get disjoint batches, oldest first overall.
    let two = spec(None, 2, 60_000);
    let (a, b) = tokio::join!(c.acquire(&two), c.acquire(&two));
    let (a, b): (Lease, Lease) = (a.unwrap().expect("a"), b.unwrap().expect("b"));
    assert_ne!(a.token, b.token);
    let mut all: Vec<String> = a.ids.iter().chain(b.ids.iter()).cloned().collect();
    all.sort();
    assert_eq!(
        all,
        vec!["l1", "l2", "l3", "l4"],
        "every request leased once"
    );
    assert!(
        c.acquire(&spec(None, 10, 60_000)).await.unwrap().is_none(),
        "all held"
    );
    // A write under someone else's token is fenced and changes nothing.
    let theirs = &b.ids[0];
    let err = c
        .transition(
            theirs,
            Status::Admitted,
            None,
            serde_json::json!({}),
            a.token,
        )
        .await
        .expect_err("fenced");
    assert!(matches!(err, Error::Fenced { .. }), "{err}");
    assert_eq!(c.get(theirs).await.unwrap().unwrap().status, "received");
    // An expired lease is taken over with a higher token; the old one is fenced out.
    c.release(b.token, Duration::ZERO).await.unwrap();
    let short = c
        .acquire(&spec(Some(&[theirs]), 1, 1))
        .await
        .unwrap()
        .expect("short");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let over = c
        .acquire(&spec(Some(&[theirs]), 1, 60_000))
        .await
        .unwrap()
        .expect("takeover");
    assert!(over.token > short.token);
    assert!(matches!(
        c.transition(
            theirs,
            Status::Admitted,
            None,
            serde_json::json!({}),
            short.token
        )
        .await,
        Err(Error::Fenced { .. })
    ));
    assert!(matches!(
        c.defer(theirs, serde_json::json!({}), short.token).await,
        Err(Error::Fenced { .. })
    ));
    c.transition(
        theirs,
        Status::Admitted,
        None,
        serde_json::json!({}),
        over.token,
    )
    .await
    .unwrap();
    assert_eq!(
        c.renew(short.token, Duration::from_secs(60)).await.unwrap(),
        0
    );
    assert_eq!(c.renew(a.token, Duration::from_secs(60)).await.unwrap(), 2);
    // Released unfinished requests wait for their retry time, unless a scheduled run asks.
    c.release(a.token, Duration::from_secs(3600)).await.unwrap();
    let a_ids: Vec<&str> = a.ids.iter().map(String::as_str).collect();
    assert!(
        c.acquire(&spec(Some(&a_ids), 10, 60_000))
            .await
            .unwrap()
            .is_none()
    );
    let mut now = spec(Some(&a_ids), 10, 60_000);
    now.respect_retry_time = false;
    assert_eq!(
        c.acquire(&now).await.unwrap().expect("scheduled run").ids,
        a.ids
    );
    assert_eq!(c.open_count().await.unwrap(), 4);
    // Taking over a live lease (after a crash) gives a new token and fences the old holder.
    let mut steal = spec(Some(&a_ids), 10, 60_000);
    steal.take_over = true;
    steal.respect_retry_time = false;
    let stolen = c.acquire(&steal).await.unwrap().expect("taken over");
    assert_eq!(stolen.ids, a.ids);
    assert!(matches!(
        c.transition(
            &a.ids[0],
            Status::Admitted,
            None,
            serde_json::json!({}),
            a.token
        )
        .await,
        Err(Error::Fenced { .. })
    ));
    c.close().await;
}

async fn exercise(url: &str) {
    let c = ControlDb::open(url).await.expect("open");
    let a = req("a1", "a@example.com", "access", 1);
    assert_eq!(
        c.submit(&a, &["h-a".into()], None).await.unwrap(),
        Submitted::New
    );
    assert_eq!(
        c.submit(&a, &["h-a".into()], None).await.unwrap(),
        Submitted::AlreadyStored
    );
    let other = req("a1", "b@example.com", "access", 1);
    assert!(
        c.submit(&other, &["h-b".into()], None).await.is_err(),
        "an id names one request"
    );
    assert_eq!(c.count().await.unwrap(), 1);

    let lease = c
        .acquire(&spec(None, 10, 60_000))
        .await
        .unwrap()
        .expect("a1 is open");
    assert_eq!(lease.ids, vec!["a1".to_string()]);
    c.transition(
        "a1",
        Status::Admitted,
        None,
        serde_json::json!({}),
        lease.token,
    )
    .await
    .unwrap();
    let got = c.get("a1").await.unwrap().expect("stored");
    assert_eq!(got.status, "admitted");
    assert_eq!(got.request, a);
    let events: Vec<String> = c
        .events("a1")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e, _)| e)
        .collect();
    assert_eq!(events, vec!["received", "admitted"]);
    assert_eq!(c.by_status(&[Status::Admitted]).await.unwrap().len(), 1);

    // Two earlier right-to-know requests of the same subject count against the limit.
    let b = req("a2", "a@example.com", "access", 5);
    c.submit(&b, &["h-a".into()], None).await.unwrap();
    c.release(lease.token, Duration::ZERO).await.unwrap();
    let lease = c
        .acquire(&spec(Some(&["a2"]), 10, 60_000))
        .await
        .unwrap()
        .expect("a2 is open");
    c.transition(
        "a2",
        Status::Fulfilled,
        None,
        serde_json::json!({}),
        lease.token,
    )
    .await
    .unwrap();
    let third = req("a3", "a@example.com", "access", 9);
    c.submit(&third, &["h-a".into()], None).await.unwrap();
    assert_eq!(
        c.prior_right_to_know("a3", third.received_at)
            .await
            .unwrap(),
        2
    );

    c.suppress("a1", &["h-a".into(), "h-a".into()])
        .await
        .unwrap();
    assert!(c.is_suppressed("h-a").await.unwrap());
    assert!(!c.is_suppressed("h-z").await.unwrap());
    c.start_run("r1", "nightly").await.unwrap();
    c.finish_run("r1", &serde_json::json!({"requests": 3}))
        .await
        .unwrap();
    c.close().await;
}

#[tokio::test]
async fn sqlite_control_db() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&format!(
        "sqlite://{}",
        dir.path().join("control.db").display()
    ))
    .await;
}

#[tokio::test]
async fn sqlite_leases() {
    let dir = tempfile::tempdir().unwrap();
    leases(&format!(
        "sqlite://{}",
        dir.path().join("control.db").display()
    ))
    .await;
}

#[tokio::test]
async fn postgres_leases() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    leases(&db.url).await;
}

#[tokio::test]
async fn postgres_control_db() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    exercise(&db.url).await;
    // The event history is append-only on the server itself.
    dsr_connector_sql::SqlConnector::run_script(&db.url, "UPDATE request_events SET event = 'x'")
        .await
        .expect_err("request_events refuses updates");
}
