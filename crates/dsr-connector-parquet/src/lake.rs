//! [`Lake`]: find and erase over the files of a lake that match a glob — the API under the
//! connector and the `dsr lake` tools.

use crate::Error;
use crate::location::{LakeObject, LakeRoot, open_root};
use crate::matcher::{Matcher, RowTest};
use crate::replace::{self, Intent};
use crate::rewrite;
use crate::scan::{self, Limits, ScanOptions, Selection};
use dsr_core::value::Value;
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a lake is opened and worked.
#[derive(Debug, Clone)]
pub struct LakeOptions {
    /// Threads (row groups decoded at once, columns encoded at once).
    pub threads: usize,
    /// Memory budget for decoded column data in flight during a find, in bytes.
    pub memory_budget: usize,
    /// S3 endpoint, region and addressing for `s3://` lakes.
    pub s3: dsr_s3::S3Options,
}

impl Default for LakeOptions {
    fn default() -> Self {
        let scan = ScanOptions::default();
        LakeOptions {
            threads: scan.threads,
            memory_budget: scan.memory_budget,
            s3: dsr_s3::S3Options::default(),
        }
    }
}

/// A matching row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LakeRow {
    /// Object the row is in.
    pub object: String,
    /// Row index in the object.
    pub row: u64,
    /// The normalised identity it matched.
    pub matched: String,
    /// Selected column → value.
    pub values: BTreeMap<String, Value>,
}

/// A file that could not be read or rewritten; the others went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFailure {
    /// Object name.
    pub object: String,
    /// Error code ([`Error::code`]).
    pub code: String,
    /// Message (names the object and column, never values).
    pub message: String,
}

impl FileFailure {
    fn of(object: &str, e: &Error) -> FileFailure {
        FileFailure {
            object: e.object().unwrap_or(object).to_owned(),
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

/// What a find saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindSummary {
    /// Matching rows, by object then row.
    pub rows: Vec<LakeRow>,
    /// Files read.
    pub files_scanned: usize,
    /// Row groups decoded.
    pub row_groups_scanned: usize,
    /// Row groups skipped by statistics or bloom filters.
    pub row_groups_pruned: usize,
    /// Files that could not be read.
    pub failures: Vec<FileFailure>,
}

/// One file replaced (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Object name.
    pub object: String,
    /// SHA-256 of the old file.
    pub old_sha256: String,
    /// SHA-256 of the new file (`None` in a dry run).
    pub new_sha256: Option<String>,
    /// Rows in the old file.
    pub rows_before: u64,
    /// Rows removed.
    pub removed: u64,
    /// Rows removed per test target (owner).
    #[serde(skip)]
    pub removed_by_owner: BTreeMap<u32, u64>,
    /// Row groups copied unchanged.
    pub row_groups_copied: usize,
    /// Row groups re-encoded.
    pub row_groups_rewritten: usize,
}

/// What an erase did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EraseSummary {
    /// Files replaced.
    pub files: Vec<FileChange>,
    /// Files read.
    pub files_scanned: usize,
    /// Replacements an earlier, interrupted run had left and this one finished.
    pub recovered: Vec<String>,
    /// Files that could not be read or replaced (left as they were).
    pub failures: Vec<FileFailure>,
}

impl EraseSummary {
    /// Rows removed per test target, over all files.
    pub fn removed_by_owner(&self) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for f in &self.files {
            for (o, n) in &f.removed_by_owner {
                *out.entry(*o).or_insert(0) += n;
            }
        }
        out
    }
}

/// An opened lake.
#[derive(Debug, Clone)]
pub struct Lake {
    root: LakeRoot,
    opts: LakeOptions,
}

async fn blocking<T: Send + 'static>(
    object: &str,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io(object, "worker", e))?
}

impl Lake {
    /// Opens the lake at `url` (a directory or `s3://bucket/prefix`).
    pub async fn open(url: &str, opts: LakeOptions) -> Result<Lake, Error> {
        let root = open_root(url, &opts.s3).await?;
        Ok(Lake { root, opts })
    }

    /// Opens the `s3://` lake `url` with an SDK client already configured (tests, callers
    /// that share a client).
    pub fn open_s3(
        url: &str,
        opts: LakeOptions,
        client: aws_sdk_s3::Client,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Lake, Error> {
        let root = crate::location::open_s3(url, &opts.s3, client, sdk)?;
        Ok(Lake { root, opts })
    }

    /// The lake's root.
    pub fn root(&self) -> &LakeRoot {
        &self.root
    }

    fn scan_options(&self) -> ScanOptions {
        ScanOptions {
            threads: self.opts.threads.max(1),
            memory_budget: self.opts.memory_budget,
            ..ScanOptions::default()
        }
    }

    /// Data objects matching `glob`.
    pub async fn list(&self, glob: &str) -> Result<Vec<LakeObject>, Error> {
        self.root.list(glob).await
    }

    /// Finishes replacements an interrupted run left (see [`replace::recover`]).
    pub async fn recover(&self) -> Result<Vec<String>, Error> {
        replace::recover(&self.root).await
    }

    /// Rows of the files matching `glob` that `test` selects, with `selection`'s columns.
    /// Files that cannot be read are listed in [`FindSummary::failures`]; the others proceed.
    pub async fn scan(
        &self,
        glob: &str,
        test: Arc<dyn RowTest>,
        selection: Selection,
    ) -> Result<(Vec<scan::FileScan>, Vec<FileFailure>), Error> {
        self.recover().await?;
        let objects = self.list(glob).await?;
        let opts = self.scan_options();
        let limits = Arc::new(Limits::new(&opts));
        let selection = Arc::new(selection);
        let results: Vec<(String, Result<scan::FileScan, Error>)> =
            futures::stream::iter(objects.into_iter().map(|obj| {
                let (root, test, selection, limits) = (
                    self.root.clone(),
                    test.clone(),
                    selection.clone(),
                    limits.clone(),
                );
                async move {
                    let r = scan::scan_file(&root, &obj, test, selection, opts, limits).await;
                    (obj.name, r)
                }
            }))
            // Footers are I/O: open several files per core; decoding is bounded by `limits`.
            .buffered(opts.threads.max(1) * 8)
            .collect()
            .await;
        let mut scans = Vec::new();
        let mut failures = Vec::new();
        for (name, r) in results {
            match r {
                Ok(s) => scans.push(s),
                Err(e) => {
                    tracing::warn!(object = %name, code = e.code(), "lake file skipped");
                    failures.push(FileFailure::of(&name, &e));
                }
            }
        }
        Ok((scans, failures))
    }

    /// Rows whose identity column `matcher` matches, with `selection`'s columns.
    pub async fn find(
        &self,
        glob: &str,
        matcher: Arc<Matcher>,
        selection: Selection,
    ) -> Result<FindSummary, Error> {
        let (scans, failures) = self.scan(glob, matcher.clone(), selection).await?;
        let mut out = FindSummary {
            failures,
            ..FindSummary::default()
        };
        for s in scans {
            out.files_scanned += 1;
            out.row_groups_scanned += s.row_groups - s.pruned;
            out.row_groups_pruned += s.pruned;
            for h in s.hits {
                out.rows.push(LakeRow {
                    object: s.object.clone(),
                    row: h.row,
                    matched: matcher.value(h.target).to_owned(),
                    values: h.values,
                });
            }
        }
        Ok(out)
    }

    /// Removes the rows `test` selects from every file matching `glob` that holds any, file
    /// by file; with `dry_run` only says what would change.
    pub async fn erase(
        &self,
        glob: &str,
        test: Arc<dyn RowTest>,
        dry_run: bool,
    ) -> Result<EraseSummary, Error> {
        let recovered = if dry_run {
            Vec::new()
        } else {
            self.recover().await?
        };
        let objects = self.list(glob).await?;
        let mut out = EraseSummary {
            recovered,
            ..EraseSummary::default()
        };
        for obj in objects {
            out.files_scanned += 1;
            match self.erase_file(&obj, test.clone(), dry_run).await {
                Ok(Some(change)) => out.files.push(change),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(object = %obj.name, code = e.code(), "lake file not rewritten");
                    out.failures.push(FileFailure::of(&obj.name, &e));
                }
            }
        }
        Ok(out)
    }

    /// Rewrites one file without the rows `test` selects; `None` when it has none.
    async fn erase_file(
        &self,
        obj: &LakeObject,
        test: Arc<dyn RowTest>,
        dry_run: bool,
    ) -> Result<Option<FileChange>, Error> {
        let threads = self.opts.threads.max(1);
        // One rewriter per file at a time (processes on this machine sharing a local lake):
        // the lock is held from reading the file to replacing it, so no rewrite is lost.
        let _lock = replace::lock(&self.root, &obj.name).await?;
        let mut source = replace::fetch(&self.root, obj).await?;
        let (path, object) = (source.path.clone(), obj.name.clone());
        let plan = blocking(&obj.name, move || {
            let f = crate::LocalFile::open(&path).map_err(|e| Error::io(&object, "open", e))?;
            rewrite::plan(&f, &object, test.as_ref(), threads)
        })
        .await?;
        let Some(plan) = plan else {
            return Ok(None);
        };
        if source.sha256.is_empty() {
            let (path, object) = (source.path.clone(), obj.name.clone());
            source.sha256 = blocking(&obj.name, move || {
                replace::sha256_file(&path).map_err(|e| Error::io(&object, "read", e))
            })
            .await?;
        }
        let mut change = FileChange {
            object: obj.name.clone(),
            old_sha256: source.sha256.clone(),
            new_sha256: None,
            rows_before: plan.rows_before(),
            removed: plan.removed(),
            removed_by_owner: plan.removed_by_owner(),
            row_groups_copied: 0,
            row_groups_rewritten: plan.groups_rewritten(),
        };
        if dry_run {
            return Ok(Some(change));
        }
        let (staged, _guard) = replace::staging_path(&self.root, &obj.name)?;
        let (src, dst, object) = (source.path.clone(), staged.clone(), obj.name.clone());
        let written = blocking(&obj.name, move || {
            let s = crate::LocalFile::open(&src).map_err(|e| Error::io(&object, "open", e))?;
            let d = std::fs::File::create(&dst).map_err(|e| Error::io(&object, "stage", e))?;
            let w = rewrite::write(&s, &object, &plan, d, threads)?;
            let sha = replace::sha256_file(&dst).map_err(|e| Error::io(&object, "stage", e))?;
            Ok((w, sha))
        })
        .await;
        let (written, new_sha) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e);
            }
        };
        change.row_groups_copied = written.copied;
        change.row_groups_rewritten = written.rewritten;
        change.new_sha256 = Some(new_sha.clone());
        let intent = Intent {
            object: obj.name.clone(),
            old_sha256: source.sha256.clone(),
            new_sha256: new_sha,
            rows_before: change.rows_before,
            removed: change.removed,
            staged: Some(staged.clone()),
            old_e_tag: source.e_tag.clone(),
            old_version: source.version.clone(),
        };
        replace::commit(&self.root, &source, &staged, intent).await?;
        Ok(Some(change))
    }
}
