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

mod device;
mod listen;
mod migrations;
#[cfg(feature = "test-support")]
mod test_support;
mod tls;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{Role, SubscriptionStatus, TokenHash};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use self::listen::{CHANNEL, Epoch, Listener};
#[cfg(feature = "test-support")]
pub use self::test_support::{TestDatabase, create_test_database, test_server_url};
use crate::rows::{
    self, ACCOUNT_COLUMNS, BRAND_COLUMNS, BRAND_USER_COLUMNS, CHATBOT_COLUMNS, CONVERSATION_COLUMNS, Cells,
    INTEGRATION_COLUMNS, INVITATION_COLUMNS, ITEM_COLUMNS, MEMBER_SELECT, MESSAGE_COLUMNS, SESSION_SELECT,
    TOKEN_AUTH_SELECT, TOKEN_COLUMNS, USER_COLUMNS, V0_KEY_COLUMNS, cursor_params, from_ms, ms,
};
use crate::{
    Account, Brand, BrandUser, Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery, Conversation, DeviceAuthorization,
    DeviceDecision, DevicePoll, DevicePollOutcome, FailureWindow, IntegrationRecord, Invitation, ItemQuery, MailLink,
    MemberRecord, Message, NewDeviceAuthorization, NewMembership, NewSession, NewToken, NewUser, OutgoingMail,
    QueuedMail, Rotation, Session, Store, StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord, User, V0Key,
    V0KeyOwner,
};

/// Connections each node keeps at most.
const POOL_SIZE: usize = 16;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The PostgreSQL engine. One per process; it keeps a connection pool and a
/// listening connection.
#[derive(Debug)]
pub struct PostgresStore {
    pool: Pool,
    epoch: Arc<Epoch>,
    _listener: Listener,
}

impl PostgresStore {
    /// Connects, runs migrations and starts listening for authorization
    /// changes. Must be called inside a tokio runtime.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let (config, tls) = tls::settings(url)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        {
            let mut client = pool.get().await.map_err(pool_error)?;
            migrations::run(&mut client).await?;
        }
        let epoch = Arc::new(Epoch::default());
        let listener = Listener::start(config, tls, Arc::clone(&epoch));
        Ok(PostgresStore { pool, epoch, _listener: listener })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Whether the notification connection is up (for `/healthz` and tests).
    pub fn listening(&self) -> bool {
        self.epoch.listening()
    }
}

/// Creates or updates the schema through one connection.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> StoreResult<i64> {
    migrations::run(client).await
}

/// One connection (not pooled), for migrations and tools; the second value
/// drives it and ends when the client is dropped.
pub(crate) async fn connect_once(
    url: &str,
) -> StoreResult<(tokio_postgres::Client, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>)> {
    let (config, tls) = tls::settings(url)?;
    let (client, connection) = config.connect(tls).await.map_err(pg)?;
    Ok((client, tokio::spawn(connection)))
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(format!("no PostgreSQL connection: {}", with_causes(&e)))
}

pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(with_causes(&e))
}

/// An error with its chain of causes (the driver hides a TLS failure's).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = inner.source();
    }
    tls::redact(&message)
}

fn has_code(e: &tokio_postgres::Error, code: &SqlState) -> bool {
    e.code() == Some(code)
}

/// `Conflict(message)` for a unique violation, else a backend error.
fn unique_or(message: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if has_code(&e, &SqlState::UNIQUE_VIOLATION) { StoreError::Conflict(message.into()) } else { pg(e) }
    }
}

/// `Conflict(message)` for a unique violation, `NotFound` for a missing
/// parent row, else a backend error.
fn constraint(message: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| if has_code(&e, &SqlState::FOREIGN_KEY_VIOLATION) { StoreError::NotFound } else { unique_or(message)(e) }
}

/// `NotFound` for a foreign-key violation (the parent row is gone).
fn missing_parent(e: tokio_postgres::Error) -> StoreError {
    if has_code(&e, &SqlState::FOREIGN_KEY_VIOLATION) { StoreError::NotFound } else { pg(e) }
}

impl Cells for Row {
    type Error = StoreError;
    fn text(&self, i: usize) -> StoreResult<String> {
        self.try_get(i).map_err(pg)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.try_get(i).map_err(pg)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.try_get(i).map_err(pg)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.try_get(i).map_err(pg)
    }
    fn corrupt(what: &str, value: &str) -> StoreError {
        StoreError::Backend(format!("stored {what} `{value}` is not valid"))
    }
}

/// Text with U+0000, which PostgreSQL cannot hold: as a value to look up it
/// matches no stored row. (Request bodies with it are refused before.)
fn is_nul_text(e: &tokio_postgres::Error) -> bool {
    has_code(e, &SqlState::CHARACTER_NOT_IN_REPERTOIRE)
}

pub(crate) async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    match c.query(&statement, params).await {
        Err(e) if is_nul_text(&e) => Ok(Vec::new()),
        result => result.map_err(pg),
    }
}

pub(crate) async fn query_opt(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    match c.query_opt(&statement, params).await {
        Err(e) if is_nul_text(&e) => Ok(None),
        result => result.map_err(pg),
    }
}

/// Runs a statement; the driver's error is kept for the caller to map.
pub(crate) async fn execute(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

/// Decodes every row with `f`.
pub(crate) fn all<T>(rows: Vec<Row>, f: impl Fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// Fails with `NotFound` unless exactly one row changed.
fn expect_one(changed: u64) -> StoreResult<()> {
    if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

/// Advances the durable epoch and tells every node, on commit.
pub(crate) async fn bump_epoch(tx: &impl GenericClient) -> StoreResult<()> {
    execute(tx, "UPDATE auth_epoch SET value = value + 1 WHERE id = 1", &[]).await.map_err(pg)?;
    execute(tx, &format!("NOTIFY {CHANNEL}"), &[]).await.map_err(pg)?;
    Ok(())
}

/// Refuses when the account has no owner left. The caller holds the
/// account's row lock, so two demotions cannot both pass.
async fn keep_an_owner(tx: &impl GenericClient, account_id: &str) -> StoreResult<()> {
    let row =
        query_opt(tx, "SELECT count(*) FROM memberships WHERE account_id = $1 AND role = 'owner'", &[&account_id])
            .await?
            .ok_or(StoreError::NotFound)?;
    if row.int(0)? == 0 {
        return Err(StoreError::Conflict("an account must keep at least one owner".into()));
    }
    Ok(())
}

/// Locks the account row until the transaction ends; `NotFound` if none.
async fn lock_account(tx: &impl GenericClient, account_id: &str) -> StoreResult<()> {
    query_opt(tx, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", &[&account_id])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(())
}

pub(crate) async fn insert_token_row(tx: &impl GenericClient, new: &NewToken) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO api_tokens (id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids, \
         created_via, created_at, secret_issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        &[
            &new.id,
            &new.account_id,
            &new.user_id,
            &new.name,
            &&new.hash.as_bytes()[..],
            &new.hint,
            &new.scopes.to_space_separated(),
            &new.chatbots.ids().join(" "),
            &new.created_via.as_str(),
            &ms(new.now),
            &ms(new.expires_at),
        ],
    )
    .await
    .map_err(|e| {
        if has_code(&e, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict("token id or secret already exists".into())
        } else {
            missing_parent(e)
        }
    })?;
    Ok(())
}

pub(crate) async fn load_token(c: &impl GenericClient, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    query_opt(c, &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1"), &[&token_id])
        .await?
        .map(|r| rows::token(&r))
        .transpose()
}

async fn load_account(c: &impl GenericClient, account_id: &str) -> StoreResult<Option<Account>> {
    query_opt(c, &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"), &[&account_id])
        .await?
        .map(|r| rows::account(&r))
        .transpose()
}

async fn load_chatbot(c: &impl GenericClient, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    query_opt(c, &format!("SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE id = $1"), &[&chatbot_id])
        .await?
        .map(|r| rows::chatbot(&r))
        .transpose()
}

async fn load_item(c: &impl GenericClient, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    query_opt(c, &format!("SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE id = $1 AND kind = $2"), &[&item_id, &kind])
        .await?
        .map(|r| rows::item(&r))
        .transpose()
}

async fn insert_user(tx: &impl GenericClient, new: NewUser) -> StoreResult<(User, Account)> {
    let now = ms(new.now);
    let created_at = from_ms(now);
    let (account, role) = match new.membership {
        NewMembership::NewAccount { name, subscription } => {
            let id = new_id(IdKind::Account);
            execute(
                tx,
                "INSERT INTO accounts (id, name, subscription_status, created_at) VALUES ($1, $2, $3, $4)",
                &[&id, &name, &subscription.as_str(), &now],
            )
            .await
            .map_err(pg)?;
            (Account { id, name, subscription, created_at }, Role::Owner)
        }
        NewMembership::Existing { account_id, role } => {
            (load_account(tx, &account_id).await?.ok_or(StoreError::NotFound)?, role)
        }
    };
    let user = User {
        id: new_id(IdKind::User),
        email: new.email,
        password_hash: new.password_hash,
        email_verified_at: new.email_verified.then_some(created_at),
        created_at,
    };
    let taken = format!("a user with e-mail {} already exists", user.email);
    execute(
        tx,
        "INSERT INTO users (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&user.id, &user.email, &user.password_hash, &user.email_verified_at.map(ms), &now],
    )
    .await
    .map_err(unique_or(&taken))?;
    execute(
        tx,
        "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        &[&account.id, &user.id, &role.as_str(), &now],
    )
    .await
    .map_err(missing_parent)?;
    Ok((user, account))
}

async fn insert_mail(tx: &impl GenericClient, mail: &OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    execute(
        tx,
        rows::INSERT_MAIL,
        &[
            &rows::new_mail_id(),
            &mail.to,
            &mail.subject,
            &mail.body,
            &mail.link.map(MailLink::as_str),
            &mail.user_id,
            &ms(now),
        ],
    )
    .await
    .map_err(missing_parent)?;
    Ok(())
}

async fn insert_message(tx: &impl GenericClient, message: &Message) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&message.id, &message.conversation_id, &message.role, &message.content, &ms(message.created_at)],
    )
    .await
    .map_err(missing_parent)?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn auth_epoch(&self) -> StoreResult<u64> {
        Ok(self.epoch.current())
    }

    fn hears_other_nodes(&self) -> Option<bool> {
        Some(self.epoch.listening())
    }

    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        query(&client, "SELECT 1", &[]).await.map(drop)
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<(User, Account)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let created = insert_user(&tx, new).await?;
        tx.commit().await.map_err(pg)?;
        Ok(created)
    }

    async fn sign_up(&self, new: NewUser, mut mail: OutgoingMail) -> StoreResult<(User, Account)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let now = new.now;
        let (user, account) = insert_user(&tx, new).await?;
        mail.user_id = Some(user.id.clone());
        insert_mail(&tx, &mail, now).await?;
        tx.commit().await.map_err(pg)?;
        Ok((user, account))
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let client = self.client().await?;
        query_opt(&client, &format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"), &[&email])
            .await?
            .map(|r| rows::user(&r))
            .transpose()
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let row = query_opt(&client, "SELECT count(*) FROM users", &[]).await?.ok_or(StoreError::NotFound)?;
        Ok(u64::try_from(row.int(0)?).unwrap_or_default())
    }

    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
        load_account(&self.client().await?, account_id).await
    }

    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
        let client = self.client().await?;
        let found = query(
            &client,
            "SELECT a.id, a.name, a.subscription_status, a.created_at, m.role \
             FROM memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.user_id = $1 ORDER BY m.created_at, a.id",
            &[&user_id],
        )
        .await?;
        all(found, |r| Ok((rows::account(r)?, r.role(4)?)))
    }

    async fn set_role(&self, account_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        lock_account(&tx, account_id).await?;
        expect_one(
            execute(
                &tx,
                "UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2",
                &[&account_id, &user_id, &role.as_str()],
            )
            .await
            .map_err(pg)?,
        )?;
        keep_an_owner(&tx, account_id).await?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }

    async fn remove_member(&self, account_id: &str, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        lock_account(&tx, account_id).await?;
        expect_one(
            execute(&tx, "DELETE FROM memberships WHERE account_id = $1 AND user_id = $2", &[&account_id, &user_id])
                .await
                .map_err(pg)?,
        )?;
        keep_an_owner(&tx, account_id).await?;
        execute(
            &tx,
            "UPDATE api_tokens SET revoked_at = $3 WHERE account_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            &[&account_id, &user_id, &ms(now)],
        )
        .await
        .map_err(pg)?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }

    async fn set_subscription(&self, account_id: &str, status: SubscriptionStatus) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        expect_one(
            execute(
                &tx,
                "UPDATE accounts SET subscription_status = $2 WHERE id = $1",
                &[&account_id, &status.as_str()],
            )
            .await
            .map_err(pg)?,
        )?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }

    async fn rename_account(&self, account_id: &str, name: &str) -> StoreResult<Account> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        expect_one(
            execute(&tx, "UPDATE accounts SET name = $2 WHERE id = $1", &[&account_id, &name]).await.map_err(pg)?,
        )?;
        // The name is part of what verified tokens carry.
        bump_epoch(&tx).await?;
        let account = load_account(&tx, account_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(account)
    }

    async fn plan(&self, account_id: &str) -> StoreResult<String> {
        let client = self.client().await?;
        query_opt(&client, "SELECT plan FROM accounts WHERE id = $1", &[&account_id])
            .await?
            .ok_or(StoreError::NotFound)?
            .text(0)
    }

    async fn set_plan(&self, account_id: &str, plan: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(
            execute(&client, "UPDATE accounts SET plan = $2 WHERE id = $1", &[&account_id, &plan]).await.map_err(pg)?,
        )
    }

    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
        let client = self.client().await?;
        let found = query(
            &client,
            &format!("{MEMBER_SELECT} WHERE m.account_id = $1 ORDER BY m.created_at, u.id"),
            &[&account_id],
        )
        .await?;
        all(found, rows::member)
    }

    async fn member(&self, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("{MEMBER_SELECT} WHERE m.account_id = $1 AND m.user_id = $2"),
            &[&account_id, &user_id],
        )
        .await?
        .map(|r| rows::member(&r))
        .transpose()
    }

    async fn add_member(&self, account_id: &str, user_id: &str, role: Role, now: DateTime<Utc>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        execute(
            &tx,
            "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            &[&account_id, &user_id, &role.as_str(), &ms(now)],
        )
        .await
        .map_err(|e| {
            if has_code(&e, &SqlState::UNIQUE_VIOLATION) {
                StoreError::Conflict("already a member".into())
            } else {
                missing_parent(e)
            }
        })?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }

    async fn create_invitation(&self, invitation: Invitation, mail: OutgoingMail) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // An expired invitation does not block a new one.
        execute(
            &tx,
            "DELETE FROM invitations WHERE account_id = $1 AND email = $2 AND accepted_at IS NULL AND expires_at <= $3",
            &[&invitation.account_id, &invitation.email, &ms(invitation.created_at)],
        )
        .await
        .map_err(pg)?;
        execute(
            &tx,
            "INSERT INTO invitations (id, account_id, email, role, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &invitation.id,
                &invitation.account_id,
                &invitation.email,
                &invitation.role.as_str(),
                &invitation.invited_by,
                &ms(invitation.created_at),
                &ms(invitation.expires_at),
            ],
        )
        .await
        .map_err(unique_or("this address already has a pending invitation"))?;
        insert_mail(&tx, &mail, invitation.created_at).await?;
        tx.commit().await.map_err(pg)
    }

    async fn accept_invitations(
        &self,
        email: &str,
        user_id: &str,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let accepted = query(
            &tx,
            "UPDATE invitations SET accepted_at = $2 \
             WHERE email = $1 AND accepted_at IS NULL AND expires_at > $2 AND ($3::TEXT IS NULL OR id = $3) \
             RETURNING account_id, role",
            &[&email, &ms(now), &only],
        )
        .await?;
        let mut joined = Vec::new();
        for row in accepted {
            let (account_id, role) = (row.text(0)?, row.text(1)?);
            execute(
                &tx,
                "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[&account_id, &user_id, &role, &ms(now)],
            )
            .await
            .map_err(missing_parent)?;
            joined.push(account_id);
        }
        if !joined.is_empty() {
            bump_epoch(&tx).await?;
        }
        tx.commit().await.map_err(pg)?;
        if !joined.is_empty() {
            self.epoch.bump();
        }
        Ok(joined)
    }

    async fn pending_invitations(&self, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        let client = self.client().await?;
        let found = query(
            &client,
            &format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations \
                 WHERE account_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY created_at, id"
            ),
            &[&account_id, &ms(now)],
        )
        .await?;
        all(found, rows::invitation)
    }

    async fn invitations_to(&self, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>> {
        let client = self.client().await?;
        let found = query(&client, rows::INVITATIONS_TO, &[&email, &ms(now)]).await?;
        all(found, |r| Ok((rows::invitation(r)?, r.text(7)?)))
    }

    async fn decline_invitation(&self, email: &str, invitation_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(execute(&client, rows::DECLINE_INVITATION, &[&email, &invitation_id]).await.map_err(pg)?)
    }

    async fn cancel_invitation(&self, account_id: &str, invitation_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(
            execute(
                &client,
                "DELETE FROM invitations WHERE id = $2 AND account_id = $1 AND accepted_at IS NULL",
                &[&account_id, &invitation_id],
            )
            .await
            .map_err(pg)?,
        )
    }

    async fn insert_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO integrations (id, account_id, type, config, secrets, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&i.id, &i.account_id, &i.kind, &i.config, &i.secrets, &ms(i.created_at), &ms(i.updated_at)],
        )
        .await
        .map_err(missing_parent)?;
        Ok(())
    }

    async fn integration(&self, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
        let client = self.client().await?;
        query_opt(&client, &format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE id = $1"), &[&integration_id])
            .await?
            .map(|r| rows::integration(&r))
            .transpose()
    }

    async fn integrations(&self, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
        let client = self.client().await?;
        let found = query(
            &client,
            &format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE account_id = $1 ORDER BY created_at, id"),
            &[&account_id],
        )
        .await?;
        all(found, rows::integration)
    }

    async fn update_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(
            execute(
                &client,
                "UPDATE integrations SET config = $2, secrets = $3, updated_at = $4 WHERE id = $1",
                &[&i.id, &i.config, &i.secrets, &ms(i.updated_at)],
            )
            .await
            .map_err(pg)?,
        )
    }

    async fn verify_email(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        expect_one(
            execute(
                &tx,
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, $2) WHERE id = $1",
                &[&user_id, &ms(now)],
            )
            .await
            .map_err(pg)?,
        )?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }

    async fn insert_chatbot(&self, chatbot: Chatbot) -> StoreResult<Chatbot> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO chatbots (id, account_id, name, description, appearance, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &chatbot.id,
                &chatbot.account_id,
                &chatbot.name,
                &chatbot.description,
                &chatbot.appearance,
                &ms(chatbot.created_at),
                &ms(chatbot.updated_at),
            ],
        )
        .await
        .map_err(missing_parent)?;
        load_chatbot(&client, &chatbot.id).await?.ok_or(StoreError::NotFound)
    }

    async fn chatbot(&self, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
        load_chatbot(&self.client().await?, chatbot_id).await
    }

    async fn list_chatbots(&self, q: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
        let client = self.client().await?;
        let (after_at, after_id) = cursor_params(&q.after);
        let found = query(
            &client,
            &format!(
                "SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE account_id = $1 \
                 AND (cardinality($2::text[]) = 0 OR id = ANY($2::text[])) \
                 AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
                 ORDER BY created_at, id LIMIT $5"
            ),
            &[&q.account_id, &q.only, &after_at, &after_id, &rows::limit(q.limit)],
        )
        .await?;
        all(found, rows::chatbot)
    }

    async fn update_chatbot(&self, chatbot_id: &str, patch: ChatbotPatch, now: DateTime<Utc>) -> StoreResult<Chatbot> {
        let client = self.client().await?;
        let updated = query_opt(
            &client,
            &format!(
                "UPDATE chatbots SET name = coalesce($2, name), description = coalesce($3, description), \
                 appearance = coalesce($4, appearance), updated_at = $5 WHERE id = $1 RETURNING {CHATBOT_COLUMNS}"
            ),
            &[&chatbot_id, &patch.name, &patch.description, &patch.appearance, &ms(now)],
        )
        .await?;
        rows::chatbot(&updated.ok_or(StoreError::NotFound)?)
    }

    async fn delete_chatbot(&self, chatbot_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(execute(&client, "DELETE FROM chatbots WHERE id = $1", &[&chatbot_id]).await.map_err(pg)?)
    }

    async fn insert_item(&self, item: ChatbotItem) -> StoreResult<ChatbotItem> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO chatbot_items (id, account_id, chatbot_id, kind, data, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &item.id,
                &item.account_id,
                &item.chatbot_id,
                &item.kind,
                &item.data,
                &ms(item.created_at),
                &ms(item.updated_at),
            ],
        )
        .await
        .map_err(missing_parent)?;
        load_item(&client, &item.kind, &item.id).await?.ok_or(StoreError::NotFound)
    }

    async fn item(&self, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
        load_item(&self.client().await?, kind, item_id).await
    }

    async fn list_items(&self, q: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
        let client = self.client().await?;
        let (after_at, after_id) = cursor_params(&q.after);
        let found = query(
            &client,
            &format!(
                "SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE chatbot_id = $1 AND kind = $2 \
                 AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
                 ORDER BY created_at, id LIMIT $5"
            ),
            &[&q.chatbot_id, &q.kind, &after_at, &after_id, &rows::limit(q.limit)],
        )
        .await?;
        all(found, rows::item)
    }

    async fn update_item(
        &self,
        kind: &str,
        item_id: &str,
        data: String,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatbotItem> {
        let client = self.client().await?;
        let updated = query_opt(
            &client,
            &format!(
                "UPDATE chatbot_items SET data = $3, updated_at = $4 WHERE id = $1 AND kind = $2 RETURNING {ITEM_COLUMNS}"
            ),
            &[&item_id, &kind, &data, &ms(now)],
        )
        .await?;
        rows::item(&updated.ok_or(StoreError::NotFound)?)
    }

    async fn delete_item(&self, kind: &str, item_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(
            execute(&client, "DELETE FROM chatbot_items WHERE id = $1 AND kind = $2", &[&item_id, &kind])
                .await
                .map_err(pg)?,
        )
    }

    async fn settings(&self, chatbot_id: &str) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        query_opt(&client, "SELECT data FROM chatbot_settings WHERE chatbot_id = $1", &[&chatbot_id])
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn save_settings(&self, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO chatbot_settings (chatbot_id, data, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (chatbot_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            &[&chatbot_id, &data, &ms(now)],
        )
        .await
        .map_err(missing_parent)?;
        Ok(())
    }

    async fn insert_conversation(&self, conversation: Conversation, messages: Vec<Message>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        execute(
            &tx,
            "INSERT INTO conversations (id, account_id, chatbot_id, status, visitor, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &conversation.id,
                &conversation.account_id,
                &conversation.chatbot_id,
                &conversation.status,
                &conversation.visitor,
                &ms(conversation.created_at),
                &ms(conversation.updated_at),
            ],
        )
        .await
        .map_err(missing_parent)?;
        for message in &messages {
            insert_message(&tx, message).await?;
        }
        tx.commit().await.map_err(pg)
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"),
            &[&conversation_id],
        )
        .await?
        .map(|r| rows::conversation(&r))
        .transpose()
    }

    async fn list_conversations(&self, q: ItemQuery, status: Option<String>) -> StoreResult<Vec<Conversation>> {
        let client = self.client().await?;
        let (after_at, after_id) = cursor_params(&q.after);
        let found = query(
            &client,
            &format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE chatbot_id = $1 \
                 AND ($2::text IS NULL OR status = $2) \
                 AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
                 ORDER BY created_at, id LIMIT $5"
            ),
            &[&q.chatbot_id, &status, &after_at, &after_id, &rows::limit(q.limit)],
        )
        .await?;
        all(found, rows::conversation)
    }

    async fn messages(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
        let client = self.client().await?;
        let found = query(
            &client,
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ANY($1::text[]) \
                 ORDER BY conversation_id, created_at, id"
            ),
            &[&conversation_ids],
        )
        .await?;
        all(found, rows::message)
    }

    async fn set_conversation_status(
        &self,
        conversation_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(
            execute(
                &client,
                "UPDATE conversations SET status = $2, updated_at = $3 WHERE id = $1",
                &[&conversation_id, &status, &ms(now)],
            )
            .await
            .map_err(pg)?,
        )
    }

    async fn add_message(&self, message: Message) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        expect_one(
            execute(
                &tx,
                "UPDATE conversations SET updated_at = $2 WHERE id = $1",
                &[&message.conversation_id, &ms(message.created_at)],
            )
            .await
            .map_err(pg)?,
        )?;
        insert_message(&tx, &message).await?;
        tx.commit().await.map_err(pg)
    }

    async fn delete_conversation(&self, conversation_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        expect_one(execute(&client, "DELETE FROM conversations WHERE id = $1", &[&conversation_id]).await.map_err(pg)?)
    }

    async fn existing_chatbots(&self, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        let found = query(
            &client,
            "SELECT id FROM chatbots WHERE account_id = $1 AND id = ANY($2::text[])",
            &[&account_id, &ids],
        )
        .await?;
        let found = all(found, |r| r.text(0))?;
        // In the order asked.
        Ok(ids.iter().filter(|id| found.contains(id)).cloned().collect())
    }

    async fn insert_token(&self, new: NewToken) -> StoreResult<TokenRecord> {
        let client = self.client().await?;
        insert_token_row(&client, &new).await?;
        load_token(&client, &new.id).await?.ok_or(StoreError::NotFound)
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
        let client = self.client().await?;
        query_opt(&client, &format!("{TOKEN_AUTH_SELECT} WHERE t.secret_hash = $1"), &[&&hash.as_bytes()[..]])
            .await?
            .map(|r| rows::token_auth(&r))
            .transpose()
    }

    async fn token(&self, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        load_token(&self.client().await?, token_id).await
    }

    async fn list_tokens(&self, q: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
        let client = self.client().await?;
        let (after_at, after_id) = cursor_params(&q.after);
        let found = query(
            &client,
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens t \
                 WHERE t.account_id = $1 \
                   AND ($2::text IS NULL OR t.user_id = $2) \
                   AND ($3::boolean OR t.revoked_at IS NULL) \
                   AND ($4::bigint IS NULL OR t.created_at < $4 OR (t.created_at = $4 AND t.id < $5)) \
                 ORDER BY t.created_at DESC, t.id DESC LIMIT $6"
            ),
            &[&q.account_id, &q.user_id, &q.include_revoked, &after_at, &after_id, &rows::limit(q.limit)],
        )
        .await?;
        all(found, rows::token)
    }

    async fn rotate_token(&self, rotation: Rotation) -> StoreResult<TokenRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let locked =
            query_opt(&tx, "SELECT revoked_at FROM api_tokens WHERE id = $1 FOR UPDATE", &[&rotation.token_id])
                .await?
                .ok_or(StoreError::NotFound)?;
        if locked.opt_int(0)?.is_some() {
            return Err(StoreError::Conflict("a revoked token cannot be rotated".into()));
        }
        execute(
            &tx,
            "UPDATE api_tokens SET secret_hash = $2, hint = $3, secret_issued_at = $4, expires_at = $5 WHERE id = $1",
            &[
                &rotation.token_id,
                &&rotation.hash.as_bytes()[..],
                &rotation.hint,
                &ms(rotation.now),
                &ms(rotation.expires_at),
            ],
        )
        .await
        .map_err(unique_or("token secret already exists"))?;
        bump_epoch(&tx).await?;
        let record = load_token(&tx, &rotation.token_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(record)
    }

    async fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> StoreResult<TokenRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed = execute(
            &tx,
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&token_id, &ms(now)],
        )
        .await
        .map_err(pg)?;
        if changed > 0 {
            bump_epoch(&tx).await?;
        }
        let record = load_token(&tx, token_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg)?;
        if changed > 0 {
            self.epoch.bump();
        }
        Ok(record)
    }

    async fn create_device_authorization(&self, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
        device::create(&self.client().await?, new).await
    }

    async fn device_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
        device::by_user_code(&self.client().await?, user_code).await
    }

    async fn decide_device(
        &self,
        id: &str,
        decision: DeviceDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<DeviceAuthorization> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let decided = device::decide(&tx, id, decision, now).await?;
        tx.commit().await.map_err(pg)?;
        Ok(decided)
    }

    async fn poll_device(&self, poll: DevicePoll) -> StoreResult<DevicePollOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let outcome = device::poll(&tx, poll).await?;
        tx.commit().await.map_err(pg)?;
        Ok(outcome)
    }

    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        let client = self.client().await?;
        // Sign-ins are rare: drop expired sessions while at it.
        execute(&client, "DELETE FROM sessions WHERE expires_at <= $1", &[&ms(new.now)]).await.map_err(pg)?;
        execute(
            &client,
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&&new.id_hash[..], &new.user_id, &new.csrf_token, &ms(new.now), &ms(new.expires_at)],
        )
        .await
        .map_err(missing_parent)?;
        Ok(())
    }

    async fn session(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("{SESSION_SELECT} WHERE s.id_hash = $1 AND s.expires_at > $2"),
            &[&&id_hash[..], &ms(now)],
        )
        .await?
        .map(|r| rows::session(&r))
        .transpose()
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        let client = self.client().await?;
        execute(&client, "DELETE FROM sessions WHERE id_hash = $1", &[&&id_hash[..]]).await.map_err(pg)?;
        Ok(())
    }

    async fn create_email_verification(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO email_verifications (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&&token_hash[..], &user_id, &ms(now), &ms(expires_at)],
        )
        .await
        .map_err(unique_or("duplicate link"))?;
        Ok(())
    }

    async fn use_email_verification(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let found = query_opt(
            &tx,
            "SELECT user_id, expires_at, used_at FROM email_verifications WHERE token_hash = $1 FOR UPDATE",
            &[&&token_hash[..]],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        let (user_id, expires_at, used_at) = (found.text(0)?, found.int(1)?, found.opt_int(2)?);
        if used_at.is_some() {
            return Err(StoreError::Conflict("this link was already used".into()));
        }
        if ms(now) >= expires_at {
            return Err(StoreError::Conflict("this link has expired".into()));
        }
        execute(
            &tx,
            "UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1",
            &[&&token_hash[..], &ms(now)],
        )
        .await
        .map_err(pg)?;
        let user = query_opt(
            &tx,
            &format!(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, $2) WHERE id = $1 RETURNING {USER_COLUMNS}"
            ),
            &[&user_id, &ms(now)],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        let user = rows::user(&user)?;
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(user)
    }

    async fn failures(
        &self,
        key: [u8; 32],
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<FailureWindow>> {
        let client = self.client().await?;
        query_opt(&client, rows::FAILURES, &[&&key[..], &ms(now - window)])
            .await?
            .map(|r| rows::failure_window(&r))
            .transpose()
    }

    async fn count_failure(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<FailureWindow> {
        let client = self.client().await?;
        let row = query_opt(&client, rows::COUNT_FAILURE, &[&&key[..], &ms(now), &ms(now - window)]).await?;
        rows::failure_window(&row.ok_or(StoreError::NotFound)?)
    }

    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
        let client = self.client().await?;
        insert_mail(&client, &mail, now).await
    }

    async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        let client = self.client().await?;
        let claimed = query(
            &client,
            &rows::claim_mail_sql("FOR UPDATE SKIP LOCKED"),
            &[&ms(now), &ms(now + lease), &i64::from(limit)],
        )
        .await?;
        all(claimed, rows::queued_mail).map(rows::oldest_first)
    }

    async fn mail_sent(&self, mail_id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        execute(&client, "DELETE FROM mail_queue WHERE id = $1", &[&mail_id]).await.map_err(pg)?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        mail_id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        let error = rows::mail_error(error);
        execute(&client, rows::MAIL_FAILED, &[&mail_id, &error, &retry_at.map(ms), &ms(now)]).await.map_err(pg)?;
        Ok(())
    }

    async fn mail_counts(&self) -> StoreResult<(u64, u64)> {
        let client = self.client().await?;
        let row = query_opt(&client, rows::MAIL_COUNTS, &[]).await?.ok_or(StoreError::NotFound)?;
        Ok((u64::try_from(row.int(0)?).unwrap_or(0), u64::try_from(row.int(1)?).unwrap_or(0)))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let client = self.client().await?;
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
            execute(&client, "DELETE FROM rate_limits WHERE window_start <= $1", &[&day_ago]).await.map_err(pg)?;
        purged +=
            execute(&client, "DELETE FROM mail_queue WHERE failed_at <= $1", &[&(ms(now) - rows::FAILED_MAIL_KEPT_MS)])
                .await
                .map_err(pg)?;
        Ok(purged)
    }

    async fn touch_tokens(&self, uses: Vec<(String, DateTime<Utc>)>) -> StoreResult<()> {
        let client = self.client().await?;
        let (ids, times): (Vec<String>, Vec<i64>) = uses.into_iter().map(|(id, at)| (id, ms(at))).unzip();
        execute(
            &client,
            "UPDATE api_tokens t SET last_used_at = u.at FROM unnest($1::text[], $2::bigint[]) AS u(id, at) \
             WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at <= u.at - 60000)",
            &[&ids, &times],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn set_whitelabel(&self, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = if on {
            "INSERT INTO whitelabel_accounts (account_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM whitelabel_accounts WHERE account_id = $1 AND $2::BIGINT IS NOT NULL"
        };
        execute(&client, sql, &[&account_id, &ms(now)]).await.map_err(missing_parent)?;
        let exists = query_opt(&client, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id]).await?;
        if exists.is_some() { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn is_whitelabel(&self, account_id: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        Ok(query_opt(&client, "SELECT 1 FROM whitelabel_accounts WHERE account_id = $1", &[&account_id])
            .await?
            .is_some())
    }

    async fn create_brand(&self, brand: Brand) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO brands (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)",
            &[&brand.id, &brand.account_id, &brand.name, &ms(brand.created_at)],
        )
        .await
        .map_err(constraint("a brand with this id already exists"))?;
        Ok(())
    }

    async fn brand(&self, brand_id: &str) -> StoreResult<Option<Brand>> {
        let client = self.client().await?;
        query_opt(&client, &format!("SELECT {BRAND_COLUMNS} FROM brands WHERE id = $1"), &[&brand_id])
            .await?
            .map(|r| rows::brand(&r))
            .transpose()
    }

    async fn create_brand_user(&self, user: BrandUser) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO brand_users (id, brand_id, email, name, message_quota, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &user.id,
                &user.brand_id,
                &user.email,
                &user.name,
                &user.message_quota,
                &ms(user.created_at),
                &ms(user.updated_at),
            ],
        )
        .await
        .map_err(constraint("the brand already has a user with this e-mail"))?;
        Ok(())
    }

    async fn brand_user(&self, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("SELECT {BRAND_USER_COLUMNS} FROM brand_users WHERE id = $2 AND brand_id = $1"),
            &[&brand_id, &user_id],
        )
        .await?
        .map(|r| rows::brand_user(&r))
        .transpose()
    }

    async fn set_brand_user_quota(
        &self,
        brand_id: &str,
        user_id: &str,
        quota: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BrandUser>> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!(
                "UPDATE brand_users SET message_quota = $3, updated_at = $4 WHERE id = $2 AND brand_id = $1 \
                 RETURNING {BRAND_USER_COLUMNS}"
            ),
            &[&brand_id, &user_id, &quota, &ms(now)],
        )
        .await?
        .map(|r| rows::brand_user(&r))
        .transpose()
    }

    async fn replace_v0_key(
        &self,
        owner: V0KeyOwner,
        hash: [u8; 32],
        hint: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let (user_id, brand_user_id) = rows::v0_owner_columns(&owner);
        execute(&tx, "DELETE FROM v0_api_keys WHERE user_id = $1 OR brand_user_id = $2", &[&user_id, &brand_user_id])
            .await
            .map_err(pg)?;
        execute(
            &tx,
            "INSERT INTO v0_api_keys (key_hash, hint, user_id, brand_user_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&&hash[..], &hint, &user_id, &brand_user_id, &ms(now)],
        )
        .await
        .map_err(constraint("this key already exists"))?;
        tx.commit().await.map_err(pg)
    }

    async fn v0_key(&self, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
        let client = self.client().await?;
        query_opt(&client, &format!("SELECT {V0_KEY_COLUMNS} FROM v0_api_keys WHERE key_hash = $1"), &[&&hash[..]])
            .await?
            .map(|r| rows::v0_key(&r))
            .transpose()
    }
}
