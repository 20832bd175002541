//! The lake API on local directories: find, erase, bad files, crash recovery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_connector_parquet::scan::Selection;
use dsr_connector_parquet::testing::*;
use dsr_connector_parquet::{Columns, Lake, LakeOptions, Matcher};
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;
use std::sync::Arc;

fn opts() -> LakeOptions {
    LakeOptions {
        threads: 2,
        memory_budget: 16 << 20,
        ..LakeOptions::default()
    }
}

fn all() -> Selection {
    Selection {
        columns: Columns::All,
        withheld: vec!["address.tax_id".into()],
    }
}

fn email_matcher(values: &[&str], normalized: bool) -> Arc<Matcher> {
    let v: Vec<String> = values.iter().map(|s| (*s).to_owned()).collect();
    Arc::new(Matcher::new("email", Normalizer::Email, &v, normalized))
}

async fn lake(dir: &std::path::Path) -> Lake {
    Lake::open(dir.to_str().unwrap(), opts()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_returns_every_row_of_the_batch_with_nested_columns() {
    let dir = tempfile::tempdir().unwrap();
    let rows = three_files(dir.path(), false).unwrap();
    // Variants of subject 7's email that must match case-insensitively and trimmed.
    write_file(
        &dir.path().join("events/extra.parquet"),
        &[
            row(9001, "  USER7@Example.COM "),
            row(9002, "user70@example.com"),
        ],
        100,
        false,
    )
    .unwrap();
    let l = lake(dir.path()).await;
    let found = l
        .find(
            "events/*.parquet",
            email_matcher(&["user7@example.com", "user8@example.com"], false),
            all(),
        )
        .await
        .unwrap();
    assert!(found.failures.is_empty());
    let expected: usize = rows
        .iter()
        .filter(|r| r.email == "user7@example.com" || r.email == "user8@example.com")
        .count()
        + 1;
    assert_eq!(found.rows.len(), expected);
    let padded = found
        .rows
        .iter()
        .find(|r| r.values["id"] == Value::Int(9001))
        .unwrap();
    assert_eq!(padded.matched, "user7@example.com");
    assert_eq!(padded.object, "events/extra.parquet");
    // Struct fields are flattened; lists render as JSON.
    let some = found
        .rows
        .iter()
        .find(|r| r.values["id"] != Value::Int(9001))
        .unwrap();
    assert!(matches!(some.values["address.city"], Value::Text(ref c) if c.starts_with("City ")));
    assert!(some.values.contains_key("address.tax_id"));
    assert!(matches!(some.values["tags"], Value::Text(ref t) if t.starts_with('[')));
    assert_eq!(found.files_scanned, 4);
    assert_eq!(found.row_groups_pruned, 0, "not normalised: no pruning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_struct_rendered_whole_withholds_its_sensitive_field() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), false).unwrap();
    let l = lake(dir.path()).await;
    let sel = Selection {
        columns: Columns::Paths(vec!["id".into(), "address".into()]),
        withheld: vec!["address.tax_id".into()],
    };
    let found = l
        .find(
            "**/*.parquet",
            email_matcher(&["user7@example.com"], false),
            sel,
        )
        .await
        .unwrap();
    assert!(!found.rows.is_empty());
    for r in &found.rows {
        let Value::Text(json) = &r.values["address"] else {
            panic!("address is not JSON text")
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["tax_id"], "[withheld]");
        assert!(v["city"].as_str().unwrap().starts_with("City "));
        assert!(!json.contains("TX"), "a tax id leaked: {json}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bloom_filters_and_statistics_skip_row_groups_of_normalised_columns() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), true).unwrap();
    let l = lake(dir.path()).await;
    let normalized = l
        .find(
            "**/*.parquet",
            email_matcher(&["user7@example.com"], true),
            all(),
        )
        .await
        .unwrap();
    let plain = l
        .find(
            "**/*.parquet",
            email_matcher(&["user7@example.com"], false),
            all(),
        )
        .await
        .unwrap();
    assert_eq!(normalized.rows, plain.rows, "pruning changes nothing found");
    assert!(normalized.row_groups_pruned > 0, "{normalized:?}");
    // An absent subject prunes (nearly) everything.
    let none = l
        .find(
            "**/*.parquet",
            email_matcher(&["nobody@example.com"], true),
            all(),
        )
        .await
        .unwrap();
    assert!(none.rows.is_empty());
    assert!(
        none.row_groups_pruned >= 8,
        "{} of 9 pruned",
        none.row_groups_pruned
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_rewrites_only_files_with_matches_and_keeps_everyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let rows = three_files(dir.path(), true).unwrap();
    // A file without the subject must stay byte for byte.
    write_file(
        &dir.path().join("events/other.parquet"),
        &[row(5000, "zed@example.com")],
        10,
        true,
    )
    .unwrap();
    let untouched = std::fs::read(dir.path().join("events/other.parquet")).unwrap();
    let l = lake(dir.path()).await;
    let subject = "user7@example.com";
    let before: Vec<(i64, String)> = (0..3)
        .flat_map(|f| read_ids(&dir.path().join(format!("events/part-{f}.parquet"))).unwrap())
        .collect();
    let out = l
        .erase("events/*.parquet", email_matcher(&[subject], true), false)
        .await
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let removed: u64 = out.files.iter().map(|f| f.removed).sum();
    let expected = rows.iter().filter(|r| r.email == subject).count() as u64;
    assert_eq!(removed, expected);
    assert!(
        out.files
            .iter()
            .all(|f| f.new_sha256.as_deref() != Some(f.old_sha256.as_str()))
    );
    assert!(
        out.files.iter().all(|f| f.row_groups_copied > 0),
        "unmatched groups are copied"
    );
    assert_eq!(
        std::fs::read(dir.path().join("events/other.parquet")).unwrap(),
        untouched
    );
    let after: Vec<(i64, String)> = (0..3)
        .flat_map(|f| read_ids(&dir.path().join(format!("events/part-{f}.parquet"))).unwrap())
        .collect();
    let kept: Vec<(i64, String)> = before.into_iter().filter(|(_, e)| e != subject).collect();
    assert_eq!(after, kept, "every other row is kept, in order");
    // Schema, metadata and compression survive.
    let f = std::fs::File::open(dir.path().join("events/part-0.parquet")).unwrap();
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    assert_eq!(b.schema().fields(), schema().fields());
    let md = b.metadata();
    let kv = md.file_metadata().key_value_metadata().unwrap();
    assert!(
        kv.iter()
            .any(|k| k.key == "origin" && k.value.as_deref() == Some("test"))
    );
    for rg in md.row_groups() {
        assert!(rg.num_rows() <= 100);
        for c in rg.columns() {
            assert!(matches!(
                c.compression(),
                parquet::basic::Compression::ZSTD(_)
            ));
        }
    }
    // Nothing of dsr's own is left in the lake but the (empty, reusable) per-file lock files.
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| {
            p.contains("_dsr")
                && !p.ends_with("_dsr")
                && !p.ends_with("staging")
                && !p.ends_with("journal")
                && !p.contains("/_dsr/locks")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A second erase finds nothing.
    let again = l
        .erase("events/*.parquet", email_matcher(&[subject], true), false)
        .await
        .unwrap();
    assert!(again.files.is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(e.path().display().to_string());
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), false).unwrap();
    let before = std::fs::read(dir.path().join("events/part-1.parquet")).unwrap();
    let l = lake(dir.path()).await;
    let out = l
        .erase(
            "**/*.parquet",
            email_matcher(&["user7@example.com"], false),
            true,
        )
        .await
        .unwrap();
    assert!(!out.files.is_empty());
    assert!(
        out.files
            .iter()
            .all(|f| f.new_sha256.is_none() && f.removed > 0)
    );
    assert_eq!(
        std::fs::read(dir.path().join("events/part-1.parquet")).unwrap(),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_files_are_named_and_the_others_proceed() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path(), false).unwrap();
    let events = dir.path().join("events");
    std::fs::write(events.join("notes.parquet"), b"this is not parquet at all").unwrap();
    let whole = std::fs::read(events.join("part-2.parquet")).unwrap();
    std::fs::write(events.join("truncated.parquet"), &whole[..whole.len() / 2]).unwrap();
    // A file whose schema lacks the column.
    {
        use arrow_array::{Int64Array, RecordBatch};
        use arrow_schema::{DataType, Field, Schema};
        let s = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let b =
            RecordBatch::try_new(s.clone(), vec![Arc::new(Int64Array::from(vec![1i64]))]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(events.join("no-email.parquet")).unwrap(),
            s,
            None,
        )
        .unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
    }
    let bad = [
        "events/no-email.parquet",
        "events/notes.parquet",
        "events/truncated.parquet",
    ];
    let snapshot: Vec<Vec<u8>> = bad
        .iter()
        .map(|b| std::fs::read(dir.path().join(b)).unwrap())
        .collect();
    let l = lake(dir.path()).await;
    let found = l
        .find(
            "events/*.parquet",
            email_matcher(&["user7@example.com"], false),
            all(),
        )
        .await
        .unwrap();
    let mut failed: Vec<&str> = found.failures.iter().map(|f| f.object.as_str()).collect();
    failed.sort();
    assert_eq!(failed, bad);
    let missing = found
        .failures
        .iter()
        .find(|f| f.object == "events/no-email.parquet")
        .unwrap();
    assert_eq!(missing.code, "schema");
    assert!(missing.message.contains("email"), "{}", missing.message);
    for f in &found.failures {
        assert!(f.message.contains(&f.object), "{}", f.message);
    }
    assert!(!found.rows.is_empty(), "the readable files were searched");
    let out = l
        .erase(
            "events/*.parquet",
            email_matcher(&["user7@example.com"], false),
            false,
        )
        .await
        .unwrap();
    assert_eq!(out.failures.len(), 3);
    assert_eq!(
        out.files.len(),
        3,
        "the three readable files were rewritten"
    );
    for (b, before) in bad.iter().zip(snapshot) {
        assert_eq!(
            std::fs::read(dir.path().join(b)).unwrap(),
            before,
            "{b} was changed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_glob_or_missing_lake_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Lake::open(dir.path().join("absent").to_str().unwrap(), opts())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a directory"), "{e}");
    let l = lake(dir.path()).await;
    let e = l.list("events/[").await.unwrap_err();
    assert!(e.to_string().contains("glob"), "{e}");
}

#[test]
fn planning_on_many_threads_reads_every_row_group_correctly() {
    // Regression: threads sharing one file offset read page headers at wrong places.
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = (0..5000)
        .map(|i| row(i, &format!("user{}@example.com", i % 50)))
        .collect();
    let path = dir.path().join("many.parquet");
    write_file(&path, &rows, 50, true).unwrap();
    let file = dsr_connector_parquet::LocalFile::open(&path).unwrap();
    let m = email_matcher(&["user7@example.com", "user9@example.com"], false);
    for _ in 0..20 {
        let plan = dsr_connector_parquet::rewrite::plan(&file, "many.parquet", m.as_ref(), 4)
            .unwrap()
            .unwrap();
        assert_eq!(plan.removed(), 200);
    }
}
