//! Verification of an evidence bundle ([`verify`], [`verify_dir`]) and reading one request's
//! timeline ([`show`]).
//!
//! [`verify`] checks, in this order, and reports the first problem, naming the object:
//!
//! 1. history: no object has more than one stored version, and none has a delete marker
//!    (nothing was overwritten or deleted);
//! 2. names: every object fits the layout (entries, manifests, run summaries);
//! 3. per request, its chain: each entry's form and hash, `seq` 1, 2, 3… without gaps,
//!    `prev` links (the request's genesis hash first), `request` equal to the directory id,
//!    leases never decreasing;
//! 4. per `manifest` entry at position `n`: data `{"object", "sha256"}` naming
//!    `manifest-<n>.json`, which exists and has that SHA-256; the manifest's `request`, `run`
//!    and `lease` are the entry's, `chain_seq` is `n - 1` and `chain_head` the hash of entry
//!    `n - 1`; its signature, if the key ring is non-empty, is by a key of the ring and
//!    verifies (an unsigned manifest then fails); with an empty ring, unsigned manifests are
//!    allowed and counted, and signatures are not checked;
//! 5. per `manifest_abandoned` entry at `n`: the object `manifest-<n>.json` exists with the
//!    recorded SHA-256;
//! 6. run summaries are JSON objects whose `run` is the file's id.
//!
//! A manifest object that no entry refers to was left by a writer that crashed or lost its
//! position to another lease before writing its entry. It is not covered by any chain, so it is
//! no evidence of anything; it is reported in [`VerifySummary::orphan_manifests`], together
//! with the abandoned ones, and is not an error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::chain::load_chain;
use crate::entry::{ABANDONED_KIND, MANIFEST_KIND, check_id, parse_failure};
use crate::layout::{ObjectKind, classify, manifest_name, request_prefix};
use crate::sign::decode_manifest;
use crate::{DirSink, Entry, Error, EvidenceSink, KeyRing, sha256_hex};

/// The first problem found in an evidence bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Name of the bad object, relative to the bundle root (`.` for the bundle itself).
    pub object: String,
    /// What is wrong (never contains a value from the bundle's documents).
    pub reason: String,
}

impl VerifyError {
    pub(crate) fn new(object: &str, reason: impl Into<String>) -> Self {
        VerifyError {
            object: object.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)
    }
}

impl std::error::Error for VerifyError {}

/// What verification found for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    /// Request id.
    pub request: String,
    /// Entries in its chain.
    pub entries: u64,
    /// Manifests sealing its chain (`manifest` entries).
    pub manifests: usize,
    /// How many of those are signed.
    pub signed: usize,
    /// Kind of its last entry (`None` for a directory without entries).
    pub last_kind: Option<String>,
}

impl fmt::Display for RequestSummary {
    /// One line: `req-1  5 entries  1 manifest (1 signed)  last: manifest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{}  {} entr{}  {} manifest{} ({} signed)  last: {}",
            self.request,
            self.entries,
            if self.entries == 1 { "y" } else { "ies" },
            self.manifests,
            plural(self.manifests),
            self.signed,
            self.last_kind.as_deref().unwrap_or("-"),
        )
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// Per request, sorted by id.
    pub requests: Vec<RequestSummary>,
    /// Run summaries checked.
    pub runs: usize,
    /// Entries verified, over all requests.
    pub entries: u64,
    /// Manifests verified (those sealing a chain).
    pub manifests: usize,
    /// Of those, signed.
    pub signed: usize,
    /// Of those, unsigned (always 0 when the key ring is non-empty).
    pub unsigned: usize,
    /// Whether signatures were checked against a key ring (it was non-empty).
    pub signatures_checked: bool,
    /// Manifest objects that seal no chain: recorded by a `manifest_abandoned` entry, or
    /// referred to by no entry at all (see the module documentation). Sorted.
    pub orphan_manifests: Vec<String>,
}

/// The objects of one request directory, from the listing.
#[derive(Default)]
struct RequestObjects {
    names: Vec<String>,
    manifests: BTreeSet<String>,
}

/// Verifies a whole bundle; see the module documentation for what is checked.
pub async fn verify(sink: &dyn EvidenceSink, keys: &KeyRing) -> Result<VerifySummary, VerifyError> {
    let cannot = |what: &str, e: Error| VerifyError::new(".", format!("cannot {what}: {e}"));
    check_history(
        &sink
            .versions("")
            .await
            .map_err(|e| cannot("list versions", e))?,
    )?;

    let names = sink.list("").await.map_err(|e| cannot("list", e))?;
    let mut requests: BTreeMap<String, RequestObjects> = BTreeMap::new();
    let mut runs = Vec::new();
    for name in &names {
        match classify(name) {
            Some(ObjectKind::Entry { request, .. }) => {
                requests
                    .entry(request.to_owned())
                    .or_default()
                    .names
                    .push(name.clone());
            }
            Some(ObjectKind::Manifest { request, .. }) => {
                let objects = requests.entry(request.to_owned()).or_default();
                objects.names.push(name.clone());
                objects.manifests.insert(name.clone());
            }
            Some(ObjectKind::Run { run }) => runs.push((name.as_str(), run)),
            None => {
                return Err(VerifyError::new(
                    name,
                    "fits no name of the evidence layout (unexpected object)",
                ));
            }
        }
    }

    let mut summary = VerifySummary {
        signatures_checked: !keys.is_empty(),
        ..VerifySummary::default()
    };
    for (request, objects) in &requests {
        let entries = load_chain(sink, request, &objects.names)
            .await
            .map_err(|e| match e {
                Error::Verify(v) => v,
                e => VerifyError::new(&request_prefix(request), format!("cannot read: {e}")),
            })?;
        let mut line = RequestSummary {
            request: request.clone(),
            entries: entries.len() as u64,
            manifests: 0,
            signed: 0,
            last_kind: entries.last().map(|e| e.kind.clone()),
        };
        let mut sealed = BTreeSet::new();
        for entry in &entries {
            let abandoned = match entry.kind.as_str() {
                MANIFEST_KIND => false,
                ABANDONED_KIND => true,
                _ => continue,
            };
            let (object, bytes) = sealed_object(sink, request, entry, &objects.manifests).await?;
            sealed.insert(object.clone());
            if abandoned {
                summary.orphan_manifests.push(object);
                continue;
            }
            let signed = check_manifest(&object, &bytes, entry, keys)?;
            line.manifests += 1;
            if signed {
                line.signed += 1;
                summary.signed += 1;
            } else {
                summary.unsigned += 1;
            }
        }
        summary
            .orphan_manifests
            .extend(objects.manifests.difference(&sealed).cloned());
        summary.entries += line.entries;
        summary.manifests += line.manifests;
        summary.requests.push(line);
    }
    summary.orphan_manifests.sort();

    for (name, run) in runs {
        let bytes = sink
            .get(name)
            .await
            .map_err(|e| VerifyError::new(name, format!("cannot read: {e}")))?;
        let doc: serde_json::Map<String, Value> = serde_json::from_slice(&bytes)
            .map_err(|e| VerifyError::new(name, parse_failure(&e, "a JSON object")))?;
        if doc.get("run").and_then(Value::as_str) != Some(run) {
            return Err(VerifyError::new(name, "run does not match the file name"));
        }
        summary.runs += 1;
    }
    Ok(summary)
}

/// Fails on the first object (by name) with several versions or a delete marker.
fn check_history(versions: &[crate::ObjectVersion]) -> Result<(), VerifyError> {
    let mut per_name: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for v in versions {
        let slot = per_name.entry(v.name.as_str()).or_default();
        slot.0 += 1;
        slot.1 |= v.delete_marker;
    }
    for (name, (count, deleted)) in per_name {
        if deleted {
            return Err(VerifyError::new(
                name,
                "has a delete marker: the object was deleted",
            ));
        }
        if count > 1 {
            return Err(VerifyError::new(
                name,
                format!("has {count} versions: the object was overwritten"),
            ));
        }
    }
    Ok(())
}

/// The object named by a `manifest` or `manifest_abandoned` entry, checked against the entry's
/// name and SHA-256; returns its name and bytes.
async fn sealed_object(
    sink: &dyn EvidenceSink,
    request: &str,
    entry: &Entry,
    listed: &BTreeSet<String>,
) -> Result<(String, Vec<u8>), VerifyError> {
    let entry_object = crate::layout::entry_name(request, entry.seq);
    let expected = manifest_name(request, entry.seq);
    let data = entry.data.as_object();
    let object = data.and_then(|d| d.get("object")).and_then(Value::as_str);
    let sha = data.and_then(|d| d.get("sha256")).and_then(Value::as_str);
    if data.map(|d| d.len()) != Some(2) || object != Some(expected.as_str()) || sha.is_none() {
        return Err(VerifyError::new(
            &entry_object,
            format!(
                "a {} entry must have data {{\"object\", \"sha256\"}} naming {expected}",
                entry.kind
            ),
        ));
    }
    if !listed.contains(&expected) {
        return Err(VerifyError::new(
            &expected,
            format!("is missing (referred to by {entry_object})"),
        ));
    }
    let bytes = sink
        .get(&expected)
        .await
        .map_err(|e| VerifyError::new(&expected, format!("cannot read: {e}")))?;
    if sha != Some(sha256_hex(&bytes).as_str()) {
        return Err(VerifyError::new(
            &expected,
            format!("sha256 does not match the one recorded in {entry_object}"),
        ));
    }
    Ok((expected, bytes))
}

/// Checks a manifest against the entry sealing it, and its signature; returns whether it is
/// signed.
fn check_manifest(
    object: &str,
    bytes: &[u8],
    entry: &Entry,
    keys: &KeyRing,
) -> Result<bool, VerifyError> {
    let err = |reason: String| VerifyError::new(object, reason);
    let decoded = decode_manifest(bytes).map_err(err)?;
    let doc = &decoded.doc;
    let str_field = |k: &str| doc.get(k).and_then(Value::as_str);
    let u64_field = |k: &str| doc.get(k).and_then(Value::as_u64);
    if str_field("request") != Some(entry.request.as_str()) {
        return Err(err("request does not match its chain".into()));
    }
    if str_field("run") != Some(entry.run.as_str()) {
        return Err(err("run does not match its manifest entry".into()));
    }
    if u64_field("lease") != Some(entry.lease) {
        return Err(err("lease does not match its manifest entry".into()));
    }
    if u64_field("chain_seq") != Some(entry.seq - 1) {
        return Err(err(format!(
            "chain_seq is not {}, the entry before its manifest entry",
            entry.seq - 1
        )));
    }
    if str_field("chain_head") != Some(entry.prev.as_str()) {
        return Err(err(format!(
            "chain_head is not the hash of entry {}",
            entry.seq - 1
        )));
    }
    match (&decoded.signature, keys.is_empty()) {
        (Some(sig), false) => keys
            .check(&sig.key_id, &decoded.payload, &sig.sig)
            .map(|()| true)
            .map_err(err),
        (Some(_), true) => Ok(true),
        (None, false) => Err(err("is not signed, and a key ring was given".into())),
        (None, true) => Ok(false),
    }
}

/// The checked chain of `request_id` (hashes, sequence, links), for a timeline printout.
pub async fn show(sink: &dyn EvidenceSink, request_id: &str) -> Result<Vec<Entry>, Error> {
    check_id("request", request_id)?;
    let names = sink.list(&request_prefix(request_id)).await?;
    load_chain(sink, request_id, &names).await
}

/// [`verify`] of the bundle in directory `path` (see [`DirSink`]).
pub async fn verify_dir(
    path: impl AsRef<Path>,
    keys: &KeyRing,
) -> Result<VerifySummary, VerifyError> {
    let path = path.as_ref();
    if !path.is_dir() {
        return Err(VerifyError::new(
            &path.display().to_string(),
            "not a directory",
        ));
    }
    verify(&DirSink::new(path.to_path_buf()), keys).await
}
