//! The PostgreSQL engine, for many stateless server nodes on one database.
//!
//! The schema is the SQLite engine's (same tables, columns and meanings);
//! statements differ only where the dialects do. Transactions run at READ
//! COMMITTED; where two writers could race past a rule (the last owner of an
//! account, a single redemption, a used link), the statement that decides
//! locks the row it decides on, or carries the rule in its `WHERE`.
//!
//! The auth epoch is local to each node and moved by `NOTIFY` (see
//! `listen.rs`).
//!
//! Laid out as the SQLite engine is: the [`Store`] implementation here
//! forwards each method to its area (`teams`, `chatbots`, `tokens`, `device`,
//! `sessions`, `mail`, `whitelabel`), and `sql` holds the pool, the node's
//! epoch and the statement helpers the areas share.

mod audit;
mod chatbots;
mod device;
mod listen;
mod mail;
mod migrations;
mod notices;
mod oauth;
pub mod pulse;
mod sessions;
mod sql;
mod teams;
#[cfg(feature = "test-support")]
mod test_support;
mod tls;
mod tokens;
mod whitelabel;

use crate::TokenUse;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use sitegpt_access::{Role, SubscriptionStatus, TokenHash};

use self::listen::{Epoch, Listener};
use self::sql::{Db, execute, pool_error, query};
pub(crate) use self::sql::{connect_once, pg};
#[cfg(feature = "test-support")]
pub use self::test_support::{TestDatabase, create_empty_test_database, create_test_database, test_server_url};
use crate::rows::{self, ms};
use crate::{
    Account, Actor, AuditEvent, AuditQuery, Brand, BrandUser, Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery,
    Conversation, DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, FailureWindow, Grant, GrantIssue,
    IntegrationRecord, Invitation, ItemQuery, MemberRecord, Message, NewDeviceAuthorization, NewGrant, NewSession,
    NewToken, NewUser, OAuthClient, OutgoingMail, QueuedMail, RedeemOutcome, RefreshOutcome, Rotation, Session, Store,
    StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord, UseLimit, User, V0Key, V0KeyOwner,
};

/// Connections each node keeps at most.
const POOL_SIZE: usize = 16;

/// The PostgreSQL engine. One per process; it keeps a connection pool and a
/// listening connection.
#[derive(Debug)]
pub struct PostgresStore {
    db: Db,
    _listener: Listener,
}

impl PostgresStore {
    /// Connects, runs migrations and starts listening for authorization
    /// changes. Must be called inside a tokio runtime.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let product = migrations::Product {
            table: "sitegpt_migrations",
            list: migrations::MIGRATIONS,
            lock_key: migrations::LOCK_KEY,
        };
        let (db, listener) = connect_db(url, product).await?;
        Ok(PostgresStore { db, _listener: listener })
    }

    /// Whether the notification connection is up (for `/healthz` and tests).
    pub fn listening(&self) -> bool {
        self.db.epoch.listening()
    }
}

/// A pool on `url` with `product`'s migrations run, and the listener that
/// keeps its auth epoch: what every product's PostgreSQL store starts with.
async fn connect_db(url: &str, product: migrations::Product) -> StoreResult<(Db, Listener)> {
    let (config, tls) = tls::settings(url)?;
    let manager =
        Manager::from_config(config.clone(), tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
    {
        let mut client = pool.get().await.map_err(pool_error)?;
        migrations::apply(&mut client, product.table, product.list, product.lock_key).await?;
    }
    let epoch = Arc::new(Epoch::default());
    let listener = Listener::start(config, tls, Arc::clone(&epoch));
    Ok((Db { pool, epoch }, listener))
}

/// Creates or updates the schema through one connection.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> StoreResult<i64> {
    migrations::run(client).await
}

#[async_trait]
impl Store for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn auth_epoch(&self) -> StoreResult<u64> {
        Ok(self.db.epoch.current())
    }

    fn hears_other_nodes(&self) -> Option<bool> {
        Some(self.db.epoch.listening())
    }

    async fn ping(&self) -> StoreResult<()> {
        let client = self.db.client().await?;
        query(&client, "SELECT 1", &[]).await.map(drop)
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<(User, Account)> {
        teams::create_user(&self.db, new).await
    }

    async fn sign_up(&self, new: NewUser, mail: OutgoingMail) -> StoreResult<(User, Account)> {
        teams::sign_up(&self.db, new, mail).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        teams::user_by_email(&self.db, email).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        teams::count_users(&self.db).await
    }

    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
        teams::account(&self.db, account_id).await
    }

    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
        teams::memberships(&self.db, user_id).await
    }

    async fn set_role(&self, account_id: &str, user_id: &str, role: Role, by: &Actor) -> StoreResult<()> {
        teams::set_role(&self.db, account_id, user_id, role, by).await
    }

    async fn remove_member(&self, account_id: &str, user_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<()> {
        teams::remove_member(&self.db, account_id, user_id, now, by).await
    }

    async fn set_subscription(&self, account_id: &str, status: SubscriptionStatus, by: &Actor) -> StoreResult<()> {
        teams::set_subscription(&self.db, account_id, status, by).await
    }

    async fn rename_account(&self, account_id: &str, name: &str) -> StoreResult<Account> {
        teams::rename_account(&self.db, account_id, name).await
    }

    async fn plan(&self, account_id: &str) -> StoreResult<String> {
        teams::plan(&self.db, account_id).await
    }

    async fn set_plan(&self, account_id: &str, plan: &str) -> StoreResult<()> {
        teams::set_plan(&self.db, account_id, plan).await
    }

    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
        teams::members(&self.db, account_id).await
    }

    async fn member(&self, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
        teams::member(&self.db, account_id, user_id).await
    }

    async fn add_member(&self, account_id: &str, user_id: &str, role: Role, now: DateTime<Utc>) -> StoreResult<()> {
        teams::add_member(&self.db, account_id, user_id, role, now).await
    }

    async fn create_invitation(&self, invitation: Invitation, mail: OutgoingMail, by: &Actor) -> StoreResult<()> {
        teams::create_invitation(&self.db, invitation, mail, by).await
    }

    async fn accept_invitations(
        &self,
        email: &str,
        user_id: &str,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        teams::accept_invitations(&self.db, email, user_id, only, now).await
    }

    async fn pending_invitations(&self, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        teams::pending_invitations(&self.db, account_id, now).await
    }

    async fn invitations_to(&self, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>> {
        teams::invitations_to(&self.db, email, now).await
    }

    async fn decline_invitation(&self, email: &str, invitation_id: &str) -> StoreResult<()> {
        teams::decline_invitation(&self.db, email, invitation_id).await
    }

    async fn cancel_invitation(&self, account_id: &str, invitation_id: &str) -> StoreResult<()> {
        teams::cancel_invitation(&self.db, account_id, invitation_id).await
    }

    async fn insert_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        teams::insert_integration(&self.db, i).await
    }

    async fn integration(&self, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
        teams::integration(&self.db, integration_id).await
    }

    async fn integrations(&self, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
        teams::integrations(&self.db, account_id).await
    }

    async fn update_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        teams::update_integration(&self.db, i).await
    }

    async fn verify_email(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        teams::verify_email(&self.db, user_id, now).await
    }

    async fn insert_chatbot(&self, chatbot: Chatbot) -> StoreResult<Chatbot> {
        chatbots::insert_chatbot(&self.db, chatbot).await
    }

    async fn chatbot(&self, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
        chatbots::chatbot(&self.db, chatbot_id).await
    }

    async fn list_chatbots(&self, q: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
        chatbots::list_chatbots(&self.db, q).await
    }

    async fn update_chatbot(&self, chatbot_id: &str, patch: ChatbotPatch, now: DateTime<Utc>) -> StoreResult<Chatbot> {
        chatbots::update_chatbot(&self.db, chatbot_id, patch, now).await
    }

    async fn delete_chatbot(&self, chatbot_id: &str) -> StoreResult<()> {
        chatbots::delete_chatbot(&self.db, chatbot_id).await
    }

    async fn insert_item(&self, item: ChatbotItem) -> StoreResult<ChatbotItem> {
        chatbots::insert_item(&self.db, item).await
    }

    async fn item(&self, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
        chatbots::item(&self.db, kind, item_id).await
    }

    async fn list_items(&self, q: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
        chatbots::list_items(&self.db, q).await
    }

    async fn update_item(
        &self,
        kind: &str,
        item_id: &str,
        data: String,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatbotItem> {
        chatbots::update_item(&self.db, kind, item_id, data, now).await
    }

    async fn delete_item(&self, kind: &str, item_id: &str) -> StoreResult<()> {
        chatbots::delete_item(&self.db, kind, item_id).await
    }

    async fn settings(&self, chatbot_id: &str) -> StoreResult<Option<String>> {
        chatbots::settings(&self.db, chatbot_id).await
    }

    async fn save_settings(&self, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()> {
        chatbots::save_settings(&self.db, chatbot_id, data, now).await
    }

    async fn insert_conversation(&self, conversation: Conversation, messages: Vec<Message>) -> StoreResult<()> {
        chatbots::insert_conversation(&self.db, conversation, messages).await
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        chatbots::conversation(&self.db, conversation_id).await
    }

    async fn list_conversations(&self, q: ItemQuery, status: Option<String>) -> StoreResult<Vec<Conversation>> {
        chatbots::list_conversations(&self.db, q, status).await
    }

    async fn messages(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
        chatbots::messages(&self.db, conversation_ids).await
    }

    async fn set_conversation_status(
        &self,
        conversation_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        chatbots::set_conversation_status(&self.db, conversation_id, status, now).await
    }

    async fn add_message(&self, message: Message) -> StoreResult<()> {
        chatbots::add_message(&self.db, message).await
    }

    async fn delete_conversation(&self, conversation_id: &str) -> StoreResult<()> {
        chatbots::delete_conversation(&self.db, conversation_id).await
    }

    async fn existing_chatbots(&self, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        chatbots::existing_chatbots(&self.db, account_id, ids).await
    }

    async fn insert_token(&self, new: NewToken, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::insert_token(&self.db, new, by).await
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
        tokens::token_for_auth(&self.db, hash).await
    }

    async fn token(&self, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        tokens::token(&self.db, token_id).await
    }

    async fn list_tokens(&self, q: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
        tokens::list_tokens(&self.db, q).await
    }

    async fn rotate_token(&self, rotation: Rotation, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::rotate_token(&self.db, rotation, by).await
    }

    async fn revoke_token(&self, token_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<TokenRecord> {
        tokens::revoke_token(&self.db, token_id, now, by).await
    }

    async fn create_device_authorization(&self, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
        device::create(&self.db.client().await?, new).await
    }

    async fn create_device_authorization_counted(
        &self,
        new: NewDeviceAuthorization,
        limit: UseLimit,
    ) -> StoreResult<Result<DeviceAuthorization, FailureWindow>> {
        device::create_counted(&self.db.client().await?, new, limit).await
    }

    async fn device_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
        device::by_user_code(&self.db.client().await?, user_code).await
    }

    async fn decide_device(
        &self,
        id: &str,
        decision: DeviceDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<DeviceAuthorization> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let decided = device::decide(&tx, id, decision, now).await?;
        tx.commit().await.map_err(pg)?;
        Ok(decided)
    }

    async fn poll_device(&self, poll: DevicePoll, by: &Actor) -> StoreResult<DevicePollOutcome> {
        let mut client = self.db.client().await?;
        // Most polls change nothing: answer those from a plain read, without
        // queueing for the row's lock behind every other poll of the code.
        let found = device::by_code(&client, &poll.device_id, &poll.device_code_hash).await?;
        if let Some(answer) = crate::poll::answer_without_writing(found, &poll.client_id, poll.now) {
            return Ok(answer.outcome);
        }
        let tx = client.transaction().await.map_err(pg)?;
        let outcome = device::poll(&tx, poll, by).await?;
        tx.commit().await.map_err(pg)?;
        Ok(outcome)
    }

    async fn answer_device_poll(
        &self,
        device_id: &str,
        device_code_hash: [u8; 32],
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<crate::PollAnswer>> {
        let client = self.db.client().await?;
        let found = device::by_code(&client, device_id, &device_code_hash).await?;
        Ok(crate::poll::answer_without_writing(found, client_id, now))
    }

    async fn save_client(&self, client: OAuthClient) -> StoreResult<()> {
        oauth::save_client(&self.db, client).await
    }

    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        oauth::oauth_client(&self.db, client_id).await
    }

    async fn create_grant(&self, grant: NewGrant, by: &Actor) -> StoreResult<()> {
        oauth::create_grant(&self.db, grant, by).await
    }

    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
        oauth::grant_by_code(&self.db, code_hash).await
    }

    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
        oauth::grant_by_refresh(&self.db, refresh_hash).await
    }

    async fn redeem_code(&self, code_hash: [u8; 32], issue: GrantIssue, by: &Actor) -> StoreResult<RedeemOutcome> {
        oauth::redeem_code(&self.db, code_hash, issue, by).await
    }

    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: GrantIssue,
        grace: Duration,
        idle: Duration,
    ) -> StoreResult<RefreshOutcome> {
        oauth::refresh_grant(&self.db, refresh_hash, issue, grace, idle).await
    }

    async fn revoke_grant(
        &self,
        grant_id: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<()> {
        oauth::revoke_grant(&self.db, grant_id, user_id, now, by).await
    }

    async fn grants(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
        oauth::grants(&self.db, user_id).await
    }

    async fn create_session(&self, new: NewSession, by: &Actor) -> StoreResult<()> {
        sessions::create_session(&self.db, new, by).await
    }

    async fn session(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        sessions::session(&self.db, id_hash, now).await
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        sessions::delete_session(&self.db, id_hash).await
    }

    async fn end_other_sessions(&self, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
        sessions::end_other_sessions(&self.db, user_id, keep).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<[u8; 32]>,
        by: &Actor,
    ) -> StoreResult<()> {
        sessions::set_password(&self.db, user_id, password_hash, keep, by).await
    }

    async fn create_password_reset(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sessions::create_password_reset(&self.db, token_hash, user_id, now, expires_at).await
    }

    async fn check_password_reset(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<()> {
        sessions::check_password_reset(&self.db, token_hash, now).await
    }

    async fn use_password_reset(
        &self,
        token_hash: [u8; 32],
        password_hash: &str,
        now: DateTime<Utc>,
        by: &Actor,
    ) -> StoreResult<User> {
        sessions::use_password_reset(&self.db, token_hash, password_hash, now, by).await
    }

    async fn create_email_verification(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sessions::create_email_verification(&self.db, token_hash, user_id, now, expires_at).await
    }

    async fn use_email_verification(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User> {
        sessions::use_email_verification(&self.db, token_hash, now).await
    }

    async fn failures(
        &self,
        key: [u8; 32],
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<FailureWindow>> {
        sessions::failures(&self.db, key, now, window).await
    }

    async fn count_failure(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<FailureWindow> {
        sessions::count_failure(&self.db, key, now, window).await
    }

    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
        mail::queue_mail(&self.db, mail, now).await
    }

    async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        mail::claim_mail(&self.db, now, lease, limit).await
    }

    async fn mail_sent(&self, mail_id: &str) -> StoreResult<()> {
        mail::mail_sent(&self.db, mail_id).await
    }

    async fn mail_failed(
        &self,
        mail_id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        mail::mail_failed(&self.db, mail_id, error, retry_at, now).await
    }

    async fn mail_counts(&self) -> StoreResult<(u64, u64)> {
        mail::mail_counts(&self.db).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let client = self.db.client().await?;
        let day_ago = ms(now) - 86_400_000;
        let mut purged =
            execute(&client, "DELETE FROM sessions WHERE expires_at <= $1", &[&ms(now)]).await.map_err(pg)?;
        purged += execute(&client, "DELETE FROM device_authorizations WHERE expires_at <= $1", &[&day_ago])
            .await
            .map_err(pg)?;
        purged += execute(&client, "DELETE FROM email_verifications WHERE expires_at <= $1", &[&day_ago])
            .await
            .map_err(pg)?;
        purged +=
            execute(&client, "DELETE FROM password_resets WHERE expires_at <= $1", &[&day_ago]).await.map_err(pg)?;
        purged +=
            execute(&client, "DELETE FROM rate_limits WHERE window_start <= $1", &[&day_ago]).await.map_err(pg)?;
        purged +=
            execute(&client, "DELETE FROM mail_queue WHERE failed_at <= $1", &[&(ms(now) - rows::FAILED_MAIL_KEPT_MS)])
                .await
                .map_err(pg)?;
        purged += oauth::purge(&client, now).await?;
        Ok(purged)
    }

    async fn claim_expiry_notices(&self, now: DateTime<Utc>, mail: crate::NoticeMail) -> StoreResult<usize> {
        notices::claim_expiry_notices(&self.db, now, mail).await
    }

    async fn expiry_notices(&self, user_id: &str) -> StoreResult<bool> {
        notices::expiry_notices(&self.db, user_id).await
    }

    async fn set_expiry_notices(&self, user_id: &str, on: bool) -> StoreResult<()> {
        notices::set_expiry_notices(&self.db, user_id, on).await
    }

    async fn record_event(&self, event: AuditEvent) -> StoreResult<()> {
        audit::record(&self.db, event).await
    }

    async fn audit_events(&self, query: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        audit::list(&self.db, query).await
    }

    async fn purge_audit_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        audit::purge(&self.db, before).await
    }

    async fn touch_tokens(&self, uses: Vec<TokenUse>) -> StoreResult<()> {
        tokens::touch_tokens(&self.db, uses).await
    }

    async fn set_whitelabel(&self, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()> {
        whitelabel::set_whitelabel(&self.db, account_id, on, now).await
    }

    async fn is_whitelabel(&self, account_id: &str) -> StoreResult<bool> {
        whitelabel::is_whitelabel(&self.db, account_id).await
    }

    async fn create_brand(&self, brand: Brand) -> StoreResult<()> {
        whitelabel::create_brand(&self.db, brand).await
    }

    async fn brand(&self, brand_id: &str) -> StoreResult<Option<Brand>> {
        whitelabel::brand(&self.db, brand_id).await
    }

    async fn create_brand_user(&self, user: BrandUser) -> StoreResult<()> {
        whitelabel::create_brand_user(&self.db, user).await
    }

    async fn brand_user(&self, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
        whitelabel::brand_user(&self.db, brand_id, user_id).await
    }

    async fn set_brand_user_quota(
        &self,
        brand_id: &str,
        user_id: &str,
        quota: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BrandUser>> {
        whitelabel::set_brand_user_quota(&self.db, brand_id, user_id, quota, now).await
    }

    async fn replace_v0_key(
        &self,
        owner: V0KeyOwner,
        hash: [u8; 32],
        hint: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        whitelabel::replace_v0_key(&self.db, owner, hash, hint, now).await
    }

    async fn v0_key(&self, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
        whitelabel::v0_key(&self.db, hash).await
    }
}
