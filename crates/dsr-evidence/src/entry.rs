//! The format of chain entries: building, hashing and checking one entry object.
//!
//! An entry is first serialised, compactly and without its hash, with the fields in the fixed
//! order `seq, at, request, run, lease, kind, data, prev`; call those bytes `P` (they end with
//! `}`). Its hash is `H = hex(SHA-256(P))` and the stored object is `P` without its final `}`,
//! followed by `,"hash":"H"}` and a newline. A verifier recomputes `H` from the object alone:
//! it checks that it ends with `,"hash":"<64 lower-case hex>"}\n`, cuts that suffix, appends
//! `}` and hashes the result. `prev` is the hash of the previous entry of the same request, or
//! for entry 1 the genesis hash of the request ([`genesis`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::verify::VerifyError;

/// Entry kind reserved for [`crate::Chain::seal`].
pub const MANIFEST_KIND: &str = "manifest";

/// Entry kind reserved for [`crate::Chain::seal`]: records a manifest object left at this
/// position by a writer that crashed or was superseded before writing its `manifest` entry.
pub const ABANDONED_KIND: &str = "manifest_abandoned";

/// Lower-case hex SHA-256 of `bytes` (entry hashes, manifest and artifact hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `prev` of a request's first entry: SHA-256 hex of `"dsr-evidence genesis " + request_id`.
pub fn genesis(request_id: &str) -> String {
    sha256_hex(format!("dsr-evidence genesis {request_id}").as_bytes())
}

const HASH_PREFIX: &[u8] = b",\"hash\":\"";
/// Length of the `,"hash":"<64 hex>"}` suffix of an entry (before its newline).
const HASH_SUFFIX_LEN: usize = HASH_PREFIX.len() + 64 + 2;

/// One chain entry as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the request's chain, from 1.
    pub seq: u64,
    /// When it was written (RFC 3339, UTC, seconds).
    pub at: String,
    /// The request whose chain this is.
    pub request: String,
    /// The run that wrote it.
    pub run: String,
    /// The lease (fencing token) under which it was written.
    pub lease: u64,
    /// What happened (`erase_intent`, `erase_outcome`, `manifest`, …; chosen by the engine).
    pub kind: String,
    /// Details: keyed hashes and counts only.
    pub data: Value,
    /// Hash of the previous entry (the genesis hash of the request for the first).
    pub prev: String,
    /// Hash of this entry.
    pub hash: String,
}

/// Where a written entry sits in its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// The entry without its hash, in the order that is hashed.
#[derive(Serialize)]
pub(crate) struct Unhashed<'a> {
    pub seq: u64,
    pub at: &'a str,
    pub request: &'a str,
    pub run: &'a str,
    pub lease: u64,
    pub kind: &'a str,
    pub data: &'a Value,
    pub prev: &'a str,
}

impl Unhashed<'_> {
    /// `P`, the compact serialisation that is hashed.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The stored object (`P` with its hash spliced in, and a newline) and the hash.
    pub(crate) fn seal(p: Vec<u8>) -> (Vec<u8>, String) {
        let hash = sha256_hex(&p);
        let mut stored = p;
        stored.pop(); // the closing `}`
        stored.extend_from_slice(HASH_PREFIX);
        stored.extend_from_slice(hash.as_bytes());
        stored.extend_from_slice(b"\"}\n");
        (stored, hash)
    }

    /// The entry as it will read back.
    pub(crate) fn to_entry(&self, hash: String) -> Entry {
        Entry {
            seq: self.seq,
            at: self.at.to_owned(),
            request: self.request.to_owned(),
            run: self.run.to_owned(),
            lease: self.lease,
            kind: self.kind.to_owned(),
            data: self.data.clone(),
            prev: self.prev.to_owned(),
            hash,
        }
    }
}

/// Splits a stored entry into the hashed bytes `P` and the stored hash, or `None` when it does
/// not end with `,"hash":"<64 lower-case hex>"}\n`.
fn split_hash(stored: &[u8]) -> Option<(Vec<u8>, &str)> {
    let body = stored.strip_suffix(b"\n")?;
    let cut = body.len().checked_sub(HASH_SUFFIX_LEN)?;
    let (head, suffix) = body.split_at(cut);
    let hex = suffix.strip_prefix(HASH_PREFIX)?.strip_suffix(b"\"}")?;
    if !hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    let mut p = head.to_vec();
    p.push(b'}');
    Some((p, hex))
}

/// Describes a JSON parse failure without quoting the input.
pub(crate) fn parse_failure(e: &serde_json::Error, what: &str) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io | Category::Syntax | Category::Eof => {
            format!("is not valid JSON (column {})", e.column())
        }
        Category::Data => format!(
            "is not {what} (missing, unknown, duplicate or mistyped field; column {})",
            e.column()
        ),
    }
}

/// Checks one stored entry on its own — form, hash, canonical field order, kind, timestamp —
/// and returns it. `object` is its name, used in errors.
pub(crate) fn decode(object: &str, stored: &[u8]) -> Result<Entry, VerifyError> {
    let err = |reason: String| VerifyError::new(object, reason);
    if !stored.ends_with(b"\n") {
        return Err(err("incomplete entry (no trailing newline)".into()));
    }
    let Some((p, stored_hash)) = split_hash(stored) else {
        return Err(err("does not end with the \"hash\" field".into()));
    };
    if sha256_hex(&p) != stored_hash {
        return Err(err("hash mismatch".into()));
    }
    let entry: Entry =
        serde_json::from_slice(stored).map_err(|e| err(parse_failure(&e, "an entry")))?;
    let canonical = Unhashed {
        seq: entry.seq,
        at: &entry.at,
        request: &entry.request,
        run: &entry.run,
        lease: entry.lease,
        kind: &entry.kind,
        data: &entry.data,
        prev: &entry.prev,
    }
    .to_bytes()
    .map_err(|_| err("cannot be serialised again".into()))?;
    if canonical != p {
        return Err(err(
            "not in the canonical form (compact JSON, fields seq, at, request, run, lease, \
             kind, data, prev, hash)"
                .into(),
        ));
    }
    if check_kind(&entry.kind).is_err() {
        return Err(err(
            "kind is not 1-64 characters of A-Z a-z 0-9 . _ -".into()
        ));
    }
    if chrono::DateTime::parse_from_rfc3339(&entry.at).is_err() {
        return Err(err("at is not an RFC 3339 timestamp".into()));
    }
    Ok(entry)
}

/// Checks a request's entries, in chain order, as a chain: `seq` runs 1, 2, 3… (each matching
/// its object name), `prev` links each to the one before (the genesis hash for the first),
/// every `request` is the directory's id and leases never decrease.
///
/// `entries` pairs each object name and its sequence number from the name with its entry.
pub(crate) fn check_links(
    request: &str,
    entries: &[(&str, u64, Entry)],
) -> Result<(), VerifyError> {
    let mut prev_hash = genesis(request);
    let mut prev_lease = 0u64;
    for (i, (object, name_seq, entry)) in entries.iter().enumerate() {
        let expected = i as u64 + 1;
        let err = |reason: String| VerifyError::new(object, reason);
        if *name_seq != expected {
            return Err(err(format!(
                "entry {expected} is missing (the chain has a gap before this object)"
            )));
        }
        if entry.seq != expected {
            return Err(err(format!(
                "seq is {}, expected {expected} from the object name",
                entry.seq
            )));
        }
        if entry.request != request {
            return Err(err(format!(
                "request does not match the directory {request}"
            )));
        }
        if entry.prev != prev_hash {
            return Err(err(if expected == 1 {
                "prev is not the genesis hash of the request".into()
            } else {
                format!(
                    "prev does not match the hash of entry {} (changed or replaced entry)",
                    expected - 1
                )
            }));
        }
        if entry.lease < prev_lease {
            return Err(err(format!(
                "lease {} is older than lease {prev_lease} of entry {}",
                entry.lease,
                expected - 1
            )));
        }
        prev_hash.clone_from(&entry.hash);
        prev_lease = entry.lease;
    }
    Ok(())
}

/// Checks that a run or request id is 1–64 characters of `A-Z a-z 0-9 . _ -`, no leading `.`.
pub(crate) fn check_id(what: &'static str, id: &str) -> Result<(), Error> {
    dsr_core::request::validate_request_id(id).map_err(|reason| Error::InvalidId {
        what,
        id: id.to_owned(),
        reason,
    })
}

/// Checks that an entry kind is 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn check_kind(kind: &str) -> Result<(), Error> {
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
