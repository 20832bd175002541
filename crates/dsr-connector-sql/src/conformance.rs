//! The conformance suite every SQL dialect runs (like `object_store`'s integration tests):
//! call [`run`] with the URL of an empty database and it creates its tables, exercises the
//! [`Connector`] contract and panics with a message on the first violation.
//!
//! Covered: the live schema (columns, NOT NULL, single and composite primary keys, a table
//! without one), exact lookups after normalisation under a binary collation (case, accents,
//! trailing space, `%` and `_`, quotes, NUL, a 1 MB value), batches larger than one chunk,
//! following a relation by key, dates and flags readable by exemption rules, delete and mask in
//! one transaction with a savepoint per request (a foreign-key failure rolls back only its own
//! request, and its error carries no value), deleting from a table without a primary key by
//! its identity column, and re-query by key.
//!
//! Adding a dialect = one module in [`crate::dialect`] + [`crate::driver`], and one test that
//! calls [`run`].

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::SqlConnector;
use chrono::{DateTime, Utc};
use dsr_core::config::{ColumnMap, EraseAction, IdentityRole, TableMap, TableRef};
use dsr_core::connector::{Connector, EraseGroup, EraseOp, FindQuery, Found};
use dsr_core::exemption::{Condition, Test};
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;
use std::collections::BTreeSet;

/// Portable schema: every dialect accepts it as written.
pub const SCHEMA: &str = "
CREATE TABLE people (id BIGINT NOT NULL, email VARCHAR(255) NOT NULL, phone VARCHAR(40),
  status VARCHAR(20), born DATE, seen_at TIMESTAMP NULL, flagged SMALLINT NOT NULL, note VARCHAR(255),
  PRIMARY KEY (id));
CREATE TABLE pets (id BIGINT NOT NULL, person_id BIGINT NOT NULL, name VARCHAR(100), PRIMARY KEY (id),
  FOREIGN KEY (person_id) REFERENCES people (id));
CREATE TABLE visits (person_id BIGINT NOT NULL, day DATE NOT NULL, page VARCHAR(100),
  PRIMARY KEY (person_id, day));
CREATE TABLE events (email VARCHAR(255), what VARCHAR(100));
INSERT INTO people VALUES
  (1, 'Ana@Example.com ', '+1 (415) 555-0101', 'open', '1990-01-02', '2026-11-01 10:00:00', 1, 'one'),
  (2, 'ana@example.com.au', '415-555-0102', 'closed', '1991-02-03', NULL, 0, 'two'),
  (3, 'anä@example.com', NULL, 'open', NULL, NULL, 0, 'three'),
  (4, 'x'' OR ''1''=''1', NULL, NULL, NULL, NULL, 0, 'four'),
  (5, '50%@example.com', NULL, NULL, NULL, NULL, 0, 'five'),
  (6, 'a_b@example.com', NULL, NULL, NULL, NULL, 0, 'six'),
  (7, 'ANA@example.COM', NULL, NULL, NULL, NULL, 0, 'seven');
INSERT INTO pets VALUES (10, 1, 'Rex'), (50, 5, 'Tom');
INSERT INTO visits VALUES (1, '2026-01-01', '/a'), (1, '2026-01-02', '/b'), (6, '2026-01-01', '/c');
INSERT INTO events VALUES ('ana@example.com', 'login'), ('ana@example.com', 'logout'), ('b@example.com', 'login');
";

/// A mapped column for tests: no category, an optional identity role.
pub fn col(name: &str, identity: Option<(&str, Normalizer)>) -> ColumnMap {
    ColumnMap {
        name: name.into(),
        label: name.into(),
        category: None,
        sensitive: None,
        identity: identity.map(|(k, n)| IdentityRole {
            kind: k.into(),
            normalizer: n,
            unique: false,
        }),
        edge: None,
    }
}

/// A mapped table for tests, deleted on erasure, with the given key.
pub fn table(name: &str, key: &[&str], columns: Vec<ColumnMap>) -> TableMap {
    TableMap {
        id: TableRef {
            store: "conformance".into(),
            table: name.into(),
        },
        label: name.into(),
        erase: EraseAction::Delete,
        key: key.iter().map(|k| k.to_string()).collect(),
        client_column: None,
        collected_at: None,
        column_types: Default::default(),
        columns,
        objects: None,
        lake: None,
    }
}

fn people() -> TableMap {
    table(
        "people",
        &["id"],
        vec![
            col("id", Some(("customer_id", Normalizer::Exact))),
            col("email", Some(("email", Normalizer::Email))),
            col("phone", Some(("phone", Normalizer::Phone))),
            col("status", None),
            col("born", None),
            col("seen_at", None),
            col("flagged", None),
            col("note", None),
        ],
    )
}

async fn find(
    c: &SqlConnector,
    t: &TableMap,
    column: &str,
    n: Normalizer,
    values: &[&str],
) -> Vec<Found> {
    let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    c.find(FindQuery {
        table: t,
        column,
        normalizer: n,
        values: &values,
    })
    .await
    .unwrap_or_else(|e| panic!("find {}.{column}: {e}", t.id.table))
}

fn keys(found: &[Found]) -> BTreeSet<String> {
    found.iter().map(|f| f.record.key_text()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Runs the suite against the empty database at `url` (its tables are created here).
pub async fn run(url: &str) {
    SqlConnector::run_script(url, SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("creating the conformance schema: {e}"));
    let extra = match crate::scheme_of(url) {
        Some("postgres") => {
            "CREATE TABLE typed (id BIGINT PRIMARY KEY, amount NUMERIC(10,2), photo BYTEA, prefs JSONB, at TIMESTAMPTZ);
             INSERT INTO typed VALUES (1, 12.50, decode('deadbeef', 'hex'), '{\"a\": 1}', '2026-11-01 10:00:00+00');"
        }
        Some("mysql") => {
            "CREATE TABLE typed (id BIGINT PRIMARY KEY, amount DECIMAL(10,2), photo VARBINARY(64), prefs JSON, at DATETIME);
             INSERT INTO typed VALUES (1, 12.50, X'DEADBEEF', '{\"a\": 1}', '2026-11-01 10:00:00');"
        }
        _ => {
            "CREATE TABLE typed (id BIGINT PRIMARY KEY, amount DECIMAL(10,2), photo BLOB, prefs TEXT, at TEXT);
             INSERT INTO typed VALUES (1, 12.50, X'DEADBEEF', '{\"a\": 1}', '2026-11-01T10:00:00Z');"
        }
    };
    SqlConnector::run_script(url, extra)
        .await
        .unwrap_or_else(|e| panic!("typed table: {e}"));
    let c = SqlConnector::connect("conformance", url)
        .await
        .expect("connect");
    live_schema(&c).await;
    typed_values(&c).await;
    qualified_names(&c, &default_schema(url)).await;
    exact_lookups(&c).await;
    relations_and_rules(&c).await;
    rehearsal_changes_nothing(&c).await;
    keyset_scan(&c).await;
    erase_with_savepoints(&c).await;
    fencing_and_ledger(&c).await;
}

/// `scan` pages through a table in key order, each page after the last key of the one before
/// (single and composite keys, typed parameters); a table without key is refused.
async fn keyset_scan(c: &SqlConnector) {
    async fn all(c: &SqlConnector, t: &TableMap, page: usize) -> Vec<String> {
        let mut after: Option<Vec<Value>> = None;
        let mut out = Vec::new();
        loop {
            let got = c
                .scan(t, after.as_deref(), page)
                .await
                .unwrap_or_else(|e| panic!("scan {}: {e}", t.id.table));
            assert!(got.len() <= page, "a page holds at most its limit");
            out.extend(got.iter().map(|r| r.key_text()));
            match got.last() {
                Some(last) if got.len() == page => after = Some(last.key.clone()),
                _ => return out,
            }
        }
    }
    let ids = all(c, &people(), 2).await;
    let want: Vec<String> = (1..=7).map(people_key).collect();
    assert_eq!(ids, want, "people in key order, none skipped or repeated");
    let visits = table(
        "visits",
        &["person_id", "day"],
        vec![col("person_id", None), col("day", None), col("page", None)],
    );
    let v = all(c, &visits, 1).await;
    assert_eq!(v.len(), 3, "{v:?}");
    let mut sorted = v.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3, "no visit twice: {v:?}");
    let events = table("events", &[], vec![col("email", None), col("what", None)]);
    let e = c.scan(&events, None, 10).await.expect_err("no key");
    assert_eq!(e.code, dsr_core::connector::UNSUPPORTED);
}

/// The key text of people row `id`, as `Record::key_text` spells it.
fn people_key(id: i64) -> String {
    dsr_core::value::Record {
        key: vec![Value::Text(id.to_string())],
        values: Default::default(),
    }
    .key_text()
}

/// A group under a lower lease than one that has written for its request changes nothing and
/// is refused as `fenced`; the ledger adds up every committed group's records.
async fn fencing_and_ledger(c: &SqlConnector) {
    let mask = |id: &str, note: &str| EraseOp::Mask {
        table: "people".into(),
        key_columns: cols(&["id"]),
        key: key(&[id]),
        set: vec![("note".into(), Value::Text(note.into()))],
    };
    let group = |req: &str, lease: u64, ops: Vec<EraseOp>| EraseGroup {
        request_id: req.into(),
        lease,
        ops,
    };
    // ok-1 wrote under lease 1 (erase_with_savepoints): 6 deletions in its ledger.
    let out = c
        .erase(&[group("ok-1", 5, vec![mask("3", "by-5")])])
        .await
        .expect("erase");
    assert_eq!(out[0].result.as_ref().expect("lease 5 claims"), &vec![1]);
    assert_eq!(out[0].ledger.deleted, 6, "{:?}", out[0].ledger);
    assert_eq!(out[0].ledger.masked, 1);
    // The same lease again is allowed (a retry inside one lease).
    let out = c
        .erase(&[group("ok-1", 5, vec![mask("3", "by-5-again")])])
        .await
        .expect("erase");
    assert!(out[0].result.is_ok());
    assert_eq!(out[0].ledger.masked, 2);
    // A later lease masking a record that already holds the mask (an earlier lease committed
    // it after this one planned) changes and counts nothing, on every server.
    let out = c
        .erase(&[group("ok-1", 6, vec![mask("3", "by-5-again")])])
        .await
        .expect("erase");
    assert_eq!(out[0].result.as_ref().expect("lease 6 claims"), &vec![0]);
    assert_eq!(
        out[0].ledger.masked, 2,
        "an unchanged record is not counted again"
    );
    // A stale lease is fenced and changes nothing; other requests in the batch commit.
    let out = c
        .erase(&[
            group("ok-1", 4, vec![mask("3", "stale")]),
            group("fresh", 2, vec![mask("6", "fresh")]),
        ])
        .await
        .expect("erase");
    let err = out[0].result.as_ref().expect_err("stale lease");
    assert_eq!(err.code, dsr_core::connector::FENCED);
    assert_eq!(out[0].ledger, dsr_core::connector::Ledger::default());
    assert!(out[1].result.is_ok(), "{:?}", out[1].result);
    let p = people();
    let three = find(c, &p, "id", Normalizer::Exact, &["3", "6"]).await;
    for f in three {
        let expected = if f.record.key_text() == "3" {
            "by-5-again"
        } else {
            "fresh"
        };
        assert_eq!(f.record.get("note"), &Value::Text(expected.into()));
    }
    // A rehearsal never touches the fence, whatever its lease.
    let out = c
        .rehearse(&[group("ok-1", 1, vec![mask("3", "rehearsed")])])
        .await
        .expect("rehearse");
    assert!(out[0].result.is_ok());
}

/// `rehearse` answers like `erase` and leaves every record as it was; `sample` reads records.
async fn rehearsal_changes_nothing(c: &SqlConnector) {
    let p = people();
    let sample = c.sample(&p, 2).await.expect("sample");
    assert_eq!(sample.len(), 2);
    let groups = vec![
        EraseGroup {
            request_id: "fine".into(),
            lease: 1,
            ops: vec![EraseOp::Mask {
                table: "people".into(),
                key_columns: cols(&["id"]),
                key: key(&["2"]),
                set: vec![("note".into(), Value::Text("[erased]".into()))],
            }],
        },
        EraseGroup {
            request_id: "refused".into(),
            lease: 1,
            ops: vec![EraseOp::Mask {
                table: "people".into(),
                key_columns: cols(&["id"]),
                key: key(&["2"]),
                set: vec![("email".into(), Value::Null)],
            }],
        },
    ];
    let out = c.rehearse(&groups).await.expect("rehearse");
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert!(out[1].result.is_err(), "NOT NULL refuses the mask");
    let two = find(c, &p, "id", Normalizer::Exact, &["2"]).await;
    assert_eq!(
        two[0].record.get("note"),
        &Value::Text("two".into()),
        "a rehearsal is rolled back"
    );
}

/// Decimals, binary, JSON and timestamps arrive as text a report and a rule can use.
async fn typed_values(c: &SqlConnector) {
    let t = table(
        "typed",
        &["id"],
        vec![
            col("id", Some(("customer_id", Normalizer::Exact))),
            col("amount", None),
            col("photo", None),
            col("prefs", None),
            col("at", None),
        ],
    );
    let found = find(c, &t, "id", Normalizer::Exact, &["1"]).await;
    let r = &found[0].record;
    let text = |k: &str| r.get(k).as_text().unwrap_or_default();
    assert_eq!(
        text("amount").parse::<f64>().ok(),
        Some(12.5),
        "decimal: {:?}",
        r.get("amount")
    );
    assert_eq!(text("photo"), "deadbeef", "binary as hex");
    let prefs: serde_json::Value = serde_json::from_str(&text("prefs")).expect("JSON text");
    assert_eq!(prefs["a"], 1);
    assert!(
        dsr_core::exemption::parse_timestamp(r.get("at")).is_some(),
        "timestamp: {:?}",
        r.get("at")
    );
}

/// The schema unqualified names resolve to on a fresh connection.
fn default_schema(url: &str) -> String {
    match crate::scheme_of(url) {
        Some("postgres") => "public".into(),
        Some("mysql") => url
            .split('?')
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or_default()
            .to_string(),
        _ => "main".into(),
    }
}

/// `schema.table` names work for describe and lookups.
async fn qualified_names(c: &SqlConnector, schema: &str) {
    let name = format!("{schema}.people");
    let live = c
        .describe(&[name.as_str()])
        .await
        .expect("describe schema.table");
    assert_eq!(live[&name].primary_key, vec!["id".to_string()], "{name}");
    let mut t = people();
    t.id.table = name;
    assert_eq!(
        keys(&find(c, &t, "email", Normalizer::Email, &["a_b@example.com"]).await),
        set(&["6"])
    );
}

async fn live_schema(c: &SqlConnector) {
    let live = c
        .describe(&["people", "visits", "events", "missing"])
        .await
        .expect("describe");
    assert!(!live.contains_key("missing"), "a missing table is absent");
    assert_eq!(live["people"].primary_key, vec!["id".to_string()]);
    assert_eq!(
        live["visits"].primary_key,
        vec!["person_id".to_string(), "day".to_string()]
    );
    assert!(live["events"].primary_key.is_empty());
    assert!(live["people"].not_null.contains(&"email".to_string()));
    assert!(!live["people"].not_null.contains(&"phone".to_string()));
    assert!(live["people"].columns.contains_key("born"));
}

async fn exact_lookups(c: &SqlConnector) {
    let p = people();
    let e = Normalizer::Email;
    // Case and trailing space follow the email rules; the accent, the longer domain, and the
    // wildcard characters never widen a match.
    assert_eq!(
        keys(&find(c, &p, "email", e, &["ana@example.com"]).await),
        set(&["1", "7"])
    );
    assert_eq!(
        keys(&find(c, &p, "email", e, &["anä@example.com"]).await),
        set(&["3"])
    );
    assert!(
        find(
            c,
            &p,
            "email",
            e,
            &["%@example.com", "ana@example.%", "an_@example.com"]
        )
        .await
        .is_empty()
    );
    assert_eq!(
        keys(&find(c, &p, "email", e, &["a_b@example.com", "axb@example.com"]).await),
        set(&["6"])
    );
    assert_eq!(
        keys(&find(c, &p, "email", e, &["50%@example.com"]).await),
        set(&["5"])
    );
    // A quote is a character like any other.
    assert_eq!(
        keys(&find(c, &p, "email", e, &["x' or '1'='1"]).await),
        set(&["4"])
    );
    // NUL and a 1 MB value match nothing and fail nothing.
    let huge = format!("{}@example.com", "a".repeat(1 << 20));
    assert!(
        find(c, &p, "email", e, &["ana@example.com\0", &huge])
            .await
            .is_empty()
    );
    // The matched value is reported normalised.
    let f = find(c, &p, "email", e, &["ana@example.com"]).await;
    assert!(
        f.iter().all(|x| x.matched == "ana@example.com"),
        "matched values are normalised"
    );
    // An integer key takes canonical integers only: nothing is coerced (MySQL would read
    // `x'…` as 0) and nothing fails the batch.
    assert!(
        find(
            c,
            &p,
            "id",
            Normalizer::Exact,
            &["x' or '1'='1", "02", "0", "1.0", " 1"]
        )
        .await
        .is_empty()
    );
    // Phones compare by digits; ids exactly.
    assert_eq!(
        keys(
            &find(
                c,
                &p,
                "phone",
                Normalizer::Phone,
                &["14155550101", "4155550102"]
            )
            .await
        ),
        set(&["1", "2"])
    );
    assert_eq!(
        keys(&find(c, &p, "id", Normalizer::Exact, &["2", "3", "99"]).await),
        set(&["2", "3"])
    );
    // A batch larger than any chunk is answered completely.
    let mut many: Vec<String> = (0..25_000).map(|i| format!("u{i}@example.com")).collect();
    many.push("a_b@example.com".into());
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(keys(&find(c, &p, "email", e, &refs).await), set(&["6"]));
}

async fn relations_and_rules(c: &SqlConnector) {
    // Children by their parent's key.
    let pets = table(
        "pets",
        &["id"],
        vec![col("person_id", None), col("name", None)],
    );
    let found = find(c, &pets, "person_id", Normalizer::Exact, &["1", "5"]).await;
    assert_eq!(keys(&found), set(&["10", "50"]));
    // Values arrive as text that exemption rules read: flags, dates, timestamps.
    let p = people();
    let ana = find(c, &p, "id", Normalizer::Exact, &["1"]).await;
    let rec = &ana[0].record;
    let now: DateTime<Utc> = "2026-11-28T00:00:00Z".parse().expect("time");
    let rule = |column: &str, test: Test| Condition::Column {
        column: column.into(),
        test,
    };
    assert!(
        rule("flagged", Test::IsTrue(true)).holds(rec, now),
        "flag: {:?}",
        rec.get("flagged")
    );
    assert!(rule("status", Test::In(vec!["open".into()])).holds(rec, now));
    assert!(
        rule("born", Test::OlderThanDays(365)).holds(rec, now),
        "date: {:?}",
        rec.get("born")
    );
    assert!(
        rule("seen_at", Test::YoungerThanDays(90)).holds(rec, now),
        "timestamp: {:?}",
        rec.get("seen_at")
    );
    assert_eq!(rec.get("born"), &Value::Text("1990-01-02".into()));
}

fn key(v: &[&str]) -> Vec<Value> {
    v.iter().map(|s| Value::Text(s.to_string())).collect()
}

fn cols(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn erase_with_savepoints(c: &SqlConnector) {
    let groups = vec![
        EraseGroup {
            request_id: "ok-1".into(),
            lease: 1,
            ops: vec![
                EraseOp::Delete {
                    table: "pets".into(),
                    key_columns: cols(&["id"]),
                    key: key(&["10"]),
                },
                EraseOp::Delete {
                    table: "visits".into(),
                    key_columns: cols(&["person_id", "day"]),
                    key: key(&["1", "2026-01-01"]),
                },
                EraseOp::Delete {
                    table: "visits".into(),
                    key_columns: cols(&["person_id", "day"]),
                    key: key(&["1", "2026-01-02"]),
                },
                EraseOp::Delete {
                    table: "events".into(),
                    key_columns: cols(&["email"]),
                    key: key(&["ana@example.com"]),
                },
                EraseOp::Delete {
                    table: "people".into(),
                    key_columns: cols(&["id"]),
                    key: key(&["1"]),
                },
            ],
        },
        EraseGroup {
            request_id: "fails".into(),
            lease: 1,
            ops: vec![
                EraseOp::Mask {
                    table: "people".into(),
                    key_columns: cols(&["id"]),
                    key: key(&["5"]),
                    set: vec![("note".into(), Value::Text("[erased]".into()))],
                },
                // Tom still belongs to person 5: the foreign key refuses.
                EraseOp::Delete {
                    table: "people".into(),
                    key_columns: cols(&["id"]),
                    key: key(&["5"]),
                },
            ],
        },
        EraseGroup {
            request_id: "ok-2".into(),
            lease: 1,
            ops: vec![EraseOp::Mask {
                table: "people".into(),
                key_columns: cols(&["id"]),
                key: key(&["2"]),
                set: vec![
                    ("note".into(), Value::Text("[erased]".into())),
                    ("status".into(), Value::Null),
                    ("born".into(), Value::Text("1991-01-01".into())),
                ],
            }],
        },
    ];
    let out = c.erase(&groups).await.expect("erase transaction");
    assert_eq!(out[0].result.as_ref().expect("ok-1"), &vec![1, 1, 1, 2, 1]);
    let err = out[1].result.as_ref().expect_err("the foreign key refuses");
    assert_eq!(err.table.as_deref(), Some("people"));
    assert!(err.message.contains("foreign key"), "{err}");
    for leaked in ["50%", "example.com", "five", "[erased]"] {
        assert!(
            !err.to_string().contains(leaked),
            "error carries a value: {err}"
        );
    }
    assert_eq!(out[2].result.as_ref().expect("ok-2"), &vec![1]);

    // Proof by key: ok-1's rows are gone, the failed request changed nothing.
    assert_eq!(
        c.count_present("people", &cols(&["id"]), &[key(&["1"]), key(&["5"])])
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        c.count_present("pets", &cols(&["id"]), &[key(&["10"]), key(&["50"])])
            .await
            .expect("count"),
        1
    );
    let vk = cols(&["person_id", "day"]);
    assert_eq!(
        c.count_present(
            "visits",
            &vk,
            &[key(&["1", "2026-01-01"]), key(&["6", "2026-01-01"])]
        )
        .await
        .expect("count"),
        1
    );
    let events = table(
        "events",
        &["email"],
        vec![
            col("email", Some(("email", Normalizer::Email))),
            col("what", None),
        ],
    );
    assert!(
        find(c, &events, "email", Normalizer::Email, &["ana@example.com"])
            .await
            .is_empty()
    );
    assert_eq!(
        find(c, &events, "email", Normalizer::Email, &["b@example.com"])
            .await
            .len(),
        1
    );
    let p = people();
    let five = find(c, &p, "id", Normalizer::Exact, &["5", "2"]).await;
    for f in five {
        let note = f.record.get("note").clone();
        match f.record.key_text().as_str() {
            "5" => assert_eq!(
                note,
                Value::Text("five".into()),
                "the failed request's mask rolled back"
            ),
            _ => {
                assert_eq!(note, Value::Text("[erased]".into()));
                assert_eq!(f.record.get("status"), &Value::Null);
                assert_eq!(f.record.get("born"), &Value::Text("1991-01-01".into()));
            }
        }
    }
}
