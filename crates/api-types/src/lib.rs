//! The JSON shapes of the sitegpt API v2, shared by the server (which
//! produces them) and the client (which consumes them). Field names are the
//! wire names, in camelCase.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod audit;
pub mod content;
pub mod team;

pub use sitegpt_access::{CreatedVia, Role, Scope, SubscriptionStatus};

/// `meta` of every response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub request_id: String,
}

/// A successful response: `{"ok": true, "data": …, "meta": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Success<T> {
    pub ok: bool,
    pub data: T,
    pub meta: Meta,
}

/// A failed response: `{"ok": false, "error": {…}, "meta": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    pub ok: bool,
    pub error: ErrorBody,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable, machine-matchable code such as `INSUFFICIENT_SCOPE`.
    pub code: String,
    pub message: String,
    pub details: Option<Vec<serde_json::Value>>,
}

/// One entry of `details` for `VALIDATION_FAILED`: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldError {
    /// Path into the request body: keys and array indices.
    pub path: Vec<PathSegment>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

impl From<&str> for PathSegment {
    fn from(key: &str) -> Self {
        PathSegment::Key(key.to_owned())
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        PathSegment::Index(index)
    }
}

/// A page of a list: `data.items` and `data.nextCursor` (null on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An API token as the API shows it. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Empty: every chatbot the user can reach.
    pub chatbot_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last four characters of the plaintext.
    pub hint: String,
    pub created_via: CreatedVia,
    /// The client address of the last recorded use (recorded at most once a minute).
    #[serde(default)]
    pub last_used_ip: Option<String>,
    /// The `User-Agent` of the last recorded use.
    #[serde(default)]
    pub last_used_user_agent: Option<String>,
    /// CIDR blocks the token may be used from; empty: anywhere.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

/// `data` of get and revoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenData {
    pub token: Token,
}

/// `data` of create and rotate: the token and, this one time, its plaintext.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub token: Token,
    pub plaintext_token: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("token", &self.token).field("plaintext_token", &"<redacted>").finish()
    }
}

/// Body of `POST /api/v2/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// 1–120 characters.
    pub name: String,
    /// At least one, from the catalog.
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatbot_ids: Option<Vec<String>>,
    /// 1–365; default 90. Not with `expiresAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
    /// In the future and at most 365 days away. Not with `expiresInDays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// IPv4 and IPv6 addresses or CIDR blocks (at most 20) the token may be
    /// used from; requests from elsewhere get 403 `IP_NOT_ALLOWED`. Omitted
    /// or empty: anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
}

/// `data` of `GET /api/v2/account`: who is calling, with which token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountInfo {
    pub user: UserInfo,
    pub account: AccountSummary,
    pub role: Role,
    pub token: CallerToken,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    pub subscription_status: SubscriptionStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallerToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub chatbot_ids: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// `POST /oauth/device_authorization` success (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// `POST /oauth/token` success (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OAuthTokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    /// Present for the authorization-code and refresh grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for OAuthTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokenResponse")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An OAuth error (RFC 6749 §5.2); `interval` accompanies `slow_down`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
}

/// Where the chat widget sits on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WidgetPosition {
    Left,
    Right,
}

/// How a chatbot's widget looks. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatbotAppearance {
    /// `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<WidgetPosition>,
    /// Up to 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chatbot {
    pub id: String,
    pub name: String,
    pub description: String,
    pub appearance: ChatbotAppearance,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatbotData {
    pub chatbot: Chatbot,
}

/// Body of `POST /api/v2/chatbots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateChatbotRequest {
    /// 1–120 characters.
    pub name: String,
    /// Up to 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<ChatbotAppearance>,
}

/// Body of `PATCH /api/v2/chatbots/{chatbotId}`: the fields to change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateChatbotRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaces the whole appearance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<ChatbotAppearance>,
}

/// `data` of a delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_uses_wire_names_and_rejects_unknown_fields() {
        let body = r#"{"name":"n","scopes":["account:read"],"expiresInDays":30,"chatbotIds":["cb_1"]}"#;
        let req: CreateTokenRequest = serde_json::from_str(body).expect("valid");
        assert_eq!(req.expires_in_days, Some(30));
        assert_eq!(req.chatbot_ids, Some(vec!["cb_1".into()]));
        assert!(serde_json::from_str::<CreateTokenRequest>(r#"{"name":"n","scopes":[],"admin":true}"#).is_err());
    }

    #[test]
    fn issued_token_debug_redacts_the_plaintext() {
        let issued = IssuedToken {
            token: Token {
                id: "tok_1".into(),
                user_id: "usr_1".into(),
                name: "n".into(),
                scopes: vec![Scope::AccountRead],
                chatbot_ids: vec![],
                created_at: Utc::now(),
                expires_at: Utc::now(),
                last_used_at: None,
                revoked_at: None,
                hint: "abcd".into(),
                created_via: CreatedVia::Api,
                last_used_ip: None,
                last_used_user_agent: None,
                allowed_ips: vec![],
            },
            plaintext_token: "sgpt_secretsecret".into(),
        };
        assert!(!format!("{issued:?}").contains("secretsecret"));
        let json = serde_json::to_value(&issued).expect("serializes");
        assert_eq!(json["token"]["createdVia"], "api");
        assert_eq!(json["plaintextToken"], "sgpt_secretsecret");
    }

    #[test]
    fn path_segments_serialize_as_strings_and_numbers() {
        let e = FieldError { path: vec!["scopes".into(), 2.into()], message: "m".into() };
        assert_eq!(serde_json::to_string(&e).expect("ser"), r#"{"path":["scopes",2],"message":"m"}"#);
    }
}
