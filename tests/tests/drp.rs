//! The Data Rights Protocol endpoints through the real `dsr serve` on a loopback port, signed
//! with the sample agent's test key: pairwise setup, a request through a run to `fulfilled`
//! with its status callback received by a loopback listener, refusals (unknown key, altered
//! body, expired, future, another business, replay) that store nothing, revocation before a
//! run and its refusal after, and another agent kept out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use base64::Engine;
use chrono::{Duration as Span, Utc};
use dsr_fixtures::subjects::{ANA_EMAIL, ANA_PHONE, BEN_EMAIL, CARA_EMAIL};
use dsr_tests::{Env, root, text};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sqlx::ConnectOptions;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seed of the sample agent `TEST_AGENT` in `config/dsr.toml`: sha256 of
/// "dsr DRP test agent - never use in production". A test key, public on purpose.
const TEST_AGENT_SEED: &str = "857e6cb0b2c493358e342e0ab89c0f3815c5f66a6cdab9a9e03a93ef211f2853";
/// Seed of a second agent the refusal test adds to a copy of the config.
const OTHER_AGENT_SEED: &str = "83938cbf5e7c49b9904a5d6424c44749acd776c275653aa0773f06ba17198c16";
const OTHER_AGENT_KEY: &str = "7JBHUd5EYcpZHu+1J4iDjU+XvRsodl8VbL3hQU5XAvQ=";

fn key(seed: &str) -> SigningKey {
    SigningKey::from_bytes(&hex::decode(seed).unwrap().try_into().unwrap())
}

/// libsodium combined mode, base64: signature ‖ message.
fn sign(k: &SigningKey, msg: &Value) -> String {
    let bytes = msg.to_string().into_bytes();
    let mut out = k.sign(&bytes).to_bytes().to_vec();
    out.extend_from_slice(&bytes);
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn envelope(agent: &str) -> Value {
    let now = Utc::now();
    json!({"agent-id": agent, "business-id": "NORTHWIND",
           "issued-at": (now - Span::seconds(5)).to_rfc3339(),
           "expires-at": (now + Span::minutes(15)).to_rfc3339()})
}

fn exercise(agent: &str, action: &str, claims: Value) -> Value {
    let mut m = envelope(agent);
    m["drp.version"] = json!("1.0");
    m["exercise"] = json!(action);
    m["regime"] = json!("ccpa");
    for (k, v) in claims.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

/// A running `dsr serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Server {
    fn start(env: &Env, config: Option<&PathBuf>) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut cmd = env.command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--callback-interval-ms",
            "200",
            "--drp-insecure-callbacks",
        ]);
        if let Some(c) = config {
            cmd.env("DSR_CONFIG", c);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dsr serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Sends `body` (text) with an optional bearer token; returns status and raw body.
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "text/plain").body(b);
        }
        let resp = rb.send().await.expect("HTTP");
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let (s, t) = self.send(method, path, token, body).await;
        let v = serde_json::from_str(&t).unwrap_or_else(|_| panic!("{path}: not JSON ({s}): {t}"));
        (s, v)
    }

    /// Pairwise setup for `agent` signed with `k`: its bearer token.
    async fn setup(&self, agent: &str, k: &SigningKey) -> String {
        let (s, v) = self
            .json(
                "POST",
                &format!("/v1/agent/{agent}"),
                None,
                Some(sign(k, &envelope(agent))),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["agent-id"], agent);
        v["token"].as_str().unwrap().to_string()
    }

    async fn exercise(&self, token: &str, body: String) -> (u16, Value) {
        self.json("POST", "/v1/data-rights-request", Some(token), Some(body))
            .await
    }

    async fn status(&self, token: &str, id: &str) -> (u16, Value) {
        self.json(
            "GET",
            &format!("/v1/data-rights-request/{id}"),
            Some(token),
            None,
        )
        .await
    }

    /// Runs the given requests over the portal API and waits for the run to end.
    async fn run(&self, admin: &str, ids: &[&str]) -> Value {
        let resp = self
            .http
            .post(format!("{}/v1/runs", self.base))
            .bearer_auth(admin)
            .header("content-type", "application/json")
            .body(json!({"requests": ids}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202);
        let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        let id = v["run"]["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let t = self
                .http
                .get(format!("{}/v1/runs/{id}", self.base))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let v: Value = serde_json::from_str(&t).unwrap();
            match v["run"]["status"].as_str().unwrap() {
                "finished" => return v["run"].clone(),
                "failed" => panic!("run failed: {v}"),
                _ => {}
            }
            assert!(Instant::now() < deadline, "run did not finish: {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin_token(env: &Env) -> String {
    let o = env.dsr(&["token", "create", "--scope", "admin", "--label", "drp-test"]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// A loopback receiver of status callbacks: records every body; answers 500 to the first
/// `fail_first` calls (to exercise retries).
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0usize));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/drp/status",
        axum::routing::post(move |body: String| {
            let (g, calls) = (g.clone(), calls.clone());
            async move {
                let n = {
                    let mut c = calls.lock().unwrap();
                    *c += 1;
                    *c
                };
                if n <= fail_first {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/drp/status"), got)
}

/// Rows of a control-DB table.
async fn count(env: &Env, table: &str) -> i64 {
    let url = format!("sqlite://{}", env.dir.path().join("control.db").display());
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let q = format!("SELECT count(*) FROM {table}");
    let row: (i64,) = sqlx::query_as(&q).fetch_one(&mut conn).await.unwrap();
    row.0
}

#[tokio::test]
async fn a_signed_request_is_received_run_to_fulfilled_and_called_back() {
    let env = Env::new(20).await;
    let admin = admin_token(&env);
    let srv = Server::start(&env, None);
    let (callback, got) = receiver(1).await;
    let k = key(TEST_AGENT_SEED);

    // Pairwise setup; the same signed setup again is refused with a bare 403.
    let setup = sign(&k, &envelope("TEST_AGENT"));
    let (s, v) = srv
        .json("POST", "/v1/agent/TEST_AGENT", None, Some(setup.clone()))
        .await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let (s, body) = srv
        .send("POST", "/v1/agent/TEST_AGENT", None, Some(setup))
        .await;
    assert_eq!((s, body.as_str()), (403, ""));
    let (s, v) = srv
        .json("GET", "/v1/agent/TEST_AGENT", Some(&token), None)
        .await;
    assert_eq!((s, v), (200, json!({})));

    // Ana's right to know, her email and phone verified by the agent: data points to match.
    let msg = exercise(
        "TEST_AGENT",
        "access",
        json!({"email": ANA_EMAIL, "email_verified": true,
               "phone_number": ANA_PHONE.replace(' ', ""), "phone_number_verified": true,
               "name": "Ana Alvarez", "status_callback": callback, "agent-request-id": "aa-1"}),
    );
    let (s, v) = srv.exercise(&token, sign(&k, &msg)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "open");
    assert!(v["expected_by"].is_string(), "{v}");
    assert!(v["received_at"].is_string(), "{v}");
    let id = v["request_id"].as_str().unwrap().to_string();
    assert!(!v.to_string().contains(ANA_EMAIL));
    let (s, v) = srv.status(&token, &id).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("open")), "{v}");
    // Stored with its agent, like any request.
    let o = env.dsr(&["status", &id]);
    assert!(o.status.success(), "{}", text(&o));

    let run = srv.run(&admin, &[&id]).await;
    assert_eq!(run["summary"][&id], "fulfilled", "{run}");
    let (s, v) = srv.status(&token, &id).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "fulfilled", "{v}");
    assert!(v.get("expected_by").is_none(), "final: no deadline");

    // The callback arrives (after one failed attempt) with the fulfilled status object.
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let last = got.lock().unwrap().last().cloned();
        if let Some(l) = last.filter(|l| l["status"] == "fulfilled") {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no callback: {:?}",
            got.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(last["request_id"], id.as_str());
    assert!(last["received_at"].is_string());
    assert!(!last.to_string().contains(ANA_EMAIL));
}

#[tokio::test]
async fn refusals_store_nothing_revoke_works_before_a_run_only_and_agents_are_kept_apart() {
    let env = Env::new(20).await;
    let admin = admin_token(&env);
    // A copy of the config with a second agent.
    let config = env.dir.path().join("config");
    copy_dir(&root().join("config"), &config);
    let mut toml = std::fs::read_to_string(config.join("dsr.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[drp.agents]]\nid = \"OTHER_AGENT\"\nverify_key = \"{OTHER_AGENT_KEY}\"\n"
    ));
    std::fs::write(config.join("dsr.toml"), toml).unwrap();
    let srv = Server::start(&env, Some(&config));
    let (k, other_k) = (key(TEST_AGENT_SEED), key(OTHER_AGENT_SEED));
    let token = srv.setup("TEST_AGENT", &k).await;
    let other = srv.setup("OTHER_AGENT", &other_k).await;
    // Setup for an agent with another agent's key, or for an unknown agent: bare 403.
    let (s, b) = srv
        .send(
            "POST",
            "/v1/agent/TEST_AGENT",
            None,
            Some(sign(&other_k, &envelope("TEST_AGENT"))),
        )
        .await;
    assert_eq!((s, b.as_str()), (403, ""));
    let (s, _) = srv
        .send(
            "POST",
            "/v1/agent/NOBODY",
            None,
            Some(sign(&k, &envelope("NOBODY"))),
        )
        .await;
    assert_eq!(s, 403);

    let ben = exercise("TEST_AGENT", "sale:opt-out", json!({"email": BEN_EMAIL}));
    let code = |v: &Value| v["code"].as_str().unwrap_or("").to_string();
    // Signed with another key (unknown to this agent): 403.
    let (s, v) = srv.exercise(&token, sign(&other_k, &ben)).await;
    assert_eq!((s, code(&v)), (403, "403".into()), "{v}");
    assert_eq!(v["fatal"], true);
    // Altered after signing: 403.
    let signed = sign(&k, &ben);
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(&signed)
        .unwrap();
    let pos = raw.len() - 10;
    raw[pos] ^= 0x01;
    let altered = base64::engine::general_purpose::STANDARD.encode(raw);
    let (s, v) = srv.exercise(&token, altered).await;
    assert_eq!(s, 403, "{v}");
    // Expired; issued in the future; for another business; another agent's id inside: 403.
    let now = Utc::now();
    let mut expired = ben.clone();
    expired["issued-at"] = json!((now - Span::minutes(30)).to_rfc3339());
    expired["expires-at"] = json!((now - Span::minutes(15)).to_rfc3339());
    let mut future = ben.clone();
    future["issued-at"] = json!((now + Span::minutes(10)).to_rfc3339());
    future["expires-at"] = json!((now + Span::minutes(20)).to_rfc3339());
    let mut business = ben.clone();
    business["business-id"] = json!("ACME");
    let mut spoof = ben.clone();
    spoof["agent-id"] = json!("OTHER_AGENT");
    for (what, m, msg) in [
        ("expired", expired, "expired"),
        ("future", future, "future"),
        ("business", business, "business-id"),
        ("agent", spoof, "agent-id"),
    ] {
        let (s, v) = srv.exercise(&token, sign(&k, &m)).await;
        assert_eq!(s, 403, "{what}: {v}");
        assert!(v["message"].as_str().unwrap().contains(msg), "{what}: {v}");
    }
    // Not base64 of a signed message; no token; the other agent's token: refused.
    let (s, _) = srv.exercise(&token, ben.to_string()).await;
    assert_eq!(s, 400);
    let (s, _) = srv
        .json(
            "POST",
            "/v1/data-rights-request",
            None,
            Some(sign(&k, &ben)),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = srv.exercise(&other, sign(&k, &ben)).await;
    assert_eq!(s, 403);
    // Nothing of any refused request was stored.
    assert_eq!(count(&env, "requests").await, 0);
    assert_eq!(count(&env, "drp_requests").await, 0);
    assert_eq!(count(&env, "drp_seen").await, 2, "only the two setups");

    // Accepted once; the same signed request again is a replay: 409, nothing more stored.
    let (s, v) = srv.exercise(&token, signed.clone()).await;
    assert_eq!(s, 200, "{v}");
    let ben_id = v["request_id"].as_str().unwrap().to_string();
    let (s, v) = srv.exercise(&token, signed).await;
    assert_eq!((s, code(&v)), (409, "409".into()), "{v}");
    assert_eq!(count(&env, "requests").await, 1);
    assert_eq!(count(&env, "drp_requests").await, 1);

    // Another agent cannot read or revoke it, and learns nothing: the same 403 as a made-up id.
    let (s1, v1) = srv.status(&other, &ben_id).await;
    let (s2, v2) = srv.status(&other, "drp-does-not-exist").await;
    assert_eq!((s1, &v1), (s2, &v2));
    assert_eq!(s1, 403);
    let revoke = |who: &SigningKey, agent: &str| {
        sign(
            who,
            &json!({"agent-id": agent, "business-id": "NORTHWIND",
        "issued-at": Utc::now().to_rfc3339(), "expires-at": (Utc::now() + Span::minutes(5)).to_rfc3339(),
        "reason": "changed my mind"}),
        )
    };
    let path = format!("/v1/data-rights-request/{ben_id}");
    let (s, _) = srv
        .json(
            "DELETE",
            &path,
            Some(&other),
            Some(revoke(&other_k, "OTHER_AGENT")),
        )
        .await;
    assert_eq!(s, 403);
    // An unsigned revoke is refused; the owner's signed revoke before any run works.
    let (s, _) = srv
        .json(
            "DELETE",
            &path,
            Some(&token),
            Some(revoke(&other_k, "TEST_AGENT")),
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = srv
        .json(
            "DELETE",
            &path,
            Some(&token),
            Some(revoke(&k, "TEST_AGENT")),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("revoked")), "{v}");
    let (_, v) = srv.status(&token, &ben_id).await;
    assert_eq!(v["status"], "revoked");
    // A run does not take a revoked request.
    let run = srv.run(&admin, &[&ben_id]).await;
    assert!(run["summary"].get(&ben_id).is_none(), "{run}");

    // Cara's opt-out is run; revoking it afterwards is refused.
    let cara = exercise("TEST_AGENT", "sale:opt-out", json!({"email": CARA_EMAIL}));
    let (s, v) = srv.exercise(&token, sign(&k, &cara)).await;
    assert_eq!(s, 200, "{v}");
    let cara_id = v["request_id"].as_str().unwrap().to_string();
    let run = srv.run(&admin, &[&cara_id]).await;
    assert_eq!(run["summary"][&cara_id], "fulfilled", "{run}");
    let (s, v) = srv
        .json(
            "DELETE",
            &format!("/v1/data-rights-request/{cara_id}"),
            Some(&token),
            Some(revoke(&k, "TEST_AGENT")),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("fulfilled"), "{v}");

    // Answered at intake, never entering the pipeline: another regime, no verified claim.
    let gdpr = {
        let mut m = exercise(
            "TEST_AGENT",
            "deletion",
            json!({"email": ANA_EMAIL, "email_verified": true}),
        );
        m["regime"] = json!("gdpr");
        m
    };
    let (s, v) = srv.exercise(&token, sign(&k, &gdpr)).await;
    assert_eq!(
        (s, v["status"].as_str(), v["reason"].as_str()),
        (200, Some("denied"), Some("outside_jurisdiction")),
        "{v}"
    );
    let unverified = exercise("TEST_AGENT", "deletion", json!({"email": ANA_EMAIL}));
    let (s, v) = srv.exercise(&token, sign(&k, &unverified)).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (200, Some("insuf_verification")),
        "{v}"
    );
    // Opt-in (an `opt_in` request; the agent's signed request is the confirmed choice), with a
    // verified email to be matched.
    let opt_in = exercise(
        "TEST_AGENT",
        "sale:opt-in",
        json!({"email": ANA_EMAIL, "email_verified": true}),
    );
    let (s, v) = srv.exercise(&token, sign(&k, &opt_in)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "open", "{v}");
    assert_eq!(count(&env, "requests").await, 3);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
