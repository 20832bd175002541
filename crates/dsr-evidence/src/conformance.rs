//! The contract every [`EvidenceSink`] backend runs (like `object_store`'s integration
//! tests): call [`run`] with an empty sink and it panics with a message on the first
//! violation. Covered: listing an empty sink, write-once (a second write of a name is
//! [`Error::Exists`] and changes nothing), reading back, [`Error::NotFound`], listing with
//! prefixes (a prefix matches names, not only directories), and refusing an unsafe name before
//! anything is stored. It leaves `requests/q/000001.json`, `requests/q1/000001.json` and
//! `runs/r1.json` (bytes `one\n`, `other\n`, `{}\n`) for the backend's own checks.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::{Error, EvidenceSink, PutOptions};

/// Runs the contract against `sink`, which must be empty.
pub async fn run(sink: &dyn EvidenceSink) {
    let opts = PutOptions::default();
    assert!(
        sink.list("").await.unwrap().is_empty(),
        "the sink must start empty"
    );
    assert!(sink.versions("").await.unwrap().is_empty());
    sink.put_once("requests/q/000001.json", b"one\n", &opts)
        .await
        .unwrap();
    sink.put_once("requests/q1/000001.json", b"other\n", &opts)
        .await
        .unwrap();
    sink.put_once("runs/r1.json", b"{}\n", &opts).await.unwrap();

    // The second write of a name is refused and changes nothing.
    let again = sink.put_once("runs/r1.json", b"overwrite\n", &opts).await;
    assert!(
        matches!(&again, Err(Error::Exists { name }) if name == "runs/r1.json"),
        "{again:?}"
    );
    assert_eq!(sink.get("runs/r1.json").await.unwrap(), b"{}\n");
    assert_eq!(sink.get("requests/q/000001.json").await.unwrap(), b"one\n");
    let missing = sink.get("runs/none.json").await;
    assert!(
        matches!(&missing, Err(Error::NotFound { name }) if name == "runs/none.json"),
        "{missing:?}"
    );

    assert_eq!(
        sink.list("").await.unwrap(),
        vec![
            "requests/q/000001.json",
            "requests/q1/000001.json",
            "runs/r1.json"
        ]
    );
    assert_eq!(
        sink.list("requests/q/").await.unwrap(),
        vec!["requests/q/000001.json"]
    );
    assert_eq!(
        sink.list("requests/q").await.unwrap(),
        vec!["requests/q/000001.json", "requests/q1/000001.json"]
    );
    assert_eq!(sink.list("runs/").await.unwrap(), vec!["runs/r1.json"]);
    assert!(sink.list("nowhere/").await.unwrap().is_empty());

    // Unsafe names never reach storage.
    assert!(matches!(
        sink.put_once("../escape", b"x", &opts).await,
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        sink.list("../").await,
        Err(Error::InvalidName { .. })
    ));
    assert_eq!(sink.list("").await.unwrap().len(), 3);
}
