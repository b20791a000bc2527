//! The audit log as the API shows it: `GET /api/v2/audit-events`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who did what, when and from where. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// `evt_…`
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// `token.created`, `token.rotated`, `token.revoked`,
    /// `token.leak_reported`, `token.address_refused`, `oauth_grant.created`,
    /// `oauth_grant.revoked`, `oauth_grant.leak_reported`, `user.signed_in`,
    /// `user.sign_in_failed`, `user.password_changed`, `user.password_reset`,
    /// `member.invited`, `member.role_changed`, `member.removed`,
    /// `subscription.changed`.
    pub action: String,
    /// The action in words: "Token revoked".
    pub description: String,
    /// Null for a person's own events (sign-ins, passwords), which only they see.
    pub account_id: Option<String>,
    pub actor: AuditActor,
    /// The person the event concerns: a token's owner, the member whose role
    /// changed, the one who signed in.
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    /// The token the event concerns.
    pub token_id: Option<String>,
    /// Another record it concerns: an OAuth grant (`gr_…`) or an invitation.
    pub target_id: Option<String>,
    /// The client address of the request that made the change.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Facts of the change: a token's name, scopes and how it was created,
    /// roles before and after, where a leaked token was found.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Who acted: a person (with the token they used, if any) or a service
/// (`admin` for the admin command, `system`, `github-secret-scanning`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub token_id: Option<String>,
    pub service: Option<String>,
}
