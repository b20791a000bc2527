//! Public identifiers for stored records: a short type prefix and 17 base62
//! characters of 12 bytes, e.g. `tok_3kTMd9v0aQ1bZx7cQ`: all random (~95
//! bits), or for records written in bulk the creation time first
//! ([`new_sorted_id`]).

use std::time::{SystemTime, UNIX_EPOCH};

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

/// A fresh id whose first characters are its creation time (milliseconds
/// since 1970 in 6 bytes, then 6 random bytes, ~48 bits): ids made later sort
/// later (those of one millisecond in any order). An index of such ids grows
/// at its end, so a burst of inserts dirties the same few pages instead of
/// one random page each. For records whose id names them but grants nothing.
pub fn new_sorted_id(kind: IdKind) -> String {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut bytes = [0u8; 12];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[6..]);
    format!("{}{}", kind.prefix(), base62::encode_fixed(&bytes, 17))
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

    #[test]
    fn sorted_ids_have_the_same_shape_and_sort_by_creation() {
        let first = new_sorted_id(IdKind::Device);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later: Vec<String> = (0..100).map(|_| new_sorted_id(IdKind::Device)).collect();
        assert!(first.starts_with("dev_"));
        assert_eq!(first.len(), 4 + 17);
        assert!(is_plausible_id(&first));
        assert!(later.iter().all(|id| *id > first), "{first} sorts after a later id");
        let distinct: std::collections::HashSet<&String> = later.iter().collect();
        assert_eq!(distinct.len(), later.len());
        // The time leads: no id made so far sorts after the largest id of
        // this millisecond.
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let mut ceiling = [0xffu8; 12];
        ceiling[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        let ceiling = format!("dev_{}", base62::encode_fixed(&ceiling, 17));
        assert!(later.iter().all(|id| *id <= ceiling), "an id sorts after {ceiling}");
    }
}
