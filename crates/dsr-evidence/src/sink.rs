//! Where evidence is stored: the [`EvidenceSink`] trait and the directory sink [`DirSink`].
//!
//! A sink stores two kinds of objects under `/`-separated relative names:
//! append-only logs (one JSON line per entry) and write-once objects (manifests). Every write
//! is durable before the call returns, because evidence must be on disk before the deletion it
//! covers happens.
//!
//! The trait is small so that an object-store sink can be added without changing callers: an
//! S3 sink stores each appended line as its own write-once object (`If-None-Match: *`, named
//! after the log and the line's `seq`) and [`EvidenceSink::get`] of a log concatenates them.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// Storage of evidence: append-only logs and write-once objects.
///
/// Names are `/`-separated relative paths whose components are made of `A-Z a-z 0-9 . _ -` and
/// do not start with `.` (so no `..`, no absolute paths, no backslashes); see [`check_name`].
#[async_trait::async_trait]
pub trait EvidenceSink: Send + Sync {
    /// Appends one line (without its trailing newline, which the sink adds) to the log `log`,
    /// creating it if needed, and makes it durable before returning.
    async fn append(&self, log: &str, line: &[u8]) -> Result<(), Error>;

    /// Writes the object `name` once, durably; [`Error::Exists`] if it already exists.
    async fn put_once(&self, name: &str, bytes: &[u8]) -> Result<(), Error>;

    /// Names of every stored object (logs included), sorted.
    async fn list(&self) -> Result<Vec<String>, Error>;

    /// Contents of the object or log `name`; [`Error::NotFound`] if it does not exist.
    async fn get(&self, name: &str) -> Result<Vec<u8>, Error>;
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

/// Directory holding temporary files of [`DirSink::put_once`]; hidden from [`DirSink::list`].
const TMP_DIR: &str = ".tmp";

/// A sink writing under a local directory (created as needed).
///
/// Logs are appended with `O_APPEND` and fsynced; write-once objects are written to a temporary
/// file, fsynced, then hard-linked into place, which fails if the name exists, so an object is
/// never seen half-written. New directory entries are fsynced too (on Unix).
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

fn append_blocking(path: &Path, name: &str, buf: &[u8]) -> Result<(), Error> {
    let dir = parent_of(path);
    create_dirs(dir, name)?;
    let existed = path.exists();
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Error::io("open", name, e))?;
    f.write_all(buf)
        .map_err(|e| Error::io("append to", name, e))?;
    f.sync_all().map_err(|e| Error::io("sync", name, e))?;
    if !existed {
        sync_dir(dir, name)?;
    }
    Ok(())
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn put_once_blocking(root: &Path, path: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
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

fn list_blocking(root: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let shown = if prefix.is_empty() { "." } else { &prefix };
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("list", shown, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", shown, e))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(Error::InvalidName {
                    name: format!("{prefix}{}", file_name.to_string_lossy()),
                    reason: "not UTF-8",
                });
            };
            if prefix.is_empty() && file_name == TMP_DIR {
                continue;
            }
            let name = format!("{prefix}{file_name}");
            let kind = entry.file_type().map_err(|e| Error::io("list", &name, e))?;
            if kind.is_dir() {
                stack.push((entry.path(), format!("{name}/")));
            } else {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[async_trait::async_trait]
impl EvidenceSink for DirSink {
    async fn append(&self, log: &str, line: &[u8]) -> Result<(), Error> {
        let path = self.path_of(log)?;
        if line.contains(&b'\n') {
            return Err(Error::InvalidLine {
                log: log.to_owned(),
            });
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        let name = log.to_owned();
        blocking(log, move || append_blocking(&path, &name, &buf)).await
    }

    async fn put_once(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.path_of(name)?;
        let root = self.root.clone();
        let owned = name.to_owned();
        let bytes = bytes.to_vec();
        blocking(name, move || {
            put_once_blocking(&root, &path, &owned, &bytes)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<String>, Error> {
        let root = self.root.clone();
        blocking(".", move || list_blocking(&root)).await
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in [
            "", "/abs", "a/../b", "..", "a\\b", "a//b", "a/", ".hidden", "a/.x", "sp ace",
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        for good in [
            "runs/r1/log.jsonl",
            "requests/req-1/r.1.manifest.json",
            "a..b",
        ] {
            check_name(good).unwrap();
        }
    }

    #[tokio::test]
    async fn dir_sink_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path().join("bundle"));
        assert!(sink.list().await.unwrap().is_empty());
        sink.append("runs/r1/log.jsonl", b"one").await.unwrap();
        sink.append("runs/r1/log.jsonl", b"two").await.unwrap();
        sink.put_once("requests/q/r1.manifest.json", b"{}")
            .await
            .unwrap();
        let again = sink.put_once("requests/q/r1.manifest.json", b"x").await;
        assert!(matches!(again, Err(Error::Exists { .. })));
        assert_eq!(
            sink.get("runs/r1/log.jsonl").await.unwrap(),
            b"one\ntwo\n".to_vec()
        );
        assert_eq!(
            sink.get("requests/q/r1.manifest.json").await.unwrap(),
            b"{}".to_vec()
        );
        assert!(matches!(
            sink.get("runs/none/log.jsonl").await,
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            sink.list().await.unwrap(),
            vec!["requests/q/r1.manifest.json", "runs/r1/log.jsonl"]
        );
        assert!(matches!(
            sink.append("runs/r1/log.jsonl", b"a\nb").await,
            Err(Error::InvalidLine { .. })
        ));
        assert!(matches!(
            sink.put_once("../escape", b"x").await,
            Err(Error::InvalidName { .. })
        ));
    }
}
