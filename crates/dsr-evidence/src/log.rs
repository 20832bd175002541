//! The hash-chained run log ([`RunLog`]) and the line format of its entries.
//!
//! An entry is first serialised, compactly and without its hash, with the fields in the fixed
//! order `seq, at, run, kind, request, data, prev`; call those bytes `P` (they end with `}`).
//! Its hash is `H = hex(SHA-256(P))` and the stored line is `P` without its final `}`,
//! followed by `,"hash":"H"}`. A verifier therefore recomputes `H` from the line alone: it
//! checks that the line ends with `,"hash":"<64 lower-case hex>"}`, cuts that suffix, appends
//! `}` and hashes the result. `prev` is the hash of the previous line, or for line 1 the
//! genesis hash of the run ([`genesis`]).

use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Error, EvidenceSink, Guard};

/// Lower-case hex SHA-256 of `bytes` (entry hashes, manifest and artifact hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `prev` of a run's first entry: SHA-256 hex of `"dsr-evidence genesis " + run_id`.
pub fn genesis(run_id: &str) -> String {
    sha256_hex(format!("dsr-evidence genesis {run_id}").as_bytes())
}

/// Name of a run's log: `runs/<run_id>/log.jsonl`.
pub fn log_name(run_id: &str) -> String {
    format!("runs/{run_id}/log.jsonl")
}

/// Name of a request's manifest from a run: `requests/<request_id>/<run_id>.manifest.json`.
pub fn manifest_name(request_id: &str, run_id: &str) -> String {
    format!("requests/{request_id}/{run_id}.manifest.json")
}

/// Entry kind reserved for [`RunLog::write_manifest`].
pub const MANIFEST_KIND: &str = "manifest";

const HASH_PREFIX: &[u8] = b",\"hash\":\"";
/// Length of the `,"hash":"<64 hex>"}` suffix of a line.
const HASH_SUFFIX_LEN: usize = HASH_PREFIX.len() + 64 + 2;

/// One log entry as read back from a line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the run's log, from 1.
    pub seq: u64,
    /// When it was written (RFC 3339, UTC).
    pub at: String,
    /// Run id.
    pub run: String,
    /// What happened (`intent`, `outcome`, `manifest`, …; chosen by the engine).
    pub kind: String,
    /// Request the entry belongs to, if any.
    pub request: Option<String>,
    /// Details: keyed hashes and counts only.
    pub data: Value,
    /// Hash of the previous entry (the genesis hash for the first).
    pub prev: String,
    /// Hash of this entry.
    pub hash: String,
}

/// The entry without its hash, in the order that is hashed.
#[derive(Serialize)]
struct Unsigned<'a> {
    seq: u64,
    at: &'a str,
    run: &'a str,
    kind: &'a str,
    request: Option<&'a str>,
    data: &'a Value,
    prev: &'a str,
}

/// Splits a stored line (without newline) into the hashed bytes `P` and the stored hash, or
/// `None` when the line does not end with `,"hash":"<64 lower-case hex>"}`.
pub(crate) fn split_line(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let (body, suffix) = line.split_at(cut);
    let hex = suffix.strip_prefix(HASH_PREFIX)?.strip_suffix(b"\"}")?;
    if !hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    let mut unsigned = body.to_vec();
    unsigned.push(b'}');
    Some((unsigned, hex))
}

/// Where an appended entry sits in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// A line ready to append, already guarded.
struct Prepared {
    seq: u64,
    line: Vec<u8>,
    hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Opened as a new run: the log must not exist yet (checked on first write).
    Unchecked,
    Ready,
    /// An append failed; what is on storage is unknown.
    Poisoned,
}

/// The append-only, hash-chained log of one run, plus the run's manifests.
///
/// One `RunLog` is the single writer of its run's log; appends take `&mut self`.
pub struct RunLog {
    sink: Arc<dyn EvidenceSink>,
    run: String,
    log: String,
    guard: Guard,
    seq: u64,
    head: String,
    state: State,
}

impl std::fmt::Debug for RunLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunLog")
            .field("run", &self.run)
            .field("seq", &self.seq)
            .field("head", &self.head)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

pub(crate) fn check_id(what: &'static str, id: &str) -> Result<(), Error> {
    dsr_core::request::validate_request_id(id).map_err(|reason| Error::InvalidId {
        what,
        id: id.to_owned(),
        reason,
    })
}

fn check_kind(kind: &str) -> Result<(), Error> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(Error::InvalidKind {
            kind: kind.chars().take(64).collect(),
            reason: "must be 1-64 characters of A-Z a-z 0-9 . _ -",
        });
    }
    Ok(())
}

impl RunLog {
    /// Starts the log of a new run `run_id` (1–64 of `A-Z a-z 0-9 . _ -`, no leading `.`).
    /// Nothing is written yet; the first write fails with [`Error::Exists`] if the run's log
    /// already exists (use [`RunLog::resume`] to continue a run).
    pub fn open(sink: Arc<dyn EvidenceSink>, run_id: &str, guard: Guard) -> Result<RunLog, Error> {
        check_id("run", run_id)?;
        Ok(RunLog {
            sink,
            run: run_id.to_owned(),
            log: log_name(run_id),
            guard,
            seq: 0,
            head: genesis(run_id),
            state: State::Unchecked,
        })
    }

    /// Continues the run `run_id` after a restart: reads and verifies its log (hashes, chain,
    /// sequence) and appends after its last entry. A run without a log starts fresh.
    pub async fn resume(
        sink: Arc<dyn EvidenceSink>,
        run_id: &str,
        guard: Guard,
    ) -> Result<RunLog, Error> {
        let mut log = RunLog::open(sink, run_id, guard)?;
        match log.sink.get(&log.log).await {
            Ok(bytes) => {
                let entries = crate::verify::check_log(&log.log, run_id, &bytes)?;
                if let Some(last) = entries.last() {
                    log.seq = last.seq;
                    log.head = last.hash.clone();
                }
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        log.state = State::Ready;
        Ok(log)
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// Hash of the last entry (the genesis hash while the log is empty).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Sequence number of the last entry (0 while the log is empty).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Appends an entry of `kind` (1–64 of `A-Z a-z 0-9 . _ -`; `manifest` is reserved) for
    /// `request`, durably. Refused with [`Error::Guard`], writing nothing, if the entry holds a
    /// forbidden value.
    pub async fn append(
        &mut self,
        kind: &str,
        request: Option<&str>,
        data: Value,
    ) -> Result<EntryRef, Error> {
        check_kind(kind)?;
        if kind == MANIFEST_KIND {
            return Err(Error::InvalidKind {
                kind: kind.to_owned(),
                reason: "reserved for write_manifest",
            });
        }
        self.ready().await?;
        let prepared = self.prepare(kind, request, &data)?;
        self.commit(prepared).await
    }

    /// Writes the manifest of `request_id` for this run, write-once, to
    /// `requests/<request_id>/<run_id>.manifest.json`: pretty JSON of `manifest` (an object)
    /// with `"run"` and `"log_head"` (the hash of the last entry) added. Then appends a
    /// `manifest` entry with data `{"object": <name>, "sha256": <hex>}` so the chain covers
    /// it, and returns that SHA-256 hex.
    ///
    /// Both documents are guarded before anything is written. If the object already exists
    /// with identical bytes (a restart between the two writes), only the entry is appended.
    pub async fn write_manifest(
        &mut self,
        request_id: &str,
        manifest: Value,
    ) -> Result<String, Error> {
        check_id("request", request_id)?;
        let Value::Object(mut fields) = manifest else {
            return Err(Error::Manifest {
                request: request_id.to_owned(),
                reason: "must be a JSON object",
            });
        };
        if fields.contains_key("run") || fields.contains_key("log_head") {
            return Err(Error::Manifest {
                request: request_id.to_owned(),
                reason: "fields `run` and `log_head` are reserved",
            });
        }
        self.ready().await?;
        fields.insert("run".into(), Value::String(self.run.clone()));
        fields.insert("log_head".into(), Value::String(self.head.clone()));
        let what = || format!("manifest {request_id}");
        let mut bytes =
            serde_json::to_vec_pretty(&Value::Object(fields)).map_err(|source| Error::Json {
                what: what(),
                source,
            })?;
        bytes.push(b'\n');
        if !self.guard.permits_json(&bytes) {
            return Err(Error::Guard { what: what() });
        }
        let sha = sha256_hex(&bytes);
        let name = manifest_name(request_id, &self.run);
        let data = json!({ "object": name, "sha256": sha });
        let prepared = self.prepare(MANIFEST_KIND, Some(request_id), &data)?;
        match self.sink.put_once(&name, &bytes).await {
            Ok(()) => {}
            Err(Error::Exists { name }) => {
                if self.sink.get(&name).await? != bytes {
                    return Err(Error::Exists { name });
                }
            }
            Err(e) => return Err(e),
        }
        self.commit(prepared).await?;
        Ok(sha)
    }

    /// Fails if the log is poisoned; on the first write of a new run, checks it is new.
    async fn ready(&mut self) -> Result<(), Error> {
        match self.state {
            State::Ready => Ok(()),
            State::Poisoned => Err(Error::Poisoned {
                run: self.run.clone(),
            }),
            State::Unchecked => match self.sink.get(&self.log).await {
                Ok(_) => Err(Error::Exists {
                    name: self.log.clone(),
                }),
                Err(Error::NotFound { .. }) => {
                    self.state = State::Ready;
                    Ok(())
                }
                Err(e) => Err(e),
            },
        }
    }

    /// Builds and guards the next line.
    fn prepare(&self, kind: &str, request: Option<&str>, data: &Value) -> Result<Prepared, Error> {
        let seq = self.seq + 1;
        let what = || format!("entry {kind} seq {seq}");
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let unsigned = Unsigned {
            seq,
            at: &at,
            run: &self.run,
            kind,
            request,
            data,
            prev: &self.head,
        };
        let mut line = serde_json::to_vec(&unsigned).map_err(|source| Error::Json {
            what: what(),
            source,
        })?;
        if !self.guard.permits_json(&line) {
            return Err(Error::Guard { what: what() });
        }
        let hash = sha256_hex(&line);
        line.pop(); // the closing `}`
        line.extend_from_slice(HASH_PREFIX);
        line.extend_from_slice(hash.as_bytes());
        line.extend_from_slice(b"\"}");
        Ok(Prepared { seq, line, hash })
    }

    async fn commit(&mut self, prepared: Prepared) -> Result<EntryRef, Error> {
        if let Err(e) = self.sink.append(&self.log, &prepared.line).await {
            self.state = State::Poisoned;
            return Err(e);
        }
        self.seq = prepared.seq;
        self.head = prepared.hash.clone();
        Ok(EntryRef {
            seq: prepared.seq,
            hash: prepared.hash,
        })
    }
}
