//! Three `dsr worker` processes share one PostgreSQL control DB and finish 300 deletion
//! requests over PostgreSQL + MariaDB stores, while one is killed (SIGKILL) mid-run and another
//! is paused (SIGSTOP) past its lease and then resumed (SIGCONT). The end state equals that of
//! one uninterrupted `dsr run` on an identical estate; every deletion is counted once in the
//! stores' ledgers; every request has exactly one manifest; the evidence verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_sql::SqlConnector;
use dsr_connector_sql::testing::{Server, TempDb};
use dsr_fixtures::Flavor;
use dsr_tests::{CRM_TABLES, dsr_bin, root, text, verified};
use serde_json::Value;
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const REQUESTS: usize = 300;
const FILLER: usize = 320;

/// An estate on PostgreSQL (crm) + MariaDB (support) with its own control DB and directories.
struct Site {
    dir: tempfile::TempDir,
    crm: TempDb,
    support: TempDb,
    control: String,
    _control_db: Option<TempDb>,
}

impl Site {
    async fn new(now: chrono::DateTime<chrono::Utc>, pg_control: bool) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let crm = TempDb::new(Server::Postgres).await.expect("PostgreSQL");
        let support = TempDb::new(Server::MySql).await.expect("MariaDB");
        let estate = dsr_fixtures::estate_for(now, FILLER, Flavor::Postgres, Flavor::MySql);
        SqlConnector::run_script(&crm.url, &estate.crm_sql)
            .await
            .unwrap();
        SqlConnector::run_script(&support.url, &estate.support_sql)
            .await
            .unwrap();
        let (control, control_db) = if pg_control {
            let db = TempDb::new(Server::Postgres).await.expect("control DB");
            (db.url.clone(), Some(db))
        } else {
            (
                format!("sqlite://{}", dir.path().join("control.db").display()),
                None,
            )
        };
        copy_config(&root().join("config"), &dir.path().join("config"));
        for (key, bytes) in dsr_fixtures::recordings(FILLER) {
            let p = dir.path().join("recordings").join(key);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        // The lake holds only the special subjects: concurrent erasure of one local lake file
        // by stalled workers is not covered here (see the issue note).
        for (name, bytes) in dsr_fixtures::web_events(0).unwrap() {
            let p = dir.path().join("lake").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        Site {
            dir,
            crm,
            support,
            control,
            _control_db: control_db,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(dsr_bin());
        c.args(args)
            .current_dir(root())
            .env("DSR_CONFIG", self.dir.path().join("config"))
            .env("DSR_CRM_URL", &self.crm.url)
            .env("DSR_SUPPORT_URL", &self.support.url)
            .env("DSR_CONTROL_DB", &self.control)
            .env("DSR_EVIDENCE_URL", self.evidence())
            .env("DSR_DELIVERY_URL", self.dir.path().join("reports"))
            .env("DSR_RECORDINGS_URL", self.dir.path().join("recordings"))
            .env("DSR_LAKE_URL", self.dir.path().join("lake"))
            .env("NO_COLOR", "1");
        c
    }

    fn dsr(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn evidence(&self) -> PathBuf {
        self.dir.path().join("evidence")
    }

    fn submit_all(&self) {
        let reqs: Vec<Value> = (0..REQUESTS)
            .map(|k| {
                let id = 1000 + k;
                verified(
                    &format!("del-{id}"),
                    "deletion",
                    &format!("user{id}@example.net"),
                )
            })
            .collect();
        let f = self.dir.path().join("requests.json");
        std::fs::write(&f, serde_json::to_string(&reqs).unwrap()).unwrap();
        let o = self.dsr(&["submit", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }

    /// A digest of every mapped table's content, per table.
    async fn digests(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut pg = sqlx::PgConnection::connect(&self.crm.url).await.unwrap();
        for t in CRM_TABLES {
            let q = format!(
                "SELECT coalesce(md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))), '') FROM {t} t"
            );
            let d: String = sqlx::query(&q).fetch_one(&mut pg).await.unwrap().get(0);
            out.insert(format!("crm.{t}"), d);
        }
        let mut my = sqlx::MySqlConnection::connect(&self.support.url)
            .await
            .unwrap();
        let row = sqlx::query("CHECKSUM TABLE tickets EXTENDED")
            .fetch_one(&mut my)
            .await
            .unwrap();
        let sum: Option<i64> = row.try_get(1).unwrap();
        out.insert("support.tickets".into(), format!("{sum:?}"));
        out
    }

    /// Per request: records deleted and masked, as the stores' fence tables count them.
    async fn ledgers(&self) -> BTreeMap<String, (i64, i64)> {
        let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut pg = sqlx::PgConnection::connect(&self.crm.url).await.unwrap();
        for r in sqlx::query("SELECT request_id, deleted, masked FROM dsr_fence")
            .fetch_all(&mut pg)
            .await
            .unwrap()
        {
            let e = out.entry(r.get(0)).or_default();
            e.0 += r.get::<i64, _>(1);
            e.1 += r.get::<i64, _>(2);
        }
        let mut my = sqlx::MySqlConnection::connect(&self.support.url)
            .await
            .unwrap();
        for r in sqlx::query("SELECT request_id, deleted, masked FROM dsr_fence")
            .fetch_all(&mut my)
            .await
            .unwrap()
        {
            let e = out.entry(r.get(0)).or_default();
            e.0 += r.get::<i64, _>(1);
            e.1 += r.get::<i64, _>(2);
        }
        out
    }

    /// Request id → status.
    fn statuses(&self) -> BTreeMap<String, String> {
        let o = self.dsr(&["status"]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_string(), f.nth(1)?.to_string()))
            })
            .collect()
    }
}

/// Copies the config, making `crm` a PostgreSQL store and `support` a MariaDB one.
fn copy_config(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("stores")).unwrap();
    for sub in ["", "stores"] {
        for e in std::fs::read_dir(from.join(sub)).unwrap().flatten() {
            let p = e.path();
            if !p.is_file() {
                continue;
            }
            let mut t = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name == "crm.toml" {
                t = t.replace("kind = \"sqlite\"", "kind = \"postgres\"");
            }
            if name == "support.toml" {
                t = t.replace("kind = \"sqlite\"", "kind = \"mysql\"");
            }
            std::fs::write(to.join(sub).join(name), t).unwrap();
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn fulfilled(site: &Site) -> usize {
    site.statuses()
        .values()
        .filter(|s| s.as_str() == "fulfilled")
        .count()
}

/// Stops `child` (SIGSTOP) at a moment it holds requests in progress, retrying until it does;
/// returns those requests. The process stays stopped.
async fn freeze_mid_batch(
    child: &Child,
    control: &mut sqlx::PgConnection,
    worker: &str,
    deadline: Instant,
) -> Vec<String> {
    loop {
        signal(child, "-STOP");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM requests WHERE lease_owner = $1 AND status = 'in_progress' ORDER BY id",
        )
        .bind(worker)
        .fetch_all(&mut *control)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
        if !ids.is_empty() {
            return ids;
        }
        signal(child, "-CONT");
        assert!(Instant::now() < deadline, "{worker} never got to work");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The distinct leases under which a request's control DB events were written.
async fn event_leases(
    control: &mut sqlx::PgConnection,
    id: &str,
) -> std::collections::BTreeSet<i64> {
    sqlx::query("SELECT detail FROM request_events WHERE request_id = $1")
        .bind(id)
        .fetch_all(&mut *control)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| {
            let d: String = r.get(0);
            serde_json::from_str::<Value>(&d).ok()?["lease"].as_i64()
        })
        .collect()
}

#[tokio::test]
async fn three_workers_survive_a_kill_and_a_pause_with_every_effect_once() {
    let now = chrono::Utc::now();
    // Reference: one uninterrupted run.
    let reference = Site::new(now, false).await;
    reference.submit_all();
    let r = reference.dsr(&["run", "--job", "nightly"]);
    assert!(r.status.success(), "{}", text(&r));

    let site = Site::new(now, true).await;
    site.submit_all();
    let before = site.digests().await;
    let worker = |name: &str| {
        site.command(&[
            "worker",
            "--name",
            name,
            "--batch",
            "5",
            "--lease-secs",
            "3",
            "--poll-secs",
            "0.2",
            "--retry-after-secs",
            "1",
            "--exit-when-done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let mut workers: Vec<Child> = ["w0", "w1", "w2"].iter().map(|n| worker(n)).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut control = sqlx::PgConnection::connect(&site.control).await.unwrap();
    // Kill one worker while it is in the middle of a batch, after some work is done.
    while fulfilled(&site) < 20 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = freeze_mid_batch(&workers[0], &mut control, "w0", deadline).await;
    signal(&workers[0], "-KILL");
    let _ = workers[0].wait();
    // Pause another mid-batch past its 3 s lease, then let it go on.
    let paused = freeze_mid_batch(&workers[1], &mut control, "w1", deadline).await;
    std::thread::sleep(Duration::from_secs(5));
    signal(&workers[1], "-CONT");
    for w in workers.iter_mut().skip(1) {
        loop {
            if let Some(status) = w.try_wait().unwrap() {
                assert!(status.success(), "worker failed");
                break;
            }
            assert!(Instant::now() < deadline, "workers did not finish");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // Every request finished, as in the uninterrupted run.
    let statuses = site.statuses();
    assert_eq!(statuses.len(), REQUESTS);
    assert_eq!(statuses, reference.statuses());
    // The stores end as after the uninterrupted run: no deletion lost, none extra.
    let after = site.digests().await;
    assert_ne!(before, after, "the run changed the stores");
    assert_eq!(after, reference.digests().await);
    // Each request's deletions are counted once across leases.
    let ledgers = site.ledgers().await;
    let expected = reference.ledgers().await;
    let differing: Vec<_> = expected
        .iter()
        .filter(|(id, v)| ledgers.get(*id) != Some(v))
        .map(|(id, v)| (id.clone(), *v, ledgers.get(id).copied()))
        .chain(
            ledgers
                .iter()
                .filter(|(id, _)| !expected.contains_key(*id))
                .map(|(id, v)| (id.clone(), (0, 0), Some(*v))),
        )
        .collect();
    assert!(
        differing.is_empty(),
        "ledgers differ (id, reference, this run): {differing:?}; killed {killed:?}, paused {paused:?}"
    );
    assert!(ledgers.values().any(|(d, _)| *d > 0));

    // Evidence: verifies; one manifest per request; entries agree with the ledgers.
    let v = site.dsr(&["audit", "verify", site.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
    // The requests the killed and the paused worker were on were finished by another lease.
    for id in killed.iter().chain(paused.iter()) {
        let leases = event_leases(&mut control, id).await;
        assert!(leases.len() >= 2, "{id}: events under leases {leases:?}");
    }
    for k in 0..REQUESTS {
        let id = format!("del-{}", 1000 + k);
        let chain = site.evidence().join("requests").join(&id);
        let mut manifests = 0;
        let mut affected: i64 = 0;
        for f in dsr_tests::walk(&chain) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let e: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            if name.starts_with("manifest-") {
                continue;
            }
            if e["kind"] == "manifest" {
                manifests += 1;
            }
            // The SQL stores' ledgers are compared; the recordings and lake stores have none.
            if e["kind"] == "erase_outcome"
                && e["data"]["ok"] == true
                && e["data"]["store"] != "recordings"
                && e["data"]["store"] != "analytics"
            {
                affected += e["data"]["affected"].as_i64().unwrap();
            }
        }
        assert_eq!(manifests, 1, "{id}");
        let (d, m) = ledgers.get(&id).copied().unwrap_or_default();
        assert!(
            affected <= d + m,
            "{id}: evidence reports {affected} changes, the stores {d}+{m}"
        );
    }
}
