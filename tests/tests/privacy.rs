//! Privacy end-to-end tests of the `dsr` binary: access reports withhold sensitive values and
//! redact them from free text, partially verified requests get categories only, unverified or
//! unmatched requests are denied, bad input is refused and stores nothing, identities are
//! compared exactly (no SQL injection, no wildcard, no near-miss match), logs and evidence hold
//! no subject value, and report pages are escaped and self-contained.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::subjects::*;
use dsr_tests::{Db, Env, dsr_bin, request, root, text, walk};
use serde_json::{Value, json};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;

const FILLER: usize = 20;

/// The ASCII digits of `s`.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// `s` escaped the way an HTML template engine may escape text (`& < > " ' /`).
fn html_escaped(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

/// Asserts `hay` holds `needle` neither raw nor HTML-escaped.
fn assert_absent(what: &str, hay: &str, needle: &str) {
    assert!(!hay.contains(needle), "{what} contains {needle:?}");
    let esc = html_escaped(needle);
    assert!(
        !hay.contains(&esc),
        "{what} contains {esc:?} (escaped {needle:?})"
    );
}

/// Asserts a command succeeded, showing its output otherwise.
fn assert_ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what} failed: {}", text(o));
}

/// Output of `dsr status ID` (empty when the request is unknown).
fn status(env: &Env, id: &str) -> String {
    let o = env.dsr(&["status", id]);
    assert_ok(&o, "dsr status");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The first line of `dsr status ID`, split into its words: id, kind, status, reason.
fn status_line(env: &Env, id: &str) -> Vec<String> {
    let out = status(env, id);
    let line = out
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no status for {id}"));
    line.split_whitespace().map(str::to_string).collect()
}

/// Submits `reqs`, asserting success.
fn submit_ok(env: &Env, reqs: &[Value]) {
    let o = env.submit(reqs);
    assert_ok(&o, "dsr submit");
}

/// Runs the nightly job, asserting success.
fn run_ok(env: &Env) -> Output {
    let o = env.run();
    assert_ok(&o, "dsr run");
    o
}

/// The `version` of `config/disclosures.toml`, read from the file itself.
fn disclosures_version() -> String {
    let toml = std::fs::read_to_string(root().join("config").join("disclosures.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .expect("version line in disclosures.toml");
    let v = line.split_once('=').unwrap().1.trim();
    v.trim_matches('"').to_string()
}

/// Every piece of an access report, flattened.
fn pieces(report: &Value) -> Vec<Value> {
    report["pieces"]
        .as_array()
        .expect("pieces array")
        .iter()
        .flat_map(|c| c["pieces"].as_array().expect("category pieces").clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. Report withholding.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn access_report_withholds_sensitive_values_and_redacts_free_text() {
    let env = Env::new(FILLER).await;
    submit_ok(
        &env,
        &[request(
            "acc-ana",
            "access",
            &[("email", ANA_EMAIL)],
            Some("reasonably_high"),
        )],
    );
    run_ok(&env);
    let st = status_line(&env, "acc-ana");
    assert_eq!(st[2], "fulfilled", "status: {st:?}");

    let (json_text, html) = env.report("acc-ana");
    let card_digits = digits(ANA_CARD_NUMBER);
    let ssn_digits = digits(ANA_SSN);
    for secret in [
        ANA_SSN,
        ssn_digits.as_str(),
        ANA_DRIVERS_LICENSE,
        ANA_CARD_NUMBER,
        card_digits.as_str(),
        ANA_PASSWORD_HASH,
        ANA_SECURITY_ANSWER,
    ] {
        assert_absent("report.json", &json_text, secret);
        assert_absent("report.html", &html, secret);
    }

    let report: Value = serde_json::from_str(&json_text).expect("report.json is JSON");
    assert_eq!(report["request"]["id"], "acc-ana");
    assert_eq!(report["scope"]["kind"], "specific_pieces");

    // Every withheld kind is named, once, in the report's `withheld` list.
    let withheld: Vec<&str> = report["withheld"]
        .as_array()
        .expect("withheld array")
        .iter()
        .map(|w| w["kind"].as_str().expect("withheld kind"))
        .collect();
    for kind in [
        "ssn",
        "government_id",
        "financial_account",
        "account_password",
        "security_qa",
    ] {
        assert!(
            withheld.contains(&kind),
            "withheld {withheld:?} lacks {kind}"
        );
    }
    // And each withheld piece carries a notice, never the value.
    let all = pieces(&report);
    let withheld_pieces: Vec<&Value> = all.iter().filter(|p| !p["withheld"].is_null()).collect();
    for kind in [
        "ssn",
        "government_id",
        "financial_account",
        "account_password",
        "security_qa",
    ] {
        assert!(
            withheld_pieces.iter().any(|p| p["withheld"] == kind),
            "no withheld piece of kind {kind}"
        );
    }
    for p in &withheld_pieces {
        let v = p["value"].as_str().unwrap_or_default();
        assert!(
            v.contains("not disclosed"),
            "withheld piece shows a value: {p}"
        );
    }

    // Her support ticket: the text is there, the SSN and card typed into it are redacted.
    let ticket = all
        .iter()
        .find(|p| p["record"] == "Support ticket" && p["field"] == "Message")
        .expect("support ticket message in report");
    let body = ticket["value"].as_str().expect("ticket body");
    assert!(
        body.starts_with("Hi, I can't log in to my account."),
        "ticket body: {body}"
    );
    assert!(body.contains("Thanks, Ana"), "ticket body: {body}");
    assert!(
        body.contains("[redacted: Social Security number]"),
        "ticket body: {body}"
    );
    assert!(
        !body.contains(ANA_SSN) && !body.contains(ANA_CARD_NUMBER),
        "ticket body: {body}"
    );
    assert_eq!(ticket["redacted"], true);
    assert!(report["free_text_redactions"].as_u64().unwrap_or(0) >= 1);
    assert!(html.contains("[redacted: Social Security number]"));

    // The disclosures version and the Client to contact.
    let version = disclosures_version();
    assert_eq!(report["disclosures"]["version"], version.as_str());
    assert!(
        html.contains(&version) || html.contains(&html_escaped(&version)),
        "report.html does not name disclosures version {version}"
    );
    let clients = &report["clients_to_contact"]["clients"];
    assert!(
        clients
            .as_array()
            .is_some_and(|c| c.contains(&json!(CLIENT_ACME))),
        "clients_to_contact: {clients}"
    );
    assert!(html.contains(CLIENT_ACME));

    // Her own, non-sensitive data is disclosed.
    for mine in [ANA_EMAIL, ANA_NAME, ANA_PHONE, ANA_ADDRESS_LINE1] {
        assert!(json_text.contains(mine), "report.json lacks {mine}");
        assert!(
            html.contains(mine) || html.contains(&html_escaped(mine)),
            "report.html lacks {mine}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Categories only.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn categories_only_reports_list_categories_and_no_pieces() {
    let env = Env::new(FILLER).await;
    submit_ok(
        &env,
        &[
            request(
                "cat-eve",
                "access_categories",
                &[("email", EVE_EMAIL)],
                Some("reasonably_high"),
            ),
            request(
                "acc-finn",
                "access",
                &[("email", FINN_EMAIL)],
                Some("reasonable"),
            ),
        ],
    );
    run_ok(&env);

    let subjects = [
        ("cat-eve", EVE_EMAIL, EVE_NAME, EVE_PHONE, EVE_CARD_NUMBER),
        (
            "acc-finn",
            FINN_EMAIL,
            FINN_NAME,
            FINN_PHONE,
            FINN_CARD_NUMBER,
        ),
    ];
    for (id, email, name, phone, card) in subjects {
        let st = status_line(&env, id);
        assert_eq!(st[2], "fulfilled", "{id} status: {st:?}");
        let (json_text, html) = env.report(id);
        let report: Value = serde_json::from_str(&json_text).expect("report.json is JSON");
        assert_eq!(report["pieces"], json!([]), "{id}: pieces must be empty");
        assert_eq!(report["scope"]["kind"], "categories_only", "{id}: scope");
        let reason = report["scope"]["reason"].as_str().unwrap_or_default();
        assert!(
            !reason.trim().is_empty(),
            "{id}: categories-only report gives no reason"
        );
        let cats: Vec<&str> = report["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .map(|c| c["category"].as_str().expect("category key"))
            .collect();
        for c in ["unique_identifiers", "contact", "financial", "commercial"] {
            assert!(cats.contains(&c), "{id}: categories {cats:?} lack {c}");
        }
        // No specific piece: none of the subject's values appear anywhere in the report.
        let card_digits = digits(card);
        for v in [email, name, phone, card, card_digits.as_str()] {
            assert_absent(&format!("{id} report.json"), &json_text, v);
            assert_absent(&format!("{id} report.html"), &html, v);
        }
        assert!(html.contains("Unique identifiers") && html.contains("Contact information"));
    }
    // Finn's reason is the verification level, not his choice.
    let (finn, _) = env.report("acc-finn");
    let finn: Value = serde_json::from_str(&finn).unwrap();
    let reason = finn["scope"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        reason.contains("verif"),
        "Finn's reason does not mention verification: {reason}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Denials.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unverified_and_unmatched_requests_are_denied_without_report() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    submit_ok(
        &env,
        &[
            request("acc-gus", "access", &[("email", GUS_EMAIL)], Some("none")),
            request(
                "acc-nobody",
                "access",
                &[("email", NOBODY_EMAIL)],
                Some("reasonably_high"),
            ),
        ],
    );
    run_ok(&env);

    let gus = status_line(&env, "acc-gus");
    assert_eq!(
        &gus[..],
        ["acc-gus", "access", "denied", "insuf_verification"],
        "{gus:?}"
    );
    let nobody = status_line(&env, "acc-nobody");
    assert_eq!(
        &nobody[..],
        ["acc-nobody", "access", "denied", "no_match"],
        "{nobody:?}"
    );
    for id in ["acc-gus", "acc-nobody"] {
        let dir = env.reports().join(id);
        assert!(
            !dir.exists(),
            "a report was delivered for denied request {id}: {}",
            dir.display()
        );
    }
    assert_eq!(
        before,
        env.snapshot().await,
        "a denied access changed the estate"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Bad input.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_refused_with_a_one_line_error_and_nothing_is_stored() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    let good = request(
        "good-1",
        "access",
        &[("email", ANA_EMAIL)],
        Some("reasonably_high"),
    );
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "malformed JSON",
            r#"{"id": "bad-1", "kind": "access""#.to_string(),
            vec!["malformed"],
        ),
        (
            "unknown identity type",
            json!([request(
                "bad-2",
                "access",
                &[("passport", "X99-SECRET-7")],
                Some("reasonably_high")
            )])
            .to_string(),
            vec!["subject.identities[0].type", "unknown identity type"],
        ),
        (
            "unknown kind",
            json!([request(
                "bad-3",
                "erase",
                &[("email", ANA_EMAIL)],
                Some("reasonably_high")
            )])
            .to_string(),
            vec!["kind", "unknown request kind"],
        ),
        (
            "deletion without verification",
            json!([request("bad-4", "deletion", &[("email", ANA_EMAIL)], None)]).to_string(),
            vec!["verification", "required"],
        ),
        (
            "one valid and one invalid request",
            json!([
                good,
                request(
                    "bad-5",
                    "access",
                    &[("email", "no-at-sign")],
                    Some("reasonably_high")
                )
            ])
            .to_string(),
            vec!["request 2", "subject.identities[0].value"],
        ),
    ];
    for (what, body, expect) in cases {
        let o = env.submit_raw(&body);
        assert!(
            !o.status.success(),
            "{what}: submit succeeded: {}",
            text(&o)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{what}: error is not one line: {err:?}");
        assert!(lines[0].starts_with("error:"), "{what}: {err:?}");
        for e in expect {
            assert!(
                lines[0].contains(e),
                "{what}: error {:?} does not mention {e:?}",
                lines[0]
            );
        }
        // The error never echoes a submitted identity value.
        for v in ["X99-SECRET-7", ANA_EMAIL, "no-at-sign"] {
            assert!(
                !lines[0].contains(v),
                "{what}: error echoes {v:?}: {}",
                lines[0]
            );
        }
        let all = env.dsr(&["status"]);
        assert_ok(&all, "dsr status");
        assert_eq!(text(&all).trim(), "", "{what}: something was stored");
    }
    let unknown = env.dsr(&["status", "good-1"]);
    assert!(
        !unknown.status.success() && text(&unknown).contains("no request with id good-1"),
        "the valid request of a bad file was stored: {}",
        text(&unknown)
    );

    // A run afterwards has nothing to do and changes nothing.
    run_ok(&env);
    assert_eq!(before, env.snapshot().await, "the estate changed");
    assert!(!env.reports().join("good-1").exists());
    let all = env.dsr(&["status"]);
    assert_eq!(text(&all).trim(), "", "a run created requests");
}

#[tokio::test]
async fn wrong_typed_field_is_named_in_the_error() {
    let env = Env::new(FILLER).await;
    let mut bad = request(
        "bad-type",
        "access",
        &[("email", ANA_EMAIL)],
        Some("reasonably_high"),
    );
    bad["kind"] = json!(5);
    let o = env.submit(&[bad]);
    assert!(!o.status.success(), "submit succeeded: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("kind"),
        "error does not name the field `kind`: {err}"
    );
    assert!(
        !err.contains("line 0 column 0"),
        "error cites a meaningless position: {err}"
    );
    assert_eq!(
        text(&env.dsr(&["status"])).trim(),
        "",
        "something was stored"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Injection and near misses.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn identities_match_exactly_no_injection_no_wildcard_no_near_miss() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    submit_ok(
        &env,
        &[
            request(
                "del-sql",
                "deletion",
                &[("customer_id", "x' OR '1'='1")],
                Some("reasonably_high"),
            ),
            request(
                "del-like",
                "deletion",
                &[("email", "%@example.com")],
                Some("reasonably_high"),
            ),
        ],
    );
    run_ok(&env);
    assert_eq!(
        before,
        env.snapshot().await,
        "an injection/wildcard deletion changed the estate"
    );
    for id in ["del-sql", "del-like"] {
        let st = status_line(&env, id);
        assert_eq!(&st[1..], ["deletion", "denied", "no_match"], "{id}: {st:?}");
    }

    submit_ok(
        &env,
        &[
            request(
                "acc-padded",
                "access",
                &[("email", "  ANA.ALVAREZ@EXAMPLE.COM ")],
                Some("reasonably_high"),
            ),
            request(
                "acc-near-co",
                "access",
                &[("email", NEAR_DOMAIN_EMAIL)],
                Some("reasonably_high"),
            ),
            request(
                "acc-near-accent",
                "access",
                &[("email", NEAR_ACCENT_EMAIL)],
                Some("reasonably_high"),
            ),
        ],
    );
    run_ok(&env);

    // Trimmed and lower-cased, the padded upper-case email is Ana's.
    let (padded, padded_html) = env.report("acc-padded");
    assert!(
        padded.contains(ANA_NAME) && padded_html.contains(ANA_NAME),
        "Ana not found"
    );
    assert!(padded.contains(ANA_EMAIL));

    // The near misses find their own customer, and never Ana.
    let ana_phone_digits = digits(ANA_PHONE);
    for (id, own_name) in [
        ("acc-near-co", NEAR_DOMAIN_NAME),
        ("acc-near-accent", NEAR_ACCENT_NAME),
    ] {
        let st = status_line(&env, id);
        assert_eq!(st[2], "fulfilled", "{id}: {st:?}");
        let (j, h) = env.report(id);
        assert!(j.contains(own_name), "{id}: own customer not found");
        let report: Value = serde_json::from_str(&j).unwrap();
        for p in pieces(&report) {
            let v = p["value"].as_str().unwrap_or_default();
            assert_ne!(v, ANA_NAME, "{id}: piece {p}");
            assert_ne!(v.to_lowercase(), ANA_EMAIL, "{id}: piece {p}");
            assert_ne!(digits(v), ana_phone_digits, "{id}: piece {p}");
        }
        for doc in [&j, &h] {
            for v in [
                ANA_NAME,
                ANA_EMAIL,
                ANA_PHONE,
                ANA_ADDRESS_LINE1,
                ANA_BIRTH_DATE,
                ANA_LAST_LOGIN_IP,
            ] {
                assert_absent(id, doc, v);
            }
            assert!(
                !doc.to_lowercase().contains(&format!("\"{ANA_EMAIL}\"")),
                "{id}"
            );
        }
    }
    assert_eq!(
        before,
        env.snapshot().await,
        "access requests changed the estate"
    );
}

// ---------------------------------------------------------------------------------------
// 6. Logs and evidence.
// ---------------------------------------------------------------------------------------

/// Every value of the special subjects that must never reach a log or the evidence.
fn forbidden_values() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(SPECIAL_EMAILS.iter().map(|s| s.to_string()));
    for p in SPECIAL_PHONES {
        out.push(p.to_string());
        let d = digits(p);
        out.push(d[1..].to_string()); // without the country code
        out.push(d);
    }
    for n in [
        ANA_NAME,
        BEN_NAME,
        CARA_NAME,
        DAN_NAME,
        EVE_NAME,
        FINN_NAME,
        GUS_NAME,
        LOU_NAME,
        HAL_NAME,
        IVY_NAME,
        JON_NAME,
        KIM_NAME,
        NEAR_DOMAIN_NAME,
        NEAR_ACCENT_NAME,
    ] {
        out.push(n.to_string());
    }
    for v in SENSITIVE_VALUES {
        out.push(v.to_string());
        let d = digits(v);
        // Digits-only forms of card numbers and SSNs.
        if v.contains(' ') || (v.matches('-').count() == 2 && d.len() == 9) {
            out.push(d);
        }
    }
    out.extend([ANA_ADDRESS_LINE1, SHARED_ADDRESS_LINE1, ANA_BIRTH_DATE].map(str::to_string));
    out
}

fn assert_clean(what: &str, hay: &str) {
    let lower = hay.to_lowercase();
    for v in forbidden_values() {
        assert!(!hay.contains(&v), "{what} contains {v:?}");
        if v.contains('@') {
            assert!(
                !lower.contains(&v.to_lowercase()),
                "{what} contains {v:?} (any case)"
            );
        }
    }
}

fn demo(out: &Path, format: &str) -> Output {
    Command::new(dsr_bin())
        .args(["--log-format", format, "-v", "demo", "--out"])
        .arg(out)
        .args(["--subjects", &FILLER.to_string()])
        .current_dir(root())
        .env("DSR_CONFIG", root().join("config"))
        .env("NO_COLOR", "1")
        .env_remove("DSR_LOG")
        .output()
        .expect("run dsr demo")
}

#[test]
fn logs_and_evidence_hold_no_subject_values() {
    // The check must be able to fail: the demo's own estate does hold these values.
    assert!(forbidden_values().iter().any(|v| v == ANA_SSN));

    let dir = tempfile::tempdir().unwrap();
    for format in ["json", "human"] {
        let out = dir.path().join(format!("demo-{format}"));
        let o = demo(&out, format);
        assert_ok(&o, &format!("dsr demo ({format})"));
        let all = text(&o);
        // Sanity: the demo ran every sample request and logged in the asked format.
        assert!(
            all.contains("req-2026-0001") && all.contains("fulfilled"),
            "{all}"
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        let log_lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!log_lines.is_empty(), "{format}: no logs");
        if format == "json" {
            for l in &log_lines {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"));
                assert!(v.get("level").is_some(), "{l}");
            }
        } else {
            assert!(log_lines.iter().any(|l| l.contains("INFO")), "{stderr}");
        }
        assert_clean(&format!("dsr demo output ({format})"), &all);

        let evidence = out.join("evidence");
        let files = walk(&evidence);
        assert!(
            files.len() >= 10,
            "{format}: evidence has {} files",
            files.len()
        );
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let body = String::from_utf8_lossy(&bytes);
            assert_clean(&f.display().to_string(), &body);
        }
        // The reports, by contrast, do hold Ana's own values (so the needles are live).
        let ana = std::fs::read_to_string(out.join("reports/req-2026-0001/report.json")).unwrap();
        assert!(ana.contains(ANA_EMAIL) && ana.contains(ANA_NAME));
    }
}

// ---------------------------------------------------------------------------------------
// 7. HTML escaping.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn report_html_is_escaped_and_self_contained() {
    let env = Env::new(FILLER).await;
    // Markup typed by the subject into her own records.
    let subject = r#"<script>alert("x")</script><img src=x onerror=alert(1)>"#;
    let street = r#"17 Juniper Court"><a href="https://evil.example/">click</a>"#;
    {
        let mut c = SqliteConnectOptions::from_str(&env.url(Db::Support))
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE tickets SET subject = ?1 WHERE id = ?2")
            .bind(subject)
            .bind(ANA_ID)
            .execute(&mut c)
            .await
            .unwrap();
        let mut c = SqliteConnectOptions::from_str(&env.url(Db::Crm))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let n = sqlx::query("UPDATE addresses SET line1 = ?1 WHERE id = ?2")
            .bind(street)
            .bind(ANA_ID)
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(n.rows_affected(), 1);
    }
    submit_ok(
        &env,
        &[request(
            "acc-ana",
            "access",
            &[("email", ANA_EMAIL)],
            Some("reasonably_high"),
        )],
    );
    run_ok(&env);
    let (json_text, html) = env.report("acc-ana");

    // The JSON holds her values as they are; the page shows them as text.
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let values: Vec<String> = pieces(&report)
        .iter()
        .filter_map(|p| p["value"].as_str().map(str::to_string))
        .collect();
    assert!(
        values.iter().any(|v| v == subject),
        "ticket subject missing from report.json"
    );
    assert!(
        values.iter().any(|v| v == street),
        "street missing from report.json"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "escaped ticket subject missing from report.html"
    );
    assert!(
        html.contains("&lt;a href="),
        "escaped street missing from report.html"
    );

    // Structure of the page, once the (escaped) injected text is taken out.
    assert!(
        html.contains(&html_escaped(subject)),
        "ticket subject not shown escaped"
    );
    assert!(
        html.contains(&html_escaped(street)),
        "street not shown escaped"
    );
    let structure = html
        .replace(&html_escaped(subject), "")
        .replace(&html_escaped(street), "");
    let lower = structure.to_lowercase();
    for tag in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "<a ", "<a>", "<base", "<form",
    ] {
        assert!(!lower.contains(tag), "report.html contains {tag}");
    }
    for attr in ["src=", "href=", "onerror=", "@import", "url("] {
        assert!(!lower.contains(attr), "report.html contains {attr}");
    }
    // Quotes in free text are escaped, not raw.
    assert!(
        !html.contains("I can't log in"),
        "raw apostrophe in ticket text"
    );
    assert!(
        [
            "I can&#x27;t log in",
            "I can&#39;t log in",
            "I can&apos;t log in"
        ]
        .iter()
        .any(|e| html.contains(e)),
        "ticket text missing or not escaped"
    );
    assert!(
        !html.contains(r#"alert("x")"#),
        "raw double quotes in ticket subject"
    );

    // Self-contained: the only URL on the page is the opt-out URL, shown as text.
    let opt_out = report["business"]["opt_out_url"]
        .as_str()
        .expect("opt_out_url");
    let stripped = structure
        .replace(opt_out, "")
        .replace(&html_escaped(opt_out), "");
    for scheme in [
        "http://",
        "https://",
        "http:&#x2f;&#x2f;",
        "https:&#x2f;&#x2f;",
        "evil.example",
    ] {
        assert!(
            !stripped.contains(scheme),
            "report.html references {scheme} besides the opt-out URL"
        );
    }
    assert!(!html.contains("https://evil"), "unescaped injected URL");
}

// ---------------------------------------------------------------------------------------
// 8. Free-text redaction of other spellings of the same numbers.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn free_text_spellings_of_ssn_and_card_are_redacted() {
    let env = Env::new(FILLER).await;
    let card_digits = digits(ANA_CARD_NUMBER);
    let card_dashes = ANA_CARD_NUMBER.replace(' ', "-");
    let ssn_digits = digits(ANA_SSN);
    let body = format!(
        "SSN {ssn_digits}. Card {card_dashes}, or {card_digits}; order 2 of 5000 cents, call me on {ANA_PHONE}."
    );
    let subject = format!("My SSN:{ANA_SSN}");
    {
        let mut c = SqliteConnectOptions::from_str(&env.url(Db::Support))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let n = sqlx::query("UPDATE tickets SET body = ?1, subject = ?2 WHERE id = ?3")
            .bind(&body)
            .bind(&subject)
            .bind(ANA_ID)
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(n.rows_affected(), 1);
    }
    submit_ok(
        &env,
        &[request(
            "acc-ana",
            "access",
            &[("email", ANA_EMAIL)],
            Some("reasonably_high"),
        )],
    );
    run_ok(&env);
    let (json_text, html) = env.report("acc-ana");
    for secret in [
        ANA_SSN,
        ssn_digits.as_str(),
        ANA_CARD_NUMBER,
        card_digits.as_str(),
        card_dashes.as_str(),
    ] {
        assert_absent("report.json", &json_text, secret);
        assert_absent("report.html", &html, secret);
    }
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let all = pieces(&report);
    let field = |name: &str| {
        all.iter()
            .find(|p| p["record"] == "Support ticket" && p["field"] == name)
            .and_then(|p| p["value"].as_str())
            .unwrap_or_else(|| panic!("ticket {name} missing"))
            .to_string()
    };
    let got_body = field("Message");
    assert_eq!(
        got_body,
        format!(
            "SSN [redacted: Social Security number]. Card [redacted: financial account number], \
             or [redacted: financial account number]; order 2 of 5000 cents, call me on {ANA_PHONE}."
        ),
        "only the SSN and card numbers are redacted"
    );
    assert_eq!(
        field("Subject"),
        "My SSN:[redacted: Social Security number]"
    );
    assert!(report["free_text_redactions"].as_u64().unwrap_or(0) >= 2);
}
