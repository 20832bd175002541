//! Replacing a lake file by its rewritten copy so that no reader ever sees both, and
//! finishing the job after a crash.
//!
//! The protocol, per file:
//! 1. The source is read from a local path: the file itself on disk, a spooled download on
//!    S3 (whose ETag and version id are kept).
//! 2. The new file is written to a staging path outside every data glob: `_dsr/staging/…`
//!    inside a local lake (same file system, so the rename is atomic) or a local temporary
//!    file for S3; its row count is checked by the writer.
//! 3. An [`Intent`] is journalled at `_dsr/journal/<sha256 of the name>.json`: object, old and
//!    new SHA-256, removed rows, and for S3 the old ETag and version.
//! 4. The file is replaced: `rename(2)` over it on disk (after checking size and mtime are
//!    unchanged); on S3 a `PutObject` with `If-Match: <old ETag>` (a changed object is
//!    refused, [`Error::Changed`]) followed by the deletion of every other version of the key,
//!    so the removed rows survive in no noncurrent version.
//! 5. The journal entry is removed.
//!
//! [`recover`] runs before every find and erase: for each journal entry it either completes the
//! replacement (on disk: the staged file is complete and the old file unchanged → rename; on S3:
//! the new object is current → delete the other versions) or drops the entry when the old
//! file is still current and nothing is staged, so the next erase redoes the work.

use crate::location::{LakeLocation, LakeObject, LakeRoot};
use crate::{Error, RESERVED_PREFIX};
use aws_sdk_s3::primitives::ByteStream;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A journalled replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Object name relative to the lake.
    pub object: String,
    /// SHA-256 of the old file (hex).
    pub old_sha256: String,
    /// SHA-256 of the new file (hex).
    pub new_sha256: String,
    /// Rows in the old file.
    pub rows_before: u64,
    /// Rows removed.
    pub removed: u64,
    /// Disk: the staged file.
    #[serde(default)]
    pub staged: Option<PathBuf>,
    /// S3: the old object's ETag.
    #[serde(default)]
    pub old_e_tag: Option<String>,
    /// S3: the old object's version id.
    #[serde(default)]
    pub old_version: Option<String>,
}

/// A file available locally for reading.
#[derive(Debug)]
pub struct Source {
    /// Local path.
    pub path: PathBuf,
    /// SHA-256 of its bytes (hex); on disk computed only once the file is to be rewritten
    /// (empty until then).
    pub sha256: String,
    /// S3: ETag of the version read.
    pub e_tag: Option<String>,
    /// S3: version id read (when the bucket is versioned).
    pub version: Option<String>,
    /// Disk: (size, mtime) when read, to detect a change before the rename.
    stamp: Option<(u64, std::time::SystemTime)>,
    /// S3: the spooled download, removed on drop.
    _spool: Option<tempfile::TempPath>,
}

/// SHA-256 of a local file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn stamp(path: &Path) -> std::io::Result<(u64, std::time::SystemTime)> {
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified()?))
}

async fn blocking<T: Send + 'static>(
    object: &str,
    op: &'static str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io(object, op, e))?
        .map_err(|e| Error::io(object, op, e))
}

/// An exclusive lock on one object of a local lake (`_dsr/locks/<hash>.lock`, released on
/// drop); S3 lakes need none (the overwrite is conditional on the ETag read).
pub async fn lock(root: &LakeRoot, object: &str) -> Result<Option<std::fs::File>, Error> {
    let LakeLocation::Dir(dir) = &root.location else {
        return Ok(None);
    };
    let locks = dir.join(RESERVED_PREFIX).join("locks");
    let path = locks.join(format!("{}.lock", name_hash(object)));
    blocking(object, "lock", move || {
        std::fs::create_dir_all(&locks)?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        f.lock()?;
        Ok(Some(f))
    })
    .await
}

/// Makes `obj` readable from a local path (downloading it from S3 into a spool file).
pub async fn fetch(root: &LakeRoot, obj: &LakeObject) -> Result<Source, Error> {
    match &root.location {
        LakeLocation::Dir(dir) => {
            let path = dir.join(&obj.name);
            let p = path.clone();
            let st = blocking(&obj.name, "stat", move || stamp(&p)).await?;
            Ok(Source {
                path,
                sha256: String::new(),
                e_tag: None,
                version: None,
                stamp: Some(st),
                _spool: None,
            })
        }
        LakeLocation::S3 { url, client } => {
            let key = url.key(&obj.name);
            let resp = client
                .get_object()
                .bucket(url.bucket())
                .key(&key)
                .send()
                .await
                .map_err(|e| {
                    Error::io(
                        &obj.name,
                        "get",
                        dsr_s3::Error::from_sdk("GetObject", url.bucket(), &key, &e),
                    )
                })?;
            let e_tag = resp.e_tag().map(str::to_owned);
            let version = resp.version_id().map(str::to_owned);
            let spool =
                tempfile::NamedTempFile::new().map_err(|e| Error::io(&obj.name, "spool", e))?;
            let (file, path) = spool.into_parts();
            let mut file = tokio::fs::File::from_std(file);
            let mut body = resp.body;
            let mut h = Sha256::new();
            while let Some(chunk) = body
                .try_next()
                .await
                .map_err(|e| Error::io(&obj.name, "download", e))?
            {
                h.update(&chunk);
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                    .await
                    .map_err(|e| Error::io(&obj.name, "spool", e))?;
            }
            tokio::io::AsyncWriteExt::flush(&mut file)
                .await
                .map_err(|e| Error::io(&obj.name, "spool", e))?;
            Ok(Source {
                path: path.to_path_buf(),
                sha256: hex::encode(h.finalize()),
                e_tag,
                version,
                stamp: None,
                _spool: Some(path),
            })
        }
    }
}

/// A local path to write the new file of `object` to, outside every data glob.
pub fn staging_path(
    root: &LakeRoot,
    object: &str,
) -> Result<(PathBuf, Option<tempfile::TempPath>), Error> {
    match &root.location {
        LakeLocation::Dir(dir) => {
            let staging = dir.join(RESERVED_PREFIX).join("staging");
            std::fs::create_dir_all(&staging).map_err(|e| Error::io(object, "stage", e))?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let name = format!(
                "{}.{}.{nanos}.dsr-tmp",
                name_hash(object),
                std::process::id()
            );
            Ok((staging.join(name), None))
        }
        LakeLocation::S3 { .. } => {
            let t = tempfile::NamedTempFile::new().map_err(|e| Error::io(object, "stage", e))?;
            let path = t.into_temp_path();
            Ok((path.to_path_buf(), Some(path)))
        }
    }
}

fn name_hash(object: &str) -> String {
    hex::encode(Sha256::digest(object.as_bytes()))
}

fn journal_name(object: &str) -> String {
    format!("{RESERVED_PREFIX}journal/{}.json", name_hash(object))
}

async fn journal_put(root: &LakeRoot, intent: &Intent) -> Result<(), Error> {
    let bytes =
        serde_json::to_vec_pretty(intent).map_err(|e| Error::io(&intent.object, "journal", e))?;
    root.store
        .put(
            &root.path(&journal_name(&intent.object)),
            PutPayload::from(bytes),
        )
        .await
        .map_err(|e| Error::io(&intent.object, "journal", e))?;
    Ok(())
}

async fn journal_remove(root: &LakeRoot, object: &str) -> Result<(), Error> {
    match root.store.delete(&root.path(&journal_name(object))).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(Error::io(object, "journal remove", e)),
    }
}

/// Replaces `source`'s object by the checked file at `staged`, per the protocol above.
pub async fn commit(
    root: &LakeRoot,
    source: &Source,
    staged: &Path,
    intent: Intent,
) -> Result<(), Error> {
    let object = intent.object.clone();
    journal_put(root, &intent).await?;
    match &root.location {
        LakeLocation::Dir(dir) => {
            let target = dir.join(&object);
            let (staged, expect) = (staged.to_path_buf(), source.stamp);
            let t = target.clone();
            let unchanged =
                blocking(&object, "stat", move || Ok(Some(stamp(&target)?) == expect)).await?;
            if !unchanged {
                let _ = std::fs::remove_file(&staged);
                journal_remove(root, &object).await?;
                return Err(Error::Changed { object });
            }
            failpoint("lake_before_rename");
            blocking(&object, "rename", move || {
                std::fs::rename(&staged, &t)?;
                if let Some(parent) = t.parent() {
                    std::fs::File::open(parent)?.sync_all()?;
                }
                Ok(())
            })
            .await?;
            failpoint("lake_after_rename");
        }
        LakeLocation::S3 { url, client } => {
            let key = url.key(&object);
            let body = ByteStream::from_path(staged)
                .await
                .map_err(|e| Error::io(&object, "upload", e))?;
            let mut put = client
                .put_object()
                .bucket(url.bucket())
                .key(&key)
                .body(body)
                .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);
            if let Some(tag) = &source.e_tag {
                put = put.if_match(tag);
            }
            let out = match put.send().await {
                Ok(o) => o,
                Err(e) => {
                    let e = dsr_s3::Error::from_sdk("PutObject", url.bucket(), &key, &e);
                    journal_remove(root, &object).await?;
                    return Err(if e.status() == Some(412) {
                        Error::Changed { object }
                    } else {
                        Error::io(&object, "conditional overwrite", e)
                    });
                }
            };
            failpoint("lake_after_put");
            purge_other_versions(client, url.bucket(), &key, out.version_id(), &object).await?;
        }
    }
    journal_remove(root, &object).await
}

/// Deletes every version and delete marker of exactly `key` except `keep`.
async fn purge_other_versions(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    keep: Option<&str>,
    object: &str,
) -> Result<u64, Error> {
    let Some(keep) = keep else {
        // An unversioned bucket keeps no old version.
        return Ok(0);
    };
    let mut deleted = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| {
                Error::io(
                    object,
                    "list versions",
                    dsr_s3::Error::from_sdk("ListObjectVersions", bucket, key, &e),
                )
            })?;
        let mut doomed: Vec<String> = Vec::new();
        for v in page.versions() {
            if v.key() == Some(key) && v.version_id() != Some(keep) {
                doomed.extend(v.version_id().map(str::to_owned));
            }
        }
        for m in page.delete_markers() {
            if m.key() == Some(key) && m.version_id() != Some(keep) {
                doomed.extend(m.version_id().map(str::to_owned));
            }
        }
        for version in doomed {
            client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .version_id(&version)
                .send()
                .await
                .map_err(|e| {
                    Error::io(
                        object,
                        "delete old version",
                        dsr_s3::Error::from_sdk("DeleteObject", bucket, key, &e),
                    )
                })?;
            deleted += 1;
        }
        if page.is_truncated() != Some(true) {
            return Ok(deleted);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

/// Finishes or drops every journalled replacement; returns the objects it completed.
pub async fn recover(root: &LakeRoot) -> Result<Vec<String>, Error> {
    let prefix = root.path(&format!("{RESERVED_PREFIX}journal"));
    let entries: Vec<object_store::ObjectMeta> = root
        .store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| Error::io(&root.url, "list journal", e))?;
    let mut completed = Vec::new();
    for e in entries {
        let bytes = root
            .store
            .get(&e.location)
            .await
            .map_err(|err| Error::io(e.location.as_ref(), "read journal", err))?
            .bytes()
            .await
            .map_err(|err| Error::io(e.location.as_ref(), "read journal", err))?;
        let Ok(intent) = serde_json::from_slice::<Intent>(&bytes) else {
            // A torn journal write: the replacement never started.
            root.store
                .delete(&e.location)
                .await
                .map_err(|err| Error::io(e.location.as_ref(), "journal remove", err))?;
            continue;
        };
        if finish(root, &intent).await? {
            completed.push(intent.object.clone());
        }
        journal_remove(root, &intent.object).await?;
    }
    if let LakeLocation::Dir(dir) = &root.location {
        // Staged files without a journal entry are leftovers of an interrupted rewrite.
        let staging = dir.join(RESERVED_PREFIX).join("staging");
        if let Ok(rd) = std::fs::read_dir(&staging) {
            for entry in rd.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(completed)
}

/// Completes one journalled replacement if it can; true when the new file is now current.
async fn finish(root: &LakeRoot, intent: &Intent) -> Result<bool, Error> {
    let object = intent.object.clone();
    match &root.location {
        LakeLocation::Dir(dir) => {
            let target = dir.join(&object);
            let staged = intent.staged.clone();
            let (old, new) = (intent.old_sha256.clone(), intent.new_sha256.clone());
            blocking(&object, "recover", move || {
                let current = sha256_file(&target)?;
                if current == new {
                    return Ok(true);
                }
                if let Some(staged) = staged
                    && current == old
                    && staged.exists()
                    && sha256_file(&staged)? == new
                {
                    std::fs::rename(&staged, &target)?;
                    return Ok(true);
                }
                Ok(false)
            })
            .await
        }
        LakeLocation::S3 { url, client } => {
            let key = url.key(&object);
            let head = client
                .head_object()
                .bucket(url.bucket())
                .key(&key)
                .send()
                .await
                .map_err(|e| {
                    Error::io(
                        &object,
                        "head",
                        dsr_s3::Error::from_sdk("HeadObject", url.bucket(), &key, &e),
                    )
                })?;
            if head.e_tag() == intent.old_e_tag.as_deref() {
                return Ok(false);
            }
            purge_other_versions(client, url.bucket(), &key, head.version_id(), &object).await?;
            Ok(true)
        }
    }
}

/// Crash tests: exits the process with code 86 when `DSR_FAILPOINT` names this point.
fn failpoint(name: &str) {
    if std::env::var("DSR_FAILPOINT").is_ok_and(|v| v == name) {
        tracing::warn!(point = name, "failpoint: exiting");
        std::process::exit(86);
    }
}
