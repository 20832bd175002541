//! Identity resolution against real SQLite stores with a small data map written here:
//! batching shares queries (their number does not grow with the batch) but never results,
//! a whole store held for a Client is named and never attributed, and ownership follows
//! `owned_by` through non-key parents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::SqlConnector;
use dsr_core::config::{Config, SourceFile};
use dsr_core::request::Request;
use dsr_engine::load::{check_live, connect};
use dsr_engine::resolve::{Resolution, resolve};
use std::collections::BTreeSet;

const MAIN: &str = r#"
kind = "sqlite"
url = "${MAIN_URL}"
[tables.customers]
erase = "delete"
columns.id    = { identity = "customer_id", unique = true }
columns.email = { category = "contact", identity = "email" }
[tables.orders]
erase = "delete"
columns.id          = {}
columns.customer_id = { owned_by = "customers.id" }
columns.total       = { category = "commercial" }
[tables.items]
erase = "delete"
columns.order_id = { owned_by = "orders.id" }
columns.sku      = { category = "commercial" }
"#;

const PARTNER: &str = r#"
kind = "sqlite"
url = "${PARTNER_URL}"
client = "acme"
[tables.contacts]
erase = "delete"
columns.email = { category = "contact", identity = "email" }
"#;

struct Estate {
    _dir: tempfile::TempDir,
    config: Config,
}

async fn estate(subjects: i64) -> Estate {
    let dir = tempfile::tempdir().unwrap();
    let main = format!("sqlite://{}", dir.path().join("main.db").display());
    let partner = format!("sqlite://{}", dir.path().join("partner.db").display());
    let mut sql = String::from(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total INTEGER);
         CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT);",
    );
    let mut psql = String::from("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT);");
    for i in 1..=subjects {
        sql.push_str(&format!(
            "INSERT INTO customers VALUES ({i}, 'u{i}@example.com');
             INSERT INTO orders VALUES ({}, {i}, {i}00), ({}, {i}, {i}01);
             INSERT INTO items VALUES ({}, {}, 'sku-{i}'), ({}, {}, 'sku-{i}b');",
            i * 10,
            i * 10 + 1,
            i * 100,
            i * 10,
            i * 100 + 1,
            i * 10 + 1
        ));
        if i % 2 == 0 {
            psql.push_str(&format!(
                "INSERT INTO contacts VALUES ({i}, 'U{i}@Example.com');"
            ));
        }
    }
    SqlConnector::run_script(&main, &sql).await.unwrap();
    SqlConnector::run_script(&partner, &psql).await.unwrap();
    let files = [
        ("dsr.toml", dsr_fixtures::minimal::SETTINGS),
        ("disclosures.toml", dsr_fixtures::minimal::DISCLOSURES),
        ("stores/main.toml", MAIN),
        ("stores/partner.toml", PARTNER),
    ]
    .map(|(p, t)| SourceFile {
        path: p.into(),
        text: t.into(),
    });
    let env = move |k: &str| match k {
        "MAIN_URL" => Some(main.clone()),
        "PARTNER_URL" => Some(partner.clone()),
        _ => None,
    };
    let config = Config::from_sources(&files, &env).unwrap();
    Estate { _dir: dir, config }
}

fn req(id: &str, email: &str) -> Request {
    let json = format!(
        r#"{{"id":"{id}","kind":"access","jurisdiction":"CA","received_at":"2026-11-01T00:00:00Z",
        "subject":{{"identities":[{{"type":"email","value":"{email}"}}]}},
        "verification":{{"level":"reasonably_high","method":"t","verified_at":"2026-11-01T00:00:00Z"}}}}"#
    );
    Request::from_json(
        &json,
        &[("email".to_string(), dsr_core::identity::Normalizer::Email)].into(),
    )
    .unwrap()
}

async fn run(e: &Estate, reqs: &[Request]) -> Resolution {
    let mut map = e.config.data_map.clone();
    let conns = connect(&map).await.unwrap();
    assert!(check_live(&mut map, &conns).await.unwrap().is_empty());
    resolve(&map, &conns, reqs).await.unwrap()
}

/// (table, key) of a request's own rows.
fn own(res: &Resolution, i: usize) -> BTreeSet<(String, String)> {
    res.requests[i]
        .own
        .iter()
        .map(|&r| (res.rows[r].table.to_string(), res.rows[r].record.key_text()))
        .collect()
}

#[tokio::test]
async fn own_rows_follow_ownership_and_client_stores_are_only_named() {
    let e = estate(4).await;
    let res = run(&e, &[req("r2", "u2@example.com")]).await;
    let mine = own(&res, 0);
    let expected: BTreeSet<(String, String)> = [
        ("main.customers", "2"),
        ("main.orders", "20"),
        ("main.orders", "21"),
        ("main.items", "200"),
        ("main.items", "201"),
    ]
    .iter()
    .map(|(t, k)| (t.to_string(), k.to_string()))
    .collect();
    assert_eq!(mine, expected);
    assert_eq!(
        res.requests[0].clients,
        BTreeSet::from(["acme".to_string()])
    );
    assert!(res.requests[0].held.is_none());
    // Subject 3 has no partner row: no Client to contact.
    let res = run(&e, &[req("r3", "u3@example.com")]).await;
    assert!(res.requests[0].clients.is_empty());
}

#[tokio::test]
async fn batching_shares_queries_never_results() {
    let e = estate(60).await;
    let single = run(&e, &[req("r7", "u7@example.com")]).await;
    let reqs: Vec<Request> = (1..=50)
        .map(|i| req(&format!("r{i}"), &format!("u{i}@example.com")))
        .collect();
    let batch = run(&e, &reqs).await;
    // The number of queries depends on the data map's shape, not on the number of subjects.
    assert_eq!(
        batch.queries, single.queries,
        "one query per (table, column) per round"
    );
    // Request 7 gets exactly what it gets alone; no row is attributed to two requests.
    assert_eq!(own(&batch, 6), own(&single, 0));
    let mut seen = BTreeSet::new();
    for i in 0..reqs.len() {
        for row in own(&batch, i) {
            assert!(seen.insert(row.clone()), "{row:?} attributed twice");
        }
    }
    assert_eq!(seen.len(), 50 * 5);
}

#[tokio::test]
async fn two_subjects_behind_one_request_are_held() {
    let e = estate(4).await;
    let json = r#"{"id":"mix","kind":"deletion","jurisdiction":"CA","received_at":"2026-11-01T00:00:00Z",
        "subject":{"identities":[{"type":"email","value":"u1@example.com"},{"type":"customer_id","value":"3"}]},
        "verification":{"level":"reasonably_high","method":"t","verified_at":"2026-11-01T00:00:00Z"}}"#;
    let r = Request::from_json(json, &e.config.settings.identity_types).unwrap();
    let res = run(&e, &[r]).await;
    assert!(
        res.requests[0]
            .held
            .as_deref()
            .unwrap_or("")
            .contains("2 distinct subjects")
    );
}
