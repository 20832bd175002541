//! Crate-level tests: writing chains, fencing concurrent writers, verifying and tampering.
//!
//! `chain.rs` covers writing (append, reopen, fencing, seal, guard, retention); `verify.rs`
//! covers verification, signatures and tampering. Helpers live here: [`MemSink`], an
//! in-memory object store with versions and injectable failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chain;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};

use crate::*;

/// The batch's forbidden values in these tests.
fn guard() -> Guard {
    Guard::new(["ana@example.com", "123-45-6789"].map(String::from))
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
}

fn dir_sink(root: &Path) -> Arc<dyn EvidenceSink> {
    Arc::new(DirSink::new(root.to_path_buf()))
}

fn evidence(sink: &Arc<dyn EvidenceSink>, run: &str, lease: u64) -> Evidence {
    Evidence::new(sink.clone(), guard(), run, lease).unwrap()
}

/// An in-memory sink shaped like a versioned object store: write-once puts, recorded put
/// options, extra versions that tests can inject, and puts that can be made to fail.
#[derive(Default)]
struct MemSink {
    objects: Mutex<BTreeMap<String, (Vec<u8>, PutOptions)>>,
    /// Versions reported in addition to one current version per object.
    extra_versions: Mutex<Vec<ObjectVersion>>,
    /// A put of this name fails with an IO error (once).
    fail_put: Mutex<Option<String>>,
}

impl MemSink {
    fn fail_next_put_of(&self, name: &str) {
        *self.fail_put.lock().unwrap() = Some(name.to_owned());
    }

    fn options_of(&self, name: &str) -> PutOptions {
        self.objects.lock().unwrap()[name].1.clone()
    }

    fn names(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
}

#[async_trait::async_trait]
impl EvidenceSink for MemSink {
    async fn put_once(&self, name: &str, bytes: &[u8], opts: &PutOptions) -> Result<(), Error> {
        check_name(name)?;
        {
            let mut fail = self.fail_put.lock().unwrap();
            if fail.as_deref() == Some(name) {
                *fail = None;
                return Err(Error::Io {
                    op: "write",
                    name: name.to_owned(),
                    source: std::io::Error::other("injected failure"),
                });
            }
        }
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(name) {
            return Err(Error::Exists {
                name: name.to_owned(),
            });
        }
        objects.insert(name.to_owned(), (bytes.to_vec(), opts.clone()));
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>, Error> {
        check_name(name)?;
        self.objects
            .lock()
            .unwrap()
            .get(name)
            .map(|(b, _)| b.clone())
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
            })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, Error> {
        let mut out: Vec<ObjectVersion> = self
            .list(prefix)
            .await?
            .into_iter()
            .map(|name| ObjectVersion {
                name,
                version_id: Some("v1".into()),
                is_latest: true,
                delete_marker: false,
            })
            .collect();
        out.extend(
            self.extra_versions
                .lock()
                .unwrap()
                .iter()
                .filter(|v| v.name.starts_with(prefix))
                .cloned(),
        );
        Ok(out)
    }

    fn location(&self) -> String {
        "mem://test".into()
    }
}
