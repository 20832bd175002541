//! [`S3Sink`]: the evidence sink on S3 (or an S3-compatible server).
//!
//! Each evidence object is one S3 object under the sink's prefix. Writes are conditional
//! (`If-None-Match: *`), so the first writer of a name wins and every other write fails with
//! `Exists`, carry a SHA-256 checksum that S3 verifies, and, with
//! [`PutOptions::retain_until`], an Object Lock retention in COMPLIANCE mode (the bucket must
//! have Object Lock enabled) so that not even the account root can delete the version early.
//! [`EvidenceSink::versions`] reads the bucket's version history, delete markers included, so
//! verification can see an overwrite or deletion made behind the sink's back.
//!
//! Errors map onto [`dsr_evidence::Error`]: a conditional-write conflict (HTTP 412
//! `PreconditionFailed`, or 409 `ConditionalRequestConflict` when two conditional writes race)
//! is `Exists`; a missing object is `NotFound`; anything else is `Io` naming the object, with
//! the HTTP status, S3 error code and server message (never object contents).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime as AwsDateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockMode};
use chrono::{DateTime, Utc};
use dsr_evidence::{EvidenceSink, ObjectVersion, PutOptions, check_name};

use crate::S3Url;
use crate::error::Failure;

/// Evidence in a bucket, under a prefix. Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct S3Sink {
    client: Client,
    url: S3Url,
}

impl S3Sink {
    /// A sink writing under `url` (`s3://bucket/prefix`) with `client`. Nothing is checked
    /// until the first request.
    pub fn new(client: Client, url: S3Url) -> Self {
        S3Sink { client, url }
    }

    /// The location.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn key_of(&self, name: &str) -> Result<String, dsr_evidence::Error> {
        check_name(name)?;
        Ok(self.url.key(name))
    }

    /// The error of a failed request about `name` (an object name or a listing prefix).
    fn error(&self, op: &'static str, name: &str, failure: Failure) -> dsr_evidence::Error {
        if failure.is_conflict() {
            return dsr_evidence::Error::Exists {
                name: name.to_owned(),
            };
        }
        if failure.is_not_found() && op == "read" {
            return dsr_evidence::Error::NotFound {
                name: name.to_owned(),
            };
        }
        let location = format!("s3://{}/{}", self.url.bucket(), self.url.key(name));
        dsr_evidence::Error::Io {
            op,
            name: shown(name).to_owned(),
            source: failure.to_io(&location),
        }
    }

    fn relative_name(&self, key: &str) -> Option<String> {
        self.url.relative(key).map(str::to_owned)
    }
}

fn shown(name: &str) -> &str {
    if name.is_empty() { "." } else { name }
}

/// Checks a listing prefix like [`dsr_evidence::DirSink`] does: the part up to its last `/`
/// must be a valid name.
fn check_prefix(prefix: &str) -> Result<(), dsr_evidence::Error> {
    match prefix.rfind('/') {
        Some(i) => check_name(&prefix[..i]),
        None => Ok(()),
    }
}

/// A version id; `null` (the id of objects written while versioning was off) is no id.
fn version_id(id: Option<&str>) -> Option<String> {
    id.filter(|id| *id != "null").map(str::to_owned)
}

/// A retention date for S3: whole seconds, rounded up so retention is never shortened.
pub(crate) fn retain_until(t: DateTime<Utc>) -> AwsDateTime {
    let secs = t.timestamp();
    let secs = if t.timestamp_subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    };
    AwsDateTime::from_secs(secs)
}

/// An S3 timestamp as a chrono one (`None` if out of chrono's range).
pub(crate) fn to_chrono(t: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

#[async_trait::async_trait]
impl EvidenceSink for S3Sink {
    async fn put_once(
        &self,
        name: &str,
        bytes: &[u8],
        opts: &PutOptions,
    ) -> Result<(), dsr_evidence::Error> {
        let key = self.key_of(name)?;
        let mut put = self
            .client
            .put_object()
            .bucket(self.url.bucket())
            .key(&key)
            .if_none_match("*")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes.to_vec()));
        if let Some(until) = opts.retain_until {
            put = put
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(retain_until(until));
        }
        put.send()
            .await
            .map_err(|e| self.error("write", name, Failure::from_sdk(&e)))?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>, dsr_evidence::Error> {
        let key = self.key_of(name)?;
        let out = self
            .client
            .get_object()
            .bucket(self.url.bucket())
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| self.error("read", name, Failure::from_sdk(&e)))?;
        let body = out.body.collect().await.map_err(|e| {
            self.error(
                "read",
                name,
                Failure {
                    status: None,
                    code: None,
                    detail: format!("reading the body: {e}"),
                },
            )
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, dsr_evidence::Error> {
        check_prefix(prefix)?;
        let full = self.url.key(prefix);
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(self.url.bucket())
                .prefix(&full)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("list", prefix, Failure::from_sdk(&e)))?;
            names.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(|k| self.relative_name(k)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, dsr_evidence::Error> {
        check_prefix(prefix)?;
        let full = self.url.key(prefix);
        // (name, latest first, newest first) → sorted by name, then newest first.
        let mut found: Vec<(ObjectVersion, Option<AwsDateTime>)> = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(self.url.bucket())
                .prefix(&full)
                .set_key_marker(markers.0.take())
                .set_version_id_marker(markers.1.take())
                .send()
                .await
                .map_err(|e| self.error("list versions of", prefix, Failure::from_sdk(&e)))?;
            for v in page.versions() {
                if let Some(name) = v.key().and_then(|k| self.relative_name(k)) {
                    found.push((
                        ObjectVersion {
                            name,
                            version_id: version_id(v.version_id()),
                            is_latest: v.is_latest().unwrap_or(false),
                            delete_marker: false,
                        },
                        v.last_modified().copied(),
                    ));
                }
            }
            for m in page.delete_markers() {
                if let Some(name) = m.key().and_then(|k| self.relative_name(k)) {
                    found.push((
                        ObjectVersion {
                            name,
                            version_id: version_id(m.version_id()),
                            is_latest: m.is_latest().unwrap_or(false),
                            delete_marker: true,
                        },
                        m.last_modified().copied(),
                    ));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            markers = (
                page.next_key_marker().map(str::to_owned),
                page.next_version_id_marker().map(str::to_owned),
            );
            if markers.0.is_none() {
                break;
            }
        }
        found.sort_by(|(a, at), (b, bt)| {
            a.name
                .cmp(&b.name)
                .then(b.is_latest.cmp(&a.is_latest))
                .then(bt.cmp(at))
        });
        Ok(found.into_iter().map(|(v, _)| v).collect())
    }

    fn location(&self) -> String {
        self.url.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_rounded_up_to_whole_seconds() {
        let t = DateTime::from_timestamp(1_800_000_000, 1).unwrap();
        assert_eq!(retain_until(t).secs(), 1_800_000_001);
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(retain_until(t).secs(), 1_800_000_000);
        assert_eq!(retain_until(t).subsec_nanos(), 0);
        assert_eq!(to_chrono(&retain_until(t)), Some(t));
    }

    #[test]
    fn prefixes_are_checked_up_to_the_last_slash() {
        check_prefix("").unwrap();
        check_prefix("requests/q").unwrap();
        check_prefix("requests/").unwrap();
        assert!(matches!(
            check_prefix("../x"),
            Err(dsr_evidence::Error::InvalidName { .. })
        ));
        assert!(matches!(
            check_prefix("a//"),
            Err(dsr_evidence::Error::InvalidName { .. })
        ));
    }
}
