//! California's DROP lists end to end: a download built from the published canonicalisation
//! rules is imported, matched, carried out by a run and answered with a status file; the
//! people deleted stay deleted (tombstones, the ingestion check, the nightly sweep); bad
//! downloads are refused with nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dsr_core::drop::{ListType, list_hash};
use dsr_fixtures::subjects::*;
use dsr_tests::{Db, Env, text};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A ZIP of `(file name, CSV text)` entries.
fn zip_of(path: &Path, files: &[(&str, String)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, body) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

fn hash(list: ListType, raw: &str) -> String {
    list_hash(list, &[Some(raw)]).unwrap()
}

fn csv(rows: &[(&str, String)]) -> String {
    let mut s = String::from("ID,Hash\n");
    for (id, h) in rows {
        s.push_str(&format!("{id},{h}\n"));
    }
    s
}

/// The fixture download: Finn by email (written as a consumer might type it: DROP's rules
/// make it match), Lou by email (on a legal hold: everything kept), an email nobody has, and
/// the phone Jon and Kim share.
fn fixture_zip(env: &Env) -> PathBuf {
    let p = env.dir.path().join("drop-1.zip");
    let finn = format!("  {}  ", FINN_EMAIL.to_uppercase());
    zip_of(
        &p,
        &[
            (
                "20261201_NWD-DEMO_Email.csv",
                csv(&[
                    ("wi-finn", hash(ListType::Email, &finn)),
                    ("wi-lou", hash(ListType::Email, LOU_EMAIL)),
                    ("wi-nobody", hash(ListType::Email, NOBODY_EMAIL)),
                ]),
            ),
            (
                "20261201_NWD-DEMO_Phone.csv",
                csv(&[("wi-jones", hash(ListType::Phone, JONES_SHARED_PHONE))]),
            ),
        ],
    );
    p
}

fn ok(o: &std::process::Output) -> String {
    let t = text(o);
    assert!(o.status.success(), "{t}");
    t
}

async fn customer_ids(env: &Env) -> Vec<i64> {
    env.rows(Db::Crm, "customers").await.into_keys().collect()
}

#[tokio::test]
async fn a_drop_download_is_matched_carried_out_and_answered() {
    let env = Env::new(20).await;
    let zip = fixture_zip(&env);
    let before = env.snapshot().await;
    let out = ok(&env.dsr(&["drop", "import", zip.to_str().unwrap()]));
    assert!(out.contains("4 work item(s)"), "{out}");
    // Importing the same download again does nothing.
    let again = ok(&env.dsr(&["drop", "import", zip.to_str().unwrap()]));
    assert!(again.contains("already imported"), "{again}");
    // Nothing is deleted by the import itself.
    assert_eq!(env.snapshot().await, before);

    ok(&env.dsr(&["run", "--job", "nightly"]));
    let ids = customer_ids(&env).await;
    assert!(!ids.contains(&FINN_ID), "Finn is deleted");
    for kept in [LOU_ID, JON_ID, KIM_ID] {
        assert!(ids.contains(&kept), "customer {kept} is kept");
    }
    // Lou's records are all on hold; Jon's and Kim's are untouched (opted out, not deleted).
    let after = env.snapshot().await;
    for ((table, id), digest) in &before {
        if table == "crm.customers" && [LOU_ID, JON_ID, KIM_ID].contains(id) {
            assert_eq!(
                after.get(&(table.clone(), *id)),
                Some(digest),
                "{table} {id}"
            );
        }
    }

    let status = env.dir.path().join("status.csv");
    ok(&env.dsr(&["drop", "export", "--out", status.to_str().unwrap()]));
    let mut rows: Vec<String> = std::fs::read_to_string(&status)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(rows.remove(0), "ID,Status");
    rows.sort();
    assert_eq!(rows, ["wi-finn,3", "wi-jones,4", "wi-lou,2", "wi-nobody,5"]);
    // Exported rows are not exported twice.
    let second = env.dir.path().join("status2.csv");
    ok(&env.dsr(&["drop", "export", "--out", second.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&second).unwrap(), "ID,Status\n");

    // Jon and Kim are on the suppression list (source drop); Finn is tombstoned (drop).
    let list = ok(&env.dsr(&["suppression", "export"]));
    let entries: Vec<Value> = list
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sources: Vec<&str> = entries
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.iter().filter(|s| **s == "drop").count() >= 4,
        "{list}"
    );

    // Evidence: the batch chain and the request chains, never a DROP hash or an identity.
    let evidence = env.evidence_text();
    assert!(evidence.contains("\"drop_imported\""));
    assert!(evidence.contains("\"drop_matched\""));
    assert!(evidence.contains("\"drop_exported\""));
    assert!(evidence.contains("\"tombstoned\""));
    for secret in [
        hash(ListType::Email, FINN_EMAIL),
        hash(ListType::Phone, JONES_SHARED_PHONE),
        FINN_EMAIL.to_string(),
        LOU_EMAIL.to_string(),
        JONES_SHARED_PHONE.to_string(),
    ] {
        assert!(!evidence.contains(&secret), "evidence holds {secret}");
    }
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
}

#[tokio::test]
async fn deleted_people_stay_deleted() {
    let env = Env::new(20).await;
    let zip = fixture_zip(&env);
    ok(&env.dsr(&["drop", "import", zip.to_str().unwrap()]));
    ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(!customer_ids(&env).await.contains(&FINN_ID));

    // The ingestion check drops Finn's row and keeps the rest.
    let input = env.dir.path().join("leads.csv");
    std::fs::write(
        &input,
        format!(
            "name,email,phone\nFinn,{},\nGus,{},{}\n",
            FINN_EMAIL.to_uppercase(),
            GUS_EMAIL,
            GUS_PHONE
        ),
    )
    .unwrap();
    let kept = env.dir.path().join("kept.csv");
    let o = ok(&env.dsr(&[
        "suppression",
        "check",
        input.to_str().unwrap(),
        "--out",
        kept.to_str().unwrap(),
    ]));
    assert!(o.contains("2 row(s) read, 1 kept, 1 dropped"), "{o}");
    let k = std::fs::read_to_string(&kept).unwrap();
    assert!(
        k.contains(GUS_EMAIL) && !k.to_lowercase().contains(FINN_EMAIL),
        "{k}"
    );
    // A file with no identity column is refused.
    std::fs::write(&input, "name,city\nFinn,Oakland\n").unwrap();
    let bad = env.dsr(&["suppression", "check", input.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("identity type"), "{}", text(&bad));

    // Finn is acquired again (a new customer row with his email): the next nightly run's
    // sweep deletes him again, and says so in evidence.
    let url = env.url(Db::Crm);
    let mut conn = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    use sqlx::ConnectOptions;
    sqlx::query("INSERT INTO customers (id, email, phone, full_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(4242_i64)
        .bind(FINN_EMAIL)
        .bind("+1 415 555 4242")
        .bind("F. Re-acquired")
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut conn)
        .await
        .unwrap();
    // Untouched people are not swept.
    let others_before: Vec<i64> = customer_ids(&env)
        .await
        .into_iter()
        .filter(|id| *id != 4242)
        .collect();
    let run = ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(run.contains("1 deleted person(s) found again"), "{run}");
    let ids = customer_ids(&env).await;
    assert!(!ids.contains(&4242), "the re-acquired row is deleted again");
    assert_eq!(ids, others_before);
    let evidence = env.evidence_text();
    assert!(
        evidence.contains("\"reacquired\""),
        "the sweep is in evidence"
    );
    // A second sweep finds nothing more.
    let run = ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(run.contains("0 deleted person(s) found again"), "{run}");

    // Jon is deleted; Kim shares his phone. The sweep never takes Kim for Jon.
    ok(&env.submit(&[dsr_tests::verified("del-jon", "deletion", JON_EMAIL)]));
    ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(!customer_ids(&env).await.contains(&JON_ID));
    let kim_before = env.rows(Db::Crm, "customers").await.get(&KIM_ID).cloned();
    assert!(kim_before.is_some());
    let run = ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(run.contains("0 deleted person(s) found again"), "{run}");
    assert_eq!(
        env.rows(Db::Crm, "customers").await.get(&KIM_ID).cloned(),
        kim_before
    );
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
}

#[tokio::test]
async fn withdrawn_work_items_are_not_carried_out() {
    let env = Env::new(10).await;
    let first = env.dir.path().join("a.zip");
    zip_of(
        &first,
        &[(
            "20261201_NWD-DEMO_Email.csv",
            csv(&[("wi-gus", hash(ListType::Email, GUS_EMAIL))]),
        )],
    );
    ok(&env.dsr(&["drop", "import", first.to_str().unwrap()]));
    let second = env.dir.path().join("b.zip");
    zip_of(
        &second,
        &[(
            "20261215_NWD-DEMO_Removed.csv",
            "ID,Hash\nwi-gus,\n".to_string(),
        )],
    );
    let out = ok(&env.dsr(&["drop", "import", second.to_str().unwrap()]));
    assert!(out.contains("1 withdrawn"), "{out}");
    ok(&env.dsr(&["run", "--job", "nightly"]));
    assert!(
        customer_ids(&env).await.contains(&GUS_ID),
        "Gus is not deleted"
    );
    let status = ok(&env.dsr(&["status"]));
    assert!(status.contains("revoked"), "{status}");
    let file = env.dir.path().join("s.csv");
    ok(&env.dsr(&["drop", "export", "--out", file.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ID,Status\n");
}

#[tokio::test]
async fn bad_downloads_are_refused_and_nothing_is_stored() {
    let env = Env::new(10).await;
    let before = env.snapshot().await;
    let good = hash(ListType::Email, FINN_EMAIL);
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "unknown list",
            vec![("20261201_NWD-DEMO_Fax.csv", csv(&[("wi-1", good.clone())]))],
            "unknown list type",
        ),
        (
            "short hash",
            vec![(
                "20261201_NWD-DEMO_Email.csv",
                csv(&[("wi-1", good.clone()), ("wi-2", good[..40].to_string())]),
            )],
            "line 3: Hash must be 44 characters",
        ),
        (
            "no hash column",
            vec![("20261201_NWD-DEMO_Email.csv", "ID,Value\nwi-1,x\n".into())],
            "no Hash column",
        ),
        (
            "ragged CSV",
            vec![(
                "20261201_NWD-DEMO_Email.csv",
                format!("ID,Hash\nwi-1,{good},extra\n"),
            )],
            "3 fields where the header has 2",
        ),
        (
            "bad file name",
            vec![("emails.csv", csv(&[("wi-1", good.clone())]))],
            "emails.csv",
        ),
        (
            "list not processed",
            vec![("20261201_NWD-DEMO_MAID.csv", csv(&[("wi-1", good.clone())]))],
            "not in [drop] lists",
        ),
    ];
    for (what, files, expect) in cases {
        let p = env
            .dir
            .path()
            .join(format!("{}.zip", what.replace(' ', "-")));
        zip_of(&p, &files);
        let o = env.dsr(&["drop", "import", p.to_str().unwrap()]);
        let t = text(&o);
        assert!(!o.status.success(), "{what}: {t}");
        assert!(t.contains(expect), "{what}: {t}");
        assert!(t.contains("nothing was stored"), "{what}: {t}");
        assert!(!t.contains(&good), "{what}: the error quotes a hash");
    }
    let junk = env.dir.path().join("junk.zip");
    std::fs::write(&junk, b"this is not a zip").unwrap();
    let o = env.dsr(&["drop", "import", junk.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a readable ZIP"), "{}", text(&o));
    // Nothing stored, nothing deleted.
    let status = ok(&env.dsr(&["status"]));
    assert!(!status.contains("drop-"), "{status}");
    let file = env.dir.path().join("s.csv");
    ok(&env.dsr(&["drop", "export", "--out", file.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ID,Status\n");
    ok(&env.dsr(&["run", "--job", "nightly"]));
    assert_eq!(env.snapshot().await, before);
}

/// A loopback stand-in for the DROP API: serves `zip` at `GET /data/download` to the key
/// `k-123`, records `POST /data/upload` bodies.
async fn fake_drop_api(zip: Vec<u8>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let uploads: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let up = uploads.clone();
    let authorized =
        |h: &HeaderMap| h.get("x-api-key").and_then(|v| v.to_str().ok()) == Some("k-123");
    let app = axum::Router::new()
        .route(
            "/data/download",
            axum::routing::get(move |h: HeaderMap| {
                let zip = zip.clone();
                async move {
                    if authorized(&h) {
                        (StatusCode::OK, zip)
                    } else {
                        (StatusCode::UNAUTHORIZED, Vec::new())
                    }
                }
            }),
        )
        .route(
            "/data/upload",
            axum::routing::post(move |h: HeaderMap, body: String| {
                let up = up.clone();
                async move {
                    if !authorized(&h) {
                        return StatusCode::UNAUTHORIZED;
                    }
                    up.lock().unwrap().push(body);
                    StatusCode::OK
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), uploads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drop_api_pull_and_upload() {
    let env = Env::new(10).await;
    let zip = fixture_zip(&env);
    let (url, uploads) = fake_drop_api(std::fs::read(&zip).unwrap()).await;
    let with_key = [
        ("DSR_DROP_API_URL", url.as_str()),
        ("DSR_DROP_API_KEY", "k-123"),
    ];
    // No key, or a wrong one: a clear error naming the variable or the status, nothing stored.
    let o = env.dsr_with(&["drop", "pull"], &[("DSR_DROP_API_URL", url.as_str())]);
    assert!(
        !o.status.success() && text(&o).contains("DSR_DROP_API_KEY"),
        "{}",
        text(&o)
    );
    let o = env.dsr_with(
        &["drop", "pull"],
        &[
            ("DSR_DROP_API_URL", url.as_str()),
            ("DSR_DROP_API_KEY", "wrong"),
        ],
    );
    let t = text(&o);
    assert!(
        !o.status.success() && t.contains("HTTP 401") && !t.contains("wrong"),
        "{t}"
    );
    // With the key: the same import as the manual download.
    let o = ok(&env.dsr_with(&["drop", "pull"], &with_key));
    assert!(o.contains("4 work item(s)"), "{o}");
    ok(&env.dsr_with(&["run", "--job", "nightly"], &with_key));
    let file = env.dir.path().join("status.csv");
    ok(&env.dsr_with(
        &[
            "drop",
            "export",
            "--out",
            file.to_str().unwrap(),
            "--upload",
        ],
        &with_key,
    ));
    let sent = uploads.lock().unwrap().clone();
    assert_eq!(sent, vec![std::fs::read_to_string(&file).unwrap()]);
    assert!(
        sent[0].contains("wi-finn,3") && sent[0].contains("wi-jones,4"),
        "{sent:?}"
    );
}
