//! Verification of an evidence bundle: [`verify`] and [`verify_dir`].
//!
//! For every `runs/<run>/log.jsonl`: each line parses as an entry, its hash recomputes, its
//! `prev` is the previous line's hash (the genesis hash for line 1), `seq` runs 1, 2, 3… and
//! `run` names the directory. Each `manifest` entry's object exists, is the manifest of that
//! run and request, and has the SHA-256 the entry records; every
//! `requests/<id>/<run>.manifest.json` is referenced by exactly one entry. Any other file under
//! `runs/` or `requests/` is an error. The first problem found is reported, naming the file,
//! the line (1-based) for logs, and what is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::log::{Entry, MANIFEST_KIND, genesis, manifest_name, sha256_hex, split_line};
use crate::{DirSink, EvidenceSink};

/// The first problem found in an evidence bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Object name inside the bundle (e.g. `runs/r1/log.jsonl`).
    pub file: String,
    /// 1-based line in a log, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong (never contains a value from the bundle's entries).
    pub reason: String,
}

impl VerifyError {
    fn new(file: &str, line: Option<usize>, reason: impl Into<String>) -> Self {
        VerifyError {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for VerifyError {}

/// What a successful verification covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// Run logs verified.
    pub runs: usize,
    /// Log entries verified, over all runs.
    pub entries: usize,
    /// Manifests verified.
    pub manifests: usize,
    /// Manifests per request id.
    pub requests: BTreeMap<String, usize>,
}

/// Describes a JSON parse failure without quoting the input.
fn parse_failure(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io | Category::Syntax | Category::Eof => "is not valid JSON",
        Category::Data => "is not an entry (missing, unknown, duplicate or mistyped field)",
    };
    format!("{what} (column {})", e.column())
}

/// Checks one run's log bytes (chain, hashes, sequence, run) and returns its entries.
pub(crate) fn check_log(file: &str, run: &str, bytes: &[u8]) -> Result<Vec<Entry>, VerifyError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut rest = bytes;
    let mut n = 0usize;
    while !rest.is_empty() {
        n += 1;
        let err = |reason: String| VerifyError::new(file, Some(n), reason);
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(err("incomplete line (no trailing newline)".into()));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        let Some((unsigned, stored_hash)) = split_line(line) else {
            return Err(err("does not end with the \"hash\" field".into()));
        };
        if sha256_hex(&unsigned) != stored_hash {
            return Err(err("hash mismatch".into()));
        }
        let entry: Entry = serde_json::from_slice(line).map_err(|e| err(parse_failure(&e)))?;
        if entry.run != run {
            return Err(err(format!("run does not match the directory {run}")));
        }
        match entries.last() {
            None if entry.prev != genesis(run) => {
                return Err(err(
                    "prev is not the genesis hash of the run (missing first line?)".into(),
                ));
            }
            Some(last) if entry.prev != last.hash => {
                return Err(err(format!(
                    "prev does not match line {} (dropped or reordered line)",
                    n - 1
                )));
            }
            _ => {}
        }
        if entry.seq != n as u64 {
            return Err(err(format!("seq is {}, expected {n}", entry.seq)));
        }
        if chrono::DateTime::parse_from_rfc3339(&entry.at).is_err() {
            return Err(err("at is not an RFC 3339 timestamp".into()));
        }
        if entry.kind.is_empty() {
            return Err(err("kind is empty".into()));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// What a bundle file name is.
enum Kind<'a> {
    Log { run: &'a str },
    Manifest,
    Other,
}

fn classify(name: &str) -> Kind<'_> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["runs", run, "log.jsonl"] => Kind::Log { run },
        ["requests", _, file] if file.ends_with(".manifest.json") => Kind::Manifest,
        _ => Kind::Other,
    }
}

/// Verifies a whole bundle; see the module documentation for what is checked.
pub async fn verify(sink: &dyn EvidenceSink) -> Result<VerifySummary, VerifyError> {
    let names = sink
        .list()
        .await
        .map_err(|e| VerifyError::new(".", None, format!("cannot list: {e}")))?;
    let mut logs = Vec::new();
    let mut manifests = BTreeSet::new();
    for name in &names {
        match classify(name) {
            Kind::Log { run } => logs.push((name.as_str(), run)),
            Kind::Manifest => {
                manifests.insert(name.as_str());
            }
            Kind::Other if name.starts_with("runs/") || name.starts_with("requests/") => {
                return Err(VerifyError::new(
                    name,
                    None,
                    "unexpected file in the evidence bundle",
                ));
            }
            Kind::Other => {}
        }
    }

    let mut summary = VerifySummary::default();
    let mut referenced = BTreeSet::new();
    for (file, run) in logs {
        let bytes = sink
            .get(file)
            .await
            .map_err(|e| VerifyError::new(file, None, format!("cannot read: {e}")))?;
        if bytes.is_empty() {
            return Err(VerifyError::new(file, None, "log is empty"));
        }
        let entries = check_log(file, run, &bytes)?;
        for (i, entry) in entries.iter().enumerate() {
            if entry.kind != MANIFEST_KIND {
                continue;
            }
            let line = i + 1;
            let (object, request) = check_manifest_entry(file, line, run, entry)?;
            if !referenced.insert(object.clone()) {
                return Err(VerifyError::new(
                    file,
                    Some(line),
                    format!("manifest {object} is referenced twice"),
                ));
            }
            check_manifest(sink, file, line, run, entry, &object).await?;
            summary.manifests += 1;
            *summary.requests.entry(request).or_default() += 1;
        }
        summary.runs += 1;
        summary.entries += entries.len();
    }
    if let Some(orphan) = manifests.iter().find(|m| !referenced.contains(**m)) {
        return Err(VerifyError::new(
            orphan,
            None,
            "not referenced by any log entry",
        ));
    }
    Ok(summary)
}

/// Checks the data of a `manifest` entry; returns the object name and request id.
fn check_manifest_entry(
    file: &str,
    line: usize,
    run: &str,
    entry: &Entry,
) -> Result<(String, String), VerifyError> {
    let bad = || {
        VerifyError::new(
            file,
            Some(line),
            "manifest entry must have a request and data {object, sha256} naming \
             requests/<request>/<run>.manifest.json",
        )
    };
    let request = entry.request.as_deref().ok_or_else(bad)?;
    let object = entry.data.get("object").and_then(Value::as_str);
    let sha = entry.data.get("sha256").and_then(Value::as_str);
    let (Some(object), Some(_), Some(2)) = (object, sha, entry.data.as_object().map(|o| o.len()))
    else {
        return Err(bad());
    };
    if object != manifest_name(request, run) {
        return Err(bad());
    }
    Ok((object.to_owned(), request.to_owned()))
}

/// Checks a referenced manifest object against its entry.
async fn check_manifest(
    sink: &dyn EvidenceSink,
    file: &str,
    line: usize,
    run: &str,
    entry: &Entry,
    object: &str,
) -> Result<(), VerifyError> {
    let bytes = match sink.get(object).await {
        Ok(b) => b,
        Err(crate::Error::NotFound { .. }) => {
            return Err(VerifyError::new(
                file,
                Some(line),
                format!("manifest {object} is missing"),
            ));
        }
        Err(e) => return Err(VerifyError::new(object, None, format!("cannot read: {e}"))),
    };
    if entry.data.get("sha256").and_then(Value::as_str) != Some(sha256_hex(&bytes).as_str()) {
        return Err(VerifyError::new(
            object,
            None,
            format!("sha256 does not match the log ({file} line {line})"),
        ));
    }
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| VerifyError::new(object, None, parse_failure(&e)))?;
    if doc.get("run").and_then(Value::as_str) != Some(run) {
        return Err(VerifyError::new(object, None, "run does not match the log"));
    }
    if doc.get("log_head").and_then(Value::as_str) != Some(entry.prev.as_str()) {
        return Err(VerifyError::new(
            object,
            None,
            format!("log_head does not match {file} before line {line}"),
        ));
    }
    Ok(())
}

/// [`verify`] of the bundle in directory `path` (see [`DirSink`]).
pub async fn verify_dir(path: impl AsRef<Path>) -> Result<VerifySummary, VerifyError> {
    let path = path.as_ref();
    if !path.is_dir() {
        return Err(VerifyError::new(
            &path.display().to_string(),
            None,
            "not a directory",
        ));
    }
    verify(&DirSink::new(path.to_path_buf())).await
}
