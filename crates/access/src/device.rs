//! OAuth 2.0 device authorization (RFC 8628) rules: user codes, device codes,
//! and the timing constants.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::base62;

/// Seconds a device authorization stays valid.
pub const EXPIRES_IN_SECS: i64 = 600;
/// Seconds a client waits between polls; grows by [`SLOW_DOWN_STEP_SECS`] on `slow_down`.
pub const INTERVAL_SECS: i64 = 5;
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
/// The interval grows no further: a client that keeps polling too soon is
/// told `slow_down` with this interval, and its polls write nothing more.
pub const MAX_INTERVAL_SECS: i64 = 60;

/// Consonants only (no vowels, so no words; no look-alikes such as 0/O, 1/I).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// The code a person types: 8 characters shown as `XXXX-XXXX`. Entry is
/// case-insensitive and ignores dashes and spaces.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a code is 8 letters like BCDF-GHJK")]
pub struct BadUserCode;

impl UserCode {
    /// A uniformly random code, from one read of the system's randomness:
    /// bytes below 240 (12 × 20) pick a letter each, the rest are skipped.
    pub fn generate() -> UserCode {
        const LETTERS: u8 = USER_CODE_ALPHABET.len() as u8;
        // The largest multiple of 20 a byte can be below: 240.
        const BELOW: u8 = (256 - 256 % LETTERS as u16) as u8;
        let mut code = String::with_capacity(USER_CODE_LEN);
        let mut bytes = [0u8; 16];
        while code.len() < USER_CODE_LEN {
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            for &byte in bytes.iter().filter(|&&b| b < BELOW).take(USER_CODE_LEN - code.len()) {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(byte % LETTERS)]));
            }
        }
        UserCode(code)
    }

    pub fn parse(input: &str) -> Result<UserCode, BadUserCode> {
        let code: String =
            input.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        if valid { Ok(UserCode(code)) } else { Err(BadUserCode) }
    }

    /// The stored form: 8 characters, no dash.
    pub fn normalized(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..4], &self.0[4..])
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserCode({self})")
    }
}

/// A random secret a client sends back: the code a device polls with, or an
/// OAuth authorization code. Stored only as its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct RandomCode(String);

impl RandomCode {
    pub fn generate() -> RandomCode {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        RandomCode(base62::encode_fixed(&bytes, 43))
    }

    /// Any string a client sends back; its hash is what gets looked up.
    pub fn from_client(s: &str) -> RandomCode {
        RandomCode(s.to_owned())
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for RandomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RandomCode(<redacted>)")
    }
}

/// The secret a device polls with: its authorization's id, a dot, and 43
/// random base62 characters (256 bits), e.g. `dev_…17….3kTM…`. The id finds
/// the authorization by its primary key; the whole code's SHA-256, stored
/// instead of the code, must then match. The id alone grants nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCode(String);

impl DeviceCode {
    /// A fresh code for the authorization `device_id`.
    pub fn generate(device_id: &str) -> DeviceCode {
        let secret = RandomCode::generate();
        DeviceCode(format!("{device_id}.{}", secret.0))
    }

    /// Any string a client sends back.
    pub fn from_client(s: &str) -> DeviceCode {
        DeviceCode(s.to_owned())
    }

    /// The authorization id the code names, if it has the shape of one (a
    /// code from before codes carried ids has none: it is unknown).
    pub fn device_id(&self) -> Option<&str> {
        let (id, secret) = self.0.split_once('.')?;
        (crate::id::is_plausible_id(id) && !secret.is_empty()).then_some(id)
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_codes_have_the_documented_shape() {
        for _ in 0..100 {
            let code = UserCode::generate();
            let shown = code.to_string();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert!(code.normalized().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn every_letter_is_as_likely_in_every_place() {
        let codes = 20_000;
        let mut seen = [[0u32; 20]; USER_CODE_LEN];
        for _ in 0..codes {
            let code = UserCode::generate();
            for (place, byte) in code.normalized().bytes().enumerate() {
                let letter = USER_CODE_ALPHABET.iter().position(|&l| l == byte).expect("a letter of the alphabet");
                seen[place][letter] += 1;
            }
        }
        // 1,000 expected each; a biased draw (`byte % 20` over all 256
        // values) would give the first 16 letters ~1,016 and the last four
        // ~938: 2,000 more of the first sixteen over 160,000 letters, where
        // chance gives σ ≈ 160 (each cell: σ ≈ 31).
        let (fewest, most) = seen.iter().flatten().fold((u32::MAX, 0), |(lo, hi), &n| (lo.min(n), hi.max(n)));
        assert!(fewest > 800 && most < 1200, "{fewest}..{most}");
        let firsts: u32 = seen.iter().map(|place| place[..16].iter().sum::<u32>()).sum();
        let expected = f64::from(codes) * 8.0 * 16.0 / 20.0;
        assert!((f64::from(firsts) - expected).abs() < 1000.0, "first sixteen letters {firsts}, expected {expected}");
    }

    #[test]
    fn entry_ignores_case_dashes_and_spaces() {
        let code = UserCode::parse("BCDF-GHJK").expect("valid");
        for entry in ["bcdfghjk", "bcdf-ghjk", " BcDf GhJk ", "B-C-D-F-G-H-J-K"] {
            assert_eq!(UserCode::parse(entry), Ok(code.clone()), "{entry}");
        }
        for bad in ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "ＢCDF-GHJK"] {
            assert_eq!(UserCode::parse(bad), Err(BadUserCode), "{bad}");
        }
    }

    #[test]
    fn device_codes_are_random_redacted_and_name_their_authorization() {
        let a = DeviceCode::generate("dev_1");
        let b = DeviceCode::generate("dev_1");
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.device_id(), Some("dev_1"));
        assert!(format!("{a:?}").contains("redacted"));
        let text = a.clone().expose();
        assert!(text.starts_with("dev_1.") && text.len() == "dev_1.".len() + 43, "{text}");
        assert_eq!(DeviceCode::from_client(&text).hash(), a.hash());
        assert_eq!(DeviceCode::from_client(&text).device_id(), Some("dev_1"));
        // Codes from before ids were carried, and anything else, name none.
        for bad in ["3kTMd9v0aQ1bZx7c3kTMd9v0aQ1bZx7c3kTMd9v0aQ1", "", ".", "dev_1.", ".secret", "../x.secret", "a b.c"]
        {
            assert_eq!(DeviceCode::from_client(bad).device_id(), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn generated_codes_reparse_in_any_case(lower in any::<bool>()) {
            let code = UserCode::generate();
            let shown = if lower { code.to_string().to_lowercase() } else { code.to_string() };
            prop_assert_eq!(UserCode::parse(&shown), Ok(code));
        }
    }
}
