//! End-to-end faults: a store unreachable when a run starts defers the whole batch, recorded
//! (control DB events, evidence entries, the run row) with nothing resolved, reported or erased;
//! the next run, with the store back, does the work.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::subjects::*;
use dsr_tests::{CRM_TABLES, Db, Env, text, verified};
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};
use std::collections::BTreeMap;
use std::str::FromStr;

const FILLER: usize = 20;

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "dsr failed: {}", text(o));
}

/// The status column of `dsr status ID`, and the event names listed under it.
fn status_of(env: &Env, id: &str) -> (String, Vec<String>) {
    let o = env.dsr(&["status", id]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let mut lines = out.lines();
    let first = lines.next().expect("status line");
    let status = first.split_whitespace().nth(2).expect("status").to_string();
    let events = lines
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    (status, events)
}

async fn crm_rows(env: &Env) -> BTreeMap<String, BTreeMap<i64, String>> {
    let mut out = BTreeMap::new();
    for t in CRM_TABLES {
        out.insert(t.to_string(), env.rows(Db::Crm, t).await);
    }
    out
}

/// Every evidence chain entry.
fn log_entries(env: &Env) -> Vec<Value> {
    env.entries()
}

/// (finished_at, summary) of every run, oldest first.
async fn runs(env: &Env) -> Vec<(Option<String>, Option<String>)> {
    let url = format!("sqlite://{}", env.dir.path().join("control.db").display());
    let mut conn = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::query("SELECT finished_at, summary FROM runs ORDER BY started_at, id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect()
}

fn audit_ok(env: &Env) {
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "audit verify failed: {}", text(&v));
}

#[tokio::test]
async fn unreachable_store_defers_the_batch_and_the_next_run_does_it() {
    let env = Env::new(FILLER).await;
    ok(&env.submit(&[
        verified("del-ben", "deletion", BEN_EMAIL),
        verified("acc-ana", "access", ANA_EMAIL),
    ]));
    let crm_before = crm_rows(&env).await;
    assert!(
        !env.ids_where(Db::Crm, "orders", "id", BEN_CLOSED_ORDER_ID)
            .await
            .is_empty()
    );

    // The support store goes away: SQLite only opens an existing file.
    let support = env.dir.path().join("support.db");
    let away = env.dir.path().join("support.db.away");
    std::fs::rename(&support, &away).unwrap();

    let o = env.run();
    assert!(!o.status.success(), "run should fail: {}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "one error line: {stderr}");
    assert!(
        error[0].contains("store support unreachable (code ")
            && error[0].contains("2 requests deferred to the next run"),
        "{stderr}"
    );
    for v in [BEN_EMAIL, ANA_EMAIL] {
        assert!(!text(&o).contains(v), "value in output: {}", text(&o));
    }

    // Nothing touched, nothing reported; both wait for the next run.
    assert_eq!(crm_rows(&env).await, crm_before);
    for id in ["del-ben", "acc-ana"] {
        let (status, events) = status_of(&env, id);
        assert_eq!(status, "admitted", "{id}");
        assert_eq!(events.last().map(String::as_str), Some("deferred"), "{id}");
        assert!(!env.reports().join(id).exists(), "{id} has a report");
    }

    // Evidence: verifies, one `deferred` entry per request, no manifest, no values.
    audit_ok(&env);
    let entries = log_entries(&env);
    for id in ["del-ben", "acc-ana"] {
        let deferred: Vec<&Value> = entries
            .iter()
            .filter(|e| e["kind"] == "deferred" && e["request"] == id)
            .collect();
        assert_eq!(deferred.len(), 1, "{id}");
        assert_eq!(deferred[0]["data"]["unreachable"][0]["store"], "support");
        assert!(deferred[0]["data"]["unreachable"][0]["code"].is_string());
        assert!(env.manifests(id).is_empty(), "{id} is not sealed yet");
    }
    assert!(
        !entries
            .iter()
            .any(|e| e["kind"] == "request_started" || e["kind"] == "erase_intent")
    );
    let finished = env.run_summaries();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["status"], "deferred");
    let evidence = env.evidence_text();
    for v in [BEN_EMAIL, ANA_EMAIL] {
        assert!(!evidence.contains(v));
    }

    // The run is closed, its summary says why.
    let r = runs(&env).await;
    assert_eq!(r.len(), 1);
    assert!(r[0].0.is_some(), "finished_at not set");
    let summary: Value = serde_json::from_str(r[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(summary["status"], "deferred");
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .contains("store support unreachable")
    );
    assert_eq!(summary["deferred"], 2);

    // The store is back: the next run does the work.
    std::fs::rename(&away, &support).unwrap();
    ok(&env.run());
    for id in ["del-ben", "acc-ana"] {
        let (status, _) = status_of(&env, id);
        assert_eq!(status, "fulfilled", "{id}");
        assert!(env.reports().join(id).join("report.json").exists(), "{id}");
    }
    assert!(
        env.ids_where(Db::Crm, "orders", "id", BEN_CLOSED_ORDER_ID)
            .await
            .is_empty()
    );
    assert!(
        env.ids_where(Db::Support, "tickets", "customer_id", BEN_ID)
            .await
            .is_empty()
    );
    audit_ok(&env);
    let r = runs(&env).await;
    assert_eq!(r.len(), 2);
    assert!(r[1].0.is_some());
    for id in ["del-ben", "acc-ana"] {
        let manifests = env.manifests(id);
        assert_eq!(manifests.len(), 1, "{id}: {manifests:?}");
    }
}

#[tokio::test]
async fn an_opt_out_is_honoured_while_a_store_is_down() {
    let env = Env::new(FILLER).await;
    let mut opt_out = dsr_tests::request("opt-eve", "opt_out", &[("email", EVE_EMAIL)], None);
    opt_out["jurisdiction"] = serde_json::json!("CA");
    ok(&env.submit(&[opt_out, verified("del-ben", "deletion", BEN_EMAIL)]));
    let support = env.dir.path().join("support.db");
    std::fs::rename(&support, env.dir.path().join("support.db.away")).unwrap();
    let o = env.run();
    assert!(
        !o.status.success(),
        "the deletion is deferred: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("1 requests deferred") || text(&o).contains("1 request"),
        "{}",
        text(&o)
    );
    assert_eq!(
        status_of(&env, "opt-eve").0,
        "fulfilled",
        "no store is needed to opt out"
    );
    assert_eq!(status_of(&env, "del-ben").0, "admitted");
    audit_ok(&env);
}

async fn exec(env: &Env, db: Db, sql: &str) {
    let mut c = SqliteConnectOptions::from_str(&env.url(db))
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
}

#[tokio::test]
async fn a_store_that_refuses_leaves_the_others_done_and_is_retried() {
    let env = Env::new(FILLER).await;
    // The help desk refuses every delete (a rule dsr cannot see in its config).
    exec(
        &env,
        Db::Support,
        "CREATE TRIGGER tickets_keep BEFORE DELETE ON tickets BEGIN SELECT RAISE(ABORT, 'kept'); END;",
    )
    .await;
    let tickets = env
        .ids_where(Db::Support, "tickets", "customer_id", BEN_ID)
        .await;
    assert!(!tickets.is_empty());
    ok(&env.submit(&[verified("del-ben", "deletion", BEN_EMAIL)]));
    ok(&env.run());
    let (status, _) = status_of(&env, "del-ben");
    assert_eq!(status, "partially_fulfilled");
    // The CRM completed; the support store is unchanged.
    assert!(
        env.ids_where(Db::Crm, "orders", "id", BEN_CLOSED_ORDER_ID)
            .await
            .is_empty()
    );
    assert_eq!(
        env.ids_where(Db::Support, "tickets", "customer_id", BEN_ID)
            .await,
        tickets
    );
    let failed: Vec<Value> = log_entries(&env)
        .into_iter()
        .filter(|e| e["kind"] == "erase_outcome" && e["data"]["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["store"], "support");
    assert!(
        !failed[0].to_string().contains("kept"),
        "database messages stay out of evidence"
    );
    let (json, _) = env.report("del-ben");
    let answer: Value = serde_json::from_str(&json).unwrap();
    let pending = answer["deletion"]["failed"].as_array().unwrap();
    assert!(
        pending.iter().any(|c| c["source"] == "support"),
        "the answer says what is still to be done: {pending:?}"
    );

    // The rule is lifted: the next run finishes the job.
    exec(&env, Db::Support, "DROP TRIGGER tickets_keep;").await;
    ok(&env.run());
    assert_eq!(status_of(&env, "del-ben").0, "fulfilled");
    assert!(
        env.ids_where(Db::Support, "tickets", "customer_id", BEN_ID)
            .await
            .is_empty()
    );
    audit_ok(&env);
}
