//! Verification worked out by dsr (data points matched against the subject's own records),
//! per-store deletion levels, opt-outs and Global Privacy Control on the suppression list and
//! its export, minors, and duplicates — end to end through the `dsr` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_core::hash::KeyedHasher;
use dsr_fixtures::subjects::*;
use dsr_tests::{Db, Env, request, text, verified};
use serde_json::{Value, json};

const FILLER: usize = 10;
/// The hash key the harness gives `dsr` (`DSR_HASH_KEY`).
const HASH_KEY: &str = "test-hash-key-0123456789abcdef";

fn ok(o: &std::process::Output, what: &str) {
    assert!(o.status.success(), "{what} failed: {}", text(o));
}

/// A request verified by data points (no attestation).
fn with_points(
    id: &str,
    kind: &str,
    email: &str,
    points: &[(&str, &str)],
    declaration: bool,
) -> Value {
    let mut v = request(id, kind, &[("email", email)], None);
    v["data_points"] = json!(
        points
            .iter()
            .map(|(t, v)| json!({"type": t, "value": v}))
            .collect::<Vec<_>>()
    );
    if declaration {
        v["signed_declaration"] = json!(true);
    }
    v
}

fn submit_and_run(env: &Env, reqs: &[Value]) {
    ok(&env.submit(reqs), "dsr submit");
    ok(&env.run(), "dsr run");
}

/// `dsr status ID`: the first line's words and the whole output.
fn status(env: &Env, id: &str) -> (Vec<String>, String) {
    let o = env.dsr(&["status", id]);
    ok(&o, "dsr status");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let words = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    (words, out)
}

fn report(env: &Env, id: &str) -> (Value, String) {
    let (json_text, html) = env.report(id);
    (serde_json::from_str(&json_text).unwrap(), html)
}

fn manifest(env: &Env, id: &str) -> Value {
    env.manifests(id).pop().expect("manifest")
}

/// `dsr suppression export` as parsed JSON lines.
fn export(env: &Env) -> Vec<Value> {
    let o = env.dsr(&["suppression", "export"]);
    ok(&o, "dsr suppression export");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hash(kind: &str, value: &str) -> String {
    KeyedHasher::new(HASH_KEY.as_bytes().to_vec()).identity(kind, value)
}

fn source_of(entries: &[Value], h: &str) -> Option<String> {
    entries
        .iter()
        .find(|e| e["identity_hash"] == h)
        .map(|e| e["source"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn two_matching_points_answer_with_categories_only_and_say_so() {
    let env = Env::new(FILLER).await;
    // The email found Ana (one match) and her phone is on her profile (two).
    let req = with_points("v-two", "access", ANA_EMAIL, &[("phone", ANA_PHONE)], true);
    submit_and_run(&env, &[req]);
    let (st, out) = status(&env, "v-two");
    assert_eq!(st[2], "fulfilled", "{out}");
    assert!(out.contains("awaiting_verification"), "history: {out}");
    let (r, html) = report(&env, "v-two");
    assert_eq!(r["scope"]["kind"], "categories_only");
    assert_eq!(r["pieces"], json!([]));
    let reason = r["scope"]["reason"].as_str().unwrap();
    assert!(reason.contains("reasonable degree"), "{reason}");
    assert!(html.contains("reasonable degree"));
    assert!(!html.contains(ANA_PHONE) && !html.contains(ANA_NAME));
    let v = &manifest(&env, "v-two")["verification"];
    assert_eq!(v["level"], "reasonable", "{v}");
    assert_eq!(v["matched"], 2);
    assert_eq!(v["mismatched"], 0);
    assert_eq!(v["method"], "data_points");
    assert_eq!(v["matched_types"], json!(["email", "phone"]));
}

#[tokio::test]
async fn three_points_and_a_declaration_disclose_specific_pieces() {
    let env = Env::new(FILLER).await;
    let points = [("phone", ANA_PHONE), ("card_last4", "6467")];
    submit_and_run(
        &env,
        &[
            with_points("v-high", "access", ANA_EMAIL, &points, true),
            with_points(
                "v-nodecl",
                "access",
                CARA_EMAIL,
                &[
                    ("phone", CARA_PHONE),
                    ("card_last4", &last4(CARA_CARD_NUMBER)),
                ],
                false,
            ),
        ],
    );
    let (st, out) = status(&env, "v-high");
    assert_eq!(st[2], "fulfilled", "{out}");
    let (r, html) = report(&env, "v-high");
    assert_eq!(r["scope"]["kind"], "specific_pieces");
    assert!(html.contains(ANA_NAME), "specific pieces hold her name");
    assert_eq!(r["minor_under_16"], false);
    let v = &manifest(&env, "v-high")["verification"];
    assert_eq!(v["level"], "reasonably_high", "{v}");
    assert_eq!(v["matched"], 3);
    assert_eq!(v["signed_declaration"], true);

    // The same three matches without a signed declaration: categories only.
    let (st, out) = status(&env, "v-nodecl");
    assert_eq!(st[2], "fulfilled", "{out}");
    let (r, html) = report(&env, "v-nodecl");
    assert_eq!(r["scope"]["kind"], "categories_only");
    assert_eq!(r["pieces"], json!([]));
    assert!(!html.contains(CARA_NAME));
    let v = &manifest(&env, "v-nodecl")["verification"];
    assert_eq!(
        (v["level"].clone(), v["matched"].clone()),
        (json!("reasonable"), json!(3))
    );
}

#[tokio::test]
async fn mismatching_points_are_denied_and_nothing_is_disclosed() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    // Email and phone match Gus; the card digits and postcode are Ana's.
    let points = [
        ("phone", GUS_PHONE),
        ("card_last4", "6467"),
        ("postcode", ANA_POSTCODE),
    ];
    submit_and_run(
        &env,
        &[with_points("v-mis", "access", GUS_EMAIL, &points, true)],
    );
    let (st, out) = status(&env, "v-mis");
    assert_eq!(
        &st[1..],
        ["access", "denied", "insuf_verification"],
        "{out}"
    );
    assert!(
        !env.reports().join("v-mis").exists(),
        "a report was delivered"
    );
    let m = manifest(&env, "v-mis");
    assert_eq!(m["status"], "denied");
    assert_eq!(m["verification"]["level"], "none");
    assert_eq!(m["verification"]["matched"], 2);
    assert_eq!(m["verification"]["mismatched"], 2);
    assert_eq!(m["artifacts"], json!([]));
    assert_eq!(
        before,
        env.snapshot().await,
        "a denied access changed the estate"
    );
    // Neither the points given nor the records' values reach the evidence.
    let evidence = env.evidence_text();
    for v in [GUS_EMAIL, "14155550108", GUS_NAME] {
        assert!(!evidence.contains(v), "evidence holds {v}");
    }
}

#[tokio::test]
async fn deletion_keeps_the_records_of_stores_needing_more_verification() {
    let env = Env::new(FILLER).await;
    let tickets = env
        .ids_where(Db::Support, "tickets", "customer_id", FINN_ID)
        .await;
    assert!(!tickets.is_empty());
    // Email + phone: a reasonable degree. The crm store needs reasonably high.
    let req = with_points(
        "v-del",
        "deletion",
        FINN_EMAIL,
        &[("phone", FINN_PHONE)],
        true,
    );
    submit_and_run(&env, &[req]);
    let (st, out) = status(&env, "v-del");
    assert_eq!(st[2], "fulfilled", "{out}");
    // crm: every record kept; support (reasonable is enough): deleted.
    assert_eq!(
        env.ids_where(Db::Crm, "customers", "id", FINN_ID).await,
        vec![FINN_ID]
    );
    assert!(
        !env.ids_where(Db::Crm, "orders", "customer_id", FINN_ID)
            .await
            .is_empty()
    );
    assert!(
        env.ids_where(Db::Support, "tickets", "customer_id", FINN_ID)
            .await
            .is_empty()
    );
    let (r, html) = report(&env, "v-del");
    let retained = r["deletion"]["retained"].as_array().expect("retained");
    let crm: Vec<&Value> = retained.iter().filter(|x| x["source"] == "crm").collect();
    assert!(!crm.is_empty(), "{retained:?}");
    for x in &crm {
        assert!(
            x["basis"]
                .as_str()
                .unwrap()
                .contains("insufficient verification for this store"),
            "{x}"
        );
    }
    assert!(html.contains("insufficient verification for this store"));
    let deleted = r["deletion"]["deleted"].as_array().expect("deleted");
    assert!(
        deleted.iter().any(|d| d["source"] == "support"),
        "{deleted:?}"
    );
    let m = manifest(&env, "v-del");
    assert!(
        m["retained"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["reason"] == "insufficient_verification" && x["table"] == "crm.customers"),
        "{}",
        m["retained"]
    );
    assert_eq!(m["verification"]["level"], "reasonable");
}

#[tokio::test]
async fn deletion_without_any_level_is_denied() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    let req = with_points(
        "v-del-none",
        "deletion",
        FINN_EMAIL,
        &[("postcode", ANA_POSTCODE)],
        true,
    );
    submit_and_run(&env, &[req]);
    let (st, out) = status(&env, "v-del-none");
    assert_eq!(&st[2..], ["denied", "insuf_verification"], "{out}");
    assert_eq!(
        before,
        env.snapshot().await,
        "a denied deletion changed the estate"
    );
}

#[tokio::test]
async fn opt_out_needs_no_verification_and_is_suppressed() {
    let env = Env::new(FILLER).await;
    submit_and_run(
        &env,
        &[request("v-opt", "opt_out", &[("email", EVE_EMAIL)], None)],
    );
    let (st, out) = status(&env, "v-opt");
    assert_eq!(st[2], "fulfilled", "{out}");
    let entries = export(&env);
    assert_eq!(
        source_of(&entries, &hash("email", EVE_EMAIL)).as_deref(),
        Some("opt_out"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn gpc_signal_is_suppressed_with_source_gpc_and_exported_as_hashes() {
    let env = Env::new(FILLER).await;
    let mut req = verified("v-gpc", "access", ANA_EMAIL);
    req["gpc"] = json!(true);
    submit_and_run(&env, &[req]);
    let (st, _) = status(&env, "v-gpc");
    assert_eq!(st[2], "fulfilled");
    let out = env.dir.path().join("suppression.jsonl");
    let o = env.dsr(&["suppression", "export", "--out", out.to_str().unwrap()]);
    ok(&o, "dsr suppression export --out");
    let body = std::fs::read_to_string(&out).unwrap();
    assert!(!body.contains('@') && !body.contains(ANA_EMAIL), "{body}");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{body}");
    assert_eq!(lines[0]["identity_hash"], hash("email", ANA_EMAIL));
    assert_eq!(lines[0]["source"], "gpc");
    assert!(lines[0]["at"].as_str().unwrap().starts_with("20"));
    assert_eq!(manifest(&env, "v-gpc")["gpc"], true);
}

#[tokio::test]
async fn a_minor_is_flagged_and_suppressed() {
    let env = Env::new(FILLER).await;
    submit_and_run(&env, &[verified("v-mia", "access", MIA_EMAIL)]);
    let (st, out) = status(&env, "v-mia");
    assert_eq!(st[2], "fulfilled", "{out}");
    let (r, html) = report(&env, "v-mia");
    assert_eq!(r["minor_under_16"], true);
    assert!(html.contains("You are under 16"));
    assert_eq!(manifest(&env, "v-mia")["minor_under_16"], true);
    let entries = export(&env);
    for h in [
        hash("email", MIA_EMAIL),
        hash("customer_id", &MIA_ID.to_string()),
    ] {
        assert_eq!(
            source_of(&entries, &h).as_deref(),
            Some("minor_not_opted_in"),
            "{entries:?}"
        );
    }
    // An adult is neither flagged nor suppressed.
    submit_and_run(&env, &[verified("v-ana", "access", ANA_EMAIL)]);
    assert_eq!(report(&env, "v-ana").0["minor_under_16"], false);
    assert_eq!(source_of(&export(&env), &hash("email", ANA_EMAIL)), None);
}

#[tokio::test]
async fn a_duplicate_within_the_window_is_linked_and_not_run_twice() {
    let env = Env::new(FILLER).await;
    submit_and_run(&env, &[verified("v-first", "access", ANA_EMAIL)]);
    // Same kind and subject, a new id, a day later: linked.
    let o = env.submit(&[verified("v-again", "access", ANA_EMAIL)]);
    ok(&o, "dsr submit");
    assert!(text(&o).contains("duplicate of v-first"), "{}", text(&o));
    ok(&env.run(), "dsr run");
    let (st, out) = status(&env, "v-again");
    assert_eq!(st[2], "duplicate", "{out}");
    assert!(
        out.contains("duplicate_of=v-first answer=fulfilled"),
        "{out}"
    );
    assert!(
        !env.reports().join("v-again").exists(),
        "the duplicate was answered again"
    );
    assert!(env.manifests("v-again").is_empty(), "the duplicate was run");
    // Another kind about the same subject is not a duplicate.
    submit_and_run(&env, &[verified("v-cat", "access_categories", ANA_EMAIL)]);
    assert_eq!(status(&env, "v-cat").0[2], "fulfilled");
    // A denied request is no original: asking again with better proof is run.
    submit_and_run(
        &env,
        &[request(
            "v-gus",
            "access",
            &[("email", GUS_EMAIL)],
            Some("none"),
        )],
    );
    assert_eq!(status(&env, "v-gus").0[3], "insuf_verification");
    submit_and_run(&env, &[verified("v-gus2", "access", GUS_EMAIL)]);
    assert_eq!(status(&env, "v-gus2").0[2], "fulfilled");
}

#[tokio::test]
async fn bad_verification_input_is_refused_naming_the_field_and_stored_nowhere() {
    let env = Env::new(FILLER).await;
    let full_card = "4539 1488 0343 6467";
    let base = with_points("v-bad", "access", ANA_EMAIL, &[("phone", ANA_PHONE)], true);
    let mut unknown_type = base.clone();
    unknown_type["data_points"] = json!([{"type": "passport", "value": "X99-SECRET-7"}]);
    let mut malformed = base.clone();
    malformed["data_points"] = json!([{"type": "card_last4", "value": full_card}]);
    let mut unknown_field = base.clone();
    unknown_field["data_points"] =
        json!([{"type": "phone", "value": ANA_PHONE, "note": "X99-SECRET-7"}]);
    let mut bad_provider = verified("v-bad", "access", ANA_EMAIL);
    bad_provider["verification"]["provider"] = json!(ANA_EMAIL);
    let mut nothing = request("v-bad", "deletion", &[("email", ANA_EMAIL)], None);
    nothing["signed_declaration"] = json!(true);
    let cases = [
        (
            "unknown data point type",
            unknown_type,
            "data_points[0].type",
        ),
        ("malformed value", malformed, "data_points[0].value"),
        ("unknown field", unknown_field, "data_points[0]"),
        (
            "free text as provider",
            bad_provider,
            "verification.provider",
        ),
        ("neither points nor attestation", nothing, "verification"),
    ];
    for (what, body, field) in cases {
        let o = env.submit(&[body]);
        assert!(!o.status.success(), "{what}: accepted");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(field), "{what}: {err}");
        for v in ["X99-SECRET-7", full_card, ANA_EMAIL, "6467"] {
            assert!(!err.contains(v), "{what}: error echoes {v}: {err}");
        }
    }
    assert!(err_is_unknown_field(&env));
    let all = env.dsr(&["status"]);
    assert_eq!(text(&all).trim(), "", "something was stored");
    assert!(export(&env).is_empty());
}

/// An unknown top-level field is named too.
fn err_is_unknown_field(env: &Env) -> bool {
    let mut body = verified("v-bad2", "access", ANA_EMAIL);
    body["verifcation_level"] = json!("reasonably_high");
    let o = env.submit(&[body]);
    !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("verifcation_level")
}
