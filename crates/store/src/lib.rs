//! Storage for sitegpt: the [`Store`] trait the server talks to, and its
//! engines. Today: [`sqlite::SqliteStore`], an embedded SQLite file in WAL mode.
//!
//! The trait is narrow on purpose: one method per question the server asks,
//! each its own transaction. Engines keep times as UTC milliseconds and hand
//! out `chrono` values.
//!
//! Every write that can change an authorization decision (revoking, rotating,
//! a role change, removing a member, a subscription change, verifying an
//! e-mail) advances the *auth epoch* in the same transaction, so that caches
//! of verified tokens know to drop what they hold.
//!
//! Every change the audit log records takes the [`Actor`] making it and
//! writes its [`AuditEvent`] in the same transaction (see [`audit`]).

pub mod audit;
pub mod migrate;
pub mod password;
mod poll;
pub mod postgres;
pub mod pulse;
pub mod records;
mod rows;
pub mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sitegpt_access::{Role, SubscriptionStatus, TokenHash};

pub use audit::{Actor, AuditAction, AuditEvent, AuditQuery, Reason};
pub use records::*;

/// What can go wrong in the store. Callers map `NotFound` and `Conflict` to
/// client errors; `Backend` is an internal error whose text is logged, never
/// shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The `Conflict` of a used or expired verification link whose user is
/// verified already: nothing left to do.
pub const ALREADY_VERIFIED: &str = "already verified";

/// The storage interface. Implemented by each engine; the server holds an
/// `Arc<dyn Store>` and never sees SQL.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// A short name of the engine, for logs and `/healthz`.
    fn engine(&self) -> &'static str;

    /// A number that changes whenever a committed write may have changed an
    /// authorization decision. Must be cheap: it is called on every request.
    fn auth_epoch(&self) -> StoreResult<u64>;

    /// [`Store::auth_epoch`] for a caller that has just read the wall clock
    /// (`unix_nanos`: nanoseconds since the Unix epoch), so that an engine
    /// which bounds its answer's age by the clock need not read it again.
    fn auth_epoch_at(&self, unix_nanos: u64) -> StoreResult<u64> {
        let _ = unix_nanos;
        self.auth_epoch()
    }

    /// Checks that the store answers.
    async fn ping(&self) -> StoreResult<()>;

    /// For engines told of other nodes' changes over a connection of their
    /// own: whether that connection is up (`None` where there is none).
    fn hears_other_nodes(&self) -> Option<bool> {
        None
    }

    // --- accounts, users, memberships -------------------------------------

    /// Creates a user, and either a new account they own or a membership in an
    /// existing one. `Conflict` when the e-mail is taken, `NotFound` when the
    /// existing account does not exist.
    async fn create_user(&self, new: NewUser) -> StoreResult<(User, Account)>;
    /// [`create_user`](Store::create_user), and `mail` queued in the same
    /// transaction with its `user_id` set to the new user's.
    async fn sign_up(&self, new: NewUser, mail: OutgoingMail) -> StoreResult<(User, Account)>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<u64>;
    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>>;
    /// The accounts a user belongs to, with their role in each.
    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<(Account, Role)>>;
    /// Changes a member's role. `Conflict` if the account would be left
    /// without an owner, `NotFound` if the user is not a member.
    async fn set_role(&self, account_id: &str, user_id: &str, role: Role, by: &Actor) -> StoreResult<()>;
    /// Removes the membership and revokes the user's tokens in that account.
    /// `Conflict` if the account would be left without an owner.
    async fn remove_member(&self, account_id: &str, user_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<()>;
    async fn set_subscription(&self, account_id: &str, status: SubscriptionStatus, by: &Actor) -> StoreResult<()>;
    async fn rename_account(&self, account_id: &str, name: &str) -> StoreResult<Account>;
    async fn plan(&self, account_id: &str) -> StoreResult<String>;
    async fn set_plan(&self, account_id: &str, plan: &str) -> StoreResult<()>;
    /// Members in the order they joined.
    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>>;
    async fn member(&self, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>>;
    /// Adds an existing user; `Conflict` if already a member.
    async fn add_member(&self, account_id: &str, user_id: &str, role: Role, now: DateTime<Utc>) -> StoreResult<()>;
    /// Stores the invitation and queues its `mail` in one transaction.
    /// `Conflict` when the address already has a pending invitation there.
    async fn create_invitation(&self, invitation: Invitation, mail: OutgoingMail, by: &Actor) -> StoreResult<()>;
    /// The account's invitations that are neither accepted nor expired at
    /// `now`, oldest first.
    async fn pending_invitations(&self, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>>;
    /// Withdraws a pending invitation. `NotFound` if the account has no
    /// pending invitation with that id.
    async fn cancel_invitation(&self, account_id: &str, invitation_id: &str) -> StoreResult<()>;
    /// Joins the user to every account that invited their address (and has
    /// not expired), or only through the invitation `only`; returns those
    /// account ids.
    async fn accept_invitations(
        &self,
        email: &str,
        user_id: &str,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
    /// The invitations to `email` that are neither accepted nor expired,
    /// oldest first, each with the name of the inviting account.
    async fn invitations_to(&self, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>>;
    /// The invited person turns a pending invitation down. `NotFound` if
    /// `email` has no pending invitation with that id.
    async fn decline_invitation(&self, email: &str, invitation_id: &str) -> StoreResult<()>;
    async fn insert_integration(&self, integration: IntegrationRecord) -> StoreResult<()>;
    async fn integration(&self, integration_id: &str) -> StoreResult<Option<IntegrationRecord>>;
    async fn integrations(&self, account_id: &str) -> StoreResult<Vec<IntegrationRecord>>;
    async fn update_integration(&self, integration: IntegrationRecord) -> StoreResult<()>;
    async fn verify_email(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // --- chatbots ----------------------------------------------------------

    /// A new chatbot with a fresh id, no description and the default look.
    async fn create_chatbot(&self, account_id: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Chatbot> {
        let now = rows::from_ms(rows::ms(now));
        self.insert_chatbot(Chatbot {
            id: sitegpt_access::id::new_id(sitegpt_access::id::IdKind::Chatbot),
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            appearance: "{}".into(),
            created_at: now,
            updated_at: now,
        })
        .await
    }
    /// Creates a chatbot with all its fields (the id is chosen by the caller).
    async fn insert_chatbot(&self, chatbot: Chatbot) -> StoreResult<Chatbot>;
    async fn chatbot(&self, chatbot_id: &str) -> StoreResult<Option<Chatbot>>;
    async fn list_chatbots(&self, query: ChatbotQuery) -> StoreResult<Vec<Chatbot>>;
    async fn update_chatbot(&self, chatbot_id: &str, patch: ChatbotPatch, now: DateTime<Utc>) -> StoreResult<Chatbot>;
    /// Deletes a chatbot and everything under it.
    async fn delete_chatbot(&self, chatbot_id: &str) -> StoreResult<()>;
    async fn insert_item(&self, item: ChatbotItem) -> StoreResult<ChatbotItem>;
    /// The item with this id and kind.
    async fn item(&self, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>>;
    async fn list_items(&self, query: ItemQuery) -> StoreResult<Vec<ChatbotItem>>;
    async fn update_item(
        &self,
        kind: &str,
        item_id: &str,
        data: String,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatbotItem>;
    async fn delete_item(&self, kind: &str, item_id: &str) -> StoreResult<()>;

    /// The chatbot's settings document, if it was ever saved.
    async fn settings(&self, chatbot_id: &str) -> StoreResult<Option<String>>;
    async fn save_settings(&self, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()>;

    async fn insert_conversation(&self, conversation: Conversation, messages: Vec<Message>) -> StoreResult<()>;
    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>>;
    /// Oldest first; `status` filters when given.
    async fn list_conversations(&self, query: ItemQuery, status: Option<String>) -> StoreResult<Vec<Conversation>>;
    /// Messages of several conversations at once (no query per conversation).
    async fn messages(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>>;
    async fn set_conversation_status(&self, conversation_id: &str, status: &str, now: DateTime<Utc>)
    -> StoreResult<()>;
    async fn add_message(&self, message: Message) -> StoreResult<()>;
    async fn delete_conversation(&self, conversation_id: &str) -> StoreResult<()>;

    /// Which of `ids` are chatbots of the account.
    async fn existing_chatbots(&self, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>>;

    // --- tokens ------------------------------------------------------------

    async fn insert_token(&self, new: NewToken, by: &Actor) -> StoreResult<TokenRecord>;
    /// Everything needed to authenticate a request carrying this token.
    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<TokenAuth>>;
    async fn token(&self, token_id: &str) -> StoreResult<Option<TokenRecord>>;
    async fn list_tokens(&self, query: TokenQuery) -> StoreResult<Vec<TokenRecord>>;
    /// Gives a live token a new secret and expiry. `Conflict` if it is revoked.
    async fn rotate_token(&self, rotation: Rotation, by: &Actor) -> StoreResult<TokenRecord>;
    /// Revokes; revoking again keeps the first revocation time.
    async fn revoke_token(&self, token_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<TokenRecord>;
    // --- OAuth device authorizations ---------------------------------------

    /// `Conflict` when the user code is already used by a pending authorization.
    async fn create_device_authorization(&self, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization>;
    /// Counts one use under `limit` and, when the count is within its
    /// `max`, stores the authorization: one transaction, one commit.
    /// `Ok(Err(window))`: over the limit, nothing stored (the use counts).
    /// `Conflict` (a taken user code) undoes the count with the rest.
    async fn create_device_authorization_counted(
        &self,
        new: NewDeviceAuthorization,
        limit: UseLimit,
    ) -> StoreResult<Result<DeviceAuthorization, FailureWindow>>;
    /// The authorization with this (normalized) user code: the pending one if
    /// there is one, else the newest, in any state.
    async fn device_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceAuthorization>>;
    /// Approves or denies a pending, unexpired authorization; `Conflict` otherwise.
    async fn decide_device(
        &self,
        id: &str,
        decision: DeviceDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<DeviceAuthorization>;
    /// One poll of the token endpoint, in one transaction: an approved
    /// authorization is redeemed (and its token stored) exactly once. The
    /// token's event names its approver as the actor and `by`'s address.
    async fn poll_device(&self, poll: DevicePoll, by: &Actor) -> StoreResult<DevicePollOutcome>;
    /// The answer to a poll that needs no write, from one plain read: the
    /// code is unknown, another client's, used, denied or expired, or still
    /// pending and polled too soon at the longest interval. `None`: the poll
    /// needs [`Store::poll_device`] (so a caller builds the token it may
    /// issue only then).
    async fn answer_device_poll(
        &self,
        device_id: &str,
        device_code_hash: [u8; 32],
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PollAnswer>>;

    // --- OAuth clients and grants (authorization code) ----------------------

    /// Stores a client: a registration is new (`Conflict` on a taken id); a
    /// metadata-document client replaces what was known of it.
    async fn save_client(&self, client: OAuthClient) -> StoreResult<()>;
    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>>;
    /// Stores an approval and its code; marks the client used.
    async fn create_grant(&self, grant: NewGrant, by: &Actor) -> StoreResult<()>;
    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<Grant>>;
    /// The grant a refresh token (current or superseded) belongs to.
    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<Grant>>;
    /// Redeems a live, unused code once, in one transaction, issuing the
    /// access token and the first refresh token. A used code revokes its
    /// grant (RFC 6749 §4.1.2).
    async fn redeem_code(&self, code_hash: [u8; 32], issue: GrantIssue, by: &Actor) -> StoreResult<RedeemOutcome>;
    /// Uses a refresh token once: it is superseded and the next one issued
    /// with a new access token. A superseded token still works for `grace`;
    /// after that, using it revokes the grant. A grant unused for `idle` ends.
    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: GrantIssue,
        grace: Duration,
        idle: Duration,
    ) -> StoreResult<RefreshOutcome>;
    /// Revokes a grant and every token it issued, on every node. With
    /// `user_id`, only that user's grant (`NotFound` otherwise). Revoking
    /// again keeps the first time.
    async fn revoke_grant(
        &self,
        grant_id: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<()>;
    /// The grants a user made that were redeemed and are not revoked,
    /// newest first.
    async fn grants(&self, user_id: &str) -> StoreResult<Vec<Grant>>;

    // --- browser sessions and e-mail verification ----------------------------

    /// A sign-in: its event is written with the session.
    async fn create_session(&self, new: NewSession, by: &Actor) -> StoreResult<()>;
    /// The session with this id hash, if it exists and has not expired.
    async fn session(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()>;
    /// Ends every session of the user but `keep`; how many ended.
    async fn end_other_sessions(&self, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64>;
    /// A new password hash for the user; every session but `keep` ends, in
    /// the same transaction.
    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<[u8; 32]>,
        by: &Actor,
    ) -> StoreResult<()>;
    /// Stores the hash of a password reset link's secret.
    async fn create_password_reset(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Whether a reset link can still be used: `NotFound` for an unknown one,
    /// `Conflict` for a used or expired one.
    async fn check_password_reset(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<()>;
    /// Uses a reset link (once): sets the password and ends every session of
    /// its user, in one transaction. Errors as [`Store::check_password_reset`].
    async fn use_password_reset(
        &self,
        token_hash: [u8; 32],
        password_hash: &str,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<User>;
    async fn create_email_verification(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Uses a verification link: marks the user verified. `NotFound` for an
    /// unknown link, `Conflict` for a used or expired one
    /// ([`ALREADY_VERIFIED`] when its user is verified anyway).
    async fn use_email_verification(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User>;

    // --- outgoing mail ---------------------------------------------------------

    /// Queues a message for the delivery worker.
    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()>;
    /// Claims up to `limit` messages due at `now`, oldest first, and moves
    /// their next attempt to `now + lease`, so no other worker takes them
    /// meanwhile (and a worker that dies mid-send leaves them to be retried).
    async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> StoreResult<Vec<QueuedMail>>;
    /// A message was sent: it leaves the queue.
    async fn mail_sent(&self, mail_id: &str) -> StoreResult<()>;
    /// A message could not be sent: counts the attempt and keeps `error`;
    /// tries again at `retry_at`, or never when `None` (it is kept, marked
    /// failed, until the janitor purges it).
    async fn mail_failed(
        &self,
        mail_id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Messages waiting to be sent, and messages given up on.
    async fn mail_counts(&self) -> StoreResult<(u64, u64)>;

    /// Deletes what can no longer be used: sessions past expiry, and device
    /// authorizations and verification links a day past theirs (kept that
    /// long so their pages can still say "expired" or "already used"),
    /// and mail given up on a week ago. Returns how many rows went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    // --- the audit log ---------------------------------------------------------

    /// Writes an event that records no other change (a failed sign-in, a
    /// token refused for its address).
    async fn record_event(&self, event: AuditEvent) -> StoreResult<()>;
    /// Events newest first, as `query` asks; personal events (sign-ins,
    /// passwords) only of the viewer.
    async fn audit_events(&self, query: AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes events older than `before`; how many went.
    async fn purge_audit_events(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    // --- failure counters shared by every node ------------------------------

    /// The window of failures under `key` that contains `now`, if any.
    async fn failures(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration)
    -> StoreResult<Option<FailureWindow>>;
    /// Counts one failure under `key`: in the current window, or in a new one
    /// starting at `now` when the last is over. Returns the window after.
    async fn count_failure(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<FailureWindow>;

    /// True the first time `key` is presented within `window` (and for a day
    /// at least, until old windows are swept): a one-time form key. Uses the
    /// same counters as the rate limits, so every node agrees.
    async fn first_use(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<bool> {
        Ok(self.count_failure(key, now, window).await?.count == 1)
    }

    /// Records use, at most once a minute: a no-op if `lastUsedAt` is newer
    /// than a minute before `now`.
    async fn touch_token(&self, token_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.touch_tokens(vec![TokenUse { token_id: token_id.to_owned(), at: now, ip: None, user_agent: None }]).await
    }

    /// Records several uses in one transaction, each as `touch_token` does.
    async fn touch_tokens(&self, uses: Vec<TokenUse>) -> StoreResult<()>;

    /// Claims the expiry notices due at `now` (each token and kind once, on
    /// every node together) and queues each one's mail, made by `mail`, in
    /// the same transaction; how many were claimed.
    async fn claim_expiry_notices(&self, now: DateTime<Utc>, mail: NoticeMail) -> StoreResult<usize>;
    /// Whether the user gets expiry warnings (default yes).
    async fn expiry_notices(&self, user_id: &str) -> StoreResult<bool>;
    async fn set_expiry_notices(&self, user_id: &str, on: bool) -> StoreResult<()>;

    // --- the deprecated v0 API: whitelabel brands and v0 keys ---------------

    /// Gives or takes an account's whitelabel status. `NotFound` for an
    /// unknown account.
    async fn set_whitelabel(&self, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()>;
    async fn is_whitelabel(&self, account_id: &str) -> StoreResult<bool>;
    /// `NotFound` when the account does not exist.
    async fn create_brand(&self, brand: Brand) -> StoreResult<()>;
    async fn brand(&self, brand_id: &str) -> StoreResult<Option<Brand>>;
    /// `Conflict` when the brand already has a user with that e-mail;
    /// `NotFound` when the brand does not exist.
    async fn create_brand_user(&self, user: BrandUser) -> StoreResult<()>;
    async fn brand_user(&self, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>>;
    /// Sets a brand user's monthly message quota (`None`: unlimited); the
    /// user after, or `None` if the brand has no such user.
    async fn set_brand_user_quota(
        &self,
        brand_id: &str,
        user_id: &str,
        quota: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BrandUser>>;
    /// Stores a new v0 key for `owner`, deleting the one it had, in one
    /// transaction. `NotFound` when the owner does not exist.
    async fn replace_v0_key(
        &self,
        owner: V0KeyOwner,
        hash: [u8; 32],
        hint: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The key with this hash, if one is stored.
    async fn v0_key(&self, hash: [u8; 32]) -> StoreResult<Option<V0Key>>;
}
