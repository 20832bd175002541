//! The portal API through the real `dsr serve` on a loopback port, with a real HTTP client:
//! the lifecycle end to end, tokens and scopes, the legal clocks (with the server's clock
//! fixed by `--now`), the CCPA request limit, Client scoping, and bad input that stores
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::subjects::{ANA_ACME_MARKETING_ID, ANA_EMAIL, ANA_MARKETING_ID, CLIENT_ACME};
use dsr_tests::{Db, Env, request, text, verified};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `dsr serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Server {
    fn start(env: &Env, extra: &[&str]) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = env
            .command(&args)
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

    /// Sends a request; the body is sent as JSON unless `content_type` says otherwise.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: &str,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", content_type).body(b.to_string());
        }
        let resp = rb.send().await.expect("HTTP");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON ({status}): {text}"));
        (status, v, headers)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, v, _) = self.call("GET", path, Some(token), None, "").await;
        (s, v)
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let (s, v, _) = self
            .call(
                "POST",
                path,
                Some(token),
                Some(&body.to_string()),
                "application/json",
            )
            .await;
        (s, v)
    }

    /// Starts a run and waits for it to end; returns the run.
    async fn run(&self, admin: &str, body: &Value) -> Value {
        let (s, v) = self.post("/v1/runs", admin, body).await;
        assert_eq!(s, 202, "{v}");
        let id = v["run"]["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let (s, v) = self.get(&format!("/v1/runs/{id}"), admin).await;
            assert_eq!(s, 200, "{v}");
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

fn token(env: &Env, scope: &str) -> String {
    let o = env.dsr(&["token", "create", "--scope", scope, "--label", "test"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(t.starts_with("dsr_") && t.len() > 40, "{t}");
    t
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_request_goes_from_submission_through_a_run_to_fulfilled_with_a_report_link() {
    let env = Env::new(20).await;
    let (portal, admin) = (token(&env, "portal"), token(&env, "admin"));
    let srv = Server::start(&env, &[]);

    let ana = verified("api-ana", "access", ANA_EMAIL);
    let (s, v) = srv.post("/v1/requests", &portal, &ana).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["request"]["status"], "received");
    assert!(
        v["request"]["confirm_by"].is_string(),
        "CCPA confirms receipt"
    );
    assert!(v["request"]["respond_by"].is_string());
    assert_eq!(v["request"]["due_at"], v["request"]["respond_by"]);
    // Idempotent on the id; a different body under the same id is a conflict.
    let (s, _) = srv.post("/v1/requests", &portal, &ana).await;
    assert_eq!(s, 200);
    let mut other = ana.clone();
    other["kind"] = json!("deletion");
    let (s, v) = srv.post("/v1/requests", &portal, &other).await;
    assert_eq!((s, code(&v)), (409, "conflict"), "{v}");

    // A portal token may not start runs; an admin token may.
    let (s, v) = srv.post("/v1/runs", &portal, &json!({})).await;
    assert_eq!((s, code(&v)), (403, "forbidden"));
    assert_eq!(
        v["error"]["message"],
        "this token's scope does not allow this operation"
    );
    let run = srv.run(&admin, &json!({"requests": ["api-ana"]})).await;
    assert_eq!(run["summary"]["api-ana"], "fulfilled", "{run}");
    assert!(run["engine_run"].is_string());

    let (s, v) = srv.get("/v1/requests/api-ana", &portal).await;
    assert_eq!(s, 200);
    assert_eq!(v["request"]["status"], "fulfilled");
    assert!(v["request"]["closed_at"].is_string());
    let report = v["request"]["report"].as_str().expect("report link");
    assert!(
        std::path::Path::new(report).join("report.json").exists(),
        "{report}"
    );
    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"received"));
    assert_eq!(events.last(), Some(&"fulfilled"));
    assert!(events.contains(&"admitted"), "{events:?}");
    // No subject data in what the API answers.
    assert!(!v.to_string().contains(ANA_EMAIL));

    let (s, v) = srv.get("/v1/requests?status=fulfilled", &portal).await;
    assert_eq!(s, 200);
    assert_eq!(v["requests"].as_array().unwrap().len(), 1);

    // 11 CCR §7102 metrics for the year of receipt.
    let year = chrono::DateTime::parse_from_rfc3339(ana["received_at"].as_str().unwrap())
        .unwrap()
        .format("%Y")
        .to_string();
    let (s, v) = srv.get(&format!("/v1/metrics?year={year}"), &portal).await;
    assert_eq!(s, 200, "{v}");
    let access = v["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "access")
        .unwrap();
    assert_eq!(access["received"], 1);
    assert_eq!(access["complied_in_whole_or_part"], 1);
    assert_eq!(access["denied"], 0);
    let median = access["median_days_to_respond"].as_f64().unwrap();
    assert!(
        (0.9..=1.2).contains(&median),
        "received a day ago: {median}"
    );
    let (s, _) = srv.get("/v1/metrics?year=1999", &portal).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn tokens_and_bad_input_get_the_right_status_and_store_nothing() {
    let env = Env::new(5).await;
    let portal = token(&env, "portal");
    let srv = Server::start(&env, &["--max-body-bytes", "2048"]);
    let good = verified("bad-1", "access", ANA_EMAIL).to_string();

    // No token, an unknown one, a revoked one: 401 with nothing more said.
    let (s, v, h) = srv
        .call(
            "POST",
            "/v1/requests",
            None,
            Some(&good),
            "application/json",
        )
        .await;
    assert_eq!((s, code(&v)), (401, "unauthorized"));
    assert_eq!(h.get("www-authenticate").unwrap(), "Bearer");
    let (s, v) = srv.get("/v1/requests", "dsr_not-a-token").await;
    assert_eq!((s, code(&v)), (401, "unauthorized"));
    let o = env.dsr(&["token", "create", "--scope", "admin"]);
    let revoked = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let id = String::from_utf8(o.stderr)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let (s, _) = srv.get("/v1/requests", &revoked).await;
    assert_eq!(s, 200);
    let o = env.dsr(&["token", "revoke", &id]);
    assert!(o.status.success(), "{}", text(&o));
    let (s, _) = srv.get("/v1/requests", &revoked).await;
    assert_eq!(s, 401);

    // Oversized body, wrong content type, not JSON, unknown field, bad field, bad ids.
    let mut big = verified("bad-2", "access", ANA_EMAIL);
    big["subject"]["identities"] = json!(vec![json!({"type": "email", "value": ANA_EMAIL}); 60]);
    let (s, v) = srv.post("/v1/requests", &portal, &big).await;
    assert_eq!((s, code(&v)), (413, "payload_too_large"), "{v}");
    let (s, v, _) = srv
        .call(
            "POST",
            "/v1/requests",
            Some(&portal),
            Some(&good),
            "text/plain",
        )
        .await;
    assert_eq!((s, code(&v)), (415, "unsupported_media_type"));
    let (s, v, _) = srv
        .call(
            "POST",
            "/v1/requests",
            Some(&portal),
            Some("{\"id\": "),
            "application/json",
        )
        .await;
    assert_eq!((s, code(&v)), (400, "invalid_json"), "{v}");
    let mut unknown = verified("bad-3", "access", ANA_EMAIL);
    unknown["colour"] = json!("blue");
    let (s, v) = srv.post("/v1/requests", &portal, &unknown).await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("colour"));
    let mut bad_kind = verified("bad-4", "access", ANA_EMAIL);
    bad_kind["kind"] = json!("erase-everything");
    let (s, v) = srv.post("/v1/requests", &portal, &bad_kind).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("kind")),
        "{v}"
    );
    let mut bad_email = verified("bad-5", "access", "not-an-email-but-secret");
    bad_email["jurisdiction"] = json!("CA");
    let (s, v) = srv.post("/v1/requests", &portal, &bad_email).await;
    assert_eq!(s, 422);
    assert!(!v.to_string().contains("not-an-email-but-secret"), "{v}");
    let bad_id = verified("../../etc", "access", ANA_EMAIL);
    let (s, v) = srv.post("/v1/requests", &portal, &bad_id).await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("id")), "{v}");
    let (s, v) = srv.get("/v1/requests/..%2Fetc", &portal).await;
    assert_eq!((s, code(&v)), (400, "bad_parameter"), "{v}");
    let (s, v) = srv.get("/v1/requests/no-such", &portal).await;
    assert_eq!((s, code(&v)), (404, "not_found"));
    let (s, v) = srv.get("/v1/requests?status=lost", &portal).await;
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("status")));
    let (s, v) = srv.get("/v1/requests?colour=blue", &portal).await;
    assert_eq!((s, code(&v)), (400, "bad_parameter"));
    let (s, v) = srv.get("/v1/nowhere", &portal).await;
    assert_eq!((s, code(&v)), (404, "not_found"));
    let (s, v, _) = srv
        .call("DELETE", "/v1/requests", Some(&portal), None, "")
        .await;
    assert_eq!((s, code(&v)), (405, "method_not_allowed"));

    // Nothing was stored.
    let (s, v) = srv.get("/v1/requests", &portal).await;
    assert_eq!(s, 200);
    assert_eq!(v["requests"], json!([]), "{v}");
    let o = env.dsr(&["status"]);
    assert!(String::from_utf8_lossy(&o.stdout).trim().is_empty());

    // The OpenAPI document is served and names every error code.
    let (s, v, _) = srv.call("GET", "/openapi.json", None, None, "").await;
    assert_eq!(s, 200);
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["paths"]["/v1/requests/{id}"]["get"].is_object());
    let codes =
        v["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .to_string();
    for c in ["unauthorized", "payload_too_large", "invalid_request"] {
        assert!(codes.contains(c), "{codes}");
    }
}

fn at(id: &str, kind: &str, jurisdiction: &str, received: &str) -> Value {
    let mut r = if kind == "opt_out" {
        request(id, kind, &[("email", ANA_EMAIL)], None)
    } else {
        verified(id, kind, ANA_EMAIL)
    };
    r["jurisdiction"] = json!(jurisdiction);
    r["received_at"] = json!(received);
    r
}

#[tokio::test]
async fn legal_clocks_by_regime_with_receipt_confirmation_overdue_and_one_extension() {
    let env = Env::new(5).await;
    let (portal, admin) = (token(&env, "portal"), token(&env, "admin"));
    let srv = Server::start(&env, &["--now", "2026-11-10T00:00:00Z"]);
    let submit = |r: Value| {
        let srv = &srv;
        let portal = portal.clone();
        async move {
            let (s, v) = srv.post("/v1/requests", &portal, &r).await;
            assert_eq!(s, 201, "{v}");
            v["request"].clone()
        }
    };
    // CCPA, received Friday 2 October 10:00 in Los Angeles: receipt confirmed within 10
    // business days (two weekends skipped: end of Friday 16 October there), answer in 45
    // calendar days, extendable once by 45.
    let ccpa = submit(at("clk-ccpa", "deletion", "CA", "2026-10-02T17:00:00Z")).await;
    assert_eq!(ccpa["confirm_by"], "2026-10-17T06:59:59+00:00");
    assert_eq!(ccpa["respond_by"], "2026-11-16T17:00:00+00:00");
    assert_eq!(ccpa["extendable_to"], "2026-12-31T17:00:00+00:00");
    assert_eq!(ccpa["days_left"], 6);
    // CCPA opt-out: 15 business days, no verification needed, no extension.
    let opt = submit(at("clk-opt", "opt_out", "CA", "2026-11-02T17:00:00Z")).await;
    assert_eq!(opt["respond_by"], "2026-11-24T07:59:59+00:00");
    assert_eq!(opt["confirm_by"], Value::Null);
    // GDPR: one month (31 October → 30 November), no receipt clock.
    let gdpr = submit(at("clk-gdpr", "access", "DE", "2026-10-31T09:00:00Z")).await;
    assert_eq!(gdpr["respond_by"], "2026-11-30T09:00:00+00:00");
    assert_eq!(gdpr["extendable_to"], "2027-01-30T09:00:00+00:00");
    assert_eq!(gdpr["confirm_by"], Value::Null);
    // Forwarded by a Client: 30 days from our receipt, whatever the regime.
    let mut fwd = at("clk-fwd", "deletion", "CA", "2026-11-02T10:00:00Z");
    fwd["client"] = json!(CLIENT_ACME);
    let fwd = submit(fwd).await;
    assert_eq!(fwd["respond_by"], "2026-12-02T10:00:00+00:00");
    assert_eq!(fwd["confirm_by"], Value::Null);
    assert_eq!(fwd["client"], CLIENT_ACME);

    // On 10 November the CCPA receipt confirmation is overdue until the portal records it.
    let overdue = |v: &Value| -> Vec<String> {
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = srv.get("/v1/requests?overdue=true", &portal).await;
    assert_eq!(overdue(&v), ["clk-ccpa"]);
    let (s, _) = srv
        .post(
            "/v1/requests/clk-ccpa/receipt-confirmation",
            &portal,
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = srv.get("/v1/requests?overdue=true", &portal).await;
    assert!(overdue(&v).is_empty(), "{v}");

    // One extension, by an admin, with a reason, before the first deadline.
    let ext = json!({"reason": "Records are spread over many systems"});
    let (s, v) = srv
        .post("/v1/requests/clk-ccpa/extension", &portal, &ext)
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden"));
    let (s, v) = srv
        .post(
            "/v1/requests/clk-ccpa/extension",
            &admin,
            &json!({"reason": " "}),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("reason")));
    let (s, v) = srv
        .post(
            "/v1/requests/clk-ccpa/extension",
            &admin,
            &json!({"reason": "x", "days": 90}),
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    let (s, v) = srv
        .post("/v1/requests/clk-ccpa/extension", &admin, &ext)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request"]["due_at"], "2026-12-31T17:00:00+00:00");
    assert_eq!(v["request"]["respond_by"], "2026-11-16T17:00:00+00:00");
    let (s, v) = srv
        .post("/v1/requests/clk-ccpa/extension", &admin, &ext)
        .await;
    assert_eq!((s, code(&v)), (409, "refused"), "{v}");
    let (s, v) = srv
        .post("/v1/requests/clk-opt/extension", &admin, &ext)
        .await;
    assert_eq!(
        (s, code(&v)),
        (409, "refused"),
        "an opt-out has no extension: {v}"
    );
    let (_, v) = srv.get("/v1/requests/clk-ccpa", &portal).await;
    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["received", "receipt_confirmed", "extended"]);
    drop(srv);

    // On 5 January 2027 everything open is overdue; the extended CCPA request by 5 days.
    let later = Server::start(&env, &["--now", "2027-01-05T00:00:00Z"]);
    let (_, v) = later.get("/v1/requests?overdue=true", &portal).await;
    assert_eq!(overdue(&v), ["clk-ccpa", "clk-gdpr", "clk-fwd", "clk-opt"]);
    assert_eq!(v["requests"][0]["days_left"], -5);
    // Too late to extend the GDPR request: the notice had to come within the first month.
    let (s, v) = later
        .post("/v1/requests/clk-gdpr/extension", &admin, &ext)
        .await;
    assert_eq!((s, code(&v)), (409, "refused"), "{v}");
}

#[tokio::test]
async fn the_third_ccpa_right_to_know_request_is_denied_and_gdpr_has_no_such_limit() {
    let env = Env::new(5).await;
    let (portal, admin) = (token(&env, "portal"), token(&env, "admin"));
    let srv = Server::start(&env, &[]);
    let now = chrono::Utc::now();
    // Fifteen days apart, so none is a duplicate of another (the window is 7 days).
    let all = ["ca-1", "ca-2", "ca-3", "eu-1", "eu-2", "eu-3"];
    for (n, id) in (0i64..).zip(all) {
        let mut r = verified(id, "access", ANA_EMAIL);
        r["jurisdiction"] = json!(if id.starts_with("ca") { "CA" } else { "DE" });
        r["received_at"] = json!((now - chrono::Duration::days(100 - 15 * n)).to_rfc3339());
        let (s, v) = srv.post("/v1/requests", &portal, &r).await;
        assert_eq!(s, 201, "{v}");
    }
    let run = srv.run(&admin, &json!({})).await;
    let summary = &run["summary"];
    for id in ["ca-1", "ca-2", "eu-1", "eu-2", "eu-3"] {
        assert_eq!(summary[id], "fulfilled", "{id}: {run}");
    }
    assert_eq!(summary["ca-3"], "denied", "{run}");
    let (_, v) = srv.get("/v1/requests/ca-3", &portal).await;
    assert_eq!(v["request"]["denial_reason"], "too_many_requests");
}

#[tokio::test]
async fn a_request_a_client_forwards_reaches_only_that_clients_rows() {
    let env = Env::new(5).await;
    let (portal, admin) = (token(&env, "portal"), token(&env, "admin"));
    let srv = Server::start(&env, &[]);
    let before = env.rows(Db::Crm, "marketing_contacts").await;
    let customers = env.rows(Db::Crm, "customers").await;
    assert!(before.contains_key(&ANA_ACME_MARKETING_ID) && before.contains_key(&ANA_MARKETING_ID));
    let mut r = verified("fwd-ana", "deletion", ANA_EMAIL);
    r["client"] = json!(CLIENT_ACME);
    let (s, v) = srv.post("/v1/requests", &portal, &r).await;
    assert_eq!(s, 201, "{v}");
    let run = srv.run(&admin, &json!({"requests": ["fwd-ana"]})).await;
    assert_eq!(run["summary"]["fwd-ana"], "fulfilled", "{run}");
    let after = env.rows(Db::Crm, "marketing_contacts").await;
    let gone: Vec<i64> = before
        .keys()
        .filter(|k| !after.contains_key(k))
        .copied()
        .collect();
    assert_eq!(gone, [ANA_ACME_MARKETING_ID], "only the Client's row");
    assert_eq!(
        env.rows(Db::Crm, "customers").await,
        customers,
        "our own data untouched"
    );
}

#[tokio::test]
async fn an_opt_out_and_a_gpc_signal_through_the_api_land_on_the_suppression_list() {
    let env = Env::new(5).await;
    let (portal, admin) = (token(&env, "portal"), token(&env, "admin"));
    let srv = Server::start(&env, &[]);
    // An opt-out needs no verification.
    let opt = request("api-opt", "opt_out", &[("email", ANA_EMAIL)], None);
    let (s, v) = srv.post("/v1/requests", &portal, &opt).await;
    assert_eq!(s, 201, "{v}");
    // The portal passes a Global Privacy Control signal with any request.
    let mut gpc = verified("api-gpc", "access", dsr_fixtures::subjects::BEN_EMAIL);
    gpc["gpc"] = json!(true);
    let (s, v) = srv.post("/v1/requests", &portal, &gpc).await;
    assert_eq!(s, 201, "{v}");
    let export = |env: &Env| {
        let o = env.dsr(&["suppression", "export"]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let before = export(&env);
    assert!(
        before.contains("\"source\":\"gpc\""),
        "GPC at submission: {before}"
    );
    assert!(!before.contains("opt_out"), "{before}");
    let run = srv.run(&admin, &json!({"requests": ["api-opt"]})).await;
    assert_eq!(run["summary"]["api-opt"], "fulfilled", "{run}");
    let after = export(&env);
    assert!(after.contains("\"source\":\"opt_out\""), "{after}");
    assert!(
        !after.contains(ANA_EMAIL) && !after.contains("ben"),
        "hashes only: {after}"
    );
}
