//! Password hashing with argon2id (the crate's defaults: OWASP's minimum
//! parameters). Both functions are CPU-heavy: call them off the async runtime.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password accepted anywhere (sign-up, change, reset, admin).
pub const PASSWORD_MIN: usize = 8;
/// The longest (hashing cost grows with length).
pub const PASSWORD_MAX: usize = 1024;

/// The one password rule: why `password` cannot be used, as a sentence that
/// says what to do.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN {
        Err(format!("Use at least {PASSWORD_MIN} characters."))
    } else if chars > PASSWORD_MAX {
        Err(format!("Use at most {PASSWORD_MAX} characters."))
    } else {
        Ok(())
    }
}

/// A PHC-format argon2id hash of `password`.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Checks `password` against a stored hash. With `None` (unknown user) it
/// checks against a fixed dummy hash so that both cases cost the same time.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("dummy password for timing"));
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_lengths() {
        assert_eq!(check_password("1234567"), Err("Use at least 8 characters.".to_owned()));
        assert_eq!(check_password("12345678"), Ok(()));
        assert_eq!(check_password("ééééééé"), Err("Use at least 8 characters.".to_owned()));
        assert!(check_password(&"x".repeat(PASSWORD_MAX)).is_ok());
        assert_eq!(check_password(&"x".repeat(PASSWORD_MAX + 1)), Err("Use at most 1024 characters.".to_owned()));
    }

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(Some(&hash), "correct horse"));
        assert!(!verify_password(Some(&hash), "wrong"));
        assert!(!verify_password(None, "dummy password for timing"));
        assert!(!verify_password(Some("not a hash"), "x"));
    }
}
