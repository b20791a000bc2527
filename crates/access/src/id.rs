//! Public identifiers for stored records: a short type prefix and 16 random
//! base62 characters (~95 bits), e.g. `tok_3kTMd9v0aQ1bZx7c`.

use rand::RngCore;

use crate::base62;

/// Record kinds with their id prefixes. The prefix tells a reader what an id
/// names; it carries no authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Account,
    User,
    Token,
    Chatbot,
    Device,
    Conversation,
    Message,
    /// An OAuth client registered with this server.
    Client,
    /// An OAuth grant.
    Grant,
    /// An entry of the audit log.
    AuditEvent,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Account => "acc_",
            IdKind::User => "usr_",
            IdKind::Token => "tok_",
            IdKind::Chatbot => "cb_",
            IdKind::Device => "dev_",
            IdKind::Conversation => "cv_",
            IdKind::Message => "msg_",
            IdKind::Client => "oc_",
            IdKind::Grant => "gr_",
            IdKind::AuditEvent => "evt_",
        }
    }
}

/// A fresh random id of the given kind.
pub fn new_id(kind: IdKind) -> String {
    new_prefixed_id(kind.prefix())
}

/// A fresh random id with any prefix (`ks_`, `int_`, …).
pub fn new_prefixed_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", base62::encode_fixed(&bytes, 17))
}

/// Loose shape check applied to ids taken from URLs and bodies before they reach
/// the store: bounded length and a conservative alphabet.
pub fn is_plausible_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id(IdKind::Token);
        let b = new_id(IdKind::Token);
        assert!(a.starts_with("tok_"));
        assert_eq!(a.len(), 4 + 17);
        assert_ne!(a, b);
        assert!(is_plausible_id(&a));
        assert!(!is_plausible_id("../etc"));
        assert!(!is_plausible_id(""));
    }
}
