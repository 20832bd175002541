//! Writing chains: append, reopen, fencing of concurrent writers, seal, guard, retention.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::layout::{entry_name, manifest_name};

fn read(root: &Path, name: &str) -> Vec<u8> {
    std::fs::read(root.join(name)).unwrap()
}

#[tokio::test]
async fn append_reopen_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let ev = evidence(&sink, "r1", 1);
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    assert_eq!((chain.seq(), chain.head()), (0, genesis("req-1")));
    assert!(chain.entries().is_empty());

    let e1 = chain
        .append("erase_intent", json!({"store": "crm", "rows": 2}))
        .await
        .unwrap();
    assert_eq!(e1.seq, 1);
    assert_eq!(chain.head(), e1.hash);
    let e2 = chain
        .append("erase_outcome", json!({"store": "crm", "affected": 2}))
        .await
        .unwrap();
    assert_eq!((e2.seq, chain.seq()), (2, 2));

    // The documented object format.
    let first = String::from_utf8(read(dir.path(), "requests/req-1/000001.json")).unwrap();
    let expected_start = format!(
        "{{\"seq\":1,\"at\":\"{}",
        &chain.entries()[0].at[..4] // the year
    );
    assert!(first.starts_with(&expected_start), "{first}");
    assert!(first.contains(
        "\"request\":\"req-1\",\"run\":\"r1\",\"lease\":1,\"kind\":\"erase_intent\",\
         \"data\":{\"store\":\"crm\",\"rows\":2},"
    ));
    assert!(first.ends_with(&format!(
        "\"prev\":\"{}\",\"hash\":\"{}\"}}\n",
        genesis("req-1"),
        e1.hash
    )));
    let unhashed = first.replace(&format!(",\"hash\":\"{}\"}}\n", e1.hash), "}");
    assert_eq!(sha256_hex(unhashed.as_bytes()), e1.hash);
    let parsed: Entry = serde_json::from_str(&first).unwrap();
    assert_eq!(&parsed, &chain.entries()[0]);

    // Reopened by another run under the same or a newer lease: positioned after the last.
    let written = chain.entries().to_vec();
    let mut again = evidence(&sink, "r2", 2)
        .chain("req-1", received())
        .await
        .unwrap();
    assert_eq!(again.seq(), 2);
    assert_eq!(again.head(), e2.hash);
    assert_eq!(again.entries(), written.as_slice());
    let e3 = again.append("resumed", json!({})).await.unwrap();
    assert_eq!(e3.seq, 3);
    assert_eq!(again.entries()[2].prev, e2.hash);
    assert_eq!(again.entries()[2].lease, 2);
    assert_eq!(show(sink.as_ref(), "req-1").await.unwrap(), again.entries());

    // Chains of other requests are independent.
    let mut other = ev.chain("req-10", received()).await.unwrap();
    assert_eq!(other.append("x", json!({})).await.unwrap().seq, 1);
    assert_eq!(
        ev.chain("req-1", received()).await.unwrap_err().to_string(),
        "request req-1: superseded at entry 3: another lease has written this chain; this writer must stop"
    );
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!(summary.entries, 4);
}

#[test]
fn a_chain_is_send_and_owned() {
    fn send_static<T: Send + 'static>() {}
    send_static::<Chain>();
    send_static::<Evidence>();
}

/// Two writers under different leases open the same chain and append at once: exactly one
/// wins, the other gets `Superseded`, writes nothing, and stays stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_leases_racing_on_one_position_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let old = evidence(&sink, "r1", 1);
    let new = evidence(&sink, "r2", 2);
    old.chain("req-1", received())
        .await
        .unwrap()
        .append("admitted", json!({}))
        .await
        .unwrap();
    for round in 0..10u64 {
        let mut a = old.chain("req-1", received()).await.unwrap();
        let mut b = new.chain("req-1", received()).await.unwrap();
        let at = a.seq() + 1;
        assert_eq!(b.seq() + 1, at);
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move {
                let r = a.append("erase_intent", json!({"by": "a"})).await;
                (r, a)
            }),
            tokio::spawn(async move {
                let r = b.append("erase_intent", json!({"by": "b"})).await;
                (r, b)
            }),
        );
        let ((ra, mut a), (rb, mut b)) = (ra.unwrap(), rb.unwrap());
        let (winner, loser, loser_result) = match (&ra, &rb) {
            (Ok(_), Err(_)) => ("a", &mut b, rb),
            (Err(_), Ok(_)) => ("b", &mut a, ra),
            _ => panic!("round {round}: exactly one must win: {ra:?} {rb:?}"),
        };
        assert!(
            matches!(&loser_result, Err(Error::Superseded { request, seq }) if request == "req-1" && *seq == at),
            "{loser_result:?}"
        );
        // The position holds the winner's entry; the loser wrote nothing and stays stopped.
        let stored: Entry =
            serde_json::from_slice(&read(dir.path(), &entry_name("req-1", at))).unwrap();
        assert_eq!(stored.data["by"], winner);
        assert_eq!(sink.list("requests/req-1/").await.unwrap().len() as u64, at);
        assert!(matches!(
            loser.append("again", json!({})).await,
            Err(Error::Superseded { seq, .. }) if seq == at
        ));
        assert!(matches!(
            loser.seal(json!({})).await,
            Err(Error::Superseded { .. })
        ));
        assert_eq!(loser.seq(), at - 1);
        assert_eq!(sink.list("requests/req-1/").await.unwrap().len() as u64, at);
        // Once lease 2 has written, lease 1 can no longer open the chain: stop racing.
        if winner == "b" {
            break;
        }
    }
    new.chain("req-1", received())
        .await
        .unwrap()
        .append("erase_outcome", json!({}))
        .await
        .unwrap();
    assert!(matches!(
        old.chain("req-1", received()).await,
        Err(Error::Superseded { .. })
    ));
    verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
}

/// A writer that stalls while another lease advances the chain is fenced out when it wakes.
#[tokio::test]
async fn a_stalled_writer_is_superseded() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let mut stalled = evidence(&sink, "r1", 7)
        .chain("req-1", received())
        .await
        .unwrap();
    stalled
        .append("erase_intent", json!({"rows": 1}))
        .await
        .unwrap();

    let mut takeover = evidence(&sink, "r2", 8)
        .chain("req-1", received())
        .await
        .unwrap();
    assert_eq!(takeover.seq(), 1);
    takeover
        .append("erase_intent", json!({"rows": 1}))
        .await
        .unwrap();
    takeover
        .append("erase_outcome", json!({"affected": 1}))
        .await
        .unwrap();
    let before = sink.list("").await.unwrap();

    let err = stalled
        .append("erase_outcome", json!({"affected": 1}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Superseded { request, seq: 2 } if request == "req-1"),
        "{err:?}"
    );
    // Sealing fails too, and leaves no manifest behind.
    assert!(matches!(
        stalled.seal(json!({"status": "fulfilled"})).await,
        Err(Error::Superseded { seq: 2, .. })
    ));
    assert_eq!(sink.list("").await.unwrap(), before);
    assert_eq!(stalled.seq(), 1);

    // A fresh stalled-lease writer cannot even open the chain.
    let err = evidence(&sink, "r1", 7)
        .chain("req-1", received())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Superseded { seq: 2, .. }), "{err:?}");

    // Whereas a stalled seal (positioned, then overtaken) is also refused.
    let mut stalled = evidence(&sink, "r2", 8)
        .chain("req-1", received())
        .await
        .unwrap();
    takeover.append("note", json!({})).await.unwrap();
    assert!(matches!(
        stalled.seal(json!({})).await,
        Err(Error::Superseded { seq: 4, .. })
    ));
    assert!(
        !sink
            .list("")
            .await
            .unwrap()
            .iter()
            .any(|n| n.contains("manifest"))
    );

    takeover.seal(json!({"status": "fulfilled"})).await.unwrap();
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!((summary.entries, summary.manifests), (5, 1));
    assert!(summary.orphan_manifests.is_empty());
}

#[tokio::test]
async fn seal_writes_the_manifest_then_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let mut chain = evidence(&sink, "r1", 3)
        .chain("req-1", received())
        .await
        .unwrap();
    chain
        .append("erase_intent", json!({"rows": 1}))
        .await
        .unwrap();
    let head = chain.head();
    let sha = chain
        .seal(json!({"status": "fulfilled", "stores": [{"name": "crm", "deleted": 1}]}))
        .await
        .unwrap();
    let name = manifest_name("req-1", 2);
    let bytes = read(dir.path(), &name);
    assert_eq!(sha, sha256_hex(&bytes));
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text,
        format!(
            "{{\"status\":\"fulfilled\",\"stores\":[{{\"name\":\"crm\",\"deleted\":1}}],\
             \"request\":\"req-1\",\"run\":\"r1\",\"lease\":3,\"chain_seq\":1,\
             \"chain_head\":\"{head}\"}}\n"
        )
    );
    let last = chain.entries().last().unwrap();
    assert_eq!((last.seq, last.kind.as_str()), (2, "manifest"));
    assert_eq!(last.data, json!({"object": name, "sha256": sha}));
    // A second seal seals the longer chain under the next position.
    chain.append("delivered", json!({})).await.unwrap();
    chain.seal(json!({"status": "fulfilled"})).await.unwrap();
    assert!(dir.path().join(manifest_name("req-1", 4)).is_file());
    // An empty chain can be sealed too (a denial): chain_seq 0 and the genesis hash.
    let mut denied = evidence(&sink, "r1", 3)
        .chain("req-2", received())
        .await
        .unwrap();
    denied.seal(json!({"status": "denied"})).await.unwrap();
    let m: Value = serde_json::from_slice(&read(dir.path(), &manifest_name("req-2", 1))).unwrap();
    assert_eq!(
        (m["chain_seq"].as_u64(), m["chain_head"].as_str()),
        (Some(0), Some(genesis("req-2").as_str()))
    );
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!((summary.manifests, summary.unsigned), (3, 3));
}

/// A crash between the manifest and its entry: the same writer retrying writes identical
/// bytes and only appends the entry.
#[tokio::test]
async fn a_retried_seal_completes_the_same_manifest() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    let ev = evidence(&sink, "r1", 1);
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    chain.append("erase_intent", json!({})).await.unwrap();
    mem.fail_next_put_of(&entry_name("req-1", 2));
    assert!(matches!(
        chain.seal(json!({"status": "fulfilled"})).await,
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        chain.append("x", json!({})).await,
        Err(Error::Poisoned { .. })
    ));
    assert!(mem.names().contains(&manifest_name("req-1", 2)));
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!(summary.orphan_manifests, vec![manifest_name("req-1", 2)]);

    let mut chain = ev.chain("req-1", received()).await.unwrap();
    let sha = chain.seal(json!({"status": "fulfilled"})).await.unwrap();
    assert_eq!(
        sha,
        sha256_hex(&mem.get(&manifest_name("req-1", 2)).await.unwrap())
    );
    assert_eq!(chain.seq(), 2);
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!(summary.manifests, 1);
    assert!(summary.orphan_manifests.is_empty());
}

/// A manifest left by a crashed writer of an older (or the same) lease does not block the
/// chain: it is recorded by a `manifest_abandoned` entry and the seal moves one position on.
/// One left under a newer lease means this writer is superseded.
#[tokio::test]
async fn a_manifest_left_by_a_crashed_writer_is_recorded_as_abandoned() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    evidence(&sink, "r0", 2)
        .chain("req-1", received())
        .await
        .unwrap()
        .append("erase_intent", json!({}))
        .await
        .unwrap();
    let mut crashed = evidence(&sink, "r1", 4)
        .chain("req-1", received())
        .await
        .unwrap();
    mem.fail_next_put_of(&entry_name("req-1", 2));
    assert!(crashed.seal(json!({"status": "partial"})).await.is_err());

    // An older lease finds the newer lease's manifest in its way: superseded, nothing written.
    let before = mem.names();
    let mut older = evidence(&sink, "r0", 3)
        .chain("req-1", received())
        .await
        .unwrap();
    assert!(matches!(
        older.seal(json!({"status": "fulfilled"})).await,
        Err(Error::Superseded { seq: 2, .. })
    ));
    assert_eq!(mem.names(), before);

    // The next run (new lease) seals over it.
    let mut next = evidence(&sink, "r2", 5)
        .chain("req-1", received())
        .await
        .unwrap();
    let sha = next.seal(json!({"status": "fulfilled"})).await.unwrap();
    let kinds: Vec<&str> = next.entries().iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["erase_intent", "manifest_abandoned", "manifest"]);
    let abandoned = &next.entries()[1];
    assert_eq!(abandoned.data["object"], manifest_name("req-1", 2));
    assert_eq!(
        abandoned.data["sha256"],
        sha256_hex(&mem.get(&manifest_name("req-1", 2)).await.unwrap())
    );
    assert_eq!(
        sha,
        sha256_hex(&mem.get(&manifest_name("req-1", 3)).await.unwrap())
    );
    let summary = verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
    assert_eq!(summary.manifests, 1);
    assert_eq!(summary.orphan_manifests, vec![manifest_name("req-1", 2)]);
    assert_eq!(summary.requests[0].last_kind.as_deref(), Some("manifest"));
}

#[tokio::test]
async fn a_guard_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let ev = evidence(&sink, "r1", 1);
    let mut chain = ev.chain("req-1", received()).await.unwrap();

    let err = chain
        .append("erase_intent", json!({"email": "Ana@Example.com"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Guard { what } if what == "entry erase_intent of request req-1 seq 1"),
        "{err:?}"
    );
    assert!(!err.to_string().to_lowercase().contains("ana@"), "{err}");
    assert!(sink.list("").await.unwrap().is_empty());

    chain
        .append("erase_intent", json!({"rows": 1}))
        .await
        .unwrap();
    let err = chain
        .append("note", json!({"text": "ssn 123-45-6789 seen"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Guard { .. }));
    let err = chain
        .seal(json!({"subject": ["ana@example.com"]}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Guard { what } if what == "manifest of request req-1 seq 2"),
        "{err:?}"
    );
    let err = ev
        .write_run(json!({"note": "123-45-6789"}))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Guard { what } if what == "run summary r1"));
    assert_eq!(
        sink.list("").await.unwrap(),
        vec!["requests/req-1/000001.json".to_owned()]
    );
    // A refusal does not stop the chain.
    assert_eq!(chain.seq(), 1);
    chain
        .append("erase_outcome", json!({"affected": 1}))
        .await
        .unwrap();
    verify(sink.as_ref(), &KeyRing::new()).await.unwrap();
}

#[tokio::test]
async fn misuse_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
        assert!(matches!(
            Evidence::new(sink.clone(), Guard::default(), bad, 1),
            Err(Error::InvalidId { what: "run", .. })
        ));
    }
    let ev = evidence(&sink, "r1", 1);
    assert!(matches!(
        ev.chain("../req", received()).await,
        Err(Error::InvalidId {
            what: "request",
            ..
        })
    ));
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    for kind in ["manifest", "manifest_abandoned"] {
        assert!(matches!(
            chain.append(kind, json!({})).await,
            Err(Error::InvalidKind { .. })
        ));
    }
    for kind in ["", "has space", "é", &"k".repeat(65)] {
        assert!(matches!(
            chain.append(kind, json!({})).await,
            Err(Error::InvalidKind { .. })
        ));
    }
    for reserved in MANIFEST_RESERVED {
        let mut m = serde_json::Map::new();
        m.insert(reserved.to_owned(), json!("x"));
        let err = chain.seal(Value::Object(m)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Manifest { request, reason } if request == "req-1" && reason.contains(reserved)),
            "{err:?}"
        );
    }
    assert!(matches!(
        chain.seal(json!([1])).await,
        Err(Error::Manifest { .. })
    ));
    assert!(matches!(
        ev.write_run(json!([1])).await,
        Err(Error::Manifest { .. })
    ));
    assert!(matches!(
        ev.write_run(json!({"run": "r2"})).await,
        Err(Error::Manifest { .. })
    ));
    assert!(sink.list("").await.unwrap().is_empty());
    // After all that, the chain still works.
    assert_eq!(chain.append("ok", json!({})).await.unwrap().seq, 1);
}

#[tokio::test]
async fn run_summaries_are_write_once() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir_sink(dir.path());
    let ev = evidence(&sink, "r1", 1);
    ev.write_run(json!({"requests": 2, "fulfilled": 2}))
        .await
        .unwrap();
    assert_eq!(
        read(dir.path(), "runs/r1.json"),
        b"{\"requests\":2,\"fulfilled\":2,\"run\":\"r1\"}\n".to_vec()
    );
    // The same summary again (a retry) is fine; another one is refused.
    ev.write_run(json!({"requests": 2, "fulfilled": 2}))
        .await
        .unwrap();
    assert!(matches!(
        ev.write_run(json!({"requests": 3})).await,
        Err(Error::Exists { name }) if name == "runs/r1.json"
    ));
    evidence(&sink, "r2", 1)
        .write_run(json!({"run": "r2", "requests": 0}))
        .await
        .unwrap();
    assert_eq!(
        verify(sink.as_ref(), &KeyRing::new()).await.unwrap().runs,
        2
    );
}

#[tokio::test]
async fn a_failed_write_poisons_the_chain_until_reopened() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    let ev = evidence(&sink, "r1", 1);
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    chain.append("a", json!({})).await.unwrap();
    mem.fail_next_put_of(&entry_name("req-1", 2));
    assert!(matches!(
        chain.append("b", json!({})).await,
        Err(Error::Io { .. })
    ));
    let err = chain.append("c", json!({})).await.unwrap_err();
    assert!(matches!(&err, Error::Poisoned { request } if request == "req-1"));
    assert!(matches!(
        chain.seal(json!({})).await,
        Err(Error::Poisoned { .. })
    ));
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    assert_eq!(chain.append("c", json!({})).await.unwrap().seq, 2);
    assert_eq!(
        verify(sink.as_ref(), &KeyRing::new())
            .await
            .unwrap()
            .entries,
        2
    );
}

#[tokio::test]
async fn retention_runs_from_the_received_time() {
    let mem = Arc::new(MemSink::default());
    let sink: Arc<dyn EvidenceSink> = mem.clone();
    let period = chrono::Duration::days(3 * 365);
    let ev = evidence(&sink, "r1", 1).with_retention(period);
    let mut chain = ev.chain("req-1", received()).await.unwrap();
    chain.append("a", json!({})).await.unwrap();
    chain.seal(json!({})).await.unwrap();
    for name in [
        entry_name("req-1", 1),
        entry_name("req-1", 2),
        manifest_name("req-1", 2),
    ] {
        assert_eq!(
            mem.options_of(&name).retain_until,
            Some(received() + period),
            "{name}"
        );
    }
    let before = Utc::now();
    ev.write_run(json!({})).await.unwrap();
    let until = mem.options_of("runs/r1.json").retain_until.unwrap();
    assert!(until >= before + period && until <= Utc::now() + period);

    // Without a period, nothing is retained.
    let mut plain = evidence(&sink, "r1", 1)
        .chain("req-2", received())
        .await
        .unwrap();
    plain.append("a", json!({})).await.unwrap();
    assert_eq!(mem.options_of(&entry_name("req-2", 1)).retain_until, None);
    assert!(format!("{ev:?}").contains("mem://test"));
}
