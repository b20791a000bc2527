//! Secrets the pages and mail make (session ids, CSRF tokens, link tokens):
//! made from the OS's generator, stored only as SHA-256 hashes, compared
//! in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sitegpt_access::base62;

/// A fresh 256-bit secret in base62 (session ids, CSRF tokens, link tokens).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base62::encode_fixed(&bytes, 43)
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}
