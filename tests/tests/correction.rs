//! Correction and opt-in requests end to end: a correction changes the named fields in every
//! mapped store and nowhere else, and says what changed where; an opt-in lifts the opt-outs
//! after the two-step confirmation, and for a child under 13 only with a parent's consent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dsr_fixtures::subjects::*;
use dsr_tests::{Db, Env, request, text, verified};
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Row};
use std::str::FromStr;

fn ok(o: &std::process::Output) -> String {
    let t = text(o);
    assert!(o.status.success(), "{t}");
    t
}

async fn column(env: &Env, db: Db, table: &str, col: &str, id: i64) -> Option<String> {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&env.url(db))
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::query(&format!("SELECT \"{col}\" FROM \"{table}\" WHERE id = ?1"))
        .bind(id)
        .fetch_optional(&mut conn)
        .await
        .unwrap()
        .and_then(|r| r.try_get::<Option<String>, _>(0).unwrap())
}

fn suppressed(env: &Env) -> Vec<Value> {
    ok(&env.dsr(&["suppression", "export"]))
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_correction_changes_the_field_in_every_mapped_store_and_nowhere_else() {
    let env = Env::new(20).await;
    let new_email = "gus.grant.new@example.net";
    let new_name = "Gustavo Grant";
    let mut r = verified("fix-gus", "correction", GUS_EMAIL);
    r["corrections"] = json!([
        {"field": "email", "value": format!("  {new_email} ")},
        {"field": "full_name", "value": new_name},
    ]);
    let before = env.snapshot().await;
    ok(&env.submit(&[r]));
    ok(&env.run());

    // crm.customers and support.tickets (Gus's ticket has his id) hold the new email.
    assert_eq!(
        column(&env, Db::Crm, "customers", "email", GUS_ID)
            .await
            .as_deref(),
        Some(new_email)
    );
    assert_eq!(
        column(&env, Db::Crm, "customers", "full_name", GUS_ID)
            .await
            .as_deref(),
        Some(new_name)
    );
    assert_eq!(
        column(&env, Db::Support, "tickets", "email", GUS_ID)
            .await
            .as_deref(),
        Some(new_email)
    );
    // Nothing else changed: every other row is as it was.
    let after = env.snapshot().await;
    let changed: Vec<&(String, i64)> = before
        .iter()
        .filter(|(k, d)| after.get(*k) != Some(*d))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        changed,
        [
            &("crm.customers".to_string(), GUS_ID),
            &("support.tickets".to_string(), GUS_ID)
        ],
        "only Gus's customer row and ticket change"
    );
    assert_eq!(before.len(), after.len(), "nothing deleted");

    // The answer says what changed where; evidence never holds the new values.
    let (json_text, html) = env.report("fix-gus");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let c = &report["correction"];
    assert_eq!(c["fields"], json!(["email", "full_name"]));
    let corrected: Vec<(String, u64)> = c["corrected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["source"].as_str().unwrap().to_string(),
                x["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(corrected.contains(&("crm".into(), 1)), "{c}");
    assert!(corrected.contains(&("support".into(), 1)), "{c}");
    assert!(html.contains("What we corrected"));
    let evidence = env.evidence_text();
    assert!(!evidence.contains(new_email) && !evidence.contains(new_name));
    let status = ok(&env.dsr(&["status", "fix-gus"]));
    assert!(status.contains("fulfilled"), "{status}");

    // Asking again with the values now held changes and counts nothing.
    let mut again = verified("fix-gus-2", "correction", new_email);
    again["corrections"] = json!([{"field": "full_name", "value": new_name}]);
    ok(&env.submit(&[again]));
    ok(&env.run());
    let (json_text, _) = env.report("fix-gus-2");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(report["correction"]["corrected"], json!([]), "{report}");
    assert_eq!(env.snapshot().await, after);
}

#[tokio::test]
async fn bad_corrections_and_opt_ins_are_refused_and_nothing_is_stored() {
    let env = Env::new(5).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut r = verified("c1", "correction", GUS_EMAIL);
                r["corrections"] = json!([{"field": "shoe_size", "value": "44"}]);
                r
            },
            "corrections[0].field: is not a correctable field",
        ),
        (
            verified("c2", "correction", GUS_EMAIL),
            "corrections: a correction request needs",
        ),
        (
            {
                let mut r = verified("c3", "deletion", GUS_EMAIL);
                r["corrections"] = json!([{"field": "email", "value": "x@y.z"}]);
                r
            },
            "corrections: is only for a correction request",
        ),
        (
            {
                let mut r = verified("c4", "correction", GUS_EMAIL);
                r["corrections"] = json!([{"field": "email", "value": "  "}]);
                r
            },
            "corrections[0].value",
        ),
        (verified("o1", "opt_in", EVE_EMAIL), "opt_in: is required"),
        (
            {
                let mut r = verified("o2", "opt_in", EVE_EMAIL);
                r["opt_in"] = json!({"confirmed_at": "2001-01-01T00:00:00Z"});
                r
            },
            "opt_in.confirmed_at: must not be before received_at",
        ),
    ];
    for (r, expect) in cases {
        let o = env.submit(&[r]);
        let t = text(&o);
        assert!(!o.status.success(), "{expect}: {t}");
        assert!(t.contains(expect), "{expect}: {t}");
    }
    let status = ok(&env.dsr(&["status"]));
    for id in ["c1", "c2", "c3", "c4", "o1", "o2"] {
        assert!(!status.contains(&format!("{id} ")), "{id} stored: {status}");
    }
}

fn opt_in(id: &str, email: &str, parental_consent: bool) -> Value {
    let mut r = request(id, "opt_in", &[("email", email)], Some("reasonably_high"));
    r["opt_in"] = json!({
        "confirmed_at": chrono::Utc::now().to_rfc3339(),
        "parental_consent": parental_consent,
    });
    r
}

#[tokio::test]
async fn an_opt_in_lifts_the_opt_out_and_a_child_needs_a_parent() {
    let env = Env::new(5).await;
    // Eve opts out, then opts back in (two steps).
    ok(&env.submit(&[request("eve-out", "opt_out", &[("email", EVE_EMAIL)], None)]));
    ok(&env.run());
    let after_out = suppressed(&env).len();
    assert!(after_out >= 1);
    ok(&env.submit(&[opt_in("eve-in", EVE_EMAIL, false)]));
    ok(&env.run());
    assert!(ok(&env.dsr(&["status", "eve-in"])).contains("fulfilled"));
    assert_eq!(suppressed(&env).len(), 0, "Eve's opt-out is lifted");

    // Mia: her records show her under 16, so she is suppressed as not opted in. A request
    // received yesterday finds her 12 (she turns 13 today): a parent must consent.
    ok(&env.submit(&[verified("mia-know", "access_categories", MIA_EMAIL)]));
    ok(&env.run());
    let mia = suppressed(&env);
    assert!(
        !mia.is_empty() && mia.iter().all(|e| e["source"] == "minor_not_opted_in"),
        "{mia:?}"
    );
    ok(&env.submit(&[opt_in("mia-in", MIA_EMAIL, false)]));
    ok(&env.run());
    let s = ok(&env.dsr(&["status", "mia-in"]));
    assert!(
        s.contains("denied") && s.contains("parental_consent_required"),
        "{s}"
    );
    assert_eq!(suppressed(&env).len(), mia.len(), "still suppressed");
    ok(&env.submit(&[opt_in("mia-in-2", MIA_EMAIL, true)]));
    ok(&env.run());
    assert!(ok(&env.dsr(&["status", "mia-in-2"])).contains("fulfilled"));
    assert_eq!(
        suppressed(&env).len(),
        0,
        "Mia opted in with her parent's consent"
    );
    // Her opt-in run does not put her back as not opted in.
    ok(&env.run());
    assert_eq!(suppressed(&env).len(), 0);
}
