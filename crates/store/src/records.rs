//! The records the store reads and writes.

use chrono::{DateTime, Utc};
use sitegpt_access::{ChatbotRestriction, CreatedVia, Role, ScopeSet, SubscriptionStatus, TokenHash};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub subscription: SubscriptionStatus,
    pub created_at: DateTime<Utc>,
}

/// A user. `password_hash` is an argon2id PHC string, never a password.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("email_verified_at", &self.email_verified_at)
            .finish_non_exhaustive()
    }
}

/// Where a new user goes.
#[derive(Debug, Clone)]
pub enum NewMembership {
    /// A new account, owned by the user.
    NewAccount { name: String, subscription: SubscriptionStatus },
    /// An existing account, with a role.
    Existing { account_id: String, role: Role },
}

#[derive(Clone)]
pub struct NewUser {
    /// Already normalized (trimmed, lower-case).
    pub email: String,
    pub password_hash: String,
    pub email_verified: bool,
    pub membership: NewMembership,
    pub now: DateTime<Utc>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("email", &self.email).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chatbot {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A stored API token: everything but the secret, of which only the hash is
/// kept (and not exposed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub name: String,
    pub hint: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub created_via: CreatedVia,
    pub created_at: DateTime<Utc>,
    /// When the current secret was issued: creation, or the last rotation.
    pub secret_issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub name: String,
    pub hash: TokenHash,
    pub hint: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub created_via: CreatedVia,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A token with the facts about its user and account that authorization needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAuth {
    pub token: TokenRecord,
    pub user_email: String,
    pub email_verified: bool,
    /// `None` when the user is no longer a member of the token's account.
    pub role: Option<Role>,
    pub account_name: String,
    pub subscription: SubscriptionStatus,
}

/// Which tokens to list, newest first.
#[derive(Debug, Clone)]
pub struct TokenQuery {
    pub account_id: String,
    /// `None`: every user's tokens in the account.
    pub user_id: Option<String>,
    pub include_revoked: bool,
    pub limit: usize,
    /// Continue after this `(created_at, id)` position.
    pub after: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone)]
pub struct Rotation {
    pub token_id: String,
    pub hash: TokenHash,
    pub hint: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
