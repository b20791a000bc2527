//! The authorization rule of each API v2 route, by method and route
//! template. The API router fills it from the route table when it builds
//! the routes; the `Caller` extractor reads it with the template the router
//! matched. (A table here rather than a layer
//! per route: no extension and no service clone per request.)

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::Method;
use sitegpt_access::RouteRule;

/// Per template, the rule of `GET`, `POST`, `PATCH` and `DELETE`.
type Rules = HashMap<&'static str, [Option<RouteRule>; 4], TailHash>;

static RULES: OnceLock<Rules> = OnceLock::new();

fn index(method: &str) -> Option<usize> {
    ["GET", "POST", "PATCH", "DELETE"].iter().position(|m| *m == method)
}

/// Records the route table's rules: `(method, template, rule)`. The table is
/// static, so the first call's is every call's.
pub fn install(routes: impl Iterator<Item = (&'static str, &'static str, RouteRule)>) {
    RULES.get_or_init(|| {
        let mut rules = Rules::default();
        for (method, path, rule) in routes {
            if let Some(i) = index(method) {
                rules.entry(path).or_default()[i] = Some(rule);
            }
        }
        rules
    });
}

/// The rule of the route `method` and `path` (the route's template, as
/// [`axum::extract::MatchedPath`] names it); `HEAD` is `GET`'s.
pub fn rule_for(method: &Method, path: &str) -> Option<RouteRule> {
    let i = [Method::GET, Method::POST, Method::PATCH, Method::DELETE]
        .iter()
        .position(|m| m == method)
        .or((method == Method::HEAD).then_some(0))?;
    RULES.get()?.get(path)?[i]
}

/// The keys are the route table's own templates (nothing a client chooses
/// reaches the table), so the hash reads a key's length and its last 16
/// bytes as two words rather than every byte: the templates differ there
/// (a test checks), and were two alike they would only cost a comparison.
/// The words are read straight from the key (overlapping when it is
/// shorter), not copied into a buffer first: a copy of variable length
/// followed by word reads of it stalls the processor's store forwarding.
#[derive(Default, Clone, Copy)]
struct TailHash;

struct TailHasher(u64);

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl std::hash::BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(0)
    }
}

/// The eight bytes at `at` as a word.
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

impl std::hash::Hasher for TailHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let [a, b] = match n {
            16.. => [word(bytes, n - 16), word(bytes, n - 8)],
            8.. => [word(bytes, 0), word(bytes, n - 8)],
            _ => [0, bytes.iter().fold(0, |w, &byte| (w << 8) | u64::from(byte))],
        };
        let word = a.wrapping_mul(MIX) ^ b ^ n as u64;
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }

    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(MIX);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn the_route_templates_hash_apart() {
        let templates: std::collections::BTreeSet<&str> = crate::api::api_routes().iter().map(|r| r.path).collect();
        let hashes: std::collections::HashSet<u64> = templates.iter().map(|t| TailHash.hash_one(t)).collect();
        assert!(templates.len() > 20);
        assert_eq!(hashes.len(), templates.len(), "{templates:?}");
    }

    #[test]
    fn every_length_hashes_every_byte_it_reads() {
        // Up to 16 bytes every byte counts; beyond, the length and the last 16.
        let key = b"/api/v2/chatbots/{chatbot_id}/knowledge/{id}";
        for n in 0..=key.len() {
            let hash = TailHash.hash_one(&key[..n]);
            for i in n.saturating_sub(16)..n {
                let mut other = key[..n].to_vec();
                other[i] ^= 1;
                assert_ne!(TailHash.hash_one(&other[..]), hash, "length {n}, byte {i}");
            }
            if n > 0 {
                assert_ne!(TailHash.hash_one(&key[..n - 1]), hash, "length {n} against {}", n - 1);
            }
        }
    }
}
