//! Evidence, report delivery and call recordings on S3 (a local moto server with Object Lock):
//! the evidence verifies where it lies and any added version or delete marker is caught; the
//! report is shared by a presigned link of the configured lifetime and never lands in the
//! evidence; a subject's recordings go with every version; and an S3 outage before a run
//! deletes nothing, after which the next run completes with one evidence set per request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_fixtures::recordings::{ANA_RECORDING, BEN_RECORDINGS};
use dsr_fixtures::subjects::{ANA_EMAIL, BEN_CLOSED_ORDER_ID, BEN_EMAIL};
use dsr_s3::testing::TestBucket;
use dsr_tests::{Db, Env, text, verified};
use serde_json::Value;
use std::io::{Read, Write};

const FILLER: usize = 30;

/// An estate whose evidence, reports and recordings are in three fresh buckets.
struct S3Env {
    env: Env,
    evidence: TestBucket,
    reports: TestBucket,
    recordings: TestBucket,
    endpoint: String,
}

impl S3Env {
    async fn new() -> S3Env {
        let env = Env::new(FILLER).await;
        let evidence = TestBucket::new(true)
            .await
            .expect("moto (scripts/moto.sh start)");
        let reports = TestBucket::new(false).await.unwrap();
        // Object Lock implies versioning: recordings get old versions to erase too.
        let recordings = TestBucket::new(true).await.unwrap();
        let url = recordings.url("calls").unwrap();
        for (key, bytes) in dsr_fixtures::recordings(FILLER) {
            dsr_s3::put_private(recordings.client(), &url, &key, bytes, "audio/wav")
                .await
                .unwrap();
        }
        // An older version of one of Ben's recordings.
        dsr_s3::put_private(
            recordings.client(),
            &url,
            BEN_RECORDINGS[0],
            b"older take".to_vec(),
            "audio/wav",
        )
        .await
        .unwrap();
        S3Env {
            env,
            evidence,
            reports,
            recordings,
            endpoint: dsr_s3::testing::endpoint().unwrap(),
        }
    }

    /// A fresh estate with Ben's deletion and Ana's access request submitted.
    async fn with_ben_and_ana() -> S3Env {
        let s3 = S3Env::new().await;
        let reqs = [
            verified("del-ben", "deletion", BEN_EMAIL),
            verified("acc-ana", "access", ANA_EMAIL),
        ];
        let o = s3.dsr(&["submit", write(&s3.env, &reqs).as_str()]);
        assert!(o.status.success(), "{}", text(&o));
        s3
    }

    fn evidence_url(&self) -> String {
        format!("s3://{}/ev", self.evidence.name())
    }

    fn vars(&self, endpoint: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), endpoint.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("DSR_EVIDENCE_URL".into(), self.evidence_url()),
            (
                "DSR_DELIVERY_URL".into(),
                format!("s3://{}/out", self.reports.name()),
            ),
            (
                "DSR_RECORDINGS_URL".into(),
                format!("s3://{}/calls", self.recordings.name()),
            ),
        ]
    }

    fn dsr_at(&self, endpoint: &str, args: &[&str]) -> std::process::Output {
        let vars = self.vars(endpoint);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.env.dsr_with(args, &refs)
    }

    fn dsr(&self, args: &[&str]) -> std::process::Output {
        self.dsr_at(&self.endpoint, args)
    }

    /// Every key in a bucket.
    async fn keys(bucket: &TestBucket) -> Vec<String> {
        let out = bucket
            .client()
            .list_objects_v2()
            .bucket(bucket.name())
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    /// Versions and delete markers of the keys under `prefix` of the recordings bucket.
    async fn recording_versions(&self, prefix: &str) -> usize {
        let out = self
            .recordings
            .client()
            .list_object_versions()
            .bucket(self.recordings.name())
            .prefix(format!("calls/{prefix}"))
            .send()
            .await
            .unwrap();
        out.versions().len() + out.delete_markers().len()
    }
}

/// GET of a plain-http URL: (status line, body).
fn http_get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.lines().next().unwrap_or_default().to_string();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn evidence_reports_and_recordings_live_in_s3() {
    let s3 = S3Env::with_ben_and_ana().await;
    let ok = |o: &std::process::Output| assert!(o.status.success(), "{}", text(o));
    assert!(s3.recording_versions("recordings/2/").await >= 3);
    let run = s3.dsr(&["run", "--job", "nightly", "--json"]);
    ok(&run);
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let outcome = |id: &str| {
        summary["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome("del-ben")["status"], "fulfilled");
    assert_eq!(outcome("acc-ana")["status"], "fulfilled");

    // The evidence verifies in the bucket, signatures included.
    let v = s3.dsr(&["audit", "verify", &s3.evidence_url()]);
    ok(&v);
    assert!(text(&v).contains("signatures checked"), "{}", text(&v));
    let keys = S3Env::keys(&s3.evidence).await;
    assert!(keys.iter().any(|k| k.starts_with("ev/requests/del-ben/")));
    assert!(
        keys.iter().all(|k| !k.contains("report")),
        "reports never go into evidence: {keys:?}"
    );

    // The report link: the configured lifetime (5 days), and it fetches the report.
    let link = outcome("acc-ana")["report"].as_str().unwrap().to_string();
    let expires = link
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("X-Amz-Expires="))
        .expect("X-Amz-Expires");
    assert_eq!(expires, "432000");
    let (status, body) = http_get(&link);
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("<html"), "the HTML report");
    assert!(
        !body.contains(ANA_EMAIL) || body.contains("Ana"),
        "report body sanity"
    );
    let evidence_text: String = {
        let mut t = String::new();
        for k in &keys {
            let o = s3
                .evidence
                .client()
                .get_object()
                .bucket(s3.evidence.name())
                .key(k)
                .send()
                .await
                .unwrap();
            t.push_str(&String::from_utf8_lossy(
                &o.body.collect().await.unwrap().into_bytes(),
            ));
        }
        t
    };
    assert!(
        !evidence_text.contains("X-Amz-Signature"),
        "the link stays out of evidence"
    );
    assert!(!evidence_text.contains(BEN_EMAIL) && !evidence_text.contains(ANA_EMAIL));
    // Each erased recording is recorded by the keyed hash of its key, never the key itself.
    assert!(
        evidence_text.contains("\"object_keys\":[\"hmac:"),
        "object key hashes"
    );
    for k in BEN_RECORDINGS {
        assert!(!evidence_text.contains(k), "raw object key in evidence");
    }

    // Ben's recordings are gone, every version; Ana's and the others' are untouched.
    assert_eq!(s3.recording_versions("recordings/2/").await, 0);
    assert_eq!(s3.recording_versions(ANA_RECORDING).await, 1);
    assert_eq!(
        s3.recording_versions("recordings/10").await,
        FILLER.div_ceil(10)
    );
    assert!(
        s3.env
            .ids_where(Db::Crm, "orders", "id", BEN_CLOSED_ORDER_ID)
            .await
            .is_empty()
    );

    // Tampering: a new version of an entry (a plain PUT) is caught, naming the object …
    let put = |key: &'static str| {
        s3.evidence
            .client()
            .put_object()
            .bucket(s3.evidence.name())
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}\n"))
            .send()
    };
    put("ev/requests/del-ben/000002.json").await.unwrap();
    let v = s3.dsr(&["audit", "verify", &s3.evidence_url()]);
    assert!(!v.status.success());
    assert!(
        text(&v).contains("requests/del-ben/000002.json"),
        "{}",
        text(&v)
    );
    // … and so is a delete marker (a plain DELETE), which comes first in name order.
    s3.evidence
        .client()
        .delete_object()
        .bucket(s3.evidence.name())
        .key("ev/requests/acc-ana/000001.json")
        .send()
        .await
        .unwrap();
    let v = s3.dsr(&["audit", "verify", &s3.evidence_url()]);
    assert!(!v.status.success());
    assert!(
        text(&v).contains("requests/acc-ana/000001.json"),
        "{}",
        text(&v)
    );
}

#[tokio::test]
async fn s3_down_before_a_run_deletes_nothing_and_the_next_run_completes() {
    let s3 = S3Env::with_ben_and_ana().await;
    let ok = |o: &std::process::Output| assert!(o.status.success(), "{}", text(o));
    let before = s3.env.snapshot().await;
    // Nothing listens on this port: S3 is down.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let down = s3.dsr_at(&closed, &["run", "--job", "nightly"]);
    assert!(!down.status.success(), "{}", text(&down));
    assert_eq!(
        before,
        s3.env.snapshot().await,
        "nothing deleted while S3 is down"
    );
    assert_eq!(s3.recording_versions("recordings/2/").await, 3);
    assert!(S3Env::keys(&s3.evidence).await.is_empty());

    // S3 is back: the next run (taking over the failed run's lease) completes.
    ok(&s3.dsr(&["run", "--job", "nightly", "--take-over"]));
    assert_ne!(before, s3.env.snapshot().await);
    assert_eq!(s3.recording_versions("recordings/2/").await, 0);
    ok(&s3.dsr(&["audit", "verify", &s3.evidence_url()]));
    let keys = S3Env::keys(&s3.evidence).await;
    for id in ["del-ben", "acc-ana"] {
        let manifests = keys
            .iter()
            .filter(|k| k.starts_with(&format!("ev/requests/{id}/manifest-")))
            .count();
        assert_eq!(manifests, 1, "{id}: {keys:?}");
    }
}

fn write(env: &Env, requests: &[Value]) -> String {
    let p = env.dir.path().join("requests.json");
    std::fs::write(&p, serde_json::to_vec(requests).unwrap()).unwrap();
    p.to_string_lossy().to_string()
}
