//! Keys of the deprecated v0 API: random version 4 UUIDs, looked up by the
//! SHA-256 of their lowercase text and never stored themselves.

use sha2::{Digest, Sha256};

/// A new random key and its display hint (its last four characters).
pub fn generate() -> (String, String) {
    let key = uuid::Uuid::new_v4().hyphenated().to_string();
    let hint = key[32..].to_owned();
    (key, hint)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase hex, as keys are
/// handed out (any version, like the documentation's example).
pub fn is_shaped(key: &str) -> bool {
    key.len() == 36
        && key.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_digit() || ('a'..='f').contains(&c) }
        })
}

/// What the store keeps of a key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_version_4_uuids() {
        let (key, hint) = generate();
        assert!(is_shaped(&key), "{key}");
        assert_eq!(&key[14..15], "4");
        assert!(matches!(&key[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(hint, key[32..]);
        assert_ne!(generate().0, key);
        assert!(is_shaped("7f488a50-8a5a-9e34-9a04-1dad5bd548c3"), "the documentation's example");
        for bad in ["", "7f488a50-8a5a-9e34-9a04-1dad5bd548c", "7f488a50x8a5a-9e34-9a04-1dad5bd548c3", "sgpt_abc"] {
            assert!(!is_shaped(bad), "{bad}");
        }
        assert!(!is_shaped("7F488A50-8A5A-9E34-9A04-1DAD5BD548C3"), "upper case is not a key's own shape");
    }

    #[test]
    fn the_hash_is_sha256_of_the_text() {
        assert_eq!(
            hash("7f488a50-8a5a-9e34-9a04-1dad5bd548c3"),
            <[u8; 32]>::from(Sha256::digest(b"7f488a50-8a5a-9e34-9a04-1dad5bd548c3"))
        );
    }
}
