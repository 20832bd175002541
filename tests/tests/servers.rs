//! The demo on real servers — crm on PostgreSQL, support on MariaDB, a relation crossing
//! them, the control DB on PostgreSQL — gives exactly the answers of the SQLite demo, and its
//! evidence verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::testing::{Server, TempDb};
use dsr_tests::{dsr_bin, root, text};
use std::process::Command;

fn demo(out: &std::path::Path, extra: &[&str]) -> String {
    let o = Command::new(dsr_bin())
        .args(["demo", "--subjects", "20", "--out", out.to_str().unwrap()])
        .args(extra)
        .current_dir(root())
        .env("DSR_CONFIG", root().join("config"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "demo failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The summary table: from its header to the end, without the run id line.
fn table(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("request "))
        .take_while(|l| l.starts_with("req"))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn servers_give_the_answers_of_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pg = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
    let my = TempDb::new(Server::MySql).await.expect("MariaDB");
    let control = TempDb::new(Server::Postgres)
        .await
        .expect("PostgreSQL control DB");
    let lite = demo(&dir.path().join("lite"), &[]);
    let servers = demo(
        &dir.path().join("servers"),
        &[
            "--crm-url",
            &pg.url,
            "--support-url",
            &my.url,
            "--control-db",
            &control.url,
        ],
    );
    let (a, b) = (table(&lite), table(&servers));
    assert!(a.len() == 12, "{lite}");
    assert_eq!(a, b, "same answers on PostgreSQL + MariaDB as on SQLite");
    for d in ["lite", "servers"] {
        let v = Command::new(dsr_bin())
            .args([
                "audit",
                "verify",
                dir.path().join(d).join("evidence").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(v.status.success(), "{}", text(&v));
    }
    // The server reports match the SQLite ones field for field (timestamps aside).
    for id in ["req-2026-0001", "req-2026-0002", "req-2026-0003"] {
        let read = |d: &str| {
            let t = std::fs::read_to_string(
                dir.path()
                    .join(d)
                    .join("reports")
                    .join(id)
                    .join("report.json"),
            )
            .unwrap();
            let mut v: serde_json::Value = serde_json::from_str(&t).unwrap();
            v["request"]["generated_at"] = serde_json::Value::Null;
            v["request"]["received_at"] = serde_json::Value::Null;
            v["lookback"] = serde_json::Value::Null;
            blank_timestamps(&mut v);
            v
        };
        assert!(
            read("lite") == read("servers"),
            "{id}: the server report differs from SQLite's"
        );
    }
}

/// Replaces generated timestamps (each demo has its own "now") by a placeholder.
fn blank_timestamps(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            let b = s.as_bytes();
            if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' {
                *s = "<timestamp>".into();
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(blank_timestamps),
        serde_json::Value::Object(o) => o.values_mut().for_each(blank_timestamps),
        _ => {}
    }
}
