//! Verification: summaries, signatures, tampering, version history, `show`.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::entry::Unhashed;
use crate::layout::{entry_name, manifest_name};

const SEED_1: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const SEED_2: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

fn signer(id: &str, seed: &str) -> Signer {
    Signer::from_seed_hex(id, seed).unwrap()
}

fn ring_of(s: &Signer) -> KeyRing {
    KeyRing::from_pairs([(s.key_id().to_owned(), s.public_key_hex())]).unwrap()
}

/// Writes a bundle: req-1 with 4 entries (seal at 3), req-2 with a seal only, a run summary.
async fn write_bundle(sink: &Arc<dyn EvidenceSink>, signer: Option<Signer>) {
    let mut ev = evidence(sink, "r1", 1);
    if let Some(s) = signer {
        ev = ev.with_signer(s);
    }
    let mut c = ev.chain("req-1", received()).await.unwrap();
    c.append(
        "erase_intent",
        json!({"store": "crm", "rows": 1, "subject": "hmac:00ff"}),
    )
    .await
    .unwrap();
    c.append("erase_outcome", json!({"store": "crm", "affected": 1}))
        .await
        .unwrap();
    c.seal(json!({"status": "fulfilled", "deleted": 1}))
        .await
        .unwrap();
    c.append("delivered", json!({"report_sha256": sha256_hex(b"r")}))
        .await
        .unwrap();
    let mut d = ev.chain("req-2", received()).await.unwrap();
    d.seal(json!({"status": "denied"})).await.unwrap();
    ev.write_run(json!({"requests": 2})).await.unwrap();
}

async fn fresh(signer: Option<Signer>) -> (tempfile::TempDir, Arc<dyn EvidenceSink>) {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    write_bundle(&sink, signer).await;
    (dir, sink)
}

async fn verify_err(sink: &Arc<dyn EvidenceSink>, keys: &KeyRing) -> VerifyError {
    verify(sink.as_ref(), keys).await.unwrap_err()
}

const MANIFEST: &str = "requests/req-1/manifest-000003.json";

#[tokio::test]
async fn a_fresh_bundle_verifies() {
    let (dir, sink) = fresh(None).await;
    let s = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!((s.runs, s.entries, s.manifests), (1, 5, 2));
    assert_eq!((s.signed, s.unsigned, s.signatures_checked), (0, 2, false));
    assert!(s.orphan_manifests.is_empty());
    let lines: Vec<String> = s.requests.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "req-1  4 entries  1 manifest (0 signed)  last: delivered",
            "req-2  1 entry  1 manifest (0 signed)  last: manifest",
        ]
    );
    assert_eq!(verify_dir(dir.path(), &KeyRing::new()).await.unwrap(), s);
    let err = verify_dir(dir.path().join("nowhere"), &KeyRing::new())
        .await
        .unwrap_err();
    assert_eq!(err.reason, "not a directory");
}

#[tokio::test]
async fn signed_manifests_verify_only_with_the_right_key() {
    let k1 = signer("k1", SEED_1);
    let (_dir, sink) = fresh(Some(k1.clone())).await;
    let s = verify(sink.as_ref(), &ring_of(&k1)).await.unwrap();
    assert_eq!((s.signed, s.unsigned, s.signatures_checked), (2, 0, true));
    assert_eq!(s.requests[0].signed, 1);
    // Without a ring, signed manifests are accepted (not checked) and counted.
    let s = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!((s.signed, s.signatures_checked), (2, false));

    // Another key's ring: unknown key id.
    let err = verify_err(&sink, &ring_of(&signer("k2", SEED_2))).await;
    assert_eq!(err.object, MANIFEST);
    assert_eq!(
        err.reason,
        "signed with key k1, which is not in the key ring"
    );
    // The same key id bound to another key: the signature does not verify.
    let impostor = ring_of(&signer("k1", SEED_2));
    let err = verify_err(&sink, &impostor).await;
    assert_eq!(
        err.to_string(),
        format!("{MANIFEST}: signature by key k1 does not verify")
    );

    // Unsigned manifests fail when a ring is given.
    let (_dir, unsigned) = fresh(None).await;
    let err = verify_err(&unsigned, &ring_of(&k1)).await;
    assert_eq!(err.object, MANIFEST);
    assert_eq!(err.reason, "is not signed, and a key ring was given");
}

#[tokio::test]
async fn the_documented_signature_check_works_by_hand() {
    let k1 = signer("k1", SEED_1);
    let (dir, _sink) = fresh(Some(k1.clone())).await;
    let stored = std::fs::read(dir.path().join(MANIFEST)).unwrap();
    let body = &stored[..stored.len() - 1];
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
    let (id, sig) = (
        doc["signature"]["key_id"].as_str().unwrap(),
        doc["signature"]["sig"].as_str().unwrap(),
    );
    let suffix =
        format!(",\"signature\":{{\"alg\":\"ed25519\",\"key_id\":\"{id}\",\"sig\":\"{sig}\"}}}}");
    let mut m = body.strip_suffix(suffix.as_bytes()).unwrap().to_vec();
    m.push(b'}');
    use ed25519_dalek::Verifier;
    let key = ed25519_dalek::VerifyingKey::from_bytes(
        &hex::decode(k1.public_key_hex())
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&hex::decode(sig).unwrap()).unwrap();
    key.verify(&m, &sig).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&m).unwrap();
    assert_eq!(manifest["chain_seq"], 2);
    assert_eq!(manifest["status"], "fulfilled");
}

#[tokio::test]
async fn any_changed_byte_of_an_entry_names_it() {
    let (dir, sink) = fresh(None).await;
    for seq in 1..=4 {
        let name = entry_name("req-1", seq);
        let path = dir.path().join(&name);
        let original = std::fs::read(&path).unwrap();
        for pos in 0..original.len() {
            let mut tampered = original.clone();
            tampered[pos] ^= 0x01;
            std::fs::write(&path, &tampered).unwrap();
            let err = verify_err(&sink, &KeyRing::new()).await;
            assert_eq!(err.object, name, "entry {seq} byte {pos}: {err}");
        }
        std::fs::write(&path, &original).unwrap();
    }
    verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
}

#[tokio::test]
async fn an_edited_value_is_a_hash_mismatch() {
    let (dir, sink) = fresh(None).await;
    let name = entry_name("req-1", 2);
    let path = dir.path().join(&name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"affected\":1", "\"affected\":2")).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.to_string(), format!("{name}: hash mismatch"));
}

/// An entry rewritten with a correct hash breaks the link of the next one.
#[tokio::test]
async fn a_rehashed_forgery_breaks_the_next_link() {
    let (dir, sink) = fresh(None).await;
    let e: Entry =
        serde_json::from_slice(&std::fs::read(dir.path().join(entry_name("req-1", 2))).unwrap())
            .unwrap();
    let data = json!({"store": "crm", "affected": 5});
    let forged = Unhashed {
        seq: e.seq,
        at: &e.at,
        request: &e.request,
        run: &e.run,
        lease: e.lease,
        kind: &e.kind,
        data: &data,
        prev: &e.prev,
    };
    let (bytes, _) = Unhashed::seal(forged.to_bytes().unwrap());
    std::fs::write(dir.path().join(entry_name("req-1", 2)), bytes).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.object, entry_name("req-1", 3));
    assert_eq!(
        err.reason,
        "prev does not match the hash of entry 2 (changed or replaced entry)"
    );
}

#[tokio::test]
async fn a_removed_entry_is_a_gap() {
    let (dir, sink) = fresh(None).await;
    std::fs::remove_file(dir.path().join(entry_name("req-1", 2))).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        "requests/req-1/000003.json: entry 2 is missing (the chain has a gap before this object)"
    );
    // The first entry removed: the chain no longer starts at 1.
    let (dir, sink) = fresh(None).await;
    std::fs::remove_file(dir.path().join(entry_name("req-1", 1))).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.object, entry_name("req-1", 2));
    // Opening the chain for writing fails the same way, naming the object.
    let err = evidence(&sink, "r9", 9)
        .chain("req-1", received())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Verify(v) if v.object == entry_name("req-1", 2)),
        "{err:?}"
    );
    assert!(matches!(
        show(sink.as_ref(), "req-1").await,
        Err(Error::Verify(_))
    ));
}

#[tokio::test]
async fn unknown_and_misplaced_objects_are_found() {
    for extra in [
        "notes.txt",
        "requests/req-1/notes.json",
        "requests/req-1/00004.json",
        "requests/req-1/sub/000001.json",
        "runs/r1/log.jsonl",
    ] {
        let (dir, sink) = fresh(None).await;
        let path = dir.path().join(extra);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{}\n").unwrap();
        let err = verify_err(&sink, &KeyRing::new()).await;
        assert_eq!(err.object, extra);
        assert_eq!(
            err.reason,
            "fits no name of the evidence layout (unexpected object)"
        );
    }
    // An entry copied into another request's directory.
    let (dir, sink) = fresh(None).await;
    std::fs::copy(
        dir.path().join(entry_name("req-1", 2)),
        dir.path().join(entry_name("req-2", 2)),
    )
    .unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.object, entry_name("req-2", 2));
}

#[tokio::test]
async fn a_changed_manifest_names_it() {
    let (dir, sink) = fresh(None).await;
    let path = dir.path().join(MANIFEST);
    let original = std::fs::read(&path).unwrap();
    for pos in 0..original.len() {
        let mut tampered = original.clone();
        tampered[pos] ^= 0x01;
        std::fs::write(&path, &tampered).unwrap();
        let err = verify_err(&sink, &KeyRing::new()).await;
        assert_eq!(
            err.to_string(),
            format!(
                "{MANIFEST}: sha256 does not match the one recorded in requests/req-1/000003.json"
            ),
            "byte {pos}"
        );
    }
    std::fs::remove_file(&path).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        format!("{MANIFEST}: is missing (referred to by requests/req-1/000003.json)")
    );
}

/// A manifest that is not the one of its position (copied from elsewhere, with the entry
/// rewritten to match) is caught by `chain_seq`/`chain_head`.
#[tokio::test]
async fn a_manifest_must_seal_the_chain_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let mut c = evidence(&sink, "r1", 1)
        .chain("req-1", received())
        .await
        .unwrap();
    c.seal(json!({"status": "a"})).await.unwrap();
    c.seal(json!({"status": "a"})).await.unwrap();
    let first = std::fs::read(dir.path().join(manifest_name("req-1", 1))).unwrap();
    let second = manifest_name("req-1", 2);
    std::fs::write(dir.path().join(&second), &first).unwrap();
    let e = &c.entries()[1];
    let data = json!({"object": second, "sha256": sha256_hex(&first)});
    let forged = Unhashed {
        seq: e.seq,
        at: &e.at,
        request: &e.request,
        run: &e.run,
        lease: e.lease,
        kind: &e.kind,
        data: &data,
        prev: &e.prev,
    };
    let (bytes, _) = Unhashed::seal(forged.to_bytes().unwrap());
    std::fs::write(dir.path().join(entry_name("req-1", 2)), bytes).unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        format!("{second}: chain_seq is not 1, the entry before its manifest entry")
    );
}

#[tokio::test]
async fn overwritten_or_deleted_objects_are_found_in_the_history() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    write_bundle(&sink, None).await;
    verify(sink.as_ref(), &KeyRing::new()).await.unwrap();

    let version = |name: &str, delete_marker: bool| ObjectVersion {
        name: name.to_owned(),
        version_id: Some("v0".into()),
        is_latest: false,
        delete_marker,
    };
    mem.extra_versions
        .lock()
        .unwrap()
        .push(version(&entry_name("req-1", 2), false));
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        "requests/req-1/000002.json: has 2 versions: the object was overwritten"
    );

    // A deleted object (only its delete marker and old version remain).
    let gone = entry_name("req-1", 5);
    *mem.extra_versions.lock().unwrap() = vec![version(&gone, false), version(&gone, true)];
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.object, gone);
    assert_eq!(err.reason, "has a delete marker: the object was deleted");
}

#[tokio::test]
async fn run_summaries_must_be_json_of_their_run() {
    let (dir, sink) = fresh(None).await;
    std::fs::write(dir.path().join("runs/r2.json"), b"not json\n").unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(err.object, "runs/r2.json");
    assert!(err.reason.starts_with("is not valid JSON"), "{err}");
    std::fs::write(dir.path().join("runs/r2.json"), b"{\"run\":\"r1\"}\n").unwrap();
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        "runs/r2.json: run does not match the file name"
    );
}

#[tokio::test]
async fn show_returns_the_checked_timeline() {
    let (_dir, sink) = fresh(None).await;
    let entries = show(sink.as_ref(), "req-1").await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["erase_intent", "erase_outcome", "manifest", "delivered"]
    );
    assert!(show(sink.as_ref(), "req-9").await.unwrap().is_empty());
    assert!(matches!(
        show(sink.as_ref(), "../x").await,
        Err(Error::InvalidId { .. })
    ));
}

/// Leases must never decrease along a chain (checked from a hand-written chain, since the
/// writer refuses to produce one).
#[tokio::test]
async fn a_decreasing_lease_is_found() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    let mut prev = genesis("req-1");
    for (seq, lease) in [(1u64, 5u64), (2, 4)] {
        let data = json!({});
        let (bytes, hash) = Unhashed::seal(
            Unhashed {
                seq,
                at: "2026-11-28T21:00:00Z",
                request: "req-1",
                run: "r1",
                lease,
                kind: "x",
                data: &data,
                prev: &prev,
            }
            .to_bytes()
            .unwrap(),
        );
        mem.put_once(&entry_name("req-1", seq), &bytes, &PutOptions::default())
            .await
            .unwrap();
        prev = hash;
    }
    let err = verify_err(&sink, &KeyRing::new()).await;
    assert_eq!(
        err.to_string(),
        "requests/req-1/000002.json: lease 4 is older than lease 5 of entry 1"
    );
}
