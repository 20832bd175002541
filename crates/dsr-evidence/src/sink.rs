//! Where evidence is stored: the [`EvidenceSink`] trait and the directory sink [`DirSink`].
//!
//! A sink stores write-once objects under `/`-separated relative names. There is no append and
//! no overwrite: every object is written once, durably, and a second write of the same name
//! fails with [`Error::Exists`]. That is what an object store offers (`PUT` with
//! `If-None-Match: *`, S3 Object Lock for retention), and it is what fences concurrent
//! writers: whoever writes a name first wins.
//!
//! [`EvidenceSink::versions`] exposes the store's version history so that verification can
//! prove nothing was overwritten or deleted behind the sink's back (a versioned bucket keeps
//! every version and every delete marker).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::Error;

/// Storage of evidence: write-once objects.
///
/// Names are `/`-separated relative paths whose components are made of `A-Z a-z 0-9 . _ -` and
/// do not start with `.` (so no `..`, no absolute paths, no backslashes); see [`check_name`].
#[async_trait::async_trait]
pub trait EvidenceSink: Send + Sync {
    /// Writes `name` once, durably, never overwriting: [`Error::Exists`] if it exists.
    /// `opts.retain_until`: Object Lock retention (COMPLIANCE) where the backend supports it;
    /// [`DirSink`] makes the file read-only instead.
    async fn put_once(&self, name: &str, bytes: &[u8], opts: &PutOptions) -> Result<(), Error>;

    /// Contents; [`Error::NotFound`] if absent.
    async fn get(&self, name: &str) -> Result<Vec<u8>, Error>;

    /// Names of the objects whose name starts with `prefix` (`""` = all), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error>;

    /// Every stored version (delete markers included) of the objects under `prefix`, for
    /// verification. [`DirSink`]: one current version per file.
    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, Error>;

    /// Human-readable location (a directory path or `s3://bucket/prefix`), for messages.
    fn location(&self) -> String;
}

/// Options of [`EvidenceSink::put_once`].
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Keep the object undeletable until then (S3 Object Lock, COMPLIANCE mode), where the
    /// backend supports it.
    pub retain_until: Option<DateTime<Utc>>,
}

/// One stored version of an object, as reported by [`EvidenceSink::versions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// Object name.
    pub name: String,
    /// The backend's version id (`None` where the backend has no versions).
    pub version_id: Option<String>,
    /// Whether this is the current version.
    pub is_latest: bool,
    /// Whether this version is a delete marker.
    pub delete_marker: bool,
}

/// Checks that `name` is a safe relative object name: non-empty `/`-separated components of
/// `A-Z a-z 0-9 . _ -`, none empty or starting with `.` (which refuses `.` and `..`).
pub fn check_name(name: &str) -> Result<(), Error> {
    let refuse = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("empty");
    }
    if name.contains('\\') {
        return refuse("contains a backslash");
    }
    if name.starts_with('/') {
        return refuse("absolute path");
    }
    for comp in name.split('/') {
        if comp == ".." {
            return refuse("contains `..`");
        }
        if comp.is_empty() {
            return refuse("empty path component");
        }
        if comp.starts_with('.') {
            return refuse("path component starts with `.`");
        }
        if !comp
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return refuse("characters other than A-Z a-z 0-9 . _ - /");
        }
    }
    Ok(())
}

/// Directory holding temporary files of [`DirSink::put_once`]; hidden from listings.
const TMP_DIR: &str = ".tmp";

/// A sink writing under a local directory (created as needed).
///
/// An object is written to a temporary file, fsynced, then hard-linked into place. Linking
/// fails if the name exists, atomically, so of two writers racing on one name (threads or
/// processes) exactly one wins and the other gets [`Error::Exists`]; an object is never seen
/// half-written. New directory entries are fsynced too (on Unix). With
/// [`PutOptions::retain_until`] the file is made read-only (a reminder, not a lock).
#[derive(Debug, Clone)]
pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    /// A sink rooted at `root`; nothing is created until the first write.
    pub fn new(root: PathBuf) -> Self {
        DirSink { root }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, Error> {
        check_name(name)?;
        Ok(name.split('/').fold(self.root.clone(), |p, c| p.join(c)))
    }
}

/// Runs blocking filesystem work off the async executor.
async fn blocking<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("run blocking task for", name, std::io::Error::other(e)))?
}

/// Creates `dir` and its parents, fsyncing each directory that gained an entry.
fn create_dirs(dir: &Path, name: &str) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, name)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(Error::io("create directory for", name, e)),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent, name)?;
    }
    Ok(())
}

/// Makes a directory's entries durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path, name: &str) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let d = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("sync directory of", name, e))?;
    }
    #[cfg(not(unix))]
    let _ = (dir, name);
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn put_once_blocking(
    root: &Path,
    path: &Path,
    name: &str,
    bytes: &[u8],
    read_only: bool,
) -> Result<(), Error> {
    let dir = parent_of(path);
    create_dirs(dir, name)?;
    let tmp_dir = root.join(TMP_DIR);
    create_dirs(&tmp_dir, name)?;
    let tmp = tmp_dir.join(format!(
        "{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io("create temporary file for", name, e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io("write", name, e))?;
        f.sync_all().map_err(|e| Error::io("sync", name, e))?;
        if read_only {
            let mut perms = f
                .metadata()
                .map_err(|e| Error::io("read permissions of", name, e))?
                .permissions();
            perms.set_readonly(true);
            f.set_permissions(perms)
                .map_err(|e| Error::io("make read-only", name, e))?;
        }
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::Exists {
                    name: name.to_owned(),
                });
            }
            Err(e) => return Err(Error::io("link", name, e)),
        }
        sync_dir(dir, name)
    })();
    // The temporary file is only a staging copy; failing to remove it loses nothing.
    let _ = fs::remove_file(&tmp);
    result
}

/// Names under `root` starting with `prefix`, sorted. Only the directory named by the part
/// of `prefix` up to its last `/` is walked.
fn list_blocking(root: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let (start_dir, start_prefix) = match prefix.rfind('/') {
        Some(i) => {
            let dir = &prefix[..i];
            check_name(dir)?;
            (
                dir.split('/').fold(root.to_path_buf(), |p, c| p.join(c)),
                format!("{dir}/"),
            )
        }
        None => (root.to_path_buf(), String::new()),
    };
    if !start_dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![(start_dir, start_prefix)];
    while let Some((dir, dir_prefix)) = stack.pop() {
        let shown = if dir_prefix.is_empty() {
            "."
        } else {
            &dir_prefix
        };
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("list", shown, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", shown, e))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(Error::InvalidName {
                    name: format!("{dir_prefix}{}", file_name.to_string_lossy()),
                    reason: "not UTF-8",
                });
            };
            if dir_prefix.is_empty() && file_name == TMP_DIR {
                continue;
            }
            let name = format!("{dir_prefix}{file_name}");
            let kind = entry.file_type().map_err(|e| Error::io("list", &name, e))?;
            if kind.is_dir() {
                // Only descend where names below can still start with `prefix`.
                let below = format!("{name}/");
                if below.starts_with(prefix) || prefix.starts_with(&below) {
                    stack.push((entry.path(), below));
                }
            } else if name.starts_with(prefix) {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[async_trait::async_trait]
impl EvidenceSink for DirSink {
    async fn put_once(&self, name: &str, bytes: &[u8], opts: &PutOptions) -> Result<(), Error> {
        let path = self.path_of(name)?;
        let root = self.root.clone();
        let owned = name.to_owned();
        let bytes = bytes.to_vec();
        let read_only = opts.retain_until.is_some();
        blocking(name, move || {
            put_once_blocking(&root, &path, &owned, &bytes, read_only)
        })
        .await
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>, Error> {
        let path = self.path_of(name)?;
        let owned = name.to_owned();
        blocking(name, move || match fs::read(&path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::NotFound { name: owned }),
            Err(e) => Err(Error::io("read", owned, e)),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let root = self.root.clone();
        let owned = prefix.to_owned();
        let shown = if prefix.is_empty() { "." } else { prefix };
        blocking(shown, move || list_blocking(&root, &owned)).await
    }

    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, Error> {
        Ok(self
            .list(prefix)
            .await?
            .into_iter()
            .map(|name| ObjectVersion {
                name,
                version_id: None,
                is_latest: true,
                delete_marker: false,
            })
            .collect())
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in [
            "", "/abs", "a/../b", "..", "a\\b", "a//b", "a/", ".hidden", "a/.x", "sp ace", "é",
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        for good in [
            "requests/req-1/000001.json",
            "requests/req-1/manifest-000002.json",
            "runs/r.1.json",
            "a..b",
        ] {
            check_name(good).unwrap();
        }
    }

    #[tokio::test]
    async fn dir_sink_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path().join("bundle"));
        crate::conformance::run(&sink).await;
        assert_eq!(
            sink.location(),
            dir.path().join("bundle").display().to_string()
        );
    }

    #[tokio::test]
    async fn dir_sink_versions_are_one_current_version_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path().to_path_buf());
        let opts = PutOptions::default();
        sink.put_once("runs/a.json", b"1", &opts).await.unwrap();
        sink.put_once("requests/x/000001.json", b"2", &opts)
            .await
            .unwrap();
        let v = |name: &str| ObjectVersion {
            name: name.to_owned(),
            version_id: None,
            is_latest: true,
            delete_marker: false,
        };
        assert_eq!(
            sink.versions("").await.unwrap(),
            vec![v("requests/x/000001.json"), v("runs/a.json")]
        );
        assert_eq!(
            sink.versions("runs/").await.unwrap(),
            vec![v("runs/a.json")]
        );
    }

    #[tokio::test]
    async fn retention_makes_the_file_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path().to_path_buf());
        let keep = PutOptions {
            retain_until: Some(Utc::now()),
        };
        sink.put_once("runs/kept.json", b"1", &keep).await.unwrap();
        sink.put_once("runs/plain.json", b"1", &PutOptions::default())
            .await
            .unwrap();
        let ro = |n: &str| {
            fs::metadata(dir.path().join("runs").join(n))
                .unwrap()
                .permissions()
                .readonly()
        };
        assert!(ro("kept.json"));
        assert!(!ro("plain.json"));
    }

    /// Eight writers race on one name, from eight threads with their own runtimes: exactly one
    /// wins, the others get `Exists`, and the object holds the winner's bytes.
    #[test]
    fn concurrent_put_once_has_exactly_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..5 {
            let name = format!("requests/race/{round:06}.json");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let sink = DirSink::new(dir.path().to_path_buf());
                    let barrier = barrier.clone();
                    let name = name.clone();
                    std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        barrier.wait();
                        let r = rt.block_on(sink.put_once(&name, &[i; 64], &PutOptions::default()));
                        (i, r)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let winners: Vec<u8> = results
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(i, _)| *i)
                .collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            assert!(
                results
                    .iter()
                    .all(|(_, r)| r.is_ok() || matches!(r, Err(Error::Exists { .. })))
            );
            let stored = std::fs::read(dir.path().join(&name)).unwrap();
            assert_eq!(stored, vec![winners[0]; 64]);
        }
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(),
            0
        );
    }
}
