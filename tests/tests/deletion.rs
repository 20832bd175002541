//! End-to-end deletion: own rows go, exempt and shared rows stay with reasons, every other
//! subject's rows stay byte-for-byte, and the evidence proves it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::subjects::*;
use dsr_tests::{Db, Env, request, text, verified, walk};
use serde_json::Value;
use std::collections::BTreeSet;

const FILLER: usize = 20;

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "dsr failed: {}", text(o));
}

fn status_of(env: &Env, id: &str) -> String {
    let o = env.dsr(&["status", id]);
    ok(&o);
    text(&o)
}

fn manifest(env: &Env, id: &str) -> Value {
    env.manifests(id).pop().expect("manifest")
}

/// Keys `(table, id)` whose digest differs between two snapshots or that disappeared.
fn changed(
    before: &std::collections::BTreeMap<(String, i64), String>,
    after: &std::collections::BTreeMap<(String, i64), String>,
) -> BTreeSet<(String, i64)> {
    before
        .iter()
        .filter(|(k, d)| after.get(*k) != Some(*d))
        .map(|(k, _)| k.clone())
        .collect()
}

#[tokio::test]
async fn deletion_removes_own_rows_keeps_exempt_and_touches_nobody_else() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    let ben_orders = env
        .ids_where(Db::Crm, "orders", "customer_id", BEN_ID)
        .await;
    let ben_logins = env
        .ids_where(Db::Crm, "logins", "customer_id", BEN_ID)
        .await;
    let ben_cards = env
        .ids_where(Db::Crm, "payment_cards", "customer_id", BEN_ID)
        .await;
    let ben_views = env
        .ids_where(Db::Crm, "page_views", "customer_id", BEN_ID)
        .await;
    let ben_tickets = env
        .ids_where(Db::Support, "tickets", "customer_id", BEN_ID)
        .await;
    let closed_items = env
        .ids_where(Db::Crm, "order_items", "order_id", BEN_CLOSED_ORDER_ID)
        .await;
    let open_items = env
        .ids_where(Db::Crm, "order_items", "order_id", BEN_OPEN_ORDER_ID)
        .await;
    assert!(!ben_views.is_empty() && !ben_tickets.is_empty() && !closed_items.is_empty());

    ok(&env.submit(&[verified("del-ben", "deletion", BEN_EMAIL)]));
    ok(&env.run());
    assert!(status_of(&env, "del-ben").contains("fulfilled"));
    let after = env.snapshot().await;

    // Non-exempt rows are gone.
    assert!(!after.contains_key(&("crm.orders".into(), BEN_CLOSED_ORDER_ID)));
    for i in &closed_items {
        assert!(!after.contains_key(&("crm.order_items".into(), *i)));
    }
    for t in &ben_tickets {
        assert!(!after.contains_key(&("support.tickets".into(), *t)));
    }
    // Page views are de-identified: still there, no longer linked to Ben.
    for v in &ben_views {
        assert!(after.contains_key(&("crm.page_views".into(), *v)));
    }
    assert!(
        env.ids_where(Db::Crm, "page_views", "customer_id", BEN_ID)
            .await
            .is_empty()
    );
    // Exempt rows remain: the open order and its items, the flagged login.
    assert!(after.contains_key(&("crm.orders".into(), BEN_OPEN_ORDER_ID)));
    for i in &open_items {
        assert_eq!(
            after.get(&("crm.order_items".into(), *i)),
            before.get(&("crm.order_items".into(), *i))
        );
    }
    assert!(ben_orders.contains(&BEN_OPEN_ORDER_ID));
    for l in &ben_logins {
        assert!(after.contains_key(&("crm.logins".into(), *l)));
    }
    // Client-held marketing row untouched.
    let k = ("crm.marketing_contacts".to_string(), BEN_ACME_MARKETING_ID);
    assert_eq!(after.get(&k), before.get(&k));

    // Every row that changed is one of Ben's.
    let mut bens: BTreeSet<(String, i64)> = BTreeSet::new();
    bens.insert(("crm.customers".into(), BEN_ID));
    bens.extend(ben_orders.iter().map(|i| ("crm.orders".to_string(), *i)));
    bens.extend(
        closed_items
            .iter()
            .chain(open_items.iter())
            .map(|i| ("crm.order_items".to_string(), *i)),
    );
    bens.extend(ben_logins.iter().map(|i| ("crm.logins".to_string(), *i)));
    bens.extend(
        ben_cards
            .iter()
            .map(|i| ("crm.payment_cards".to_string(), *i)),
    );
    bens.extend(ben_views.iter().map(|i| ("crm.page_views".to_string(), *i)));
    bens.extend(
        ben_tickets
            .iter()
            .map(|i| ("support.tickets".to_string(), *i)),
    );
    let unexpected: Vec<_> = changed(&before, &after)
        .into_iter()
        .filter(|k| !bens.contains(k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "rows of other subjects changed: {unexpected:?}"
    );
    assert_eq!(
        after.len() + 1 + closed_items.len() + ben_tickets.len(),
        before.len()
    );

    // Evidence names the exemptions that kept rows; the report says what was kept and why.
    let m = manifest(&env, "del-ben");
    let reasons: Vec<&str> = m["retained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"complete_transaction"), "{reasons:?}");
    assert!(reasons.contains(&"security_integrity"), "{reasons:?}");
    assert_eq!(m["status"], "fulfilled");
    let (json, html) = env.report("del-ben");
    assert!(json.contains("complete_transaction") && json.contains("§1798.105(d)(1)"));
    assert!(json.contains(CLIENT_ACME) && html.contains(CLIENT_ACME));
    assert!(
        json.contains("opt out"),
        "deletion answer offers the opt-out"
    );
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    ok(&v);
}

#[tokio::test]
async fn erasing_cara_keeps_dans_card_and_the_shared_address() {
    let env = Env::new(FILLER).await;
    // Her access report shows her own card only.
    ok(&env.submit(&[verified("acc-cara", "access", CARA_EMAIL)]));
    ok(&env.run());
    let (json, _) = env.report("acc-cara");
    let r: Value = serde_json::from_str(&json).unwrap();
    let cards = r["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["pieces"].as_array().unwrap().iter())
        .filter(|p| p["record"] == "Payment card" && p["field"] == "Card brand")
        .count();
    assert_eq!(cards, 1, "only Cara's own card is disclosed");
    assert!(!json.contains(DAN_EMAIL) && !json.contains(DAN_NAME));

    let before = env.snapshot().await;
    ok(&env.submit(&[verified("del-cara", "deletion", CARA_EMAIL)]));
    ok(&env.run());
    let after = env.snapshot().await;
    for k in [
        ("crm.payment_cards".to_string(), DAN_CARD_ID),
        ("crm.addresses".to_string(), SHARED_ADDRESS_ID),
        ("crm.customers".to_string(), DAN_ID),
        ("crm.orders".to_string(), DAN_ORDER_ID),
    ] {
        assert_eq!(after.get(&k), before.get(&k), "{k:?} must be untouched");
    }
    assert!(!after.contains_key(&("crm.customers".into(), CARA_ID)));
    assert!(!after.contains_key(&("crm.payment_cards".into(), CARA_CARD_ID)));
    assert!(!after.contains_key(&("crm.orders".into(), CARA_ORDER_WITH_DANS_CARD_ID)));
    let m = manifest(&env, "del-cara");
    let shared = m["retained"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["reason"] == "shared_with_another_subject" && r["table"] == "crm.addresses");
    assert!(shared, "evidence says why the address stayed: {m}");
}

#[tokio::test]
async fn a_batch_shares_queries_not_results() {
    let env = Env::new(FILLER).await;
    ok(&env.submit(&[
        verified("acc-cara", "access", CARA_EMAIL),
        verified("acc-dan", "access", DAN_EMAIL),
    ]));
    ok(&env.run());
    let (cara, _) = env.report("acc-cara");
    let (dan, _) = env.report("acc-dan");
    assert!(cara.contains(CARA_EMAIL) && !cara.contains(DAN_EMAIL) && !cara.contains(DAN_NAME));
    assert!(dan.contains(DAN_EMAIL) && !dan.contains(CARA_EMAIL) && !dan.contains(CARA_NAME));
    // The shared address is each one's data.
    assert!(cara.contains(SHARED_ADDRESS_LINE1) && dan.contains(SHARED_ADDRESS_LINE1));

    // Deleting both in one batch: each loses exactly their own rows.
    let before = env.snapshot().await;
    ok(&env.submit(&[
        verified("del-cara", "deletion", CARA_EMAIL),
        verified("del-dan", "deletion", DAN_EMAIL),
    ]));
    ok(&env.run());
    let after = env.snapshot().await;
    assert!(!after.contains_key(&("crm.customers".into(), CARA_ID)));
    assert!(!after.contains_key(&("crm.customers".into(), DAN_ID)));
    assert!(
        !after.contains_key(&("crm.addresses".into(), SHARED_ADDRESS_ID)),
        "a shared address goes once every owner is erased"
    );
    let (cara_answer, _) = env.report("del-cara");
    let (dan_answer, _) = env.report("del-dan");
    for a in [&cara_answer, &dan_answer] {
        let v: Value = serde_json::from_str(a).unwrap();
        let kept = v["deletion"]["retained"].as_array().unwrap();
        assert!(
            kept.iter().all(|r| r["record_label"] != "Postal address"),
            "{kept:?}"
        );
    }
    let gone: Vec<_> = changed(&before, &after)
        .into_iter()
        .filter(|(t, id)| t == "crm.customers" && *id != CARA_ID && *id != DAN_ID)
        .collect();
    assert!(gone.is_empty(), "{gone:?}");
}

#[tokio::test]
async fn household_phone_and_mixed_identities_never_merge_people() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    ok(&env.submit(&[
        request(
            "del-household",
            "deletion",
            &[("phone", "+1 415 555 0111")],
            Some("reasonably_high"),
        ),
        request(
            "del-mixed",
            "deletion",
            &[("email", HAL_EMAIL), ("phone", IVY_PHONE)],
            Some("reasonably_high"),
        ),
    ]));
    ok(&env.run());
    assert!(status_of(&env, "del-household").contains("held_for_review"));
    assert!(status_of(&env, "del-mixed").contains("held_for_review"));
    assert_eq!(
        env.snapshot().await,
        before,
        "nothing deleted for held requests"
    );

    let kim_orders = env
        .ids_where(Db::Crm, "orders", "customer_id", KIM_ID)
        .await;
    assert!(!kim_orders.is_empty());
    ok(&env.submit(&[verified("del-jon", "deletion", JON_EMAIL)]));
    ok(&env.run());
    let after = env.snapshot().await;
    assert!(!after.contains_key(&("crm.customers".into(), JON_ID)));
    let k = ("crm.customers".to_string(), KIM_ID);
    assert_eq!(
        after.get(&k),
        before.get(&k),
        "Kim shares the phone and stays"
    );
    assert_eq!(
        env.ids_where(Db::Crm, "orders", "customer_id", KIM_ID)
            .await,
        kim_orders
    );
    let unexpected: Vec<_> = changed(&before, &after)
        .into_iter()
        .filter(|(t, _)| t == "crm.customers" || t == "crm.logins")
        .filter(|k| {
            *k != ("crm.customers".to_string(), JON_ID) && *k != ("crm.logins".to_string(), JON_ID)
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "only Jon's rows change: {unexpected:?}"
    );
}

#[tokio::test]
async fn legal_hold_keeps_everything_and_dry_run_changes_nothing() {
    let env = Env::new(FILLER).await;
    let before = env.snapshot().await;
    ok(&env.submit(&[
        verified("del-lou", "deletion", LOU_EMAIL),
        verified("del-ben", "deletion", BEN_EMAIL),
    ]));
    let dry = env.dsr(&[
        "run",
        "--job",
        "nightly",
        "--dry-run",
        "--request",
        "del-ben",
    ]);
    ok(&dry);
    let out = text(&dry);
    assert!(
        out.contains("DRY RUN") && out.contains("complete_transaction") && out.contains("delete"),
        "{out}"
    );
    assert_eq!(env.snapshot().await, before);
    assert!(status_of(&env, "del-ben").contains("received"));
    assert!(!env.evidence().exists() || walk(&env.evidence()).is_empty());

    ok(&env.dsr(&["run", "--job", "nightly", "--request", "del-lou"]));
    assert_eq!(
        env.snapshot().await,
        before,
        "the legal hold keeps every record"
    );
    let m = manifest(&env, "del-lou");
    assert!(
        m["retained"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reason"] == LEGAL_HOLD_MATTER),
        "{m}"
    );
}

#[tokio::test]
async fn check_names_a_missing_column_and_run_refuses_to_delete() {
    let env = Env::new(FILLER).await;
    ok(&env.dsr(&["check"]));
    let cfg = env.dir.path().join("config");
    copy_dir(&dsr_tests::root().join("config"), &cfg);
    let crm = cfg.join("stores/crm.toml");
    let text0 = std::fs::read_to_string(&crm).unwrap();
    let edited = text0.replace(
        "columns.birth_date = {",
        "columns.nickname   = { category = \"unique_identifiers\" }\ncolumns.birth_date = {",
    );
    assert_ne!(edited, text0);
    std::fs::write(&crm, edited).unwrap();
    let c = env.dsr(&["--config", cfg.to_str().unwrap(), "check"]);
    assert!(!c.status.success());
    assert!(text(&c).contains("crm.customers.nickname"), "{}", text(&c));

    let before = env.snapshot().await;
    ok(&env.dsr(&[
        "--config",
        cfg.to_str().unwrap(),
        "submit",
        &write(&env, &verified("del-ben", "deletion", BEN_EMAIL)),
    ]));
    let r = env.dsr(&["--config", cfg.to_str().unwrap(), "run", "--job", "nightly"]);
    assert!(!r.status.success(), "run must refuse: {}", text(&r));
    assert!(text(&r).contains("crm.customers.nickname"));
    assert_eq!(env.snapshot().await, before);
}

#[tokio::test]
async fn evidence_verify_names_the_first_bad_place() {
    let env = Env::new(FILLER).await;
    ok(&env.submit(&[
        verified("acc-ana", "access", ANA_EMAIL),
        verified("del-ben", "deletion", BEN_EMAIL),
    ]));
    ok(&env.run());
    let ev = env.evidence();
    let verify = |dir: &std::path::Path| env.dsr(&["audit", "verify", dir.to_str().unwrap()]);
    ok(&verify(&ev));
    // Run summaries are counts for people, not evidence; every other object is covered.
    let files: Vec<_> = walk(&ev)
        .into_iter()
        .filter(|f| !f.starts_with(ev.join("runs")))
        .collect();
    assert!(files.len() >= 6);
    for (i, f) in files.iter().enumerate() {
        let copy = env.dir.path().join(format!("tamper-{i}"));
        copy_dir(&ev, &copy);
        let target = copy.join(f.strip_prefix(&ev).unwrap());
        let mut bytes = std::fs::read(&target).unwrap();
        let pos = bytes.len() / 2;
        bytes[pos] = if bytes[pos] == b'7' { b'8' } else { b'7' };
        std::fs::write(&target, bytes).unwrap();
        let o = verify(&copy);
        assert!(
            !o.status.success(),
            "a changed byte in {} must fail",
            f.display()
        );
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(text(&o).contains(&name), "error names {name}: {}", text(&o));
    }
    // Manifests are signed with the configured key: another key's ring refuses them.
    let other = "demo-2026=01f4f5e4fa0031502eff157370099cd0a113e1ab916d8f1187a8ea3dccbdf4cb";
    let o = env.dsr(&[
        "audit",
        "verify",
        ev.to_str().unwrap(),
        "--public-key",
        other,
    ]);
    assert!(
        !o.status.success() && text(&o).contains("manifest-0000"),
        "{}",
        text(&o)
    );
    let o = verify(&ev);
    assert!(text(&o).contains("signatures checked"), "{}", text(&o));
    let chain = ev.join("requests").join("del-ben");
    assert!(chain.join("000004.json").exists());
    // Drop an entry from the middle of a chain: the gap is named.
    let copy = env.dir.path().join("drop");
    copy_dir(&ev, &copy);
    std::fs::remove_file(copy.join("requests/del-ben/000002.json")).unwrap();
    let o = verify(&copy);
    assert!(
        !o.status.success() && text(&o).contains("del-ben/00000"),
        "{}",
        text(&o)
    );
    // Swap two entries: the first out of place is named.
    let copy = env.dir.path().join("swap");
    copy_dir(&ev, &copy);
    let (two, three) = (
        copy.join("requests/del-ben/000002.json"),
        copy.join("requests/del-ben/000003.json"),
    );
    let (b2, b3) = (std::fs::read(&two).unwrap(), std::fs::read(&three).unwrap());
    std::fs::write(&two, b3).unwrap();
    std::fs::write(&three, b2).unwrap();
    let o = verify(&copy);
    assert!(
        !o.status.success() && text(&o).contains("del-ben/000002.json"),
        "{}",
        text(&o)
    );
}

fn write(env: &Env, v: &Value) -> String {
    let p = env.dir.path().join("one.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_string_lossy().to_string()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

#[tokio::test]
async fn check_rehearses_masks_and_run_refuses_a_rejected_one() {
    let env = Env::new(FILLER).await;
    ok(&env.dsr(&["check"]));
    // A rule the config cannot see: the database refuses page views without an IP.
    let opts =
        <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&env.url(Db::Crm))
            .unwrap();
    let mut conn = sqlx::ConnectOptions::connect(&opts).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER page_views_need_ip BEFORE UPDATE ON page_views WHEN NEW.ip IS NULL
         BEGIN SELECT RAISE(ABORT, 'ip required'); END;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let before = env.snapshot().await;
    let c = env.dsr(&["check"]);
    assert!(!c.status.success());
    let out = text(&c);
    assert!(
        out.contains("crm.page_views") && out.contains("mask would be rejected"),
        "{out}"
    );
    assert!(
        !out.contains("ip required"),
        "database messages stay out: {out}"
    );
    assert_eq!(env.snapshot().await, before, "the rehearsal is rolled back");

    ok(&env.submit(&[verified("del-ben", "deletion", BEN_EMAIL)]));
    let r = env.run();
    assert!(!r.status.success(), "{}", text(&r));
    assert_eq!(
        env.snapshot().await,
        before,
        "nothing deleted while a mask would fail"
    );
}
