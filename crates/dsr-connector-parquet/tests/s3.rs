//! Lakes on S3 (the moto server of `scripts/moto.sh`): find, erase with a conditional
//! overwrite, and no surviving version of a rewritten file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use aws_sdk_s3::primitives::ByteStream;
use dsr_connector_parquet::scan::Selection;
use dsr_connector_parquet::testing::*;
use dsr_connector_parquet::{Columns, Error, Lake, LakeOptions, Matcher, replace};
use dsr_core::identity::Normalizer;
use dsr_s3::testing::TestBucket;
use std::sync::Arc;

async fn versioned_bucket() -> TestBucket {
    TestBucket::new_versioned().await.unwrap()
}

async fn put(b: &TestBucket, key: &str, bytes: Vec<u8>) {
    b.client()
        .put_object()
        .bucket(b.name())
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .unwrap();
}

async fn get(b: &TestBucket, key: &str, version: Option<&str>) -> Vec<u8> {
    b.client()
        .get_object()
        .bucket(b.name())
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// (key, version id) of every version under `prefix`.
async fn versions(b: &TestBucket, prefix: &str) -> Vec<(String, String)> {
    let page = b
        .client()
        .list_object_versions()
        .bucket(b.name())
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, String)> = page
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn open(b: &TestBucket) -> Lake {
    let (client, sdk) = dsr_s3::testing::client_with_config().await.unwrap();
    let opts = LakeOptions {
        threads: 2,
        memory_budget: 16 << 20,
        s3: dsr_s3::S3Options {
            endpoint: Some(dsr_s3::testing::endpoint().unwrap()),
            region: Some("us-east-1".into()),
            path_style: true,
        },
    };
    Lake::open_s3(&format!("s3://{}/lake", b.name()), opts, client, &sdk).unwrap()
}

fn matcher(v: &str) -> Arc<Matcher> {
    Arc::new(Matcher::new(
        "email",
        Normalizer::Email,
        &[v.to_owned()],
        true,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_on_s3_leaves_no_version_holding_the_removed_rows() {
    let b = versioned_bucket().await;
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), true).unwrap();
    write_file(
        &dir.path().join("events/other.parquet"),
        &[row(5000, "zed@example.com")],
        10,
        true,
    )
    .unwrap();
    // An older version of part-0 (it holds the subject too) must not survive either.
    put(
        &b,
        "lake/events/part-0.parquet",
        std::fs::read(dir.path().join("events/part-1.parquet")).unwrap(),
    )
    .await;
    for name in ["part-0", "part-1", "part-2", "other"] {
        let bytes = std::fs::read(dir.path().join(format!("events/{name}.parquet"))).unwrap();
        put(&b, &format!("lake/events/{name}.parquet"), bytes).await;
    }
    let other_before = versions(&b, "lake/events/other.parquet").await;
    let lake = open(&b).await;
    let subject = "user7@example.com";
    let found = lake
        .find(
            "events/*.parquet",
            matcher(subject),
            Selection {
                columns: Columns::All,
                withheld: vec![],
            },
        )
        .await
        .unwrap();
    assert!(found.failures.is_empty(), "{:?}", found.failures);
    assert!(!found.rows.is_empty());
    assert!(found.row_groups_pruned > 0);
    let out = lake
        .erase("events/*.parquet", matcher(subject), false)
        .await
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(
        out.files.iter().map(|f| f.removed).sum::<u64>(),
        found.rows.len() as u64
    );
    for f in &out.files {
        let key = format!("lake/{}", f.object);
        let vs = versions(&b, &key).await;
        assert_eq!(vs.len(), 1, "{key}: {vs:?}");
        let ids = read_ids_from(bytes::Bytes::from(get(&b, &key, None).await)).unwrap();
        assert!(
            ids.iter().all(|(_, e)| e != subject),
            "{key} still holds the subject"
        );
        assert_eq!(ids.len() as u64, f.rows_before - f.removed);
    }
    assert_eq!(
        versions(&b, "lake/events/other.parquet").await,
        other_before,
        "untouched"
    );
    // dsr's journal is gone.
    let journal = b
        .client()
        .list_objects_v2()
        .bucket(b.name())
        .prefix("lake/_dsr/journal/")
        .send()
        .await
        .unwrap();
    assert_eq!(journal.key_count(), Some(0));
    b.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_changed_during_the_rewrite_is_not_overwritten() {
    let b = versioned_bucket().await;
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), false).unwrap();
    let original = std::fs::read(dir.path().join("events/part-0.parquet")).unwrap();
    put(&b, "lake/events/part-0.parquet", original).await;
    let lake = open(&b).await;
    let obj = lake.list("events/*.parquet").await.unwrap().remove(0);
    let source = replace::fetch(lake.root(), &obj).await.unwrap();
    // Someone else writes the object after dsr read it.
    let replacement = std::fs::read(dir.path().join("events/part-2.parquet")).unwrap();
    put(&b, "lake/events/part-0.parquet", replacement.clone()).await;
    let staged = dir.path().join("staged.parquet");
    std::fs::write(&staged, b"new bytes").unwrap();
    let intent = replace::Intent {
        object: obj.name.clone(),
        old_sha256: source.sha256.clone(),
        new_sha256: "00".into(),
        rows_before: 300,
        removed: 1,
        staged: None,
        old_e_tag: source.e_tag.clone(),
        old_version: source.version.clone(),
    };
    let e = replace::commit(lake.root(), &source, &staged, intent)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Changed { .. }), "{e}");
    assert_eq!(
        get(&b, "lake/events/part-0.parquet", None).await,
        replacement
    );
    assert_eq!(
        versions(&b, "lake/events/part-0.parquet").await.len(),
        2,
        "nothing deleted"
    );
    b.cleanup().await.unwrap();
}
