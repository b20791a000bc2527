//! E-mail addresses as every part of the system compares them.

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an e-mail address")]
pub struct NotAnEmail(pub String);

/// Trims and lower-cases an address, and checks its rough shape: one `@`
/// with something on each side, no whitespace or control characters, at
/// most 254 characters. Deliverability is the mail's to prove.
pub fn normalize_email(email: &str) -> Result<String, NotAnEmail> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid { Ok(email) } else { Err(NotAnEmail(email)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_lowercased_and_checked() {
        assert_eq!(normalize_email("  Ada@Example.COM ").expect("valid"), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@", "a@b@c", "ada @example.com", "ada@exa\u{7}mple.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err(), "too long");
    }
}
