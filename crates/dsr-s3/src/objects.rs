//! Object operations for an objects connector (recordings, uploads, exports kept per subject):
//! listing objects under a prefix with their size and content type, and erasing one key
//! completely, every version and delete marker of it.
//!
//! Keys here are relative to the [`S3Url`]'s prefix, both ways: [`list_objects`] returns keys
//! that [`delete_all_versions`] accepts.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use chrono::{DateTime, Utc};

use crate::error::Failure;
use crate::sink::to_chrono;
use crate::{Error, S3Url};

/// Most keys in one `DeleteObjects` request.
const DELETE_BATCH: usize = 1000;

/// One object, as listed by [`list_objects`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key relative to the location's prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// `Content-Type`, if the object has one.
    pub content_type: Option<String>,
    /// When the current version was written.
    pub last_modified: Option<DateTime<Utc>>,
}

/// The current objects whose key (relative to `url`'s prefix) starts with `prefix`, sorted by
/// key. One `HeadObject` per object gives its content type; an object deleted between the
/// listing and its `HeadObject` is left out.
pub async fn list_objects(
    client: &Client,
    url: &S3Url,
    prefix: &str,
) -> Result<Vec<ObjectInfo>, Error> {
    let full_prefix = url.key(prefix);
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(url.bucket())
            .prefix(&full_prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| {
                Error::request(
                    "ListObjectsV2",
                    url.bucket(),
                    &full_prefix,
                    Failure::from_sdk(&e),
                )
            })?;
        for o in page.contents() {
            let Some(full) = o.key() else { continue };
            let Some(relative) = url.relative(full) else {
                continue;
            };
            found.push(ObjectInfo {
                key: relative.to_owned(),
                size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                content_type: None,
                last_modified: o.last_modified().and_then(to_chrono),
            });
        }
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for mut info in found {
        let full = url.key(&info.key);
        match client
            .head_object()
            .bucket(url.bucket())
            .key(&full)
            .send()
            .await
        {
            Ok(head) => {
                info.content_type = head.content_type().map(str::to_owned);
                out.push(info);
            }
            Err(e) => {
                let failure = Failure::from_sdk(&e);
                if !failure.is_not_found() {
                    return Err(Error::request("HeadObject", url.bucket(), &full, failure));
                }
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The version ids (versions and delete markers) of exactly `full_key`.
async fn version_ids(client: &Client, bucket: &str, full_key: &str) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let mut markers: (Option<String>, Option<String>) = (None, None);
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(full_key)
            .set_key_marker(markers.0.take())
            .set_version_id_marker(markers.1.take())
            .send()
            .await
            .map_err(|e| {
                Error::request(
                    "ListObjectVersions",
                    bucket,
                    full_key,
                    Failure::from_sdk(&e),
                )
            })?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let deleted = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        for (key, id) in versions.chain(deleted) {
            // The prefix also matches longer keys (`a.wav.bak` for `a.wav`): exact keys only.
            if key == Some(full_key) {
                // An unversioned bucket lists its objects with the version id `null`.
                ids.push(id.unwrap_or("null").to_owned());
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        // Keys come in order: once the listing has moved past `full_key`, all its versions
        // have been seen.
        match page.next_key_marker() {
            Some(next) if next == full_key => {
                markers = (
                    Some(next.to_owned()),
                    page.next_version_id_marker().map(str::to_owned),
                );
            }
            _ => break,
        }
    }
    Ok(ids)
}

/// Deletes every version and every delete marker of exactly `key` (relative to `url`'s
/// prefix), leaving keys that merely start with it alone; returns how many were deleted
/// (0 if the key never existed). A version the server refuses to delete (Object Lock) fails
/// the call with the server's code, after the others of its batch were deleted.
pub async fn delete_all_versions(client: &Client, url: &S3Url, key: &str) -> Result<u64, Error> {
    let full = url.checked_key(key)?;
    let ids = version_ids(client, url.bucket(), &full).await?;
    let mut deleted: u64 = 0;
    for batch in ids.chunks(DELETE_BATCH) {
        let objects = batch
            .iter()
            .map(|id| {
                ObjectIdentifier::builder()
                    .key(&full)
                    .version_id(id)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config {
                reason: format!("DeleteObjects request for {full}: {e}"),
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(false)
            .build()
            .map_err(|e| Error::Config {
                reason: format!("DeleteObjects request for {full}: {e}"),
            })?;
        let out = client
            .delete_objects()
            .bucket(url.bucket())
            .delete(delete)
            .send()
            .await
            .map_err(|e| {
                Error::request("DeleteObjects", url.bucket(), &full, Failure::from_sdk(&e))
            })?;
        deleted += u64::try_from(out.deleted().len()).unwrap_or(u64::MAX);
        if let Some(first) = out.errors().first() {
            return Err(Error::request(
                "DeleteObjects",
                url.bucket(),
                &full,
                Failure {
                    status: None,
                    code: first.code().map(str::to_owned),
                    detail: format!(
                        "{} of {} versions not deleted ({} deleted so far): {}",
                        out.errors().len(),
                        batch.len(),
                        deleted,
                        first.message().unwrap_or("no message")
                    ),
                },
            ));
        }
    }
    Ok(deleted)
}
