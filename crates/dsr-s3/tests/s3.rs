//! `dsr-s3` against a real S3 server (moto, `scripts/moto.sh start`): the evidence sink,
//! Object Lock, delivery links and per-key erasure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use dsr_evidence::{EvidenceSink, ObjectVersion, PutOptions};
use dsr_s3::testing::TestBucket;
use dsr_s3::{S3Sink, S3Url, delete_all_versions, list_objects, presign_get, put_private};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn bucket(object_lock: bool) -> TestBucket {
    TestBucket::new(object_lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A plain PUT by someone else (not through the sink, no condition).
async fn raw_put(b: &TestBucket, key: &str, bytes: &[u8]) -> String {
    b.client()
        .put_object()
        .bucket(b.name())
        .key(key)
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .unwrap()
        .version_id()
        .map(str::to_owned)
        .unwrap_or_default()
}

async fn raw_get(b: &TestBucket, key: &str) -> Vec<u8> {
    let out = b
        .client()
        .get_object()
        .bucket(b.name())
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn put_once_is_write_once_and_round_trips() {
    let b = bucket(false).await;
    let sink = S3Sink::new(b.client().clone(), b.url("evidence/prod").unwrap());
    assert_eq!(sink.location(), format!("s3://{}/evidence/prod", b.name()));
    let opts = PutOptions::default();
    // Outside the sink's prefix, sharing its first characters: never listed.
    raw_put(&b, "evidence/prod2/runs/x.json", b"x").await;
    raw_put(&b, "evidence/prodrun.json", b"x").await;
    dsr_evidence::conformance::run(&sink).await;
    // The refused second write changed nothing on the server either.
    assert_eq!(raw_get(&b, "evidence/prod/runs/r1.json").await, b"{}\n");

    // An unversioned bucket: one current version per object, without a version id.
    assert_eq!(
        sink.versions("runs/").await.unwrap(),
        vec![ObjectVersion {
            name: "runs/r1.json".into(),
            version_id: None,
            is_latest: true,
            delete_marker: false,
        }]
    );

    // Bad names never reach the server.
    for bad in [
        "../escape",
        "/abs",
        "a//b",
        "sp ace.json",
        "runs/.hidden",
        "é",
    ] {
        let r = sink.put_once(bad, b"x", &opts).await;
        assert!(
            matches!(r, Err(dsr_evidence::Error::InvalidName { .. })),
            "{bad:?}: {r:?}"
        );
        assert!(matches!(
            sink.get(bad).await,
            Err(dsr_evidence::Error::InvalidName { .. })
        ));
    }
    assert!(matches!(
        sink.list("../").await,
        Err(dsr_evidence::Error::InvalidName { .. })
    ));
    assert_eq!(sink.list("").await.unwrap().len(), 3);
    b.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_whole_bucket_sink_and_many_pages() {
    let b = bucket(true).await;
    let sink = S3Sink::new(b.client().clone(), b.url("").unwrap());
    assert_eq!(sink.location(), format!("s3://{}", b.name()));
    // More than one listing page (1000 keys a page).
    let names: Vec<String> = (0..1005).map(|i| format!("runs/{i:06}.json")).collect();
    for n in &names {
        sink.put_once(n, b"1\n", &PutOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(sink.list("runs/").await.unwrap(), names);
    let versions = sink.versions("").await.unwrap();
    assert_eq!(versions.len(), 1005);
    assert!(
        versions
            .iter()
            .all(|v| v.is_latest && v.version_id.is_some())
    );
    assert_eq!(
        versions.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        names
    );
    b.cleanup().await.unwrap();
}

#[tokio::test]
async fn object_lock_keeps_every_version_and_shows_overwrites_and_deletes() {
    let b = bucket(true).await;
    let sink = S3Sink::new(b.client().clone(), b.url("audit").unwrap());
    let keep = PutOptions {
        retain_until: Some(Utc::now() + chrono::Duration::days(1)),
    };
    sink.put_once("runs/r1.json", b"{\"run\":1}\n", &keep)
        .await
        .unwrap();
    let key = "audit/runs/r1.json";

    // Retention was applied, in COMPLIANCE mode.
    let head = b
        .client()
        .head_object()
        .bucket(b.name())
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("COMPLIANCE")
    );
    assert!(head.object_lock_retain_until_date().is_some());
    let v1 = head.version_id().unwrap().to_owned();
    // The write carried a SHA-256 checksum, which the server kept.
    let with_checksum = b
        .client()
        .head_object()
        .bucket(b.name())
        .key(key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(
        with_checksum.checksum_sha256().is_some(),
        "{with_checksum:?}"
    );

    // Deleting the retained version is refused by the server, even bypassing governance.
    let refused = b
        .client()
        .delete_object()
        .bucket(b.name())
        .key(key)
        .version_id(&v1)
        .bypass_governance_retention(true)
        .send()
        .await;
    let err = refused.expect_err("a COMPLIANCE-retained version must not be deletable");
    assert_eq!(err.code(), Some("AccessDenied"), "{err:?}");
    assert_eq!(sink.get("runs/r1.json").await.unwrap(), b"{\"run\":1}\n");

    // Someone else overwrites the key with a plain PUT: a second version, both visible.
    let v2 = raw_put(&b, key, b"{\"run\":\"forged\"}\n").await;
    assert_ne!(v2, v1);
    let versions = sink.versions("runs/").await.unwrap();
    assert_eq!(
        versions,
        vec![
            ObjectVersion {
                name: "runs/r1.json".into(),
                version_id: Some(v2.clone()),
                is_latest: true,
                delete_marker: false,
            },
            ObjectVersion {
                name: "runs/r1.json".into(),
                version_id: Some(v1.clone()),
                is_latest: false,
                delete_marker: false,
            },
        ]
    );
    // The sink's own conditional write still refuses: the name exists.
    assert!(matches!(
        sink.put_once("runs/r1.json", b"x", &keep).await,
        Err(dsr_evidence::Error::Exists { .. })
    ));

    // A plain DELETE (no version id) adds a delete marker; the versions stay.
    let deleted = b
        .client()
        .delete_object()
        .bucket(b.name())
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_owned();
    let versions = sink.versions("").await.unwrap();
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert_eq!(
        versions[0],
        ObjectVersion {
            name: "runs/r1.json".into(),
            version_id: Some(marker),
            is_latest: true,
            delete_marker: true,
        }
    );
    assert!(
        versions[1..]
            .iter()
            .all(|v| !v.delete_marker && !v.is_latest)
    );
    assert!(sink.list("").await.unwrap().is_empty());
    assert!(matches!(
        sink.get("runs/r1.json").await,
        Err(dsr_evidence::Error::NotFound { .. })
    ));
    // The retained version can still be read by id.
    let old = b
        .client()
        .get_object()
        .bucket(b.name())
        .key(key)
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.body.collect().await.unwrap().into_bytes().as_ref(),
        b"{\"run\":1}\n"
    );

    // Erasing the key removes what may be removed and reports the retained version.
    let url = b.url("audit").unwrap();
    let e = delete_all_versions(b.client(), &url, "runs/r1.json")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "{e}");
    assert!(e.to_string().contains("1 of 3 versions not deleted"), "{e}");
    let versions = sink.versions("").await.unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].version_id.as_deref(), Some(v1.as_str()));
}

/// A minimal HTTP/1.1 GET of a plain `http://` URL: status and body.
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&raw[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

#[tokio::test]
async fn delivered_reports_are_encrypted_and_fetchable_by_presigned_url() {
    let b = bucket(false).await;
    let url = b.url("deliveries").unwrap();
    let report = b"{\"request\":\"req-1\",\"records\":3}\n".to_vec();
    put_private(
        b.client(),
        &url,
        "req-1/report.json",
        report.clone(),
        "application/json",
    )
    .await
    .unwrap();
    let head = b
        .client()
        .head_object()
        .bucket(b.name())
        .key("deliveries/req-1/report.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    assert_eq!(head.content_type(), Some("application/json"));

    let link = presign_get(
        b.client(),
        &url,
        "req-1/report.json",
        Duration::from_secs(900),
    )
    .await
    .unwrap();
    assert_eq!(query_param(&link, "X-Amz-Expires").as_deref(), Some("900"));
    assert!(query_param(&link, "X-Amz-Signature").is_some(), "{link}");
    assert!(
        link.contains(&format!("/{}/deliveries/req-1/report.json?", b.name())),
        "{link}"
    );
    let (status, body) = http_get(&link).await;
    assert_eq!(status, 200);
    assert_eq!(body, report);

    // Lifetimes S3 cannot sign, and keys that are not keys, are refused before any request.
    for bad in [
        Duration::ZERO,
        Duration::from_millis(1500),
        Duration::from_secs(8 * 24 * 3600),
    ] {
        assert!(matches!(
            presign_get(b.client(), &url, "req-1/report.json", bad).await,
            Err(dsr_s3::Error::Config { .. })
        ));
    }
    assert!(matches!(
        put_private(b.client(), &url, "../x", vec![], "text/plain").await,
        Err(dsr_s3::Error::InvalidKey { .. })
    ));
    b.cleanup().await.unwrap();
}

#[tokio::test]
async fn delete_all_versions_erases_one_key_exactly() {
    let b = bucket(true).await;
    let url = b.url("media").unwrap();
    let full = |k: &str| url.key(k);
    // Three versions and a delete marker of the subject's recording …
    raw_put(&b, &full("recordings/7/a.wav"), b"v1").await;
    raw_put(&b, &full("recordings/7/a.wav"), b"v2").await;
    b.client()
        .delete_object()
        .bucket(b.name())
        .key(full("recordings/7/a.wav"))
        .send()
        .await
        .unwrap();
    raw_put(&b, &full("recordings/7/a.wav"), b"v3").await;
    // … and keys sharing its prefix, which must survive.
    raw_put(&b, &full("recordings/7/a.wav.bak"), b"backup").await;
    raw_put(&b, &full("recordings/70/a.wav"), b"other subject").await;
    raw_put(&b, &full("recordings/7/b.wav"), b"same subject, other key").await;

    let listed = list_objects(b.client(), &url, "recordings/7")
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        vec![
            "recordings/7/a.wav",
            "recordings/7/a.wav.bak",
            "recordings/7/b.wav",
            "recordings/70/a.wav"
        ]
    );
    assert_eq!(listed[0].size, 2);
    assert_eq!(listed[1].size, 6);
    assert!(listed[0].last_modified.is_some());

    let n = delete_all_versions(b.client(), &url, "recordings/7/a.wav")
        .await
        .unwrap();
    assert_eq!(n, 4, "three versions and one delete marker");

    let left = b
        .client()
        .list_object_versions()
        .bucket(b.name())
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = left.versions().iter().filter_map(|v| v.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "media/recordings/7/a.wav.bak",
            "media/recordings/7/b.wav",
            "media/recordings/70/a.wav"
        ]
    );
    assert!(left.delete_markers().is_empty());
    assert_eq!(
        raw_get(&b, &full("recordings/7/a.wav.bak")).await,
        b"backup"
    );
    assert_eq!(
        raw_get(&b, &full("recordings/70/a.wav")).await,
        b"other subject"
    );
    // Nothing left to delete: 0, not an error.
    assert_eq!(
        delete_all_versions(b.client(), &url, "recordings/7/a.wav")
            .await
            .unwrap(),
        0
    );
    b.cleanup().await.unwrap();
}

#[tokio::test]
async fn list_objects_reports_content_types_under_the_prefix_only() {
    let b = bucket(false).await;
    let url = S3Url::new(b.name(), "objects").unwrap();
    put_private(b.client(), &url, "u/1.png", vec![1, 2, 3], "image/png")
        .await
        .unwrap();
    put_private(b.client(), &url, "u/2.txt", b"hi".to_vec(), "text/plain")
        .await
        .unwrap();
    raw_put(&b, "objects2/u/3.bin", b"x").await;
    let all = list_objects(b.client(), &url, "").await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].key, "u/1.png");
    assert_eq!(all[0].size, 3);
    assert_eq!(all[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(all[1].content_type.as_deref(), Some("text/plain"));
    assert!(
        list_objects(b.client(), &url, "v/")
            .await
            .unwrap()
            .is_empty()
    );
    b.cleanup().await.unwrap();
}

#[tokio::test]
async fn errors_name_the_bucket_and_key() {
    let b = bucket(false).await;
    let gone = S3Url::new(&format!("{}-missing", b.name()), "p").unwrap();
    let e = list_objects(b.client(), &gone, "x/").await.unwrap_err();
    assert_eq!(e.code(), Some("NoSuchBucket"), "{e}");
    assert_eq!(e.status(), Some(404));
    let text = e.to_string();
    assert!(
        text.contains(&format!("s3://{}-missing/p/x/", b.name())),
        "{text}"
    );

    let sink = S3Sink::new(b.client().clone(), gone);
    let e = sink.get("runs/r.json").await.unwrap_err();
    assert!(
        matches!(&e, dsr_evidence::Error::Io { name, .. } if name == "runs/r.json"),
        "{e:?}"
    );
    assert!(e.to_string().contains("NoSuchBucket"), "{e}");
    b.cleanup().await.unwrap();
}
