//! The plaintext token format and its hash.
//!
//! `sgpt_` + 43 base62 characters (32 bytes from the OS CSPRNG) + 6 base62
//! characters of CRC32 over those 43 characters. The checksum lets secret
//! scanners and this server reject noise without touching the database.
//!
//! NEVER CHANGE THE PREFIX OR THE LAYOUT: issued tokens and secret scanners
//! depend on both.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::base62;

/// Prefix of every plaintext token.
pub const PREFIX: &str = "sgpt_";
const RANDOM_BYTES: usize = 32;
const RANDOM_LEN: usize = base62::width_for_bytes(RANDOM_BYTES);
const CHECKSUM_LEN: usize = 6;
/// Total length of a plaintext token.
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;

/// A plaintext token. Its `Debug` redacts; the secret leaves the process only
/// through [`PlainToken::expose`], which consumes it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

/// Why a string is not a well-formed token. Callers answer every variant the
/// same way (unauthenticated); the variants exist for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenParseError {
    #[error("the token does not have the sitegpt prefix")]
    Prefix,
    #[error("the token has the wrong length")]
    Length,
    #[error("the token contains characters outside base62")]
    Alphabet,
    #[error("the token checksum does not match")]
    Checksum,
}

/// `prefix` + 43 random base62 characters + their 6-character checksum.
pub(crate) fn generate_with(prefix: &str) -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let random = base62::encode_fixed(&bytes, RANDOM_LEN);
    let checksum = checksum(&random);
    format!("{prefix}{random}{checksum}")
}

/// Checks the layout [`generate_with`] makes, without I/O.
pub(crate) fn parse_with(prefix: &str, s: &str) -> Result<(), TokenParseError> {
    let rest = s.strip_prefix(prefix).ok_or(TokenParseError::Prefix)?;
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(TokenParseError::Length);
    }
    if !base62::is_base62(rest) {
        return Err(TokenParseError::Alphabet);
    }
    let (random, check) = rest.split_at(RANDOM_LEN);
    if !base62::matches_u32(check, crc32fast::hash(random.as_bytes())) {
        return Err(TokenParseError::Checksum);
    }
    Ok(())
}

impl PlainToken {
    /// A new random token.
    pub fn generate() -> PlainToken {
        PlainToken(generate_with(PREFIX))
    }

    /// Checks the shape and checksum. Does no I/O.
    pub fn parse(s: &str) -> Result<PlainToken, TokenParseError> {
        parse_with(PREFIX, s).map(|()| PlainToken(s.to_owned()))
    }

    /// Checks `s` as [`PlainToken::parse`] does and hashes it as
    /// [`PlainToken::hash`] does, without copying the secret.
    pub fn hash_of(s: &str) -> Result<TokenHash, TokenParseError> {
        parse_with(PREFIX, s).map(|()| hash_text(s))
    }

    /// The SHA-256 of `s` as [`PlainToken::hash`] makes it, without
    /// checking its shape: for a lookup in a cache of tokens already
    /// verified, where only a real token's hash can be found. Check the
    /// shape ([`PlainToken::check`]) before anything else.
    pub fn hash_unchecked(s: &[u8]) -> TokenHash {
        TokenHash(sha256(s))
    }

    /// Checks the shape and checksum of `s` as [`PlainToken::parse`] does.
    pub fn check(s: &str) -> Result<(), TokenParseError> {
        parse_with(PREFIX, s)
    }

    /// The SHA-256 of the whole plaintext: what the store keeps.
    pub fn hash(&self) -> TokenHash {
        hash_text(&self.0)
    }

    /// The last four characters, shown to people to tell tokens apart.
    pub fn hint(&self) -> String {
        hint_of(&self.0)
    }

    /// Hands out the secret. Consumes the token so that the plaintext has one
    /// way out of the program.
    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// Prefix of OAuth refresh tokens, laid out as access tokens are, so secret
/// scanners can tell a leaked one too.
pub const REFRESH_PREFIX: &str = "sgpr_";

/// An OAuth refresh token. Stored only as its SHA-256; `Debug` redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> RefreshToken {
        RefreshToken(generate_with(REFRESH_PREFIX))
    }

    /// Checks the shape and checksum. Does no I/O.
    pub fn parse(s: &str) -> Result<RefreshToken, TokenParseError> {
        parse_with(REFRESH_PREFIX, s).map(|()| RefreshToken(s.to_owned()))
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// Hands out the secret, once.
    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// The SHA-256 of a plaintext, as stored.
pub(crate) fn hash_text(plaintext: &str) -> TokenHash {
    TokenHash(sha256(plaintext.as_bytes()))
}

/// SHA-256 of `message`. One that fits one block with its padding (every
/// token does) goes straight to the compression function, without the
/// streaming hasher's buffering: this runs on every authenticated request.
fn sha256(message: &[u8]) -> [u8; 32] {
    /// The initial hash value (FIPS 180-4, 5.3.3).
    const H0: [u32; 8] =
        [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];
    if message.len() > 55 {
        return Sha256::digest(message).into();
    }
    // The message, a 1 bit, zeros, and its length in bits in the last 8 bytes.
    let bits = message.len() as u64 * 8;
    let mut block = [0u8; 64];
    block[..message.len()].copy_from_slice(message);
    block[message.len()] = 0x80;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    let mut state = H0;
    sha2::compress256(&mut state, &[block.into()]);
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// A plaintext's last four characters (its layout is ASCII).
pub(crate) fn hint_of(plaintext: &str) -> String {
    plaintext[plaintext.len().saturating_sub(4)..].to_owned()
}

fn checksum(random: &str) -> String {
    base62::encode_u32(crc32fast::hash(random.as_bytes()), CHECKSUM_LEN)
}

/// SHA-256 of a plaintext token. Not a secret by itself, but never shown.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<TokenHash> {
        bytes.try_into().ok().map(TokenHash)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_one_block_hash_is_sha256_at_every_length() {
        // Around the one-block limit (55 bytes) and beyond, every byte value.
        for len in 0..=200usize {
            let message: Vec<u8> = (0..len).map(|i| (i * 151 + len) as u8).collect();
            assert_eq!(sha256(&message), <[u8; 32]>::from(Sha256::digest(&message)), "{len} bytes");
        }
        // A known answer (FIPS 180-2, B.1).
        let abc = sha256(b"abc");
        assert_eq!(abc[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(abc[28..], [0xf2, 0x00, 0x15, 0xad]);
        let token = PlainToken::generate();
        assert_eq!(token.hash().0, <[u8; 32]>::from(Sha256::digest(token.0.as_bytes())));
    }

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = PlainToken::generate();
        let hint = token.hint();
        let hash = token.hash();
        let s = token.expose();
        assert!(s.starts_with("sgpt_"));
        assert_eq!(s.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 54);
        assert_eq!(&s[50..], hint);
        let reparsed = PlainToken::parse(&s).expect("generated tokens parse");
        assert_eq!(reparsed.hash(), hash);
        assert_eq!(PlainToken::hash_of(&s), Ok(hash), "hashing in place agrees");
        assert_eq!(PlainToken::hash_unchecked(s.as_bytes()), hash, "and without the check");
        assert_eq!(PlainToken::check(&s), Ok(()));
    }

    #[test]
    fn refresh_tokens_are_told_apart_from_access_tokens() {
        let refresh = RefreshToken::generate();
        let debug = format!("{refresh:?}");
        let hash = refresh.hash();
        let s = refresh.expose();
        assert!(s.starts_with("sgpr_") && s.len() == TOKEN_LEN, "{s}");
        assert!(!debug.contains(&s[5..]));
        assert_eq!(RefreshToken::parse(&s).map(|r| r.hash()), Ok(hash));
        assert_eq!(PlainToken::parse(&s), Err(TokenParseError::Prefix));
        let access = PlainToken::generate().expose();
        assert_eq!(RefreshToken::parse(&access), Err(TokenParseError::Prefix));
        let mut broken = s.clone();
        broken.replace_range(10..11, if &s[10..11] == "a" { "b" } else { "a" });
        assert_eq!(RefreshToken::parse(&broken), Err(TokenParseError::Checksum));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = PlainToken::generate();
        let debug = format!("{token:?}");
        let secret = token.expose();
        assert!(!debug.contains(&secret[5..]));
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn malformed_tokens_are_rejected_with_a_reason() {
        let good = PlainToken::generate().expose();
        assert_eq!(PlainToken::parse(""), Err(TokenParseError::Prefix));
        assert_eq!(PlainToken::parse(&good[1..]), Err(TokenParseError::Prefix));
        assert_eq!(PlainToken::parse(&good[..53]), Err(TokenParseError::Length));
        assert_eq!(PlainToken::parse(&format!("{good}0")), Err(TokenParseError::Length));
        let mut bad = good.clone().into_bytes();
        bad[10] = b'-';
        let bad = String::from_utf8(bad).expect("ascii");
        assert_eq!(PlainToken::parse(&bad), Err(TokenParseError::Alphabet));
        // Hashing in place refuses exactly what parsing refuses.
        for s in ["", &good[1..], &good[..53], &format!("{good}0"), &bad] {
            assert_eq!(PlainToken::hash_of(s).err(), PlainToken::parse(s).err(), "{s}");
            assert_eq!(PlainToken::check(s).err(), PlainToken::parse(s).err(), "{s}");
        }
    }

    #[test]
    fn distinct_tokens_hash_differently() {
        let a = PlainToken::generate();
        let b = PlainToken::generate();
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    fn flip(s: &str, index: usize, to: u8) -> String {
        let mut bytes = s.as_bytes().to_vec();
        bytes[index] = to;
        String::from_utf8(bytes).expect("ascii")
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            let random = base62::encode_fixed(&bytes, RANDOM_LEN);
            let s = format!("{PREFIX}{random}{}", checksum(&random));
            let token = PlainToken::parse(&s).expect("well-formed");
            prop_assert_eq!(token.expose(), s);
        }

        #[test]
        fn any_single_character_change_fails_the_checksum(
            index in 5usize..TOKEN_LEN,
            replacement in proptest::sample::select(base62::ALPHABET.to_vec()),
        ) {
            let good = PlainToken::generate().expose();
            prop_assume!(good.as_bytes()[index] != replacement);
            let bad = flip(&good, index, replacement);
            prop_assert_eq!(PlainToken::parse(&bad), Err(TokenParseError::Checksum));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,80}") {
            let _ = PlainToken::parse(&s);
        }
    }
}
