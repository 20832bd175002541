//! `dsr schedule` end to end on the demo estate, with the clock injected (`--now`): a first
//! pass arms the jobs, the next runs each due job once, the same time again runs nothing, a
//! week later each runs once more (one catch-up, not seven); the retention job purges a
//! request finished more than 24 months ago and keeps a newer one (evidence untouched); and
//! `dsr status --overdue` lists an overdue request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use dsr_fixtures::subjects::*;
use dsr_tests::{Env, text, verified};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row, SqliteConnection};
use std::str::FromStr;

const FILLER: usize = 20;

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "dsr failed: {}", text(o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

async fn control(env: &Env) -> SqliteConnection {
    let url = format!("sqlite://{}", env.dir.path().join("control.db").display());
    SqliteConnectOptions::from_str(&url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn count(env: &Env, q: &str) -> i64 {
    let mut c = control(env).await;
    sqlx::query(q)
        .fetch_one(&mut c)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// (outcome, detail) of every recorded fire of `job`, oldest first.
async fn fires(env: &Env, job: &str) -> Vec<(String, String)> {
    let mut c = control(env).await;
    sqlx::query("SELECT outcome, detail FROM job_fires WHERE job = ?1 ORDER BY scheduled_ms")
        .bind(job)
        .fetch_all(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect()
}

async fn status_of(env: &Env, id: &str) -> Option<String> {
    let mut c = control(env).await;
    sqlx::query("SELECT status FROM requests WHERE id = ?1")
        .bind(id)
        .fetch_optional(&mut c)
        .await
        .unwrap()
        .map(|r| r.try_get(0).unwrap())
}

/// A job directory: nightly fulfilment 02:00, retention Sundays 03:00, overdue 08:00, all in
/// America/Los_Angeles.
fn jobs_dir(env: &Env) -> std::path::PathBuf {
    let d = env.dir.path().join("jobs");
    std::fs::create_dir_all(&d).unwrap();
    let tz = "timezone = \"America/Los_Angeles\"\n";
    std::fs::write(
        d.join("nightly.toml"),
        format!("schedule = \"0 2 * * *\"\n{tz}kind = \"fulfilment\"\nkinds = [\"access\", \"access_categories\", \"deletion\", \"opt_out\"]\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("retention.toml"),
        format!("schedule = \"0 3 * * 0\"\n{tz}kind = \"retention\"\nkeep_months = 24\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("overdue.toml"),
        format!("schedule = \"0 8 * * *\"\n{tz}kind = \"overdue_report\"\n"),
    )
    .unwrap();
    d
}

/// A Sunday 20:00 UTC at least a week before now: every window (T - 8 days, T] and
/// (T, T + 7 days] holds a Sunday 03:00 in Los Angeles, whatever the time of year.
fn anchor(now: DateTime<Utc>) -> DateTime<Utc> {
    let d = now - Duration::days(7);
    let sunday = d.date_naive() - Duration::days(i64::from(d.weekday().num_days_from_sunday()));
    let t = sunday
        .and_time(NaiveTime::from_hms_opt(20, 0, 0).unwrap())
        .and_utc();
    if t > d { t - Duration::days(7) } else { t }
}

fn schedule(env: &Env, jobs: &std::path::Path, now: DateTime<Utc>) -> String {
    ok(&env.dsr(&[
        "schedule",
        "--jobs",
        jobs.to_str().unwrap(),
        "--once",
        "--now",
        &now.to_rfc3339(),
    ]))
}

#[tokio::test]
async fn schedule_runs_each_job_once_per_fire_time_and_purges_past_retention() {
    let env = Env::new(FILLER).await;
    let jobs = jobs_dir(&env);
    ok(&env.submit(&[
        verified("del-ben", "deletion", BEN_EMAIL),
        verified("acc-ana", "access", ANA_EMAIL),
    ]));
    let t1 = anchor(Utc::now());
    let t0 = t1 - Duration::days(8);
    let t2 = t1 + Duration::days(7);

    // First start: every job armed, nothing run, not even the fire times before T0.
    let out = schedule(&env, &jobs, t0);
    assert_eq!(out.matches("armed").count(), 3, "{out}");
    assert_eq!(count(&env, "SELECT count(*) FROM runs").await, 0);
    assert_eq!(
        status_of(&env, "del-ben").await.as_deref(),
        Some("received")
    );

    // T1: eight days later; each job runs once (the latest missed fire time only).
    let out = schedule(&env, &jobs, t1);
    assert_eq!(out.matches("fulfilment run for").count(), 1, "{out}");
    assert_eq!(out.matches("retention run for").count(), 1, "{out}");
    assert_eq!(out.matches("overdue_report run for").count(), 1, "{out}");
    assert_eq!(count(&env, "SELECT count(*) FROM runs").await, 1);
    assert_eq!(
        status_of(&env, "del-ben").await.as_deref(),
        Some("fulfilled")
    );
    assert_eq!(
        status_of(&env, "acc-ana").await.as_deref(),
        Some("fulfilled")
    );
    let nightly = fires(&env, "nightly").await;
    assert_eq!(
        nightly.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["armed", "ok"]
    );
    assert!(nightly[1].1.contains("\"requests\":2"), "{:?}", nightly[1]);
    assert!(nightly[1].1.contains("\"missed\":7"), "{:?}", nightly[1]);

    // The same time again: already fired, nothing runs.
    let out = schedule(&env, &jobs, t1);
    assert!(!out.contains("run for"), "{out}");
    assert_eq!(fires(&env, "nightly").await.len(), 2);
    assert_eq!(count(&env, "SELECT count(*) FROM job_fires").await, 6);
    assert_eq!(
        count(&env, "SELECT count(*) FROM job_locks").await,
        0,
        "locks released"
    );

    // del-ben finished 25 months ago; acc-ana just now.
    let old = Utc::now()
        .checked_sub_months(chrono::Months::new(25))
        .unwrap();
    let mut c = control(&env).await;
    sqlx::query("UPDATE requests SET updated_at = ?1 WHERE id = 'del-ben'")
        .bind(old.to_rfc3339())
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let ben_manifests = env.manifests("del-ben");
    assert!(!ben_manifests.is_empty());

    // A week later: each job once more.
    let out = schedule(&env, &jobs, t2);
    assert_eq!(out.matches("fulfilment run for").count(), 1, "{out}");
    assert_eq!(out.matches("retention run for").count(), 1, "{out}");
    assert!(out.contains("purged 1 request(s)"), "{out}");
    let nightly = fires(&env, "nightly").await;
    assert_eq!(nightly.len(), 3);
    assert!(nightly[2].1.contains("\"missed\":6"), "{:?}", nightly[2]);
    let retention = fires(&env, "retention").await;
    assert_eq!(retention.len(), 3);
    assert_eq!(retention[2].0, "ok");
    assert!(
        retention[2].1.contains("\"requests\":1"),
        "purge counts recorded: {:?}",
        retention[2]
    );
    assert!(!retention[2].1.contains('@'), "counts only");
    // Purged from the control DB with its events and identity hashes; the newer one kept.
    assert_eq!(status_of(&env, "del-ben").await, None);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM request_events WHERE request_id = 'del-ben'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM request_identities WHERE request_id = 'del-ben'"
        )
        .await,
        0
    );
    assert_eq!(
        status_of(&env, "acc-ana").await.as_deref(),
        Some("fulfilled")
    );
    assert!(
        count(
            &env,
            "SELECT count(*) FROM request_events WHERE request_id = 'acc-ana'"
        )
        .await
            > 0
    );
    // Evidence is write-once and untouched.
    assert_eq!(env.manifests("del-ben"), ben_manifests);
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
}

#[tokio::test]
async fn status_overdue_lists_open_requests_past_due() {
    let env = Env::new(FILLER).await;
    let mut late = verified("late-acc", "access", ANA_EMAIL);
    late["received_at"] = (Utc::now() - Duration::days(50)).to_rfc3339().into();
    ok(&env.submit(&[late, verified("fresh-acc", "access", BEN_EMAIL)]));

    let out = ok(&env.dsr(&["status", "--overdue"]));
    assert!(out.contains("late-acc"), "{out}");
    assert!(out.contains("OVERDUE"), "{out}");
    assert!(
        out.contains("-5 day(s)") || out.contains("-6 day(s)"),
        "{out}"
    );
    assert!(!out.contains("fresh-acc"), "due in 45 days: {out}");
    // Both its deadlines have passed: the answer and (unconfirmed) the receipt confirmation.
    assert!(out.contains("confirm_by"), "{out}");
    assert!(out.contains("2 overdue, 0 due within 7 day(s)"), "{out}");
    // Looking 50 days ahead lists the fresh one too.
    let out = ok(&env.dsr(&["status", "--overdue", "--within-days", "50"]));
    assert!(out.contains("fresh-acc"), "{out}");
    // A finished request is not listed.
    let mut c = control(&env).await;
    sqlx::query("UPDATE requests SET status = 'fulfilled' WHERE id = 'late-acc'")
        .execute(&mut c)
        .await
        .unwrap();
    let out = ok(&env.dsr(&["status", "--overdue"]));
    assert!(out.contains("no open request overdue"), "{out}");
}
