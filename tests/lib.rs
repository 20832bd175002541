//! Harness for end-to-end tests: a fresh SQLite estate in a temporary directory, the real
//! `dsr` binary run against it with the shipped `config/`, and helpers to read the stores,
//! reports and evidence back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Column, ConnectOptions, Row};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::Once;

/// Workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of the `dsr` binary, built once per test process.
pub fn dsr_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "dsr-cli", "--bin", "dsr"])
            .current_dir(root())
            .status();
        assert!(status.is_ok_and(|s| s.success()), "building dsr failed");
    });
    target.join("debug").join("dsr")
}

/// Which estate database.
#[derive(Debug, Clone, Copy)]
pub enum Db {
    /// crm.db
    Crm,
    /// support.db
    Support,
}

/// A fresh estate and control DB in a temporary directory.
pub struct Env {
    /// The temporary directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// `now` the estate was generated for.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Env {
    /// Builds the fixture estate with `filler` filler subjects.
    pub async fn new(filler: usize) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = chrono::Utc::now();
        let estate = dsr_fixtures::estate(now, filler);
        let env = Env { dir, now };
        for (db, sql) in [
            (Db::Crm, &estate.crm_sql),
            (Db::Support, &estate.support_sql),
        ] {
            let opts = SqliteConnectOptions::from_str(&env.url(db))
                .expect("url")
                .create_if_missing(true);
            let mut conn = opts.connect().await.expect("create estate db");
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .expect("seed estate");
        }
        for (key, bytes) in dsr_fixtures::recordings(filler) {
            let p = env.recordings().join(key);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("recordings dir");
            std::fs::write(p, bytes).expect("recording");
        }
        for (name, bytes) in dsr_fixtures::web_events(filler).expect("demo lake") {
            let p = env.lake().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("lake dir");
            std::fs::write(p, bytes).expect("lake file");
        }
        env
    }

    /// The analytics lake (the `analytics` Parquet store).
    pub fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    /// The call recordings (the `recordings` objects store).
    pub fn recordings(&self) -> PathBuf {
        self.dir.path().join("recordings")
    }

    /// `sqlite://` URL of an estate database.
    pub fn url(&self, db: Db) -> String {
        let name = match db {
            Db::Crm => "crm.db",
            Db::Support => "support.db",
        };
        format!("sqlite://{}", self.dir.path().join(name).display())
    }

    /// Evidence directory.
    pub fn evidence(&self) -> PathBuf {
        self.dir.path().join("evidence")
    }

    /// Delivery directory.
    pub fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// Runs `dsr` with this estate's environment.
    pub fn dsr(&self, args: &[&str]) -> Output {
        self.dsr_with(args, &[])
    }

    /// Runs `dsr` with this estate's environment plus `vars`.
    pub fn dsr_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.command(args)
            .envs(vars.iter().copied())
            .output()
            .expect("run dsr")
    }

    /// A `dsr` command with this estate's environment, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(dsr_bin());
        c.args(args)
            .current_dir(root())
            .env("DSR_CONFIG", root().join("config"))
            .env("DSR_CRM_URL", self.url(Db::Crm))
            .env("DSR_SUPPORT_URL", self.url(Db::Support))
            .env(
                "DSR_CONTROL_DB",
                format!("sqlite://{}", self.dir.path().join("control.db").display()),
            )
            .env("DSR_EVIDENCE_URL", self.evidence())
            .env("DSR_DELIVERY_URL", self.reports())
            .env("DSR_RECORDINGS_URL", self.recordings())
            .env("DSR_LAKE_URL", self.lake())
            .env("DSR_HASH_KEY", "test-hash-key-0123456789abcdef")
            .env("NO_COLOR", "1")
            .env_remove("DSR_LOG")
            .env_remove("DSR_FAILPOINT");
        c
    }

    /// Writes requests to a file and submits it.
    pub fn submit(&self, requests: &[Value]) -> Output {
        let path = self.dir.path().join(format!("req-{}.json", rand_suffix()));
        std::fs::write(&path, serde_json::to_vec(&json!(requests)).expect("json")).expect("write");
        self.dsr(&["submit", path.to_str().expect("utf8")])
    }

    /// Submits raw text as a request file.
    pub fn submit_raw(&self, text: &str) -> Output {
        let path = self.dir.path().join(format!("raw-{}.json", rand_suffix()));
        std::fs::write(&path, text).expect("write");
        self.dsr(&["submit", path.to_str().expect("utf8")])
    }

    /// Runs the nightly job.
    pub fn run(&self) -> Output {
        self.dsr(&["run", "--job", "nightly"])
    }

    /// Row digests of a table: primary key → SHA-256 of every column's value.
    pub async fn rows(&self, db: Db, table: &str) -> BTreeMap<i64, String> {
        let mut conn = SqliteConnectOptions::from_str(&self.url(db))
            .expect("url")
            .connect()
            .await
            .expect("open");
        let rows = sqlx::query(&format!("SELECT * FROM \"{table}\""))
            .fetch_all(&mut conn)
            .await
            .expect("select");
        let mut out = BTreeMap::new();
        for r in rows {
            let id: i64 = r.try_get("id").expect("id");
            let mut h = Sha256::new();
            for (i, c) in r.columns().iter().enumerate() {
                let v: Option<String> = r
                    .try_get::<Option<String>, _>(i)
                    .or_else(|_| {
                        r.try_get::<Option<i64>, _>(i)
                            .map(|x| x.map(|x| x.to_string()))
                    })
                    .or_else(|_| {
                        r.try_get::<Option<f64>, _>(i)
                            .map(|x| x.map(|x| x.to_string()))
                    })
                    .unwrap_or(None);
                h.update(c.name().as_bytes());
                h.update([0]);
                h.update(v.unwrap_or_else(|| "\u{2400}".into()).as_bytes());
                h.update([1]);
            }
            out.insert(id, hex::encode(h.finalize()));
        }
        out
    }

    /// Digests of every table of both databases: (table, id) → digest.
    pub async fn snapshot(&self) -> BTreeMap<(String, i64), String> {
        let mut out = BTreeMap::new();
        for t in CRM_TABLES {
            for (id, d) in self.rows(Db::Crm, t).await {
                out.insert((format!("crm.{t}"), id), d);
            }
        }
        for (id, d) in self.rows(Db::Support, "tickets").await {
            out.insert(("support.tickets".into(), id), d);
        }
        out
    }

    /// One column of the rows of `table` where `where_col = value`.
    pub async fn ids_where(&self, db: Db, table: &str, where_col: &str, value: i64) -> Vec<i64> {
        let mut conn = SqliteConnectOptions::from_str(&self.url(db))
            .expect("url")
            .connect()
            .await
            .expect("open");
        sqlx::query(&format!(
            "SELECT id FROM \"{table}\" WHERE \"{where_col}\" = ?1 ORDER BY id"
        ))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .expect("select")
        .into_iter()
        .map(|r| r.try_get::<i64, _>(0).expect("id"))
        .collect()
    }

    /// The delivered report of a request: (JSON text, HTML text).
    pub fn report(&self, id: &str) -> (String, String) {
        let d = self.reports().join(id);
        (
            std::fs::read_to_string(d.join("report.json")).expect("report.json"),
            std::fs::read_to_string(d.join("report.html")).expect("report.html"),
        )
    }

    /// Every evidence chain entry (`requests/<id>/NNNNNN.json`), by request then position.
    pub fn entries(&self) -> Vec<Value> {
        self.evidence_objects("requests", |name| {
            name.ends_with(".json") && name.bytes().next().is_some_and(|b| b.is_ascii_digit())
        })
    }

    /// The manifests of a request (`requests/<id>/manifest-NNNNNN.json`), oldest first.
    pub fn manifests(&self, id: &str) -> Vec<Value> {
        self.evidence_objects(&format!("requests/{id}"), |name| {
            name.starts_with("manifest-")
        })
    }

    /// The run summaries (`runs/<run>.json`).
    pub fn run_summaries(&self) -> Vec<Value> {
        self.evidence_objects("runs", |name| name.ends_with(".json"))
    }

    fn evidence_objects(&self, under: &str, keep: impl Fn(&str) -> bool) -> Vec<Value> {
        let mut files: Vec<PathBuf> = walk(&self.evidence().join(under))
            .into_iter()
            .filter(|p| keep(&p.file_name().unwrap_or_default().to_string_lossy()))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())
            .collect()
    }

    /// Every evidence file's text, concatenated.
    pub fn evidence_text(&self) -> String {
        let mut out = String::new();
        for f in walk(&self.evidence()) {
            out.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
        out
    }
}

/// Every table of the crm database.
pub const CRM_TABLES: [&str; 9] = [
    "customers",
    "addresses",
    "payment_cards",
    "orders",
    "order_items",
    "identity_documents",
    "logins",
    "page_views",
    "marketing_contacts",
];

/// Every file under `dir`, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request JSON. `level` None omits verification.
pub fn request(id: &str, kind: &str, identities: &[(&str, &str)], level: Option<&str>) -> Value {
    let now = chrono::Utc::now();
    let mut v = json!({
        "id": id,
        "kind": kind,
        "jurisdiction": "CA",
        "received_at": (now - chrono::Duration::days(1)).to_rfc3339(),
        "subject": {"identities": identities.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>()},
    });
    if let Some(l) = level {
        v["verification"] =
            json!({"level": l, "method": "email+phone+last4", "verified_at": now.to_rfc3339()});
    }
    v
}

/// A request verified to a reasonably high degree, identified by one email.
pub fn verified(id: &str, kind: &str, email: &str) -> Value {
    request(id, kind, &[("email", email)], Some("reasonably_high"))
}

/// stdout + stderr of an output, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
