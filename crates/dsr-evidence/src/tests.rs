//! Bundle-level tests: writing runs and manifests, then verifying and tampering with them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::*;

const LOG: &str = "runs/r1/log.jsonl";
const MANIFEST: &str = "requests/req-1/r1.manifest.json";

fn guard() -> Guard {
    Guard::new(["ana@example.com", "123-45-6789"].map(String::from))
}

/// Writes a bundle with two runs and three manifests into `root`.
async fn write_bundle(root: &Path) {
    let sink: Arc<dyn EvidenceSink> = Arc::new(DirSink::new(root.to_path_buf()));
    let mut r1 = RunLog::open(sink.clone(), "r1", guard()).unwrap();
    let e1 = r1
        .append("run_started", None, json!({"requests": 2}))
        .await
        .unwrap();
    assert_eq!(e1.seq, 1);
    assert_eq!(r1.head(), e1.hash);
    r1.append(
        "intent",
        Some("req-1"),
        json!({"store": "crm", "table": "customers", "subject": "hmac:00ff", "rows": 1}),
    )
    .await
    .unwrap();
    r1.append(
        "outcome",
        Some("req-1"),
        json!({"store": "crm", "deleted": 1}),
    )
    .await
    .unwrap();
    let sha = r1
        .write_manifest(
            "req-1",
            json!({"request": "req-1", "actions": [{"store": "crm", "deleted": 1}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        sha,
        sha256_hex(&std::fs::read(root.join(MANIFEST)).unwrap())
    );
    r1.append("run_finished", None, json!({})).await.unwrap();
    assert_eq!(r1.seq(), 5);

    let mut r2 = RunLog::open(sink.clone(), "r2", guard()).unwrap();
    r2.write_manifest("req-1", json!({"note": "first entry is a manifest"}))
        .await
        .unwrap();
    r2.append("outcome", Some("req-2"), json!({"rows": 0}))
        .await
        .unwrap();
    r2.write_manifest("req-2", json!({})).await.unwrap();
}

async fn fresh() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_bundle(dir.path()).await;
    dir
}

fn lines(root: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(root.join(LOG)).unwrap();
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(root: &Path, lines: &[Vec<u8>]) {
    std::fs::write(root.join(LOG), lines.concat()).unwrap();
}

#[tokio::test]
async fn fresh_bundle_verifies() {
    let dir = fresh().await;
    let summary = verify_dir(dir.path()).await.unwrap();
    assert_eq!(summary.runs, 2);
    assert_eq!(summary.entries, 8);
    assert_eq!(summary.manifests, 3);
    assert_eq!(
        summary.requests,
        BTreeMap::from([("req-1".to_owned(), 2), ("req-2".to_owned(), 1)])
    );

    // The documented layout and line format.
    let first = String::from_utf8(lines(dir.path())[0].clone()).unwrap();
    assert!(first.starts_with("{\"seq\":1,\"at\":\""), "{first}");
    assert!(first.contains(&format!("\"prev\":\"{}\",\"hash\":\"", genesis("r1"))));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["run"], "r1");
    assert_eq!(manifest["request"], "req-1");
    let third: Entry = serde_json::from_slice(&lines(dir.path())[2]).unwrap();
    assert_eq!(manifest["log_head"], third.hash.as_str());
}

#[tokio::test]
async fn any_changed_byte_of_a_log_names_its_line() {
    let dir = fresh().await;
    let original = lines(dir.path());
    for (i, line) in original.iter().enumerate() {
        for pos in 0..line.len() {
            let mut tampered = original.clone();
            tampered[i][pos] ^= 0x01;
            write_lines(dir.path(), &tampered);
            let err = verify_dir(dir.path()).await.unwrap_err();
            assert_eq!(err.file, LOG, "line {} byte {pos}: {err}", i + 1);
            assert_eq!(err.line, Some(i + 1), "line {} byte {pos}: {err}", i + 1);
        }
    }
    write_lines(dir.path(), &original);
    verify_dir(dir.path()).await.unwrap();
}

#[tokio::test]
async fn any_changed_byte_of_a_manifest_names_it() {
    let dir = fresh().await;
    let path = dir.path().join(MANIFEST);
    let original = std::fs::read(&path).unwrap();
    for pos in 0..original.len() {
        let mut tampered = original.clone();
        tampered[pos] ^= 0x01;
        std::fs::write(&path, &tampered).unwrap();
        let err = verify_dir(dir.path()).await.unwrap_err();
        assert_eq!(err.file, MANIFEST, "byte {pos}: {err}");
        assert_eq!(err.line, None);
        assert_eq!(
            err.to_string(),
            format!("{MANIFEST}: sha256 does not match the log ({LOG} line 4)")
        );
    }
}

#[tokio::test]
async fn a_changed_value_reports_a_hash_mismatch() {
    let dir = fresh().await;
    let mut tampered = lines(dir.path());
    let line = String::from_utf8(tampered[2].clone()).unwrap();
    tampered[2] = line.replace("\"deleted\":1", "\"deleted\":2").into_bytes();
    write_lines(dir.path(), &tampered);
    let err = verify_dir(dir.path()).await.unwrap_err();
    assert_eq!(err.to_string(), format!("{LOG}:3: hash mismatch"));
}

#[tokio::test]
async fn dropped_lines_are_found() {
    let dir = fresh().await;
    let original = lines(dir.path());
    for drop in 0..original.len() - 1 {
        let mut tampered = original.clone();
        tampered.remove(drop);
        write_lines(dir.path(), &tampered);
        let err = verify_dir(dir.path()).await.unwrap_err();
        assert_eq!(err.file, LOG);
        assert_eq!(err.line, Some(drop + 1), "{err}");
        if drop > 0 {
            assert_eq!(
                err.reason,
                format!("prev does not match line {drop} (dropped or reordered line)")
            );
        } else {
            assert!(err.reason.contains("genesis"), "{err}");
        }
    }
    // Dropping the manifest's entry leaves the manifest unreferenced.
    let mut tampered = original.clone();
    tampered.truncate(3);
    write_lines(dir.path(), &tampered);
    let err = verify_dir(dir.path()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{MANIFEST}: not referenced by any log entry")
    );
}

#[tokio::test]
async fn swapped_lines_are_found() {
    let dir = fresh().await;
    let original = lines(dir.path());
    for k in 0..original.len() - 1 {
        let mut tampered = original.clone();
        tampered.swap(k, k + 1);
        write_lines(dir.path(), &tampered);
        let err = verify_dir(dir.path()).await.unwrap_err();
        assert_eq!(err.file, LOG);
        assert_eq!(err.line, Some(k + 1), "{err}");
    }
}

#[tokio::test]
async fn missing_extra_and_copied_files_are_found() {
    let dir = fresh().await;
    let root = dir.path();

    std::fs::write(root.join("requests/req-1/r9.manifest.json"), b"{}\n").unwrap();
    let err = verify_dir(root).await.unwrap_err();
    assert_eq!(err.file, "requests/req-1/r9.manifest.json");
    std::fs::remove_file(root.join("requests/req-1/r9.manifest.json")).unwrap();

    std::fs::write(root.join("runs/r1/notes.txt"), b"x").unwrap();
    let err = verify_dir(root).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "runs/r1/notes.txt: unexpected file in the evidence bundle"
    );
    std::fs::remove_file(root.join("runs/r1/notes.txt")).unwrap();

    let manifest = std::fs::read(root.join(MANIFEST)).unwrap();
    std::fs::remove_file(root.join(MANIFEST)).unwrap();
    let err = verify_dir(root).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{LOG}:4: manifest {MANIFEST} is missing")
    );
    std::fs::write(root.join(MANIFEST), manifest).unwrap();

    // A log copied under another run's name fails on its first line.
    std::fs::create_dir_all(root.join("runs/r3")).unwrap();
    std::fs::copy(root.join(LOG), root.join("runs/r3/log.jsonl")).unwrap();
    let err = verify_dir(root).await.unwrap_err();
    assert_eq!(err.file, "runs/r3/log.jsonl");
    assert_eq!(err.line, Some(1));
    std::fs::remove_dir_all(root.join("runs/r3")).unwrap();

    verify_dir(root).await.unwrap();
    assert!(verify_dir(root.join("nowhere")).await.is_err());
}

#[tokio::test]
async fn a_torn_last_line_is_found() {
    let dir = fresh().await;
    let mut original = lines(dir.path());
    let last = original.len();
    original[last - 1].pop();
    write_lines(dir.path(), &original);
    let err = verify_dir(dir.path()).await.unwrap_err();
    assert_eq!(err.line, Some(last));
    assert!(err.reason.contains("incomplete"), "{err}");
}

#[tokio::test]
async fn a_guard_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sink: Arc<dyn EvidenceSink> = Arc::new(DirSink::new(dir.path().to_path_buf()));
    let mut log = RunLog::open(sink.clone(), "r1", guard()).unwrap();

    let err = log
        .append("intent", Some("req-1"), json!({"email": "Ana@Example.com"}))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Guard { what } if what == "entry intent seq 1"));
    assert!(!err.to_string().to_lowercase().contains("ana@"), "{err}");
    assert!(sink.list().await.unwrap().is_empty());

    log.append("intent", Some("req-1"), json!({"rows": 1}))
        .await
        .unwrap();
    let before = sink.get(LOG).await.unwrap();
    let err = log
        .append("note", None, json!({"text": "ssn 123-45-6789 seen"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Guard { .. }));
    let err = log
        .write_manifest("req-1", json!({"subject": ["ana@example.com"]}))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Guard { what } if what == "manifest req-1"));
    assert_eq!(sink.get(LOG).await.unwrap(), before);
    assert_eq!(sink.list().await.unwrap(), vec![LOG.to_owned()]);
    assert_eq!(log.seq(), 1);
    verify(sink.as_ref()).await.unwrap();
}

#[tokio::test]
async fn misuse_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sink: Arc<dyn EvidenceSink> = Arc::new(DirSink::new(dir.path().to_path_buf()));
    for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
        assert!(matches!(
            RunLog::open(sink.clone(), bad, Guard::default()),
            Err(Error::InvalidId { .. })
        ));
    }
    let mut log = RunLog::open(sink.clone(), "r1", Guard::default()).unwrap();
    assert!(matches!(
        log.append("manifest", None, json!({})).await,
        Err(Error::InvalidKind { .. })
    ));
    assert!(matches!(
        log.append("has space", None, json!({})).await,
        Err(Error::InvalidKind { .. })
    ));
    assert!(matches!(
        log.write_manifest("req-1", json!({"run": "x"})).await,
        Err(Error::Manifest { .. })
    ));
    assert!(matches!(
        log.write_manifest("req-1", json!([1])).await,
        Err(Error::Manifest { .. })
    ));
    assert!(matches!(
        log.write_manifest("../req", json!({})).await,
        Err(Error::InvalidId { .. })
    ));
    assert!(sink.list().await.unwrap().is_empty());

    log.write_manifest("req-1", json!({})).await.unwrap();
    // The same manifest again: the log head moved, so the bytes differ and it is refused.
    assert!(matches!(
        log.write_manifest("req-1", json!({})).await,
        Err(Error::Exists { .. })
    ));
    verify(sink.as_ref()).await.unwrap();
}

#[tokio::test]
async fn runs_are_not_reopened_but_resumed() {
    let dir = fresh().await;
    let sink: Arc<dyn EvidenceSink> = Arc::new(DirSink::new(dir.path().to_path_buf()));
    let mut again = RunLog::open(sink.clone(), "r1", guard()).unwrap();
    assert!(matches!(
        again.append("x", None, json!({})).await,
        Err(Error::Exists { .. })
    ));

    let mut resumed = RunLog::resume(sink.clone(), "r1", guard()).await.unwrap();
    assert_eq!(resumed.seq(), 5);
    let last: Entry = serde_json::from_slice(lines(dir.path()).last().unwrap()).unwrap();
    assert_eq!(resumed.head(), last.hash);
    let e = resumed.append("resumed", None, json!({})).await.unwrap();
    assert_eq!(e.seq, 6);
    verify(sink.as_ref()).await.unwrap();

    let fresh_run = RunLog::resume(sink.clone(), "r9", guard()).await.unwrap();
    assert_eq!(
        (fresh_run.seq(), fresh_run.head()),
        (0, genesis("r9").as_str())
    );

    // A tampered log cannot be resumed.
    let mut tampered = lines(dir.path());
    tampered.swap(1, 2);
    write_lines(dir.path(), &tampered);
    let err = RunLog::resume(sink.clone(), "r1", guard())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Verify(VerifyError { line: Some(2), .. })
    ));
}

#[tokio::test]
async fn a_manifest_written_before_a_crash_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let sink: Arc<dyn EvidenceSink> = Arc::new(DirSink::new(dir.path().to_path_buf()));
    let mut log = RunLog::open(sink.clone(), "r1", Guard::default()).unwrap();
    log.append("outcome", Some("req-1"), json!({"deleted": 3}))
        .await
        .unwrap();
    // The object made it to storage, its log entry did not.
    let mut bytes = serde_json::to_vec_pretty(&json!({
        "deleted": 3, "run": "r1", "log_head": log.head(),
    }))
    .unwrap();
    bytes.push(b'\n');
    sink.put_once(MANIFEST, &bytes).await.unwrap();
    assert!(verify(sink.as_ref()).await.is_err());

    let mut log = RunLog::resume(sink.clone(), "r1", Guard::default())
        .await
        .unwrap();
    let sha = log
        .write_manifest("req-1", json!({"deleted": 3}))
        .await
        .unwrap();
    assert_eq!(sha, sha256_hex(&bytes));
    assert_eq!(verify(sink.as_ref()).await.unwrap().manifests, 1);
}

/// An in-memory sink shaped like an object store, which can be told to fail appends.
#[derive(Default)]
struct MemSink {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    fail_appends: AtomicBool,
}

#[async_trait::async_trait]
impl EvidenceSink for MemSink {
    async fn append(&self, log: &str, line: &[u8]) -> Result<(), Error> {
        sink::check_name(log)?;
        if self.fail_appends.load(Ordering::SeqCst) {
            return Err(Error::io("append to", log, std::io::Error::other("down")));
        }
        let mut objects = self.objects.lock().unwrap();
        let log = objects.entry(log.to_owned()).or_default();
        log.extend_from_slice(line);
        log.push(b'\n');
        Ok(())
    }

    async fn put_once(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        sink::check_name(name)?;
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(name) {
            return Err(Error::Exists {
                name: name.to_owned(),
            });
        }
        objects.insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<String>, Error> {
        Ok(self.objects.lock().unwrap().keys().cloned().collect())
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>, Error> {
        self.objects
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
            })
    }
}

#[tokio::test]
async fn a_failed_append_poisons_the_log() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    let mut log = RunLog::open(sink.clone(), "r1", Guard::default()).unwrap();
    log.append("a", None, json!({})).await.unwrap();
    mem.fail_appends.store(true, Ordering::SeqCst);
    assert!(matches!(
        log.append("b", None, json!({})).await,
        Err(Error::Io { .. })
    ));
    mem.fail_appends.store(false, Ordering::SeqCst);
    assert!(matches!(
        log.append("c", None, json!({})).await,
        Err(Error::Poisoned { .. })
    ));
    let mut log = RunLog::resume(sink.clone(), "r1", Guard::default())
        .await
        .unwrap();
    assert_eq!(log.append("c", None, json!({})).await.unwrap().seq, 2);
    assert_eq!(verify(sink.as_ref()).await.unwrap().entries, 2);
}
