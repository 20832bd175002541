//! The lake behind the `Connector` trait: describe, batched find, erase per request group,
//! rehearsal and proof of deletion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_parquet::ParquetConnector;
use dsr_connector_parquet::testing::*;
use dsr_core::category::{Category, SensitiveKind};
use dsr_core::config::{
    ColumnMap, EraseAction, IdentityRole, LakeLimits, LakeTable, S3Settings, StoreKind, StoreMap,
    TableMap, TableRef,
};
use dsr_core::connector::{Connector, EraseGroup, EraseOp, FindQuery};
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;
use std::collections::BTreeMap;

fn column(name: &str) -> ColumnMap {
    ColumnMap {
        name: name.into(),
        label: name.into(),
        category: None,
        sensitive: None,
        identity: None,
        edge: None,
    }
}

fn events() -> TableMap {
    let mut email = column("email");
    email.category = Some(Category::Contact);
    email.identity = Some(IdentityRole {
        kind: "email".into(),
        normalizer: Normalizer::Email,
        unique: false,
    });
    let mut tax = column("address.tax_id");
    tax.sensitive = Some(SensitiveKind::GovernmentId);
    let mut address = column("address");
    address.category = Some(Category::Contact);
    TableMap {
        id: TableRef {
            store: "lake".into(),
            table: "events".into(),
        },
        label: "Events".into(),
        erase: EraseAction::Delete,
        key: vec!["id".into()],
        client_column: None,
        collected_at: None,
        columns: vec![column("id"), email, address, tax, column("tags")],
        column_types: BTreeMap::new(),
        objects: None,
        lake: Some(LakeTable {
            files: "events/*.parquet".into(),
            normalized: vec!["email".into()],
        }),
    }
}

async fn connector(dir: &std::path::Path) -> ParquetConnector {
    let store = StoreMap {
        name: "lake".into(),
        kind: StoreKind::Parquet,
        url: dir.display().to_string(),
        client: None,
        fence_table: "dsr_fence".into(),
        lake_limits: LakeLimits {
            threads: Some(2),
            memory_mb: Some(32),
        },
        s3: S3Settings::default(),
        tables: vec![events()],
    };
    ParquetConnector::open(&store, Default::default())
        .await
        .unwrap()
}

fn delete(id: &Value) -> EraseOp {
    EraseOp::Delete {
        table: "events".into(),
        key_columns: vec!["id".into()],
        key: vec![id.clone()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_erase_and_prove_through_the_connector() {
    let dir = tempfile::tempdir().unwrap();
    let rows = three_files(dir.path(), true).unwrap();
    let c = connector(dir.path()).await;

    let live = c.describe(&["events", "absent"]).await.unwrap_err();
    assert_eq!(live.code, "config", "an unmapped table is refused");
    let live = c.describe(&["events"]).await.unwrap();
    let cols = &live["events"].columns;
    for want in [
        "id",
        "email",
        "address",
        "address.tax_id",
        "address.city",
        "tags",
    ] {
        assert!(cols.contains_key(want), "{want} missing from {cols:?}");
    }

    let t = events();
    let values = vec![
        "user7@example.com".to_owned(),
        "user8@example.com".to_owned(),
    ];
    let found = c
        .find(FindQuery {
            table: &t,
            column: "email",
            normalizer: Normalizer::Email,
            values: &values,
        })
        .await
        .unwrap();
    let of = |e: &str| rows.iter().filter(|r| r.email == e).count();
    assert_eq!(
        found.len(),
        of("user7@example.com") + of("user8@example.com")
    );
    for f in &found {
        assert_eq!(f.record.key.len(), 1);
        assert!(matches!(f.record.key[0], Value::Int(_)));
        let Value::Text(addr) = f.record.get("address") else {
            panic!("address missing")
        };
        assert!(
            addr.contains("[withheld]") && !addr.contains("TX"),
            "{addr}"
        );
    }
    let keys = |who: &str| -> Vec<Value> {
        found
            .iter()
            .filter(|f| f.matched == who)
            .map(|f| f.record.key[0].clone())
            .collect()
    };
    let (ana, ben) = (keys("user7@example.com"), keys("user8@example.com"));
    let groups = vec![
        EraseGroup {
            request_id: "r-ana".into(),
            lease: 1,
            ops: ana.iter().map(delete).collect(),
        },
        EraseGroup {
            request_id: "r-ben".into(),
            lease: 1,
            ops: ben.iter().map(delete).collect(),
        },
        EraseGroup {
            request_id: "r-mask".into(),
            lease: 1,
            ops: vec![EraseOp::Mask {
                table: "events".into(),
                key_columns: vec!["id".into()],
                key: vec![Value::Int(0)],
                set: vec![("email".into(), Value::Null)],
            }],
        },
    ];
    let all_keys: Vec<Vec<Value>> = ana.iter().chain(&ben).map(|k| vec![k.clone()]).collect();
    let snapshot: Vec<Vec<u8>> = (0..3)
        .map(|f| std::fs::read(dir.path().join(format!("events/part-{f}.parquet"))).unwrap())
        .collect();
    // Rehearsal counts and changes nothing.
    let rehearsed = c.rehearse(&groups).await.unwrap();
    assert_eq!(
        rehearsed[0].result.as_ref().unwrap().iter().sum::<u64>(),
        ana.len() as u64
    );
    for (f, before) in snapshot.iter().enumerate() {
        let now = std::fs::read(dir.path().join(format!("events/part-{f}.parquet"))).unwrap();
        assert_eq!(&now, before);
    }
    assert_eq!(
        c.count_present("events", &["id".into()], &all_keys)
            .await
            .unwrap(),
        all_keys.len() as u64
    );

    let out = c.erase(&groups).await.unwrap();
    assert_eq!(out[0].result.as_ref().unwrap(), &vec![1; ana.len()]);
    assert_eq!(out[1].result.as_ref().unwrap(), &vec![1; ben.len()]);
    assert_eq!(out[0].ledger.deleted, ana.len() as u64);
    let e = out[2].result.as_ref().unwrap_err();
    assert_eq!(e.code, "unsupported");
    // Each request's evidence names the files it was removed from, with hashes.
    let removed: u64 = out[0].rewrites.iter().map(|r| r.removed).sum();
    assert_eq!(removed, ana.len() as u64);
    for r in out[0].rewrites.iter().chain(&out[1].rewrites) {
        assert!(r.object.starts_with("events/part-"));
        assert_eq!(r.old_sha256.len(), 64);
        assert_eq!(r.new_sha256.len(), 64);
        assert_ne!(r.old_sha256, r.new_sha256);
    }
    assert_eq!(
        c.count_present("events", &["id".into()], &all_keys)
            .await
            .unwrap(),
        0
    );
    // Everyone else is still there.
    let left: usize = (0..3)
        .map(|f| {
            read_ids(&dir.path().join(format!("events/part-{f}.parquet")))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(left, rows.len() - all_keys.len());
    // Erasing again removes nothing and says so.
    let again = c.erase(&groups[..2]).await.unwrap();
    assert_eq!(again[0].ledger.deleted, 0);
    assert!(again[0].rewrites.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_fails_the_find_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("events/zz-bad.parquet"), b"nope").unwrap();
    let c = connector(dir.path()).await;
    let t = events();
    let values = vec!["user7@example.com".to_owned()];
    let e = c
        .find(FindQuery {
            table: &t,
            column: "email",
            normalizer: Normalizer::Email,
            values: &values,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, "parquet");
    assert!(e.message.contains("events/zz-bad.parquet"), "{}", e.message);
    assert!(!e.message.contains("user7"), "{}", e.message);
}
