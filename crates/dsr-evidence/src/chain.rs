//! Writing evidence: [`Evidence`] (one run, one lease) and [`Chain`] (one request's chain).
//!
//! Every entry is its own write-once object at its position (`requests/<id>/<seq>.json`), so
//! two writers of one request cannot both extend the chain: the first to write a position
//! wins, the other gets [`Error::Superseded`] and its [`Chain`] stops. This fences a stalled
//! worker that wakes up after its lease was taken over. Leases are fencing tokens: a chain is
//! also refused when it already holds an entry written under a newer (greater) lease, so along
//! a chain leases never decrease.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::entry::{
    ABANDONED_KIND, MANIFEST_KIND, Unhashed, check_id, check_kind, check_links, decode, genesis,
};
use crate::layout::{ObjectKind, classify, entry_name, manifest_name, request_prefix, run_name};
use crate::sign::{decode_manifest, encode_manifest};
use crate::verify::VerifyError;
use crate::{Entry, EntryRef, Error, EvidenceSink, Guard, PutOptions, Signer, sha256_hex};

/// Fields [`Chain::seal`] adds to a manifest; a manifest handed to it must not have them.
pub const MANIFEST_RESERVED: [&str; 6] = [
    "request",
    "run",
    "lease",
    "chain_seq",
    "chain_head",
    "signature",
];

/// The evidence writer of one run under one lease: opens request chains and writes the run
/// summary. Cheap to clone; `Debug` shows no values.
#[derive(Clone)]
pub struct Evidence {
    sink: Arc<dyn EvidenceSink>,
    guard: Arc<Guard>,
    run: String,
    lease: u64,
    signer: Option<Arc<Signer>>,
    retention: Option<chrono::Duration>,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("location", &self.sink.location())
            .field("run", &self.run)
            .field("lease", &self.lease)
            .field("guard", &self.guard)
            .field("signer", &self.signer)
            .field("retention", &self.retention)
            .finish()
    }
}

impl Evidence {
    /// The writer for run `run_id` (1–64 of `A-Z a-z 0-9 . _ -`, no leading `.`) holding
    /// `lease`, the fencing token of the requests it works on. Every document passes `guard`.
    pub fn new(
        sink: Arc<dyn EvidenceSink>,
        guard: Guard,
        run_id: &str,
        lease: u64,
    ) -> Result<Evidence, Error> {
        check_id("run", run_id)?;
        Ok(Evidence {
            sink,
            guard: Arc::new(guard),
            run: run_id.to_owned(),
            lease,
            signer: None,
            retention: None,
        })
    }

    /// Signs every manifest with `signer`.
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The record-keeping period: every object of a request is retained (S3 Object Lock) until
    /// the request's received time plus `period`; the run summary until its write time plus
    /// `period`. Without it, no retention is asked for.
    pub fn with_retention(mut self, period: chrono::Duration) -> Self {
        self.retention = Some(period);
        self
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The lease (fencing token) written into every entry.
    pub fn lease(&self) -> u64 {
        self.lease
    }

    /// The sink written to.
    pub fn sink(&self) -> &Arc<dyn EvidenceSink> {
        &self.sink
    }

    /// Opens the chain of `request_id`, received at `received_at` (which, with the retention
    /// period, sets how long its objects are kept): reads and checks the existing entries
    /// (hashes, sequence, links; a bad chain is [`Error::Verify`] naming the object) and
    /// positions after the last. [`Error::Superseded`] if an entry was written under a newer
    /// lease than this writer's.
    pub async fn chain(
        &self,
        request_id: &str,
        received_at: DateTime<Utc>,
    ) -> Result<Chain, Error> {
        check_id("request", request_id)?;
        let names = self.sink.list(&request_prefix(request_id)).await?;
        let entries = load_chain(self.sink.as_ref(), request_id, &names).await?;
        if let Some(newer) = entries.iter().find(|e| e.lease > self.lease) {
            return Err(Error::Superseded {
                request: request_id.to_owned(),
                seq: newer.seq,
            });
        }
        Ok(Chain {
            sink: self.sink.clone(),
            guard: self.guard.clone(),
            signer: self.signer.clone(),
            run: self.run.clone(),
            lease: self.lease,
            request: request_id.to_owned(),
            retain_until: self.retention.map(|p| received_at + p),
            entries,
            state: State::Ready,
        })
    }

    /// Writes the run summary `runs/<run_id>.json` once: compact JSON of `summary` (an object;
    /// counts only) with `"run"` added if absent (if present it must be the run id), guarded.
    /// If the object already exists with identical bytes, that is success.
    pub async fn write_run(&self, summary: Value) -> Result<(), Error> {
        let bad = |reason: &str| Error::Manifest {
            request: self.run.clone(),
            reason: format!("run summary {reason}"),
        };
        let Value::Object(mut fields) = summary else {
            return Err(bad("must be a JSON object"));
        };
        match fields.get("run") {
            None => {
                fields.insert("run".into(), Value::String(self.run.clone()));
            }
            Some(Value::String(r)) if *r == self.run => {}
            Some(_) => return Err(bad("field `run` must be the run id")),
        }
        let what = || format!("run summary {}", self.run);
        let mut bytes = serde_json::to_vec(&fields).map_err(|source| Error::Json {
            what: what(),
            source,
        })?;
        bytes.push(b'\n');
        if !self.guard.permits_json(&bytes) {
            return Err(Error::Guard { what: what() });
        }
        let name = run_name(&self.run);
        let opts = PutOptions {
            retain_until: self.retention.map(|p| Utc::now() + p),
        };
        put_or_same(self.sink.as_ref(), &name, &bytes, &opts).await
    }
}

/// Writes `name` once; an existing object with identical bytes is success, other bytes are
/// [`Error::Exists`].
async fn put_or_same(
    sink: &dyn EvidenceSink,
    name: &str,
    bytes: &[u8],
    opts: &PutOptions,
) -> Result<(), Error> {
    match sink.put_once(name, bytes, opts).await {
        Err(Error::Exists { name }) if sink.get(&name).await? != bytes => {
            Err(Error::Exists { name })
        }
        Err(Error::Exists { .. }) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads and checks the entries of `request` among `names` (a listing of its directory, as
/// returned by the sink); manifests are skipped, any other name is an error.
pub(crate) async fn load_chain(
    sink: &dyn EvidenceSink,
    request: &str,
    names: &[String],
) -> Result<Vec<Entry>, Error> {
    let mut positions = Vec::new();
    for name in names {
        match classify(name) {
            Some(ObjectKind::Entry { request: r, seq }) if r == request => {
                positions.push((seq, name.as_str()));
            }
            Some(ObjectKind::Manifest { request: r, .. }) if r == request => {}
            _ => {
                return Err(
                    VerifyError::new(name, "unexpected object in a request's chain").into(),
                );
            }
        }
    }
    positions.sort_unstable();
    let mut read = Vec::with_capacity(positions.len());
    for (seq, name) in positions {
        let bytes = sink.get(name).await?;
        read.push((name, seq, decode(name, &bytes)?));
    }
    check_links(request, &read)?;
    Ok(read.into_iter().map(|(_, _, e)| e).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    /// Another lease took position `seq`: this writer must stop.
    Superseded {
        seq: u64,
    },
    /// A write failed; what is on storage is unknown.
    Poisoned,
}

/// One request's hash chain, open for writing under one lease. Owned and `Send`; writes take
/// `&mut self`. After [`Error::Superseded`] or a failed write every call fails.
pub struct Chain {
    sink: Arc<dyn EvidenceSink>,
    guard: Arc<Guard>,
    signer: Option<Arc<Signer>>,
    run: String,
    lease: u64,
    request: String,
    retain_until: Option<DateTime<Utc>>,
    entries: Vec<Entry>,
    state: State,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("request", &self.request)
            .field("run", &self.run)
            .field("lease", &self.lease)
            .field("seq", &self.seq())
            .field("head", &self.head())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// An entry ready to write: built and guarded.
struct Prepared {
    name: String,
    bytes: Vec<u8>,
    entry: Entry,
}

impl Chain {
    /// The request id.
    pub fn request_id(&self) -> &str {
        &self.request
    }

    /// Sequence number of the last entry (0 while the chain is empty).
    pub fn seq(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.seq)
    }

    /// Hash of the last entry (the request's genesis hash while the chain is empty).
    pub fn head(&self) -> String {
        self.entries
            .last()
            .map_or_else(|| genesis(&self.request), |e| e.hash.clone())
    }

    /// Every entry: those read when the chain was opened, then those written through it.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends an entry of `kind` (1–64 of `A-Z a-z 0-9 . _ -`; `manifest` and
    /// `manifest_abandoned` are reserved) at the next position, durably. Refused with
    /// [`Error::Guard`], writing nothing, if the entry holds a forbidden value.
    /// [`Error::Superseded`] if the position was already written (by another lease); the chain
    /// is then unusable. Any other failed write leaves it [`Error::Poisoned`] until reopened.
    pub async fn append(&mut self, kind: &str, data: Value) -> Result<EntryRef, Error> {
        check_kind(kind)?;
        if kind == MANIFEST_KIND || kind == ABANDONED_KIND {
            return Err(Error::InvalidKind {
                kind: kind.to_owned(),
                reason: "reserved for seal",
            });
        }
        self.ready()?;
        let prepared = self.prepare(kind, &data)?;
        self.commit(prepared).await
    }

    /// Seals the chain with a manifest and returns the SHA-256 hex of the manifest object.
    ///
    /// `manifest` must be a JSON object without the fields of [`MANIFEST_RESERVED`]. Added, in
    /// this order: `request`, `run`, `lease`, `chain_seq` (the last entry before sealing) and
    /// `chain_head` (its hash, the genesis hash for an empty chain), then the signature if the
    /// [`Evidence`] has a signer. The object is written once to
    /// `requests/<id>/manifest-<n>.json`, `n` being the position of the sealing entry, and then
    /// a `manifest` entry `{"object": <name>, "sha256": <hex>}` is appended at `n`.
    ///
    /// Both documents are guarded before anything is written. If position `n` is already
    /// taken, [`Error::Superseded`]. If the object already exists:
    ///
    /// * with identical bytes (a retry after a crash between the two writes), only the entry
    ///   is appended;
    /// * with other bytes written under a newer lease, [`Error::Superseded`];
    /// * with other bytes written under this lease or an older one, it was left by a writer
    ///   that crashed or was superseded before its entry: a `manifest_abandoned` entry
    ///   `{"object", "sha256"}` is appended at `n` to record it (the put of that entry fences
    ///   the old writer out), and the manifest is sealed at `n + 1`.
    pub async fn seal(&mut self, manifest: Value) -> Result<String, Error> {
        let bad = |reason: String| Error::Manifest {
            request: self.request.clone(),
            reason,
        };
        let Value::Object(fields) = manifest else {
            return Err(bad("must be a JSON object".into()));
        };
        if let Some(k) = MANIFEST_RESERVED.iter().find(|k| fields.contains_key(**k)) {
            return Err(bad(format!("field `{k}` is reserved (added when sealing)")));
        }
        loop {
            self.ready()?;
            let seq = self.seq() + 1;
            let mut fields = fields.clone();
            add_seal_fields(&mut fields, self);
            let what = || format!("manifest of request {} seq {seq}", self.request);
            let bytes =
                encode_manifest(&fields, self.signer.as_deref()).map_err(|source| Error::Json {
                    what: what(),
                    source,
                })?;
            if !self.guard.permits_json(&bytes) {
                return Err(Error::Guard { what: what() });
            }
            let sha = sha256_hex(&bytes);
            let name = manifest_name(&self.request, seq);
            let data = json!({ "object": name, "sha256": sha });
            let prepared = self.prepare(MANIFEST_KIND, &data)?;

            // A writer superseded long ago should not leave a manifest behind: look at the
            // position first (the put of the entry below is what actually decides).
            match self.sink.get(&prepared.name).await {
                Ok(_) => return Err(self.superseded(seq)),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
            let existing = match self.sink.put_once(&name, &bytes, &self.put_options()).await {
                Ok(()) => None,
                Err(Error::Exists { .. }) => match self.sink.get(&name).await {
                    Ok(existing) if existing == bytes => None,
                    Ok(existing) => Some(existing),
                    Err(e) => return Err(self.poison(e)),
                },
                Err(e) => return Err(self.poison(e)),
            };
            let Some(existing) = existing else {
                self.commit(prepared).await?;
                return Ok(sha);
            };
            let lease = decode_manifest(&existing)
                .ok()
                .and_then(|d| d.doc.get("lease").and_then(Value::as_u64));
            let Some(lease) = lease else {
                return Err(VerifyError::new(&name, "is not a manifest with a lease").into());
            };
            if lease > self.lease {
                return Err(self.superseded(seq));
            }
            let data = json!({ "object": name, "sha256": sha256_hex(&existing) });
            let prepared = self.prepare(ABANDONED_KIND, &data)?;
            self.commit(prepared).await?;
        }
    }

    fn put_options(&self) -> PutOptions {
        PutOptions {
            retain_until: self.retain_until,
        }
    }

    fn ready(&self) -> Result<(), Error> {
        match self.state {
            State::Ready => Ok(()),
            State::Superseded { seq } => Err(Error::Superseded {
                request: self.request.clone(),
                seq,
            }),
            State::Poisoned => Err(Error::Poisoned {
                request: self.request.clone(),
            }),
        }
    }

    fn superseded(&mut self, seq: u64) -> Error {
        self.state = State::Superseded { seq };
        Error::Superseded {
            request: self.request.clone(),
            seq,
        }
    }

    fn poison(&mut self, e: Error) -> Error {
        self.state = State::Poisoned;
        e
    }

    /// Builds and guards the next entry.
    fn prepare(&self, kind: &str, data: &Value) -> Result<Prepared, Error> {
        let seq = self.seq() + 1;
        let what = || format!("entry {kind} of request {} seq {seq}", self.request);
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let prev = self.head();
        let unhashed = Unhashed {
            seq,
            at: &at,
            request: &self.request,
            run: &self.run,
            lease: self.lease,
            kind,
            data,
            prev: &prev,
        };
        let p = unhashed.to_bytes().map_err(|source| Error::Json {
            what: what(),
            source,
        })?;
        if !self.guard.permits_json(&p) {
            return Err(Error::Guard { what: what() });
        }
        let (bytes, hash) = Unhashed::seal(p);
        Ok(Prepared {
            name: entry_name(&self.request, seq),
            bytes,
            entry: unhashed.to_entry(hash),
        })
    }

    async fn commit(&mut self, prepared: Prepared) -> Result<EntryRef, Error> {
        let seq = prepared.entry.seq;
        match self
            .sink
            .put_once(&prepared.name, &prepared.bytes, &self.put_options())
            .await
        {
            Ok(()) => {}
            Err(Error::Exists { .. }) => return Err(self.superseded(seq)),
            Err(e) => return Err(self.poison(e)),
        }
        let r = EntryRef {
            seq,
            hash: prepared.entry.hash.clone(),
        };
        self.entries.push(prepared.entry);
        Ok(r)
    }
}

fn add_seal_fields(fields: &mut Map<String, Value>, chain: &Chain) {
    fields.insert("request".into(), Value::String(chain.request.clone()));
    fields.insert("run".into(), Value::String(chain.run.clone()));
    fields.insert("lease".into(), Value::from(chain.lease));
    fields.insert("chain_seq".into(), Value::from(chain.seq()));
    fields.insert("chain_head".into(), Value::String(chain.head()));
}
