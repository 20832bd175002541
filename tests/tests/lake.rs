//! `dsr lake` end to end: the process is killed at each step of a file replacement, the lake
//! stays consistent (every file is its old or its new version, never both, never neither),
//! and the next run finishes the job without losing a row of anyone else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dsr_connector_parquet::testing::{read_ids, read_ids_from, three_files};
use dsr_tests::{dsr_bin, text};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const SUBJECTS: [&str; 2] = ["user7@example.com", "USER8@example.com "];

fn lake_cmd(
    lake: &str,
    subjects: &Path,
    extra: &[&str],
    failpoint: Option<&str>,
    env: &[(&str, String)],
) -> Output {
    let mut c = Command::new(dsr_bin());
    c.args([
        "lake",
        "erase",
        "--lake",
        lake,
        "--files",
        "events/*.parquet",
        "--subjects",
    ])
    .arg(subjects)
    .args(["--threads", "2", "--normalized"])
    .args(extra)
    .env("DSR_LOG", "warn");
    match failpoint {
        Some(p) => c.env("DSR_FAILPOINT", p),
        None => c.env_remove("DSR_FAILPOINT"),
    };
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Rows per email over the lake's files.
fn per_email(files: &BTreeMap<String, Vec<(i64, String)>>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for rows in files.values() {
        for (_, e) in rows {
            *m.entry(e.clone()).or_insert(0) += 1;
        }
    }
    m
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<(i64, String)>> {
    (0..3)
        .map(|f| {
            let name = format!("events/part-{f}.parquet");
            let ids = read_ids(&dir.join(&name)).unwrap();
            (name, ids)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    dsr_tests::walk(&dir.join("_dsr"))
        .into_iter()
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn a_killed_erase_leaves_old_or_new_files_and_the_next_run_completes() {
    let base = tempfile::tempdir().unwrap();
    let original = base.path().join("original");
    three_files(&original, true).unwrap();
    let subjects = base.path().join("subjects.txt");
    std::fs::write(&subjects, SUBJECTS.join("\n")).unwrap();
    let before = files_of(&original);

    // The reference: one uninterrupted run.
    let reference_dir = base.path().join("reference");
    copy_dir(&original, &reference_dir);
    let out = lake_cmd(reference_dir.to_str().unwrap(), &subjects, &[], None, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let reference = files_of(&reference_dir);
    let mut expected = per_email(&before);
    expected.remove("user7@example.com");
    expected.remove("user8@example.com");
    assert_eq!(
        per_email(&reference),
        expected,
        "the reference removed exactly the subjects"
    );

    for point in ["lake_before_rename", "lake_after_rename"] {
        let dir = base.path().join(point);
        copy_dir(&original, &dir);
        let out = lake_cmd(dir.to_str().unwrap(), &subjects, &[], Some(point), &[]);
        assert_eq!(out.status.code(), Some(86), "{point}: {}", text(&out));
        // Consistent: each file is wholly old or wholly new, and readable.
        let now = files_of(&dir);
        let mut replaced = 0;
        for (name, rows) in &now {
            if rows == &reference[name] {
                replaced += 1;
            } else {
                assert_eq!(
                    rows, &before[name],
                    "{point}: {name} is neither old nor new"
                );
            }
        }
        let expect_replaced = usize::from(point == "lake_after_rename");
        assert_eq!(
            replaced, expect_replaced,
            "{point}: files replaced before the crash"
        );
        assert!(
            !leftovers(&dir).is_empty(),
            "{point}: the journal records the intent"
        );
        // The next run finishes the job.
        let out = lake_cmd(dir.to_str().unwrap(), &subjects, &[], None, &[]);
        assert!(out.status.success(), "{point}: {}", text(&out));
        assert_eq!(
            files_of(&dir),
            reference,
            "{point}: same end as the reference"
        );
        let left: Vec<String> = leftovers(&dir)
            .into_iter()
            .filter(|p| p.ends_with(".json") || p.ends_with(".dsr-tmp"))
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
    }
}

#[test]
fn bad_subject_lines_and_unreadable_files_give_clear_errors() {
    let base = tempfile::tempdir().unwrap();
    let lake = base.path().join("lake");
    three_files(&lake, false).unwrap();
    std::fs::write(lake.join("events/broken.parquet"), b"PAR1 not really").unwrap();
    let subjects = base.path().join("subjects.txt");
    std::fs::write(&subjects, "user7@example.com\nnot-an-email\n").unwrap();
    let before = files_of(&lake);
    let out = lake_cmd(lake.to_str().unwrap(), &subjects, &[], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out);
    assert!(err.contains("line 2"), "{err}");
    assert!(
        !err.contains("not-an-email"),
        "the value is not echoed: {err}"
    );
    assert_eq!(files_of(&lake), before, "nothing changed");
    // A good list: the broken file is named, the others are erased.
    std::fs::write(&subjects, "user7@example.com\n").unwrap();
    let out = lake_cmd(lake.to_str().unwrap(), &subjects, &[], None, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("events/broken.parquet"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(lake.join("events/broken.parquet")).unwrap(),
        b"PAR1 not really"
    );
    assert!(
        files_of(&lake)
            .values()
            .flatten()
            .all(|(_, e)| e != "user7@example.com"),
        "{} / {}",
        text(&out),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn find_prints_rows_with_sensitive_columns_withheld() {
    let base = tempfile::tempdir().unwrap();
    let lake = base.path().join("lake");
    three_files(&lake, true).unwrap();
    let subjects = base.path().join("subjects.txt");
    std::fs::write(&subjects, "user7@example.com\n").unwrap();
    let stats = base.path().join("stats.json");
    let out = Command::new(dsr_bin())
        .args([
            "lake",
            "find",
            "--lake",
            lake.to_str().unwrap(),
            "--subjects",
        ])
        .arg(&subjects)
        .args(["--normalized", "--stats-json"])
        .arg(&stats)
        .env("DSR_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected = files_of(&lake)
        .values()
        .flatten()
        .filter(|(_, e)| e == "user7@example.com")
        .count();
    assert_eq!(rows.len(), expected);
    for r in &rows {
        assert_eq!(r["values"]["ssn"], "[withheld]");
        assert_eq!(r["values"]["address.tax_id"], "[withheld]");
        assert!(
            r["values"]["address.city"]
                .as_str()
                .unwrap()
                .starts_with("City")
        );
        assert_eq!(r["values"]["email"], "user7@example.com");
    }
    assert!(!stdout.contains("TX0"), "a tax id leaked");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["rows"], expected);
    assert!(s["row_groups_pruned"].as_u64().unwrap() > 0);
    assert!(s["peak_rss_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_s3_overwrite_still_ends_with_one_version() {
    use aws_sdk_s3::primitives::ByteStream;
    let b = dsr_s3::testing::TestBucket::new_versioned().await.unwrap();
    let base = tempfile::tempdir().unwrap();
    three_files(&base.path().join("lake"), true).unwrap();
    for f in 0..3 {
        let bytes =
            std::fs::read(base.path().join(format!("lake/events/part-{f}.parquet"))).unwrap();
        b.client()
            .put_object()
            .bucket(b.name())
            .key(format!("lake/events/part-{f}.parquet"))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }
    let subjects = base.path().join("subjects.txt");
    std::fs::write(&subjects, "user7@example.com\n").unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", dsr_s3::testing::endpoint().unwrap()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let url = format!("s3://{}/lake", b.name());
    let versions = |key: String| {
        let c = b.client().clone();
        let bucket = b.name().to_owned();
        async move {
            c.list_object_versions()
                .bucket(bucket)
                .prefix(key)
                .send()
                .await
                .unwrap()
                .versions()
                .len()
        }
    };
    let out = lake_cmd(
        &url,
        &subjects,
        &["--path-style"],
        Some("lake_after_put"),
        &env,
    );
    assert_eq!(out.status.code(), Some(86), "{}", text(&out));
    let twice: usize = {
        let mut n = 0;
        for f in 0..3 {
            n += usize::from(versions(format!("lake/events/part-{f}.parquet")).await == 2);
        }
        n
    };
    assert_eq!(twice, 1, "the crash left the old version of the first file");
    let out = lake_cmd(&url, &subjects, &["--path-style"], None, &env);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("finished 1 interrupted replacement"),
        "{}",
        text(&out)
    );
    for f in 0..3 {
        let key = format!("lake/events/part-{f}.parquet");
        assert_eq!(versions(key.clone()).await, 1, "{key}");
        let bytes = b
            .client()
            .get_object()
            .bucket(b.name())
            .key(&key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let ids = read_ids_from(bytes).unwrap();
        assert!(ids.iter().all(|(_, e)| e != "user7@example.com"), "{key}");
    }
    b.cleanup().await.unwrap();
}
