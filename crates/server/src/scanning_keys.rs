//! GitHub's public keys for secret-scanning reports, and checking a
//! report's signature with them (ECDSA P-256 / SHA-256 over the raw body,
//! base64 DER). Read from a file at start; nothing is fetched.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use serde::Deserialize;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo`; the 65-byte
/// uncompressed point follows it.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// GitHub's public keys for secret-scanning reports, by identifier.
#[derive(Clone)]
pub struct ScanningKeys(HashMap<String, Vec<u8>>);

impl std::fmt::Debug for ScanningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

#[derive(Deserialize)]
struct KeyDocument {
    public_keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
struct PublicKey {
    key_identifier: String,
    key: String,
}

impl ScanningKeys {
    /// Reads GitHub's key document (`{"public_keys": [{"key_identifier", "key": PEM}]}`).
    pub fn load(path: &Path) -> anyhow::Result<ScanningKeys> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        ScanningKeys::from_document(&text).with_context(|| format!("reading the keys in {}", path.display()))
    }

    pub fn from_document(text: &str) -> anyhow::Result<ScanningKeys> {
        let document: KeyDocument = serde_json::from_str(text).context("not GitHub's public key document")?;
        let mut keys = HashMap::new();
        for key in document.public_keys {
            let point = p256_point(&key.key).with_context(|| format!("key {}", key.key_identifier))?;
            keys.insert(key.key_identifier, point);
        }
        anyhow::ensure!(!keys.is_empty(), "the document holds no keys");
        Ok(ScanningKeys(keys))
    }

    /// Whether `signature` (base64 DER) is the key `id`'s over `body`.
    pub fn verify(&self, id: &str, signature: &str, body: &[u8]) -> bool {
        let (Some(point), Ok(signature)) = (self.0.get(id), STANDARD.decode(signature.trim())) else { return false };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point).verify(body, &signature).is_ok()
    }
}

/// The uncompressed point of a PEM P-256 public key.
fn p256_point(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).map(str::trim).collect();
    let der = STANDARD.decode(body).context("the PEM body is not base64")?;
    let point = der.strip_prefix(&P256_SPKI_PREFIX[..]).context("not a P-256 public key")?;
    anyhow::ensure!(point.len() == 65 && point[0] == 4, "not an uncompressed P-256 point");
    Ok(point.to_vec())
}

/// A PEM P-256 public key for an uncompressed point (for tests and tools).
pub fn p256_pem(point: &[u8]) -> String {
    let der = [&P256_SPKI_PREFIX[..], point].concat();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    #[test]
    fn signatures_verify_only_for_their_key_and_body() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("pair");
        let document = json!({"public_keys": [
            {"key_identifier": "k1", "key": p256_pem(pair.public_key().as_ref()), "is_current": true}
        ]});
        let keys = ScanningKeys::from_document(&document.to_string()).expect("keys");
        let body = br#"[{"token":"x","type":"sitegpt_api_token"}]"#;
        let signature = STANDARD.encode(pair.sign(&rng, body).expect("sign").as_ref());
        assert!(keys.verify("k1", &signature, body));
        assert!(!keys.verify("k2", &signature, body), "unknown key");
        assert!(!keys.verify("k1", &signature, b"[]"), "another body");
        assert!(!keys.verify("k1", "not base64!", body));
        assert!(ScanningKeys::from_document(r#"{"public_keys": []}"#).is_err());
        assert!(ScanningKeys::from_document(r#"{"public_keys": [{"key_identifier": "x", "key": "nope"}]}"#).is_err());
    }
}
