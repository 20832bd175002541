//! Report delivery: writing a private object and handing out a time-limited link to it.
//!
//! [`put_private`] stores a report with server-side encryption (SSE-S3, AES256) requested and
//! a SHA-256 checksum; no ACL is set, so the object is as private as the bucket (buckets with
//! ACLs disabled refuse ACL headers anyway). [`presign_get`] gives a SigV4 presigned GET URL
//! that works without credentials until it expires.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};

use crate::error::Failure;
use crate::{Error, S3Url};

/// Writes `bytes` to `key` (relative to `url`'s prefix) with `content_type`, requesting
/// server-side encryption (AES256). Overwrites an existing object (a new version in a
/// versioned bucket).
pub async fn put_private(
    client: &Client,
    url: &S3Url,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<(), Error> {
    let full = url.checked_key(key)?;
    client
        .put_object()
        .bucket(url.bucket())
        .key(&full)
        .content_type(content_type)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| Error::request("PutObject", url.bucket(), &full, Failure::from_sdk(&e)))?;
    Ok(())
}

/// A presigned GET URL for `key` (relative to `url`'s prefix), valid for `expires` (whole
/// seconds, 1 s to 7 days); its `X-Amz-Expires` is `expires` in seconds. Nothing is sent: the
/// object is not checked to exist.
pub async fn presign_get(
    client: &Client,
    url: &S3Url,
    key: &str,
    expires: Duration,
) -> Result<String, Error> {
    let full = url.checked_key(key)?;
    if expires.as_secs() == 0 || expires.subsec_nanos() != 0 {
        return Err(Error::Config {
            reason: format!(
                "presigned URL lifetime must be a whole number of seconds, at least 1 (got {expires:?})"
            ),
        });
    }
    let config = PresigningConfig::expires_in(expires).map_err(|e| Error::Config {
        reason: format!("presigned URL lifetime {expires:?}: {e}"),
    })?;
    let presigned = client
        .get_object()
        .bucket(url.bucket())
        .key(&full)
        .presigned(config)
        .await
        .map_err(|e| {
            Error::request(
                "presign GetObject",
                url.bucket(),
                &full,
                Failure::from_sdk(&e),
            )
        })?;
    Ok(presigned.uri().to_owned())
}
