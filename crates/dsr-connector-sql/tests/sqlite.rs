//! SQLite connector against a real database file: batched exact lookups, savepoint isolation
//! between requests, verification by key, and errors without values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::SqlConnector;
use dsr_connector_sql::conformance::{col, table};
use dsr_core::config::TableMap;
use dsr_core::connector::{Connector, EraseGroup, EraseOp, FindQuery};
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;

const SCHEMA: &str = "
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL, phone TEXT, note TEXT);
CREATE TABLE pets (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id), name TEXT);
INSERT INTO people VALUES
  (1, 'Ana@Example.com ', '+1 (415) 555-0101', 'one'),
  (2, 'ben@example.com', '415-555-0102', 'two'),
  (3, 'anä@example.com', NULL, 'three'),
  (4, 'x'' OR ''1''=''1', NULL, 'four'),
  (5, 'carol@example.com', NULL, 'five');
INSERT INTO pets VALUES (10, 1, 'Rex'), (20, 2, 'Tom');
";

fn people() -> TableMap {
    table(
        "people",
        &["id"],
        vec![
            col("email", Some(("email", Normalizer::Email))),
            col("phone", Some(("phone", Normalizer::Phone))),
            col("note", None),
        ],
    )
}

async fn setup() -> (tempfile::TempDir, SqlConnector) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    SqlConnector::run_script(&url, SCHEMA).await.unwrap();
    let c = SqlConnector::connect("s", &url).await.unwrap();
    (dir, c)
}

fn ids(found: &[dsr_core::connector::Found]) -> Vec<i64> {
    let mut v: Vec<i64> = found
        .iter()
        .map(|f| match &f.record.key[0] {
            Value::Text(t) => t.parse().expect("numeric key"),
            other => panic!("key {other:?}"),
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn lookups_are_exact_after_normalisation() {
    let (_d, c) = setup().await;
    let t = people();
    let values: Vec<String> = [
        "ana@example.com",
        "x' or '1'='1",
        "%@example.com",
        "_en@example.com",
        "ANA@EXAMPLE.COM",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let found = c
        .find(FindQuery {
            table: &t,
            column: "email",
            normalizer: Normalizer::Email,
            values: &values,
        })
        .await
        .unwrap();
    // Ana matches by the email rules; the quote value matches only the row that literally holds
    // it; wildcards match nothing; the accented address is a different address.
    assert_eq!(ids(&found), vec![1, 4]);
    assert!(found.iter().any(|f| f.matched == "ana@example.com"));
    let phones = vec!["14155550101".to_string(), "4155550102".to_string()];
    let found = c
        .find(FindQuery {
            table: &t,
            column: "phone",
            normalizer: Normalizer::Phone,
            values: &phones,
        })
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![1, 2]);
    // A batch larger than one chunk is answered completely.
    let many: Vec<String> = (0..2500)
        .map(|i| format!("u{i}@example.com"))
        .chain(["carol@example.com".to_string()])
        .collect();
    let found = c
        .find(FindQuery {
            table: &t,
            column: "email",
            normalizer: Normalizer::Email,
            values: &many,
        })
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![5]);
}

#[tokio::test]
async fn one_requests_failure_never_undoes_another() {
    let (_d, c) = setup().await;
    let key = |i: i64| vec![Value::Int(i)];
    let cols = vec!["id".to_string()];
    let groups = vec![
        // Masks person 1, then tries to delete them while a pet still references them.
        EraseGroup {
            request_id: "r-fail".into(),
            lease: 1,
            ops: vec![
                EraseOp::Mask {
                    table: "people".into(),
                    key_columns: cols.clone(),
                    key: key(1),
                    set: vec![("note".into(), Value::Null)],
                },
                EraseOp::Delete {
                    table: "people".into(),
                    key_columns: cols.clone(),
                    key: key(1),
                },
            ],
        },
        EraseGroup {
            request_id: "r-ok".into(),
            lease: 1,
            ops: vec![
                EraseOp::Delete {
                    table: "pets".into(),
                    key_columns: cols.clone(),
                    key: key(20),
                },
                EraseOp::Delete {
                    table: "people".into(),
                    key_columns: cols.clone(),
                    key: key(2),
                },
            ],
        },
    ];
    let out = c.erase(&groups).await.unwrap();
    let err = out[0].result.as_ref().expect_err("FK violation");
    assert_eq!(err.table.as_deref(), Some("people"));
    assert!(err.message.contains("foreign key"), "{err}");
    assert!(!err.to_string().contains("example.com") && !err.to_string().contains("one"));
    assert_eq!(out[1].result.as_ref().unwrap(), &vec![1, 1]);
    // r-fail rolled back entirely (its mask too); r-ok committed.
    let t = people();
    let found = c
        .find(FindQuery {
            table: &t,
            column: "email",
            normalizer: Normalizer::Email,
            values: &["ana@example.com".to_string()],
        })
        .await
        .unwrap();
    assert_eq!(found[0].record.get("note"), &Value::Text("one".into()));
    assert_eq!(
        c.count_present("people", &cols, &[key(1), key(2)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.count_present("pets", &cols, &[key(10), key(20)])
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn describe_reports_columns_and_keys() {
    let (_d, c) = setup().await;
    let live = c.describe(&["people", "pets", "missing"]).await.unwrap();
    assert!(!live.contains_key("missing"));
    assert_eq!(live["people"].primary_key, vec!["id".to_string()]);
    assert!(live["people"].columns.contains_key("email"));
    assert!(live["people"].not_null.contains(&"email".to_string()));
    assert!(!live["people"].not_null.contains(&"phone".to_string()));
}

#[tokio::test]
async fn a_missing_store_file_is_an_error_not_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("absent.db").display());
    let e = SqlConnector::connect("absent", &url)
        .await
        .err()
        .expect("must fail");
    assert_eq!(e.store, "absent");
    assert!(!dir.path().join("absent.db").exists());
}
