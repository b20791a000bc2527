//! The embedded engine: one SQLite file in WAL mode.
//!
//! This file holds the engine's state and its [`Store`] implementation, which
//! forwards each method to the area holding its statements: `teams`,
//! `chatbots`, `tokens`, `device`, `sessions`, `mail` and `whitelabel`. Each
//! area decides which connection a method takes (the one writer or a reader);
//! `sql` holds the helpers they share. Areas import `sql`, `pool` and other
//! areas, never this file.

mod audit;
mod chatbots;
mod device;
mod epoch;
mod mail;
mod migrations;
mod notices;
mod oauth;
mod pool;
pub mod pulse;
mod serving;
mod sessions;
mod sql;
mod teams;
mod tokens;
mod user_codes;
mod uses;
mod whitelabel;

pub use serving::ServeLock;

use crate::TokenUse;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sitegpt_access::{Role, SubscriptionStatus, TokenHash};

use self::epoch::EpochWatch;
use self::pool::{Pool, backend};
pub use self::pool::{Synchronous, WriteStats};
use crate::rows::{self, ms};
use crate::{
    Account, Actor, AuditEvent, AuditQuery, Brand, BrandUser, Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery,
    Conversation, DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, FailureWindow, Grant, GrantIssue,
    IntegrationRecord, Invitation, ItemQuery, MemberRecord, Message, NewDeviceAuthorization, NewGrant, NewSession,
    NewToken, NewUser, OAuthClient, OutgoingMail, QueuedMail, RedeemOutcome, RefreshOutcome, Rotation, Session, Store,
    StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord, UseLimit, User, V0Key, V0KeyOwner,
};

/// The SQLite engine. Cheap to clone the `Arc` it lives in; one per process.
///
/// The server opens the file with [`SqliteStore::open_serving`]: that
/// handle holds the file's [`ServeLock`] (one server per file) and keeps
/// some of the file's state in memory. Other handles (admin commands) open
/// it with [`SqliteStore::open`] beside the server and keep nothing there.
#[derive(Debug)]
pub struct SqliteStore {
    pool: Arc<Pool>,
    epoch: EpochWatch,
    serving: Option<Serving>,
}

/// What the serving handle keeps in memory: exact because no other process
/// creates device authorizations in the file while it holds the lock (other
/// handles count them in `rate_limits` and put their user codes in the
/// index).
#[derive(Debug)]
struct Serving {
    _lock: ServeLock,
    /// Device authorizations per client address.
    uses: uses::UseCounts,
    /// Which device authorization holds each user code.
    user_codes: Arc<user_codes::UserCodes>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations;
    /// every acknowledged write is synced to disk ([`Synchronous::Full`]).
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(path, Synchronous::Full)
    }

    /// [`SqliteStore::open`] with the writer's durability chosen.
    pub fn open_with(path: &Path, synchronous: Synchronous) -> StoreResult<SqliteStore> {
        let pool = SqliteStore::pool(path, synchronous, |_| Ok(()))?;
        let epoch = EpochWatch::open(path, pool.commit_flag())?;
        Ok(SqliteStore { pool: Arc::new(pool), epoch, serving: None })
    }

    /// Opens the file for the one server that serves it: takes its
    /// [`ServeLock`] first (refused while another server holds it), then
    /// opens it as [`SqliteStore::open_with`] does and rebuilds what the
    /// server keeps in memory.
    pub fn open_serving(path: &Path, synchronous: Synchronous) -> StoreResult<SqliteStore> {
        let lock = ServeLock::acquire(path)?;
        let user_codes = Arc::new(user_codes::UserCodes::default());
        let pool = SqliteStore::pool(path, synchronous, |conn| user_codes.load(conn))?;
        let epoch = EpochWatch::open(path, pool.commit_flag())?;
        let serving = Serving { _lock: lock, uses: uses::UseCounts::default(), user_codes };
        Ok(SqliteStore { pool: Arc::new(pool), epoch, serving: Some(serving) })
    }

    /// The pool, its migrations run and then `after` on the writer.
    fn pool(
        path: &Path,
        synchronous: Synchronous,
        after: impl FnOnce(&mut rusqlite::Connection) -> StoreResult<()>,
    ) -> StoreResult<Pool> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        Pool::open(path, synchronous, |conn| {
            migrations::run(conn)?;
            after(conn)
        })
    }

    /// Which device authorization holds each user code, on the serving
    /// handle.
    fn user_codes(&self) -> Option<Arc<user_codes::UserCodes>> {
        self.serving.as_ref().map(|serving| Arc::clone(&serving.user_codes))
    }

    /// A device authorization whose batch failed to commit holds no code.
    fn release_on_failure<T>(&self, created: &StoreResult<T>, user_code: &str, id: &str) {
        if let (Err(_), Some(serving)) = (created, &self.serving) {
            serving.user_codes.release(user_code, id);
        }
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// Writes run and commits made since the store opened: writes per
    /// commit is how much group commit shares each sync.
    pub fn write_stats(&self) -> WriteStats {
        self.pool.write_stats()
    }

    /// The writer's durability, as SQLite reports it.
    pub async fn synchronous(&self) -> StoreResult<Synchronous> {
        let level: i64 =
            self.pool.write(|conn| conn.pragma_query_value(None, "synchronous", |r| r.get(0)).map_err(backend)).await?;
        Ok(if level >= 2 { Synchronous::Full } else { Synchronous::Normal })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    fn auth_epoch(&self) -> StoreResult<u64> {
        self.epoch.current()
    }

    fn auth_epoch_at(&self, unix_nanos: u64) -> StoreResult<u64> {
        self.epoch.current_at(unix_nanos)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.pool.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend)).await
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<(User, Account)> {
        teams::create_user(&self.pool, new).await
    }

    async fn sign_up(&self, new: NewUser, mail: OutgoingMail) -> StoreResult<(User, Account)> {
        teams::sign_up(&self.pool, new, mail).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        teams::user_by_email(&self.pool, email).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        teams::count_users(&self.pool).await
    }

    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
        teams::account(&self.pool, account_id).await
    }

    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
        teams::memberships(&self.pool, user_id).await
    }

    async fn set_role(&self, account_id: &str, user_id: &str, role: Role, by: &Actor) -> StoreResult<()> {
        teams::set_role(&self.pool, account_id, user_id, role, by.clone()).await
    }

    async fn remove_member(&self, account_id: &str, user_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<()> {
        teams::remove_member(&self.pool, account_id, user_id, now, by.clone()).await
    }

    async fn set_subscription(&self, account_id: &str, status: SubscriptionStatus, by: &Actor) -> StoreResult<()> {
        teams::set_subscription(&self.pool, account_id, status, by.clone()).await
    }

    async fn rename_account(&self, account_id: &str, name: &str) -> StoreResult<Account> {
        teams::rename_account(&self.pool, account_id, name).await
    }

    async fn plan(&self, account_id: &str) -> StoreResult<String> {
        teams::plan(&self.pool, account_id).await
    }

    async fn set_plan(&self, account_id: &str, plan: &str) -> StoreResult<()> {
        teams::set_plan(&self.pool, account_id, plan).await
    }

    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
        teams::members(&self.pool, account_id).await
    }

    async fn member(&self, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
        teams::member(&self.pool, account_id, user_id).await
    }

    async fn add_member(&self, account_id: &str, user_id: &str, role: Role, now: DateTime<Utc>) -> StoreResult<()> {
        teams::add_member(&self.pool, account_id, user_id, role, now).await
    }

    async fn create_invitation(&self, invitation: Invitation, mail: OutgoingMail, by: &Actor) -> StoreResult<()> {
        teams::create_invitation(&self.pool, invitation, mail, by.clone()).await
    }

    async fn accept_invitations(
        &self,
        email: &str,
        user_id: &str,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        teams::accept_invitations(&self.pool, email, user_id, only, now).await
    }

    async fn pending_invitations(&self, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        teams::pending_invitations(&self.pool, account_id, now).await
    }

    async fn invitations_to(&self, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>> {
        teams::invitations_to(&self.pool, email, now).await
    }

    async fn decline_invitation(&self, email: &str, invitation_id: &str) -> StoreResult<()> {
        teams::decline_invitation(&self.pool, email, invitation_id).await
    }

    async fn cancel_invitation(&self, account_id: &str, invitation_id: &str) -> StoreResult<()> {
        teams::cancel_invitation(&self.pool, account_id, invitation_id).await
    }

    async fn insert_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        teams::insert_integration(&self.pool, i).await
    }

    async fn integration(&self, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
        teams::integration(&self.pool, integration_id).await
    }

    async fn integrations(&self, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
        teams::integrations(&self.pool, account_id).await
    }

    async fn update_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        teams::update_integration(&self.pool, i).await
    }

    async fn verify_email(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        teams::verify_email(&self.pool, user_id, now).await
    }

    async fn insert_chatbot(&self, chatbot: Chatbot) -> StoreResult<Chatbot> {
        chatbots::insert_chatbot(&self.pool, chatbot).await
    }

    async fn chatbot(&self, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
        chatbots::chatbot(&self.pool, chatbot_id).await
    }

    async fn list_chatbots(&self, query: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
        chatbots::list_chatbots(&self.pool, query).await
    }

    async fn update_chatbot(&self, chatbot_id: &str, patch: ChatbotPatch, now: DateTime<Utc>) -> StoreResult<Chatbot> {
        chatbots::update_chatbot(&self.pool, chatbot_id, patch, now).await
    }

    async fn delete_chatbot(&self, chatbot_id: &str) -> StoreResult<()> {
        chatbots::delete_chatbot(&self.pool, chatbot_id).await
    }

    async fn insert_item(&self, item: ChatbotItem) -> StoreResult<ChatbotItem> {
        chatbots::insert_item(&self.pool, item).await
    }

    async fn item(&self, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
        chatbots::item(&self.pool, kind, item_id).await
    }

    async fn list_items(&self, query: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
        chatbots::list_items(&self.pool, query).await
    }

    async fn update_item(
        &self,
        kind: &str,
        item_id: &str,
        data: String,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatbotItem> {
        chatbots::update_item(&self.pool, kind, item_id, data, now).await
    }

    async fn delete_item(&self, kind: &str, item_id: &str) -> StoreResult<()> {
        chatbots::delete_item(&self.pool, kind, item_id).await
    }

    async fn settings(&self, chatbot_id: &str) -> StoreResult<Option<String>> {
        chatbots::settings(&self.pool, chatbot_id).await
    }

    async fn save_settings(&self, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()> {
        chatbots::save_settings(&self.pool, chatbot_id, data, now).await
    }

    async fn insert_conversation(&self, conversation: Conversation, messages: Vec<Message>) -> StoreResult<()> {
        chatbots::insert_conversation(&self.pool, conversation, messages).await
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        chatbots::conversation(&self.pool, conversation_id).await
    }

    async fn list_conversations(&self, query: ItemQuery, status: Option<String>) -> StoreResult<Vec<Conversation>> {
        chatbots::list_conversations(&self.pool, query, status).await
    }

    async fn messages(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
        chatbots::messages(&self.pool, conversation_ids).await
    }

    async fn set_conversation_status(
        &self,
        conversation_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        chatbots::set_conversation_status(&self.pool, conversation_id, status, now).await
    }

    async fn add_message(&self, message: Message) -> StoreResult<()> {
        chatbots::add_message(&self.pool, message).await
    }

    async fn delete_conversation(&self, conversation_id: &str) -> StoreResult<()> {
        chatbots::delete_conversation(&self.pool, conversation_id).await
    }

    async fn existing_chatbots(&self, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        chatbots::existing_chatbots(&self.pool, account_id, ids).await
    }

    async fn insert_token(&self, new: NewToken, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::insert_token(&self.pool, new, by.clone()).await
    }

    async fn create_device_authorization(&self, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
        let codes = self.user_codes();
        let (user_code, id) = (new.user_code.clone(), new.id.clone());
        let created = self.pool.write(move |tx| device::create(tx, new, codes.as_deref())).await;
        self.release_on_failure(&created, &user_code, &id);
        created
    }

    async fn create_device_authorization_counted(
        &self,
        new: NewDeviceAuthorization,
        limit: UseLimit,
    ) -> StoreResult<Result<DeviceAuthorization, FailureWindow>> {
        // Counted in the serving process's memory (`uses`), or past its
        // bound (and on other handles) in the table, in the transaction that
        // stores the authorization.
        let uses = self.serving.as_ref().map(|serving| &serving.uses);
        let in_table = match uses.map(|uses| uses.count(&limit)) {
            Some(uses::Counted::InMemory(window)) if window.count > limit.max => return Ok(Err(window)),
            Some(uses::Counted::InMemory(_)) => false,
            Some(uses::Counted::InTable) | None => true,
        };
        let codes = self.user_codes();
        let (user_code, id, key) = (new.user_code.clone(), new.id.clone(), limit.key);
        let created = self
            .pool
            .write(move |tx| {
                if in_table {
                    let window = sessions::count(tx, limit.key, limit.now, limit.window)?;
                    if window.count > limit.max {
                        return Ok(Err(window));
                    }
                }
                device::create(tx, new, codes.as_deref()).map(Ok)
            })
            .await;
        self.release_on_failure(&created, &user_code, &id);
        if let (Err(_), Some(uses), false) = (&created, uses, in_table) {
            uses.uncount(&key);
        }
        created
    }

    async fn device_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
        let (user_code, codes) = (user_code.to_owned(), self.user_codes());
        self.pool.read(move |conn| device::by_user_code(conn, &user_code, codes.as_deref())).await
    }

    async fn decide_device(
        &self,
        id: &str,
        decision: DeviceDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<DeviceAuthorization> {
        let id = id.to_owned();
        self.pool.write(move |tx| device::decide(tx, &id, decision, now)).await
    }

    async fn poll_device(&self, poll: DevicePoll, by: &Actor) -> StoreResult<DevicePollOutcome> {
        let found =
            self.pool.read_by_key(|conn| device::by_code(conn, &poll.device_id, &poll.device_code_hash)).await?;
        if let Some(answer) = crate::poll::answer_without_writing(found, &poll.client_id, poll.now) {
            return Ok(answer.outcome);
        }
        let by = by.clone();
        self.pool.write(move |tx| device::poll(tx, poll, &by)).await
    }

    async fn answer_device_poll(
        &self,
        device_id: &str,
        device_code_hash: [u8; 32],
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<crate::PollAnswer>> {
        let found = self.pool.read_by_key(|conn| device::by_code(conn, device_id, &device_code_hash)).await?;
        Ok(crate::poll::answer_without_writing(found, client_id, now))
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
        tokens::token_for_auth(&self.pool, hash).await
    }

    async fn token(&self, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        tokens::token(&self.pool, token_id).await
    }

    async fn list_tokens(&self, query: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
        tokens::list_tokens(&self.pool, query).await
    }

    async fn rotate_token(&self, rotation: Rotation, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::rotate_token(&self.pool, rotation, by.clone()).await
    }

    async fn revoke_token(&self, token_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::revoke_token(&self.pool, token_id, now, by.clone()).await
    }

    async fn save_client(&self, client: OAuthClient) -> StoreResult<()> {
        oauth::save_client(&self.pool, client).await
    }

    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        oauth::oauth_client(&self.pool, client_id).await
    }

    async fn create_grant(&self, grant: NewGrant, by: &Actor) -> StoreResult<()> {
        oauth::create_grant(&self.pool, grant, by.clone()).await
    }

    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
        oauth::grant_by_code(&self.pool, code_hash).await
    }

    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
        oauth::grant_by_refresh(&self.pool, refresh_hash).await
    }

    async fn redeem_code(&self, code_hash: [u8; 32], issue: GrantIssue, by: &Actor) -> StoreResult<RedeemOutcome> {
        oauth::redeem_code(&self.pool, code_hash, issue, by.clone()).await
    }

    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: GrantIssue,
        grace: Duration,
        idle: Duration,
    ) -> StoreResult<RefreshOutcome> {
        oauth::refresh_grant(&self.pool, refresh_hash, issue, grace, idle).await
    }

    async fn revoke_grant(
        &self,
        grant_id: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<()> {
        oauth::revoke_grant(&self.pool, grant_id, user_id, now, by.clone()).await
    }

    async fn grants(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
        oauth::grants(&self.pool, user_id).await
    }

    async fn create_session(&self, new: NewSession, by: &Actor) -> StoreResult<()> {
        sessions::create_session(&self.pool, new, by.clone()).await
    }

    async fn session(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        sessions::session(&self.pool, id_hash, now).await
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        sessions::delete_session(&self.pool, id_hash).await
    }

    async fn end_other_sessions(&self, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
        sessions::end_other_sessions(&self.pool, user_id, keep).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<[u8; 32]>,
        by: &Actor,
    ) -> StoreResult<()> {
        sessions::set_password(&self.pool, user_id, password_hash, keep, by.clone()).await
    }

    async fn create_password_reset(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sessions::create_password_reset(&self.pool, token_hash, user_id, now, expires_at).await
    }

    async fn check_password_reset(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<()> {
        sessions::check_password_reset(&self.pool, token_hash, now).await
    }

    async fn use_password_reset(
        &self,
        token_hash: [u8; 32],
        password_hash: &str,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<User> {
        sessions::use_password_reset(&self.pool, token_hash, password_hash, now, by.clone()).await
    }

    async fn create_email_verification(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sessions::create_email_verification(&self.pool, token_hash, user_id, now, expires_at).await
    }

    async fn use_email_verification(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User> {
        sessions::use_email_verification(&self.pool, token_hash, now).await
    }

    async fn failures(
        &self,
        key: [u8; 32],
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<FailureWindow>> {
        sessions::failures(&self.pool, key, now, window).await
    }

    async fn count_failure(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<FailureWindow> {
        sessions::count_failure(&self.pool, key, now, window).await
    }

    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
        mail::queue_mail(&self.pool, mail, now).await
    }

    async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        mail::claim_mail(&self.pool, now, lease, limit).await
    }

    async fn mail_sent(&self, mail_id: &str) -> StoreResult<()> {
        mail::mail_sent(&self.pool, mail_id).await
    }

    async fn mail_failed(
        &self,
        mail_id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        mail::mail_failed(&self.pool, mail_id, error, retry_at, now).await
    }

    async fn mail_counts(&self) -> StoreResult<(u64, u64)> {
        mail::mail_counts(&self.pool).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.pool
            .write(move |tx| {
                let day_ago = ms(now) - 86_400_000;
                let mut purged =
                    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ms(now)]).map_err(backend)?;
                purged += tx
                    .execute("DELETE FROM device_authorizations WHERE expires_at <= ?1", [day_ago])
                    .map_err(backend)?;
                purged +=
                    tx.execute("DELETE FROM email_verifications WHERE expires_at <= ?1", [day_ago]).map_err(backend)?;
                purged +=
                    tx.execute("DELETE FROM password_resets WHERE expires_at <= ?1", [day_ago]).map_err(backend)?;
                purged += tx.execute("DELETE FROM rate_limits WHERE window_start <= ?1", [day_ago]).map_err(backend)?;
                purged += tx
                    .execute("DELETE FROM mail_queue WHERE failed_at <= ?1", [ms(now) - rows::FAILED_MAIL_KEPT_MS])
                    .map_err(backend)?;
                purged += oauth::purge(tx, now)?;
                Ok(u64::try_from(purged).unwrap_or_default())
            })
            .await
            .inspect(|_| {
                if let Some(codes) = self.user_codes() {
                    codes.sweep(now - chrono::Duration::days(1));
                }
            })
    }

    async fn claim_expiry_notices(&self, now: DateTime<Utc>, mail: crate::NoticeMail) -> StoreResult<usize> {
        notices::claim_expiry_notices(&self.pool, now, mail).await
    }

    async fn expiry_notices(&self, user_id: &str) -> StoreResult<bool> {
        notices::expiry_notices(&self.pool, user_id).await
    }

    async fn set_expiry_notices(&self, user_id: &str, on: bool) -> StoreResult<()> {
        notices::set_expiry_notices(&self.pool, user_id, on).await
    }

    async fn record_event(&self, event: AuditEvent) -> StoreResult<()> {
        audit::record(&self.pool, event).await
    }

    async fn audit_events(&self, query: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        audit::list(&self.pool, query).await
    }

    async fn purge_audit_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        audit::purge(&self.pool, before).await
    }

    async fn touch_tokens(&self, uses: Vec<TokenUse>) -> StoreResult<()> {
        tokens::touch_tokens(&self.pool, uses).await
    }

    async fn set_whitelabel(&self, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()> {
        whitelabel::set_whitelabel(&self.pool, account_id, on, now).await
    }

    async fn is_whitelabel(&self, account_id: &str) -> StoreResult<bool> {
        whitelabel::is_whitelabel(&self.pool, account_id).await
    }

    async fn create_brand(&self, brand: Brand) -> StoreResult<()> {
        whitelabel::create_brand(&self.pool, brand).await
    }

    async fn brand(&self, brand_id: &str) -> StoreResult<Option<Brand>> {
        whitelabel::brand(&self.pool, brand_id).await
    }

    async fn create_brand_user(&self, user: BrandUser) -> StoreResult<()> {
        whitelabel::create_brand_user(&self.pool, user).await
    }

    async fn brand_user(&self, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
        whitelabel::brand_user(&self.pool, brand_id, user_id).await
    }

    async fn set_brand_user_quota(
        &self,
        brand_id: &str,
        user_id: &str,
        quota: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BrandUser>> {
        whitelabel::set_brand_user_quota(&self.pool, brand_id, user_id, quota, now).await
    }

    async fn replace_v0_key(
        &self,
        owner: V0KeyOwner,
        hash: [u8; 32],
        hint: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        whitelabel::replace_v0_key(&self.pool, owner, hash, hint, now).await
    }

    async fn v0_key(&self, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
        whitelabel::v0_key(&self.pool, hash).await
    }
}
