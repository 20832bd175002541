//! Keyed hashes: the only form in which an identity may appear in evidence, logs or metrics.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA-256 under the deployment's secret key.
///
/// The key comes from config/env; without it a hash cannot be linked back to a value by
/// guessing, which a plain SHA-256 of an email would allow.
#[derive(Clone)]
pub struct KeyedHasher {
    key: Vec<u8>,
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher(<redacted>)")
    }
}

impl KeyedHasher {
    /// A hasher under `key` (at least 16 bytes is advised; validated by config).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        KeyedHasher { key: key.into() }
    }

    /// Hex HMAC of `parts`, each length-prefixed so that `("ab","c")` and `("a","bc")` differ.
    pub fn hash(&self, parts: &[&[u8]]) -> String {
        // A key of any length is accepted by HMAC, so `new_from_slice` cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Keyed hash of one normalised identity of a type (`email`, `ana@example.com`).
    pub fn identity(&self, kind: &str, normalized: &str) -> String {
        format!(
            "hmac:{}",
            &self.hash(&[kind.as_bytes(), normalized.as_bytes()])[..32]
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_length_prefixed() {
        let a = KeyedHasher::new(b"k1".to_vec());
        let b = KeyedHasher::new(b"k2".to_vec());
        assert_ne!(a.identity("email", "x"), b.identity("email", "x"));
        assert_ne!(a.hash(&[b"ab", b"c"]), a.hash(&[b"a", b"bc"]));
        assert_eq!(a.identity("email", "x"), a.identity("email", "x"));
        assert!(!a.identity("email", "ana@example.com").contains("ana"));
    }
}
