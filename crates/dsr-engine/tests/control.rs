//! The control DB behaves the same on SQLite and on PostgreSQL: idempotent intake, lifecycle
//! with an append-only event history, request limits, suppression.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::testing::{Server, TempDb};
use dsr_core::identity::Normalizer;
use dsr_core::request::Request;
use dsr_engine::control::{ControlDb, Status, Submitted};

fn req(id: &str, email: &str, kind: &str, day: u32) -> Request {
    let json = format!(
        r#"{{"id":"{id}","kind":"{kind}","jurisdiction":"CA","received_at":"2026-11-{day:02}T10:00:00Z",
        "subject":{{"identities":[{{"type":"email","value":"{email}"}}]}},
        "verification":{{"level":"reasonably_high","method":"t","verified_at":"2026-11-01T00:00:00Z"}}}}"#
    );
    Request::from_json(&json, &[("email".to_string(), Normalizer::Email)].into()).unwrap()
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

    c.transition("a1", Status::Admitted, None, serde_json::json!({}))
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
    c.transition("a2", Status::Fulfilled, None, serde_json::json!({}))
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
async fn postgres_control_db() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    exercise(&db.url).await;
    // The event history is append-only on the server itself.
    dsr_connector_sql::SqlConnector::run_script(&db.url, "UPDATE request_events SET event = 'x'")
        .await
        .expect_err("request_events refuses updates");
}
