//! Duplicates and the suppression list behave the same on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::testing::{Server, TempDb};
use dsr_core::identity::Normalizer;
use dsr_core::request::{Request, RequestKind};
use dsr_engine::control::{ControlDb, Status};
use dsr_engine::lease::LeaseSpec;
use dsr_engine::suppression::{Source, export_lines};
use std::time::Duration;

fn req(id: &str, kind: &str, day: u32) -> Request {
    let json = format!(
        r#"{{"id":"{id}","kind":"{kind}","jurisdiction":"CA","received_at":"2026-11-{day:02}T10:00:00Z",
        "subject":{{"identities":[{{"type":"email","value":"a@example.com"}}]}},
        "verification":{{"level":"reasonably_high","method":"t","verified_at":"2026-11-01T00:00:00Z"}}}}"#
    );
    Request::from_json(&json, &[("email".to_string(), Normalizer::Email)].into()).unwrap()
}

async fn duplicates(url: &str) {
    let c = ControlDb::open(url).await.expect("open");
    let h = vec!["h-a".to_string()];
    c.submit(&req("d1", "access", 10), &h, None).await.unwrap();
    let find = |r: Request, hashes: Vec<String>, window: u32| {
        let c = c.clone();
        async move { c.find_duplicate(&r, &hashes, window).await.unwrap() }
    };
    assert_eq!(
        find(req("d2", "access", 12), h.clone(), 7).await.as_deref(),
        Some("d1")
    );
    assert_eq!(
        find(req("d2", "access", 8), h.clone(), 7).await.as_deref(),
        Some("d1")
    );
    assert_eq!(
        find(req("d2", "access", 18), h.clone(), 7).await,
        None,
        "outside the window"
    );
    assert_eq!(
        find(req("d2", "access", 12), h.clone(), 0).await,
        None,
        "window 0: off"
    );
    assert_eq!(
        find(req("d2", "deletion", 12), h.clone(), 7).await,
        None,
        "other kind"
    );
    let more = vec!["h-a".to_string(), "h-b".to_string()];
    assert_eq!(
        find(req("d2", "access", 12), more, 7).await,
        None,
        "other subject"
    );

    let dup = req("d2", "access", 12);
    c.store_duplicate(&dup, None, "d1").await.unwrap();
    let got = c.get("d2").await.unwrap().unwrap();
    assert_eq!(got.status, Status::Duplicate.key());
    assert_eq!(c.duplicate_of("d2").await.unwrap().as_deref(), Some("d1"));
    // Never leased.
    let spec = LeaseSpec {
        worker: "t".into(),
        kinds: vec![RequestKind::Access],
        only: None,
        limit: 10,
        ttl: Duration::from_secs(60),
        respect_retry_time: false,
        take_over: false,
    };
    let lease = c.acquire(&spec).await.unwrap().expect("d1 open");
    assert_eq!(lease.ids, vec!["d1".to_string()]);
    // A denied request is no original.
    c.transition(
        "d1",
        Status::Denied,
        Some("insuf_verification"),
        serde_json::json!({}),
        lease.token,
    )
    .await
    .unwrap();
    assert_eq!(find(req("d3", "access", 12), h.clone(), 7).await, None);

    // Suppression: each hash once, with the source of its first entry.
    c.suppress_from("d1", &h, Source::Gpc).await.unwrap();
    c.suppress_from("d3", &["h-a".into(), "h-m".into()], Source::MinorNotOptedIn)
        .await
        .unwrap();
    let list = c.suppressions().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        c.suppression_source("h-a").await.unwrap().as_deref(),
        Some("gpc")
    );
    assert_eq!(
        c.suppression_source("h-m").await.unwrap().as_deref(),
        Some("minor_not_opted_in")
    );
    let lines = export_lines(&list);
    assert_eq!(lines.lines().count(), 2);
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["identity_hash"].is_string() && v["source"].is_string() && v["at"].is_string());
    }
    c.close().await;
}

#[tokio::test]
async fn sqlite_duplicates_and_suppression() {
    let dir = tempfile::tempdir().unwrap();
    duplicates(&format!(
        "sqlite://{}",
        dir.path().join("control.db").display()
    ))
    .await;
}

#[tokio::test]
async fn postgres_duplicates_and_suppression() {
    let db = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    duplicates(&db.url).await;
}
