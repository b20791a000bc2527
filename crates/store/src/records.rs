//! The records the store reads and writes.

use chrono::{DateTime, Utc};
use sitegpt_access::net::IpAllowlist;
use sitegpt_access::{ChatbotRestriction, CreatedVia, Resource, Role, ScopeSet, SubscriptionStatus, TokenHash};

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
    /// No membership and no account of the user's own: an invited person
    /// who joins `account_id` through the invitation once their address is
    /// verified. The account is returned as the user's.
    Invited { account_id: String },
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
    pub description: String,
    /// A JSON object, validated by the API before it is stored.
    pub appearance: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which chatbots to list, oldest first.
#[derive(Debug, Clone)]
pub struct ChatbotQuery {
    pub account_id: String,
    /// A token's chatbot restriction: only these (empty: all).
    pub only: Vec<String>,
    pub limit: usize,
    /// Continue after this `(created_at, id)` position.
    pub after: Option<(DateTime<Utc>, String)>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ChatbotPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub appearance: Option<String>,
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
    /// The OAuth grant that issued the token, if one did.
    pub grant_id: Option<String>,
    /// The one resource an OAuth client asked the token for; `None`: every
    /// resource.
    pub audience: Option<Resource>,
    /// The client address and `User-Agent` of the last recorded use.
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    /// Where the token may be used from; empty: anywhere.
    pub allowed_ips: IpAllowlist,
}

/// One use of a token, as the batched usage flush records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub token_id: String,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
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
    pub allowed_ips: IpAllowlist,
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

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

impl DeviceStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Redeemed => "redeemed",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceStatus> {
        [DeviceStatus::Pending, DeviceStatus::Approved, DeviceStatus::Denied, DeviceStatus::Redeemed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An OAuth device authorization (RFC 8628). The device code itself is
/// never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub id: String,
    /// Normalized: 8 characters, no dash.
    pub user_code: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub token_name: Option<String>,
    pub status: DeviceStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub interval_secs: i64,
    pub user_id: Option<String>,
    pub account_id: Option<String>,
}

impl NewDeviceAuthorization {
    /// The authorization as a read returns it once stored (pending, times in
    /// milliseconds), so creating it needs no read back.
    pub(crate) fn into_stored(self) -> DeviceAuthorization {
        use crate::rows::{from_ms, ms};
        DeviceAuthorization {
            id: self.id,
            user_code: self.user_code,
            client_id: self.client_id,
            scopes: self.scopes,
            chatbots: self.chatbots,
            token_name: self.token_name,
            status: DeviceStatus::Pending,
            created_at: from_ms(ms(self.now)),
            expires_at: from_ms(ms(self.expires_at)),
            interval_secs: self.interval_secs,
            user_id: None,
            account_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewDeviceAuthorization {
    pub id: String,
    pub device_code_hash: [u8; 32],
    pub user_code: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub token_name: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub interval_secs: i64,
}

/// A person's answer on the approval page.
#[derive(Debug, Clone)]
pub enum DeviceDecision {
    /// Approve for this user in this account.
    Approve {
        user_id: String,
        account_id: String,
    },
    Deny,
}

/// One poll of the token endpoint.
#[derive(Debug, Clone)]
pub struct DevicePoll {
    /// The authorization the device code names, and the code's SHA-256.
    pub device_id: String,
    pub device_code_hash: [u8; 32],
    pub client_id: String,
    pub now: DateTime<Utc>,
    /// The token to store if the authorization is approved and not yet redeemed.
    pub token_id: String,
    pub token_hash: TokenHash,
    pub token_hint: String,
    /// Name when the request gave none.
    pub default_name: String,
    pub token_expires_at: DateTime<Utc>,
}

/// The answer to a poll that needs no write, and until when the same poll
/// gets the same answer unless the code is decided meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollAnswer {
    pub outcome: DevicePollOutcome,
    /// `None`: the answer may change at any time (an unknown code may be
    /// created; another client's is that client's business).
    pub holds_until: Option<DateTime<Utc>>,
}

/// What a poll found (and, for `Issued`, did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePollOutcome {
    Unknown,
    WrongClient,
    Expired,
    Denied,
    AlreadyRedeemed,
    Pending,
    /// Polled sooner than the interval; the interval is now this long.
    SlowDown {
        interval_secs: i64,
    },
    /// Approved: the token was stored and the authorization is redeemed.
    Issued(Box<TokenRecord>),
}

/// A new browser session. The id itself is never stored, only its hash.
#[derive(Clone)]
pub struct NewSession {
    pub id_hash: [u8; 32],
    pub user_id: String,
    pub csrf_token: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// A live session with its user.
#[derive(Clone)]
pub struct Session {
    pub user: User,
    /// Every form of the session carries it.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A record under a chatbot (a knowledge source, a persona, a lead, …):
/// its kind names the family, `data` is a JSON object the API validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatbotItem {
    pub id: String,
    pub account_id: String,
    pub chatbot_id: String,
    pub kind: String,
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which items to list, oldest first.
#[derive(Debug, Clone)]
pub struct ItemQuery {
    pub chatbot_id: String,
    pub kind: String,
    pub limit: usize,
    pub after: Option<(DateTime<Utc>, String)>,
}

/// A chat thread with a visitor; its messages are separate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: String,
    pub account_id: String,
    pub chatbot_id: String,
    /// `open`, `resolved` or `archived`.
    pub status: String,
    /// Who the visitor is, as the widget knew them (may be empty).
    pub visitor: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    /// `visitor`, `assistant` or `agent` (a person on the team).
    pub role: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// A member of an account, with the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user: User,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// An integration; `secrets` is a JSON object of names to values and never
/// leaves the server.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub config: String,
    pub secrets: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for IntegrationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationRecord").field("id", &self.id).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// An invitation to join an account, for an e-mail address with no user yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub account_id: String,
    /// Normalized.
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A single-use link a queued mail gets when it is sent: the body's
/// `{link}` is replaced by it. Made at delivery, so no link secret is ever
/// stored in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailLink {
    /// An e-mail verification link for the mail's user.
    VerifyEmail,
    /// A single-use password reset link for the mail's user.
    ResetPassword,
}

impl MailLink {
    pub fn as_str(self) -> &'static str {
        match self {
            MailLink::VerifyEmail => "verify-email",
            MailLink::ResetPassword => "reset-password",
        }
    }

    pub fn parse(text: &str) -> Option<MailLink> {
        match text {
            "verify-email" => Some(MailLink::VerifyEmail),
            "reset-password" => Some(MailLink::ResetPassword),
            _ => None,
        }
    }
}

/// A message to queue. `user_id` is the user it is about (required for a
/// [`MailLink`]); [`Store::sign_up`](crate::Store::sign_up) fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub link: Option<MailLink>,
    pub user_id: Option<String>,
    /// An HTML part beside the text, for notices.
    pub html: Option<String>,
    /// Where a notice can be turned off (`List-Unsubscribe`).
    pub unsubscribe: Option<String>,
}

/// Which notice about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The token expires within seven days.
    ExpiresInAWeek,
    /// The token expires within a day.
    ExpiresInADay,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 2] = [NoticeKind::ExpiresInAWeek, NoticeKind::ExpiresInADay];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ExpiresInAWeek => "expires-7d",
            NoticeKind::ExpiresInADay => "expires-1d",
        }
    }

    /// The notice is due when the token expires within this, and not within
    /// the next kind's (a day).
    pub fn window(self) -> (chrono::Duration, chrono::Duration) {
        match self {
            NoticeKind::ExpiresInAWeek => (chrono::Duration::days(1), chrono::Duration::days(7)),
            NoticeKind::ExpiresInADay => (chrono::Duration::zero(), chrono::Duration::days(1)),
        }
    }
}

/// A token due an expiry notice, with whom to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryNotice {
    pub token_id: String,
    pub token_name: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
    pub email: String,
    pub kind: NoticeKind,
}

/// Makes a notice's mail (the store queues it with the claim).
pub type NoticeMail = std::sync::Arc<dyn Fn(&ExpiryNotice) -> OutgoingMail + Send + Sync>;

/// A queued message, as a delivery worker claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub link: Option<MailLink>,
    pub user_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Attempts made before this one.
    pub attempts: u32,
    pub html: Option<String>,
    pub unsubscribe: Option<String>,
}

/// A use to count against a limit in the same transaction as the write it
/// limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseLimit {
    /// The counter's key (a hash of the limit's name and what it counts).
    pub key: [u8; 32],
    pub now: DateTime<Utc>,
    pub window: chrono::Duration,
    /// Uses allowed in one window.
    pub max: u32,
}

/// Failures (or uses) counted under one key in one fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub started_at: DateTime<Utc>,
    pub count: u32,
}

/// A whitelabel brand, owned by a whitelabel account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A user of a whitelabel brand (not a SiteGPT user: they sign in to the
/// brand's product, which calls the v0 API for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandUser {
    pub id: String,
    pub brand_id: String,
    pub email: String,
    pub name: Option<String>,
    /// Messages a month; `None` is unlimited.
    pub message_quota: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whom a v0 API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V0KeyOwner {
    /// A SiteGPT user (a whitelabel customer's own key).
    User(String),
    /// A user of a whitelabel brand.
    BrandUser(String),
}

/// A stored v0 API key (its hash is the lookup key; the key itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V0Key {
    pub owner: V0KeyOwner,
    pub hint: String,
    pub created_at: DateTime<Utc>,
}

/// How an OAuth client became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Dynamic client registration (RFC 7591).
    Registered,
    /// A client ID metadata document fetched from the client's `client_id` URL.
    Metadata,
}

impl ClientSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientSource::Registered => "registered",
            ClientSource::Metadata => "metadata",
        }
    }

    pub fn parse(s: &str) -> Option<ClientSource> {
        [ClientSource::Registered, ClientSource::Metadata].into_iter().find(|c| c.as_str() == s)
    }
}

/// A public OAuth client (no secret: it proves itself with PKCE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub source: ClientSource,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

/// What a person approved on the consent page, with its authorization code.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub account_id: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub resource: Resource,
    pub redirect_uri: String,
    pub code_hash: [u8; 32],
    /// The `S256` PKCE challenge.
    pub code_challenge: String,
    pub now: DateTime<Utc>,
    pub code_expires_at: DateTime<Utc>,
}

/// An OAuth grant: a person's approval of a client, from which access and
/// refresh tokens are issued until it is revoked or left unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub user_id: String,
    pub account_id: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub resource: Resource,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_expires_at: DateTime<Utc>,
    pub code_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The tokens one use of a code or refresh token issues: an access token
/// (its `grant_id` and audience are set by the store) and the next refresh
/// token's hash.
#[derive(Debug, Clone)]
pub struct GrantIssue {
    pub token: NewToken,
    pub refresh_hash: [u8; 32],
}

/// What redeeming an authorization code came to (`T`: the product's token
/// record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome<T = TokenRecord> {
    Issued(Box<T>),
    /// No grant has that code.
    Unknown,
    Expired,
    /// The grant was revoked before.
    Revoked,
    /// The code was used before: the grant and its tokens are now revoked.
    Replayed,
}

/// What using a refresh token came to (`T`: the product's token record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome<T = TokenRecord> {
    Issued(Box<T>),
    Unknown,
    /// The grant was revoked, or went unused too long.
    Ended,
    /// The token was superseded longer than the grace ago: the grant and its
    /// tokens are now revoked.
    Reused,
}
