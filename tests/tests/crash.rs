//! A crash at any failpoint, then a plain run, reaches the end state of an uninterrupted run:
//! the same records deleted, masked and kept, the same statuses, and evidence that verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::subjects::*;
use dsr_tests::{Env, text, verified};
use std::collections::{BTreeMap, BTreeSet};

type Snapshot = BTreeMap<(String, i64), String>;
type Keys = BTreeSet<(String, i64)>;

/// Rows removed, and rows changed, between two snapshots.
fn effect(before: &Snapshot, after: &Snapshot) -> (Keys, Keys) {
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let changed = before
        .iter()
        .filter(|(k, d)| after.get(*k).is_some_and(|a| a != *d))
        .map(|(k, _)| k.clone())
        .collect();
    (removed, changed)
}

fn statuses(env: &Env) -> String {
    let o = env.dsr(&["status"]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn scenario(
    failpoint: Option<&str>,
) -> ((BTreeSet<(String, i64)>, BTreeSet<(String, i64)>), String) {
    let env = Env::new(20).await;
    let before = env.snapshot().await;
    let sub = env.submit(&[
        verified("del-ben", "deletion", BEN_EMAIL),
        verified("del-cara", "deletion", CARA_EMAIL),
        verified("acc-ana", "access", ANA_EMAIL),
    ]);
    assert!(sub.status.success(), "{}", text(&sub));
    if let Some(fp) = failpoint {
        let crashed = env.dsr_with(&["run", "--job", "nightly"], &[("DSR_FAILPOINT", fp)]);
        assert_eq!(crashed.status.code(), Some(86), "{fp}: {}", text(&crashed));
    }
    // The crashed run still holds its lease: the operator's re-run takes it over.
    let r = env.dsr(&["run", "--job", "nightly", "--take-over"]);
    assert!(
        r.status.success(),
        "resume after {failpoint:?}: {}",
        text(&r)
    );
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{failpoint:?}: {}", text(&v));
    (effect(&before, &env.snapshot().await), statuses(&env))
}

#[tokio::test]
async fn every_failpoint_resumes_to_the_same_end_state() {
    let (reference, reference_status) = scenario(None).await;
    assert!(
        !reference.0.is_empty() && !reference.1.is_empty(),
        "the scenario deletes and masks"
    );
    for fp in [
        "after_find",
        "after_intent",
        "in_store_tx",
        "after_commit",
        "before_outcome",
        "after_seal",
    ] {
        let (got, status) = scenario(Some(fp)).await;
        assert_eq!(got, reference, "{fp}: different records deleted or masked");
        assert_eq!(status, reference_status, "{fp}: different statuses");
    }
}
