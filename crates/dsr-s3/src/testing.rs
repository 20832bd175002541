//! Test support: the local S3 server and a fresh bucket per test.
//!
//! The server is moto (in memory, enforces Object Lock), started by `scripts/moto.sh start`,
//! which records its port in `target/moto.port` at the repository root. The endpoint comes
//! from `DSR_TEST_S3_ENDPOINT` if set, else from that file. Clients use region `us-east-1`,
//! path-style addressing and the credentials `testing`/`testing`, whatever the environment
//! says, so a test never reaches a real account.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::error::Failure;
use crate::{Error, S3Options, S3Url, build_client, create_bucket};

/// Environment variable naming the test server's endpoint (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "DSR_TEST_S3_ENDPOINT";

/// `target/moto.port` at the repository root.
pub fn port_file() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/dsr-s3 → the repository root.
    crate_dir
        .ancestors()
        .nth(2)
        .unwrap_or(crate_dir)
        .join("target")
        .join("moto.port")
}

fn missing(what: String) -> Error {
    Error::TestServer {
        reason: format!("{what}; run scripts/moto.sh start (or set {ENDPOINT_VAR})"),
    }
}

/// The test server's endpoint, checked to accept connections.
pub fn endpoint() -> Result<String, Error> {
    let (endpoint, source) = match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.is_empty() => (e, ENDPOINT_VAR.to_owned()),
        _ => {
            let file = port_file();
            let port = std::fs::read_to_string(&file).map_err(|e| {
                missing(format!(
                    "{ENDPOINT_VAR} is not set and {} cannot be read ({e})",
                    file.display()
                ))
            })?;
            let port = port.trim();
            if port.parse::<u16>().is_err() {
                return Err(missing(format!(
                    "{} does not hold a port number",
                    file.display()
                )));
            }
            (
                format!("http://127.0.0.1:{port}"),
                file.display().to_string(),
            )
        }
    };
    let authority = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .ok_or_else(|| {
            missing(format!(
                "{endpoint:?} (from {source}) is not an http:// URL"
            ))
        })?;
    let addrs = authority
        .to_socket_addrs()
        .map_err(|e| missing(format!("{endpoint} (from {source}): {e}")))?;
    let answers = addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !answers {
        return Err(missing(format!(
            "nothing accepts connections at {endpoint} (from {source})"
        )));
    }
    Ok(endpoint)
}

/// A client of the test server.
pub async fn client() -> Result<Client, Error> {
    Ok(client_with_config().await?.0)
}

/// [`client`] with its SDK configuration (credentials, region, endpoint).
pub async fn client_with_config() -> Result<(Client, aws_config::SdkConfig), Error> {
    let opts = S3Options {
        endpoint: Some(endpoint()?),
        region: Some("us-east-1".to_owned()),
        path_style: true,
    };
    build_client(
        &opts,
        Some(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "dsr-s3-testing",
        )),
    )
    .await
}

/// A bucket with a unique name on the test server.
#[derive(Debug, Clone)]
pub struct TestBucket {
    client: Client,
    name: String,
}

impl TestBucket {
    /// Creates a fresh bucket, with Object Lock (and versioning) if `object_lock`.
    pub async fn new(object_lock: bool) -> Result<TestBucket, Error> {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "dsr-t-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let client = client().await?;
        create_bucket(&client, &name, object_lock).await?;
        Ok(TestBucket { client, name })
    }

    /// A fresh bucket with versioning but no Object Lock (old versions can be deleted).
    pub async fn new_versioned() -> Result<TestBucket, Error> {
        let b = TestBucket::new(false).await?;
        crate::bucket::enable_versioning(&b.client, &b.name).await?;
        Ok(b)
    }

    /// The client it was created with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> Result<S3Url, Error> {
        S3Url::new(&self.name, prefix)
    }

    /// Deletes every version and delete marker (bypassing GOVERNANCE retention), then the
    /// bucket. Fails on objects under COMPLIANCE retention, which nothing can delete early.
    pub async fn cleanup(self) -> Result<(), Error> {
        // Each round deletes one listing page; bounded in case something keeps writing.
        for _ in 0..1000 {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.name)
                .send()
                .await
                .map_err(|e| {
                    Error::request("ListObjectVersions", &self.name, "", Failure::from_sdk(&e))
                })?;
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id()));
            let objects = versions
                .chain(markers)
                .filter_map(|(key, id)| {
                    ObjectIdentifier::builder()
                        .key(key?)
                        .version_id(id.unwrap_or("null"))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if objects.is_empty() {
                break;
            }
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| Error::Config {
                    reason: format!("DeleteObjects request: {e}"),
                })?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.name)
                .bypass_governance_retention(true)
                .delete(delete)
                .send()
                .await
                .map_err(|e| {
                    Error::request("DeleteObjects", &self.name, "", Failure::from_sdk(&e))
                })?;
            if let Some(first) = out.errors().first() {
                return Err(Error::request(
                    "DeleteObjects",
                    &self.name,
                    first.key().unwrap_or(""),
                    Failure {
                        status: None,
                        code: first.code().map(str::to_owned),
                        detail: first.message().unwrap_or("no message").to_owned(),
                    },
                ));
            }
        }
        self.client
            .delete_bucket()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| Error::request("DeleteBucket", &self.name, "", Failure::from_sdk(&e)))?;
        Ok(())
    }
}
