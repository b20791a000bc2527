//! SitePulse's personal access tokens as plaintext: the engine's layout
//! (43 random base62 characters and a 6-character CRC32 checksum) behind a
//! prefix of their own, `spat_`, so a secret scanner, or either server,
//! tells them from SiteGPT's at a glance. Stored only as their SHA-256.

use std::fmt;

use crate::token::{TokenHash, TokenParseError, generate_with, hash_text, hint_of, parse_with};

/// Prefix of every SitePulse personal access token. Never changes.
pub const PULSE_PREFIX: &str = "spat_";

/// A plaintext personal access token; `Debug` redacts, and the secret
/// leaves only through [`PulseAccessToken::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct PulseAccessToken(String);

impl PulseAccessToken {
    pub fn generate() -> PulseAccessToken {
        PulseAccessToken(generate_with(PULSE_PREFIX))
    }

    /// Checks `s`'s shape and checksum (no I/O) and hashes it as stored.
    pub fn hash_of(s: &str) -> Result<TokenHash, TokenParseError> {
        parse_with(PULSE_PREFIX, s).map(|()| hash_text(s))
    }

    pub fn hash(&self) -> TokenHash {
        hash_text(&self.0)
    }

    /// The last four characters, to tell tokens apart in lists.
    pub fn hint(&self) -> String {
        hint_of(&self.0)
    }

    /// Hands out the secret, once.
    pub fn expose(self) -> String {
        self.0
    }
}

/// Prefix of SitePulse's OAuth refresh tokens.
pub const PULSE_REFRESH_PREFIX: &str = "sprt_";

/// A refresh token of SitePulse's OAuth grants, in the same layout; `Debug`
/// redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct PulseRefreshToken(String);

impl PulseRefreshToken {
    pub fn generate() -> PulseRefreshToken {
        PulseRefreshToken(generate_with(PULSE_REFRESH_PREFIX))
    }

    /// Checks the shape and checksum. Does no I/O.
    pub fn parse(s: &str) -> Result<PulseRefreshToken, TokenParseError> {
        parse_with(PULSE_REFRESH_PREFIX, s).map(|()| PulseRefreshToken(s.to_owned()))
    }

    pub fn hash(&self) -> [u8; 32] {
        hash_text(&self.0).0
    }

    /// Hands out the secret, once.
    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for PulseRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PulseRefreshToken(<redacted>)")
    }
}

impl fmt::Debug for PulseAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PulseAccessToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlainToken;

    #[test]
    fn refresh_tokens_have_their_own_prefix_and_parse_back() {
        let refresh = PulseRefreshToken::generate();
        assert_eq!(format!("{refresh:?}"), "PulseRefreshToken(<redacted>)");
        let hash = refresh.hash();
        let plain = refresh.expose();
        assert!(plain.starts_with("sprt_"));
        assert_eq!(PulseRefreshToken::parse(&plain).map(|r| r.hash()), Ok(hash));
        assert_eq!(PulseRefreshToken::parse(&PulseAccessToken::generate().expose()), Err(TokenParseError::Prefix));
        let mut broken = plain.clone();
        broken.pop();
        broken.push(if plain.ends_with('a') { 'b' } else { 'a' });
        assert!(PulseRefreshToken::parse(&broken).is_err(), "the checksum catches a changed character");
    }

    #[test]
    fn tokens_have_their_own_prefix_and_the_engines_layout() {
        let token = PulseAccessToken::generate();
        assert!(!format!("{token:?}").contains("spat_"), "Debug redacts");
        let (hash, hint) = (token.hash(), token.hint());
        let plain = token.expose();
        assert!(plain.starts_with("spat_"));
        assert_eq!(plain.len(), 54);
        assert_eq!(&plain[50..], hint);
        assert_eq!(PulseAccessToken::hash_of(&plain), Ok(hash));
        // Neither product takes the other's tokens.
        assert_eq!(PlainToken::check(&plain), Err(TokenParseError::Prefix));
        let sitegpt = PlainToken::generate().expose();
        assert_eq!(PulseAccessToken::hash_of(&sitegpt), Err(TokenParseError::Prefix));
        // A changed character fails the checksum.
        let mut broken = plain.into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        let broken = String::from_utf8(broken).expect("ASCII");
        assert_eq!(PulseAccessToken::hash_of(&broken), Err(TokenParseError::Checksum));
    }
}
