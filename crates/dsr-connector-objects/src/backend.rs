//! Where objects live: the [`ObjectBackend`] trait and the local-directory backend
//! [`DirBackend`].

use dsr_core::StoreError;
use std::path::{Component, Path, PathBuf};

/// One stored object, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Key, relative to the store's root (`/`-separated).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Content type, when known.
    pub content_type: Option<String>,
}

/// Storage of whole objects.
///
/// Contract: `list(prefix)` returns every object whose key starts with `prefix`, sorted by
/// key; `delete(key)` removes exactly that key (every version where versions are kept, and
/// never a key that merely shares the prefix) and says how many versions it removed (0 when
/// absent); `exists(key)` tells whether a current version exists. Errors carry the store and a
/// code, never object contents.
#[async_trait::async_trait]
pub trait ObjectBackend: Send + Sync {
    /// Objects whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    /// Deletes every version of `key`; how many were removed.
    async fn delete(&self, key: &str) -> Result<u64, StoreError>;
    /// Whether `key` exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
}

/// The content type of a key, from its extension.
pub fn content_type_of(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("m4a") => "audio/mp4",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Objects as files under a root directory; a key is a relative path.
#[derive(Debug, Clone)]
pub struct DirBackend {
    store: String,
    root: PathBuf,
}

impl DirBackend {
    /// The backend of store `store` rooted at `root`, which must be an existing directory.
    pub fn open(store: &str, root: &Path) -> Result<DirBackend, StoreError> {
        if !root.is_dir() {
            return Err(err(
                store,
                "connect",
                "the objects directory does not exist",
            ));
        }
        Ok(DirBackend {
            store: store.to_string(),
            root: root.to_path_buf(),
        })
    }

    /// The file of a key, refusing keys that leave the root.
    fn path(&self, key: &str) -> Option<PathBuf> {
        let rel = Path::new(key);
        let safe = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        safe.then(|| self.root.join(rel))
    }
}

fn err(store: &str, code: &str, message: &str) -> StoreError {
    StoreError {
        store: store.to_string(),
        table: None,
        code: code.to_string(),
        message: message.to_string(),
    }
}

fn io(store: &str, op: &str, e: &std::io::Error) -> StoreError {
    err(store, "io", &format!("{op}: {}", e.kind()))
}

/// Every file under `dir`, as keys relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let ft = e.file_type()?;
        let p = e.path();
        if ft.is_dir() {
            walk(root, &p, out)?;
        } else if ft.is_file()
            && let Ok(rel) = p.strip_prefix(root)
            && let Some(key) = rel.to_str()
        {
            out.push((key.replace('\\', "/"), e.metadata()?.len()));
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ObjectBackend for DirBackend {
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // Walk the deepest directory the prefix names, then keep the keys it starts.
        let dir_part = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let dir = if dir_part.is_empty() {
            self.root.clone()
        } else {
            match self.path(dir_part) {
                Some(d) => d,
                None => return Ok(Vec::new()),
            }
        };
        let mut found = Vec::new();
        walk(&self.root, &dir, &mut found).map_err(|e| io(&self.store, "list", &e))?;
        let mut out: Vec<ObjectMeta> = found
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(key, size)| ObjectMeta {
                content_type: Some(content_type_of(&key).to_string()),
                key,
                size,
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<u64, StoreError> {
        let Some(p) = self.path(key) else {
            return Ok(0);
        };
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(1),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io(&self.store, "delete", &e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path(key).is_some_and(|p| p.is_file()))
    }
}
