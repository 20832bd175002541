//! `dsr-evidence`: the audit trail of data-subject requests.
//!
//! Evidence is **one hash chain per request**, made of write-once objects, plus write-once
//! manifests that seal the chain and a summary per run, all stored through an
//! [`EvidenceSink`] ([`DirSink`] for a local directory; an S3 sink writes each object once with
//! `If-None-Match: *` and Object Lock retention). Nothing is ever appended to or overwritten.
//!
//! # Layout
//!
//! Relative to the sink's root (a directory, or a bucket prefix):
//!
//! ```text
//! requests/<request_id>/000001.json           chain entry 1 (write-once)
//! requests/<request_id>/000002.json           …
//! requests/<request_id>/manifest-000007.json  manifest sealed by entry 7 (write-once)
//! runs/<run_id>.json                          run summary (write-once, counts only)
//! ```
//!
//! Sequence numbers have at least six digits; every object is one line of compact JSON with a
//! trailing newline, so `cat requests/req-1/*.json | jq .` (or `aws s3 cp … - | jq .`) reads a
//! chain.
//!
//! # Entries
//!
//! An entry looks like
//! `{"seq":1,"at":"2026-11-28T21:00:00Z","request":"req-1","run":"r1","lease":4,"kind":"erase_intent","data":{…},"prev":"<64 hex>","hash":"<64 hex>"}`.
//!
//! **Hash scheme.** `P` is the compact JSON of the entry *without* `hash`, fields in the fixed
//! order `seq, at, request, run, lease, kind, data, prev`. `hash = hex(SHA-256(P))` and the
//! stored object is `P` with its closing `}` replaced by `,"hash":"<hash>"}`, then `\n`. To
//! verify an entry, drop the newline, cut the 75-byte suffix `,"hash":"<64 hex>"}`, append `}`
//! and hash. `prev` is the previous entry's hash; entry 1's is [`genesis`]`(request_id)` =
//! SHA-256 hex of `"dsr-evidence genesis " + request_id`. `seq` runs 1, 2, 3… with no gaps.
//! `lease` is the fencing token under which the entry was written; along a chain it never
//! decreases.
//!
//! **Fencing.** A writer ([`Evidence`] → [`Chain`]) writes entry `n` with a write-once put of
//! `requests/<id>/<n>.json`. Two workers that both believe they hold a request (a stalled one
//! waking up after its lease was taken over) cannot both extend the chain: the first put of a
//! position wins and the other gets [`Error::Superseded`] and stops. Opening a chain that
//! already holds an entry of a newer (greater) lease is also [`Error::Superseded`].
//!
//! # Manifests
//!
//! [`Chain::seal`] writes `manifest-<n>.json`, the caller's JSON object with `request`, `run`,
//! `lease`, `chain_seq` (the last entry before sealing, `n - 1`) and `chain_head` (its hash)
//! added, then appends entry `n` of kind `manifest` with data
//! `{"object":"requests/<id>/manifest-<n>.json","sha256":"<hex of the object's bytes>"}`, so the
//! chain covers the manifest and the manifest names the chain state it seals.
//!
//! A writer that crashes (or loses its position to another lease) between the two writes
//! leaves a manifest object that no entry seals. A retry by the same run and lease writes the
//! same bytes and only adds the entry. Otherwise the object is an *orphan*: it is covered by no
//! chain, so it proves nothing, and [`fn@verify`] lists it without failing. When a later seal
//! finds such an object (of an older or equal lease) at its position, it first appends a
//! `manifest_abandoned` entry `{"object", "sha256"}` recording it, then seals at the next
//! position; an object of a newer lease there means the sealer is superseded.
//!
//! **Signatures** (optional, [`Signer`]). Call `M` the compact JSON of the manifest object,
//! ending in `}`. Unsigned, the object is `M` + `\n`. Signed, the object is `M` with its closing
//! `}` replaced by `,"signature":{"alg":"ed25519","key_id":"<id>","sig":"<128 hex>"}}`, then
//! `\n`, where `sig` is the Ed25519 (RFC 8032, pure) signature of exactly the bytes `M`. To
//! verify a manifest by hand:
//!
//! 1. `jq -r '.signature.key_id, .signature.sig' manifest-000007.json` gives `K` and `S`;
//! 2. drop the final newline; the object must end with
//!    `,"signature":{"alg":"ed25519","key_id":"K","sig":"S"}}`: cut that suffix and append
//!    `}`; the result is `M`;
//! 3. verify `S` (64 bytes, hex) over `M` with the Ed25519 public key (32 bytes, hex) of `K`.
//!
//! In Python (with PyNaCl):
//!
//! ```text
//! b = open(path, "rb").read()[:-1]; d = json.loads(b); s = d["signature"]
//! suffix = ('"signature":{"alg":"ed25519","key_id":"%s","sig":"%s"}}' % (s["key_id"], s["sig"])).encode()
//! assert b.endswith(b"," + suffix); m = b[: -len(suffix) - 1] + b"}"
//! nacl.signing.VerifyKey(bytes.fromhex(public_hex)).verify(m, bytes.fromhex(s["sig"]))
//! ```
//!
//! and `sha256sum manifest-000007.json` must equal the `sha256` of the `manifest` entry.
//!
//! # Rules
//!
//! **Only keyed hashes and counts go in.** Every entry, manifest and run summary passes the
//! [`Guard`], built from the batch's identity and sensitive values, before anything is
//! written; a document holding one is refused with [`Error::Guard`] and nothing is written.
//!
//! Every write is durable before it returns: the intent entry of a deletion is on storage
//! before the deletion happens. With a retention period ([`Evidence::with_retention`]) every
//! object of a request is retained until the request's received time plus the period.
//!
//! [`fn@verify`] / [`verify_dir`] check a whole bundle (hashes, links, manifests, signatures,
//! version history, names) and name the first bad object; [`show`] reads one checked chain.

pub mod chain;
pub mod conformance;
pub mod entry;
pub mod error;
pub mod guard;
pub mod layout;
pub mod sign;
pub mod sink;
pub mod verify;

#[cfg(test)]
mod tests;

pub use chain::{Chain, Evidence, MANIFEST_RESERVED};
pub use entry::{ABANDONED_KIND, Entry, EntryRef, MANIFEST_KIND, genesis, sha256_hex};
pub use error::Error;
pub use guard::Guard;
pub use sign::{KeyRing, Signer};
pub use sink::{DirSink, EvidenceSink, ObjectVersion, PutOptions, check_name};
pub use verify::{RequestSummary, VerifyError, VerifySummary, show, verify, verify_dir};
