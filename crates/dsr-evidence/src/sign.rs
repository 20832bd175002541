//! Ed25519 signatures of manifests: [`Signer`], [`KeyRing`] and the manifest object format.
//!
//! A manifest is first serialised compactly as a JSON object; call those bytes `M` (they end
//! with `}`). Unsigned, the stored object is `M` and a newline. Signed, the signature is the
//! Ed25519 signature (RFC 8032, pure, no pre-hash) of exactly the bytes `M`, and the stored
//! object is `M` without its final `}`, followed by
//! `,"signature":{"alg":"ed25519","key_id":"<key id>","sig":"<128 lower-case hex>"}}` and a
//! newline — the same splice as an entry's `hash`. A verifier recovers `M` from the object
//! alone: it reads `signature.key_id` and `signature.sig` (with `jq`), rebuilds that suffix,
//! checks the object (without its newline) ends with it, cuts it, appends `}` and verifies the
//! signature over the result with the public key of `key_id`. Key ids are 1–64 characters of
//! `A-Z a-z 0-9 . _ -`, so the suffix needs no JSON escaping.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{Map, Value};

use crate::Error;

/// Signature algorithm name written in manifests.
pub const ALG: &str = "ed25519";

/// A manifest signing key: an Ed25519 key and its id. `Debug` shows the id and public key only.
#[derive(Clone)]
pub struct Signer {
    key_id: String,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

fn check_key_id(key_id: &str) -> Result<(), Error> {
    let ok = !key_id.is_empty()
        && key_id.len() <= 64
        && key_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Key {
            key_id: key_id.chars().take(64).collect(),
            reason: "key id must be 1-64 characters of A-Z a-z 0-9 . _ -",
        })
    }
}

/// Decodes 64 hex digits (surrounding whitespace ignored) into 32 bytes.
fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out).ok()?;
    Some(out)
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed (the RFC 8032 private key) in hex, 64 digits.
    /// Errors name the key id, never the seed.
    pub fn from_seed_hex(key_id: &str, seed_hex: &str) -> Result<Signer, Error> {
        check_key_id(key_id)?;
        let Some(mut seed) = hex32(seed_hex) else {
            return Err(Error::Key {
                key_id: key_id.to_owned(),
                reason: "the seed must be 64 hex digits (32 bytes)",
            });
        };
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Signer {
            key_id: key_id.to_owned(),
            key,
        })
    }

    /// The key id written in signatures.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public (verifying) key, 32 bytes as 64 lower-case hex digits, for a [`KeyRing`].
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// Hex of the signature of `message`.
    fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.key.sign(message).to_bytes())
    }
}

/// Public keys that manifests may be signed with, by key id.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<String, VerifyingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys.keys()).finish()
    }
}

impl KeyRing {
    /// An empty ring: manifests are not required to be signed, and signatures are not checked.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// A ring from `(key id, public key as 64 hex digits)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let mut ring = KeyRing::new();
        for (id, public_hex) in pairs {
            ring.insert(&id, &public_hex)?;
        }
        Ok(ring)
    }

    /// Adds (or replaces) the public key of `key_id`, 64 hex digits.
    pub fn insert(&mut self, key_id: &str, public_hex: &str) -> Result<(), Error> {
        check_key_id(key_id)?;
        let bad = || Error::Key {
            key_id: key_id.to_owned(),
            reason: "the public key must be 64 hex digits of a valid Ed25519 key",
        };
        let bytes = hex32(public_hex).ok_or_else(bad)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
        self.keys.insert(key_id.to_owned(), key);
        Ok(())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Key ids, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Checks `sig` over `message` with the key `key_id`; the error says what is wrong.
    pub(crate) fn check(&self, key_id: &str, message: &[u8], sig: &[u8; 64]) -> Result<(), String> {
        let Some(key) = self.keys.get(key_id) else {
            return Err(format!(
                "signed with key {key_id}, which is not in the key ring"
            ));
        };
        key.verify_strict(message, &Signature::from_bytes(sig))
            .map_err(|_| format!("signature by key {key_id} does not verify"))
    }
}

/// Serialises a manifest (a JSON object) and, with a signer, signs it: the stored object,
/// newline included (see the module documentation).
pub(crate) fn encode_manifest(
    manifest: &Map<String, Value>,
    signer: Option<&Signer>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec(manifest)?;
    if let Some(signer) = signer {
        let sig = signer.sign_hex(&bytes);
        bytes.pop(); // the closing `}`
        bytes.extend_from_slice(signature_suffix(&signer.key_id, &sig).as_bytes());
    }
    bytes.push(b'\n');
    Ok(bytes)
}

fn signature_suffix(key_id: &str, sig_hex: &str) -> String {
    format!(",\"signature\":{{\"alg\":\"{ALG}\",\"key_id\":\"{key_id}\",\"sig\":\"{sig_hex}\"}}}}")
}

/// The signature of a stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestSignature {
    pub key_id: String,
    pub sig: [u8; 64],
}

/// A stored manifest taken apart.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The whole object, parsed (with `signature` if signed).
    pub doc: Map<String, Value>,
    /// The signed bytes `M`.
    pub payload: Vec<u8>,
    /// The signature, if any.
    pub signature: Option<ManifestSignature>,
}

/// Takes a stored manifest apart (form only; no key is checked). The error says what is wrong
/// without quoting the object.
pub(crate) fn decode_manifest(stored: &[u8]) -> Result<Decoded, String> {
    let Some(body) = stored.strip_suffix(b"\n") else {
        return Err("incomplete manifest (no trailing newline)".into());
    };
    let doc: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| crate::entry::parse_failure(&e, "a JSON object"))?;
    let Some(sig_value) = doc.get("signature") else {
        return Ok(Decoded {
            doc,
            payload: body.to_vec(),
            signature: None,
        });
    };
    let malformed = || {
        "signature must be the last field, {\"alg\":\"ed25519\",\"key_id\":…,\"sig\":<128 hex>}"
            .to_owned()
    };
    if doc.keys().next_back().map(String::as_str) != Some("signature") {
        return Err(malformed());
    }
    let Some(sig_obj) = sig_value.as_object() else {
        return Err(malformed());
    };
    let field = |k: &str| sig_obj.get(k).and_then(Value::as_str);
    let (Some(ALG), Some(key_id), Some(sig_hex), 3) =
        (field("alg"), field("key_id"), field("sig"), sig_obj.len())
    else {
        return Err(malformed());
    };
    if check_key_id(key_id).is_err() {
        return Err("signature key_id is not 1-64 characters of A-Z a-z 0-9 . _ -".into());
    }
    let mut sig = [0u8; 64];
    if sig_hex.len() != 128
        || sig_hex.bytes().any(|b| b.is_ascii_uppercase())
        || hex::decode_to_slice(sig_hex, &mut sig).is_err()
    {
        return Err(malformed());
    }
    let suffix = signature_suffix(key_id, sig_hex);
    let Some(head) = body.strip_suffix(suffix.as_bytes()) else {
        return Err("the signature is not written in the canonical form".into());
    };
    let mut payload = head.to_vec();
    payload.push(b'}');
    let key_id = key_id.to_owned();
    Ok(Decoded {
        doc,
        payload,
        signature: Some(ManifestSignature { key_id, sig }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn rfc8032_test_vector_1() {
        let s = Signer::from_seed_hex("k1", SEED).unwrap();
        assert_eq!(s.public_key_hex(), PUBLIC);
        // RFC 8032 §7.1, TEST 1: the empty message.
        assert_eq!(
            s.sign_hex(b""),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(!format!("{s:?}").contains(SEED));
    }

    #[test]
    fn bad_keys_are_refused_without_echo() {
        let secret = "zz61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let err = Signer::from_seed_hex("k1", secret).unwrap_err();
        assert!(matches!(err, Error::Key { .. }));
        assert!(!err.to_string().contains(&secret[2..20]), "{err}");
        assert!(Signer::from_seed_hex("k1", &SEED[..62]).is_err());
        assert!(Signer::from_seed_hex("bad id", SEED).is_err());
        assert!(KeyRing::from_pairs([("k1".to_owned(), "00".to_owned())]).is_err());
        let ring = KeyRing::from_pairs([("k1".to_owned(), PUBLIC.to_owned())]).unwrap();
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), ["k1"]);
        assert_eq!(format!("{ring:?}"), "{\"k1\"}");
    }

    #[test]
    fn signed_manifests_round_trip() {
        let s = Signer::from_seed_hex("k1", SEED).unwrap();
        let m = json!({"status": "fulfilled", "signature_note": "a \"signature\":{ inside"});
        let m = m.as_object().unwrap();
        let stored = encode_manifest(m, Some(&s)).unwrap();
        let d = decode_manifest(&stored).unwrap();
        assert_eq!(d.payload, serde_json::to_vec(m).unwrap());
        let sig = d.signature.unwrap();
        assert_eq!(sig.key_id, "k1");
        let ring = KeyRing::from_pairs([("k1".to_owned(), PUBLIC.to_owned())]).unwrap();
        ring.check("k1", &d.payload, &sig.sig).unwrap();
        assert!(ring.check("k2", &d.payload, &sig.sig).is_err());
        assert!(ring.check("k1", b"{}", &sig.sig).is_err());

        let unsigned = encode_manifest(m, None).unwrap();
        let d = decode_manifest(&unsigned).unwrap();
        assert!(d.signature.is_none());
        assert_eq!(d.payload, unsigned[..unsigned.len() - 1]);

        // A pretty-printed copy is not the stored form.
        let mut pretty = serde_json::to_vec_pretty(&d.doc).unwrap();
        pretty.push(b'\n');
        let mut signed_doc: Value = serde_json::from_slice(&stored).unwrap();
        let mut pretty_signed = serde_json::to_vec_pretty(&signed_doc).unwrap();
        pretty_signed.push(b'\n');
        assert!(decode_manifest(&pretty_signed).is_err());
        signed_doc["signature"]["alg"] = json!("rsa");
        let mut other = serde_json::to_vec(&signed_doc).unwrap();
        other.push(b'\n');
        assert!(decode_manifest(&other).is_err());
        assert!(decode_manifest(b"{}").is_err());
        assert!(decode_manifest(b"[1]\n").is_err());
    }
}
