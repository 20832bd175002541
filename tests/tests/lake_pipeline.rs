//! The analytics lake inside the pipeline: relations run both ways between the lake and the
//! CRM, lake rows are reported with nested sensitive fields withheld, deletions rewrite the
//! lake files and evidence records the files with their hashes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dsr_connector_parquet::testing::read_ids_from;
use dsr_fixtures::subjects::{
    BEN_CARD_NUMBER, BEN_CLOSED_ORDER_ID, BEN_EMAIL, BEN_ID, BEN_OPEN_ORDER_ID,
};
use dsr_fixtures::web_events::{ANA_EVENT_IDS, BEN_EVENT_IDS, BEN_OLD_EMAIL};
use dsr_tests::{Db, Env, text, verified};

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", text(o));
}

/// Event ids left in the lake.
fn lake_ids(env: &Env) -> Vec<i64> {
    let mut out = Vec::new();
    for f in ["events/part-0.parquet", "events/part-1.parquet"] {
        let bytes = std::fs::read(env.lake().join(f)).unwrap();
        // read_ids_from reads columns 0 and 1 as (Int64, Utf8): event_id and email.
        out.extend(
            read_ids_from(bytes::Bytes::from(bytes))
                .unwrap()
                .into_iter()
                .map(|(id, _)| id),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_only_the_lake_knows_reaches_the_crm_and_deletes_there_and_in_the_lake() {
    let env = Env::new(20).await;
    let before = lake_ids(&env);
    assert!(BEN_EVENT_IDS.iter().all(|id| before.contains(id)));
    // The CRM does not know this address; the lake row carries Ben's customer id.
    ok(&env.submit(&[verified("del-ben-old", "deletion", BEN_OLD_EMAIL)]));
    ok(&env.run());
    let after = lake_ids(&env);
    // Events 20 and 22 carry Ben's customer id (unique: it is followed both ways). Event 21
    // carries only his current email, which the CRM gives but which is not unique to one
    // person, so it is not followed from there: it stays.
    let (with_id, email_only) = ([BEN_EVENT_IDS[0], BEN_EVENT_IDS[2]], BEN_EVENT_IDS[1]);
    for id in with_id {
        assert!(
            !after.contains(&id),
            "Ben's event {id} is still in the lake"
        );
    }
    assert!(after.contains(&email_only));
    for id in ANA_EVENT_IDS {
        assert!(after.contains(&id), "Ana's event {id} was removed");
    }
    assert_eq!(after.len(), before.len() - with_id.len());
    // Through the lake's customer id the CRM's records were found: his closed order goes; the
    // open one is exempt and stays, as for any deletion of Ben.
    let orders = env
        .ids_where(Db::Crm, "orders", "customer_id", BEN_ID)
        .await;
    assert!(
        !orders.contains(&BEN_CLOSED_ORDER_ID),
        "Ben's closed order survived"
    );
    assert!(orders.contains(&BEN_OPEN_ORDER_ID));
    // Evidence names the rewritten file with both hashes.
    let entries = env.entries();
    let files: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["request"] == "del-ben-old")
        .filter_map(|e| e["data"]["files"].as_array())
        .flatten()
        .collect();
    assert_eq!(files.len(), 1, "{entries:?}");
    assert_eq!(files[0]["object"], "events/part-0.parquet");
    assert_eq!(files[0]["removed"], 2);
    assert_ne!(files[0]["old_sha256"], files[0]["new_sha256"]);
    assert!(
        !env.evidence_text().contains(BEN_OLD_EMAIL),
        "subject data in evidence"
    );
    let verify = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    ok(&verify);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_report_lists_lake_events_and_withholds_the_nested_card() {
    let env = Env::new(20).await;
    ok(&env.submit(&[verified("acc-ben", "access", BEN_EMAIL)]));
    ok(&env.run());
    let (json, html) = env.report("acc-ben");
    assert!(json.contains("Web event"), "{json}");
    assert!(
        json.contains("/newsletter"),
        "the event under the old address is Ben's too"
    );
    let digits: String = BEN_CARD_NUMBER
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    for doc in [&html, &json] {
        assert!(
            !doc.contains(BEN_CARD_NUMBER) && !doc.contains(&digits),
            "card number leaked"
        );
    }
    // Nothing was changed by an access request.
    assert!(BEN_EVENT_IDS.iter().all(|id| lake_ids(&env).contains(id)));
}
