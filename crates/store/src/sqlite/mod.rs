//! The embedded engine: one SQLite file in WAL mode.

mod device;
mod epoch;
mod migrations;
mod pool;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{Role, SubscriptionStatus, TokenHash};

use self::epoch::EpochWatch;
use self::pool::{Pool, backend};
use crate::rows::{
    self, ACCOUNT_COLUMNS, BRAND_COLUMNS, BRAND_USER_COLUMNS, CHATBOT_COLUMNS, CONVERSATION_COLUMNS, Cells,
    INTEGRATION_COLUMNS, INVITATION_COLUMNS, ITEM_COLUMNS, MEMBER_SELECT, MESSAGE_COLUMNS, SESSION_SELECT,
    TOKEN_AUTH_SELECT, TOKEN_COLUMNS, USER_COLUMNS, V0_KEY_COLUMNS, cursor_params, oldest_first,
};
pub(crate) use crate::rows::{from_ms, ms};
use crate::{
    Account, Brand, BrandUser, Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery, Conversation, DeviceAuthorization,
    DeviceDecision, DevicePoll, DevicePollOutcome, FailureWindow, IntegrationRecord, Invitation, ItemQuery, MailLink,
    MemberRecord, Message, NewDeviceAuthorization, NewMembership, NewSession, NewToken, NewUser, OutgoingMail,
    QueuedMail, Rotation, Session, Store, StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord, User, V0Key,
    V0KeyOwner,
};

/// The SQLite engine. Cheap to clone the `Arc` it lives in; one per process.
#[derive(Debug)]
pub struct SqliteStore {
    pool: Arc<Pool>,
    epoch: EpochWatch,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        let pool = Pool::open(path)?;
        pool.with_writer(|conn| migrations::run(conn).map(drop))?;
        let epoch = EpochWatch::open(path, pool.commit_flag())?;
        Ok(SqliteStore { pool: Arc::new(pool), epoch })
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }
}

impl Cells for Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    fn corrupt(what: &str, value: &str) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("stored {what} `{value}` is not valid").into(),
        )
    }
}

fn bump_epoch(tx: &Connection) -> StoreResult<()> {
    tx.execute("UPDATE auth_epoch SET value = value + 1 WHERE id = 1", []).map_err(backend)?;
    Ok(())
}

/// Refuses (rolling the transaction back) when the account has no owner left.
fn keep_an_owner(tx: &Connection, account_id: &str) -> StoreResult<()> {
    let owners: i64 = tx
        .query_row("SELECT count(*) FROM memberships WHERE account_id = ?1 AND role = 'owner'", [account_id], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    if owners == 0 {
        return Err(StoreError::Conflict("an account must keep at least one owner".into()));
    }
    Ok(())
}

pub(crate) fn insert_token_row(tx: &Connection, new: &NewToken) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO api_tokens (id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids, \
         created_via, created_at, secret_issued_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            new.id,
            new.account_id,
            new.user_id,
            new.name,
            &new.hash.as_bytes()[..],
            new.hint,
            new.scopes.to_space_separated(),
            new.chatbots.ids().join(" "),
            new.created_via.as_str(),
            ms(new.now),
            ms(new.expires_at),
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("token id or secret already exists".into())
        } else if matches!(&e, rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
        {
            StoreError::NotFound
        } else {
            backend(e)
        }
    })?;
    Ok(())
}

pub(crate) fn load_token(conn: &Connection, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([token_id], |r| rows::token(r)).optional())
        .map_err(backend)
}

fn load_chatbot(conn: &Connection, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    conn.prepare_cached(&format!("SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([chatbot_id], |r| rows::chatbot(r)).optional())
        .map_err(backend)
}

fn load_item(conn: &Connection, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE id = ?1 AND kind = ?2"))
        .and_then(|mut stmt| stmt.query_row([item_id, kind], |r| rows::item(r)).optional())
        .map_err(backend)
}

fn insert_message(tx: &Connection, message: &Message) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![message.id, message.conversation_id, message.role, message.content, ms(message.created_at)],
    )
    .map_err(backend)?;
    Ok(())
}

fn load_account(conn: &Connection, account_id: &str) -> StoreResult<Option<Account>> {
    conn.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([account_id], |r| rows::account(r)).optional())
        .map_err(backend)
}

/// Fails with `NotFound` unless exactly one row changed.
fn expect_one(changed: usize) -> StoreResult<()> {
    if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

fn load_brand_user(conn: &Connection, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
    conn.prepare_cached(&format!("SELECT {BRAND_USER_COLUMNS} FROM brand_users WHERE id = ?2 AND brand_id = ?1"))
        .and_then(|mut stmt| stmt.query_row([brand_id, user_id], |r| rows::brand_user(r)).optional())
        .map_err(backend)
}

/// `Conflict(message)` for a unique violation, `NotFound` for a missing
/// parent row, else a backend error.
fn constraint(message: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(message.into())
        } else if matches!(&e, rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
        {
            StoreError::NotFound
        } else {
            backend(e)
        }
    }
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn insert_user(tx: &Connection, new: NewUser) -> StoreResult<(User, Account)> {
    let now = ms(new.now);
    let created_at = from_ms(now);
    let (account, role) = match new.membership {
        NewMembership::NewAccount { name, subscription } => {
            let id = new_id(IdKind::Account);
            tx.execute(
                "INSERT INTO accounts (id, name, subscription_status, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, subscription.as_str(), now],
            )
            .map_err(backend)?;
            let account = Account { id, name, subscription, created_at };
            (account, Role::Owner)
        }
        NewMembership::Existing { account_id, role } => {
            (load_account(tx, &account_id)?.ok_or(StoreError::NotFound)?, role)
        }
    };
    let user = User {
        id: new_id(IdKind::User),
        email: new.email,
        password_hash: new.password_hash,
        email_verified_at: new.email_verified.then_some(created_at),
        created_at,
    };
    tx.execute(
        "INSERT INTO users (id, email, password_hash, email_verified_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.id, user.email, user.password_hash, user.email_verified_at.map(ms), now],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("a user with e-mail {} already exists", user.email))
        } else {
            backend(e)
        }
    })?;
    tx.execute(
        "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![account.id, user.id, role.as_str(), now],
    )
    .map_err(backend)?;
    Ok((user, account))
}

/// Shared statements number their parameters `$1`…; SQLite reads `$1` as a
/// name and numbers names in order of appearance, so spell them `?1`….
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

fn insert_mail(tx: &Connection, mail: &OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    tx.prepare_cached(&numbered(rows::INSERT_MAIL))
        .and_then(|mut stmt| {
            stmt.execute(params![
                rows::new_mail_id(),
                mail.to,
                mail.subject,
                mail.body,
                mail.link.map(MailLink::as_str),
                mail.user_id,
                ms(now)
            ])
        })
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    fn auth_epoch(&self) -> StoreResult<u64> {
        self.epoch.current()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.pool.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend)).await
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<(User, Account)> {
        self.pool.write(move |tx| insert_user(tx, new)).await
    }

    async fn sign_up(&self, new: NewUser, mut mail: OutgoingMail) -> StoreResult<(User, Account)> {
        self.pool
            .write(move |tx| {
                let now = new.now;
                let (user, account) = insert_user(tx, new)?;
                mail.user_id = Some(user.id.clone());
                insert_mail(tx, &mail, now)?;
                Ok((user, account))
            })
            .await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_owned();
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"))
                    .and_then(|mut stmt| stmt.query_row([email], |r| rows::user(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.pool
            .read(|conn| {
                let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend)?;
                Ok(u64::try_from(n).unwrap_or_default())
            })
            .await
    }

    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
        let account_id = account_id.to_owned();
        self.pool.read(move |conn| load_account(conn, &account_id)).await
    }

    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
        let user_id = user_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT a.id, a.name, a.subscription_status, a.created_at, m.role \
                         FROM memberships m JOIN accounts a ON a.id = m.account_id \
                         WHERE m.user_id = ?1 ORDER BY m.created_at, a.id",
                    )
                    .map_err(backend)?;
                let rows = stmt.query_map([user_id], |row| Ok((rows::account(row)?, row.role(4)?))).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn set_role(&self, account_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE memberships SET role = ?3 WHERE account_id = ?1 AND user_id = ?2",
                        params![account_id, user_id, role.as_str()],
                    )
                    .map_err(backend)?,
                )?;
                keep_an_owner(tx, &account_id)?;
                bump_epoch(tx)
            })
            .await
    }

    async fn remove_member(&self, account_id: &str, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "DELETE FROM memberships WHERE account_id = ?1 AND user_id = ?2",
                        params![account_id, user_id],
                    )
                    .map_err(backend)?,
                )?;
                keep_an_owner(tx, &account_id)?;
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?3 \
                     WHERE account_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                    params![account_id, user_id, ms(now)],
                )
                .map_err(backend)?;
                bump_epoch(tx)
            })
            .await
    }

    async fn set_subscription(&self, account_id: &str, status: SubscriptionStatus) -> StoreResult<()> {
        let account_id = account_id.to_owned();
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE accounts SET subscription_status = ?2 WHERE id = ?1",
                        params![account_id, status.as_str()],
                    )
                    .map_err(backend)?,
                )?;
                bump_epoch(tx)
            })
            .await
    }

    async fn rename_account(&self, account_id: &str, name: &str) -> StoreResult<Account> {
        let (account_id, name) = (account_id.to_owned(), name.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", params![account_id, name])
                        .map_err(backend)?,
                )?;
                // The name is part of what verified tokens carry.
                bump_epoch(tx)?;
                load_account(tx, &account_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn plan(&self, account_id: &str) -> StoreResult<String> {
        let account_id = account_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.query_row("SELECT plan FROM accounts WHERE id = ?1", [account_id], |r| r.get(0))
                    .optional()
                    .map_err(backend)?
                    .ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn set_plan(&self, account_id: &str, plan: &str) -> StoreResult<()> {
        let (account_id, plan) = (account_id.to_owned(), plan.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute("UPDATE accounts SET plan = ?2 WHERE id = ?1", params![account_id, plan])
                        .map_err(backend)?,
                )
            })
            .await
    }

    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
        let account_id = account_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!("{MEMBER_SELECT} WHERE m.account_id = ?1 ORDER BY m.created_at, u.id"))
                    .map_err(backend)?;
                let rows = stmt.query_map([account_id], |r| rows::member(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn member(&self, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("{MEMBER_SELECT} WHERE m.account_id = ?1 AND m.user_id = ?2"))
                    .and_then(|mut stmt| stmt.query_row([account_id, user_id], |r| rows::member(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn add_member(&self, account_id: &str, user_id: &str, role: Role, now: DateTime<Utc>) -> StoreResult<()> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![account_id, user_id, role.as_str(), ms(now)],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Conflict("already a member".into()) } else { backend(e) }
                })?;
                bump_epoch(tx)
            })
            .await
    }

    async fn create_invitation(&self, invitation: Invitation, mail: OutgoingMail) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                // An expired invitation does not block a new one.
                tx.execute(
                    "DELETE FROM invitations WHERE account_id = ?1 AND email = ?2 AND accepted_at IS NULL AND expires_at <= ?3",
                    params![invitation.account_id, invitation.email, ms(invitation.created_at)],
                )
                .map_err(backend)?;
                tx.execute(
                    "INSERT INTO invitations (id, account_id, email, role, invited_by, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        invitation.id,
                        invitation.account_id,
                        invitation.email,
                        invitation.role.as_str(),
                        invitation.invited_by,
                        ms(invitation.created_at),
                        ms(invitation.expires_at)
                    ],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict("this address already has a pending invitation".into())
                    } else {
                        backend(e)
                    }
                })?;
                insert_mail(tx, &mail, invitation.created_at)
            })
            .await
    }

    async fn accept_invitations(
        &self,
        email: &str,
        user_id: &str,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let (email, user_id, only) = (email.to_owned(), user_id.to_owned(), only.map(str::to_owned));
        self.pool
            .write(move |tx| {
                let pending: Vec<(String, String, String)> = {
                    let mut stmt = tx
                        .prepare(
                            "SELECT id, account_id, role FROM invitations \
                             WHERE email = ?1 AND accepted_at IS NULL AND expires_at > ?2 AND (?3 IS NULL OR id = ?3)",
                        )
                        .map_err(backend)?;
                    let rows = stmt
                        .query_map(params![email, ms(now), only], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .map_err(backend)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
                };
                let mut joined = Vec::new();
                for (id, account_id, role) in pending {
                    tx.execute(
                        "INSERT OR IGNORE INTO memberships (account_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![account_id, user_id, role, ms(now)],
                    )
                    .map_err(backend)?;
                    tx.execute("UPDATE invitations SET accepted_at = ?2 WHERE id = ?1", params![id, ms(now)])
                        .map_err(backend)?;
                    joined.push(account_id);
                }
                if !joined.is_empty() {
                    bump_epoch(tx)?;
                }
                Ok(joined)
            })
            .await
    }

    async fn pending_invitations(&self, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        let account_id = account_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {INVITATION_COLUMNS} FROM invitations \
                         WHERE account_id = ?1 AND accepted_at IS NULL AND expires_at > ?2 ORDER BY created_at, id"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map(params![account_id, ms(now)], |r| rows::invitation(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn invitations_to(&self, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>> {
        let email = email.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(&numbered(rows::INVITATIONS_TO)).map_err(backend)?;
                let rows = stmt
                    .query_map(params![email, ms(now)], |r| Ok((rows::invitation(r)?, r.get(7)?)))
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn decline_invitation(&self, email: &str, invitation_id: &str) -> StoreResult<()> {
        let (email, invitation_id) = (email.to_owned(), invitation_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(&numbered(rows::DECLINE_INVITATION), params![email, invitation_id]).map_err(backend)?,
                )
            })
            .await
    }

    async fn cancel_invitation(&self, account_id: &str, invitation_id: &str) -> StoreResult<()> {
        let (account_id, invitation_id) = (account_id.to_owned(), invitation_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "DELETE FROM invitations WHERE id = ?2 AND account_id = ?1 AND accepted_at IS NULL",
                        params![account_id, invitation_id],
                    )
                    .map_err(backend)?,
                )
            })
            .await
    }

    async fn insert_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO integrations (id, account_id, type, config, secrets, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![i.id, i.account_id, i.kind, i.config, i.secrets, ms(i.created_at), ms(i.updated_at)],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn integration(&self, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
        let integration_id = integration_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE id = ?1"))
                    .and_then(|mut stmt| stmt.query_row([integration_id], |r| rows::integration(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn integrations(&self, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
        let account_id = account_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE account_id = ?1 ORDER BY created_at, id"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([account_id], |r| rows::integration(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn update_integration(&self, i: IntegrationRecord) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE integrations SET config = ?2, secrets = ?3, updated_at = ?4 WHERE id = ?1",
                        params![i.id, i.config, i.secrets, ms(i.updated_at)],
                    )
                    .map_err(backend)?,
                )
            })
            .await
    }

    async fn verify_email(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE users SET email_verified_at = coalesce(email_verified_at, ?2) WHERE id = ?1",
                        params![user_id, ms(now)],
                    )
                    .map_err(backend)?,
                )?;
                bump_epoch(tx)
            })
            .await
    }

    async fn insert_chatbot(&self, chatbot: Chatbot) -> StoreResult<Chatbot> {
        self.pool
            .write(move |tx| {
                load_account(tx, &chatbot.account_id)?.ok_or(StoreError::NotFound)?;
                tx.execute(
                    "INSERT INTO chatbots (id, account_id, name, description, appearance, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        chatbot.id,
                        chatbot.account_id,
                        chatbot.name,
                        chatbot.description,
                        chatbot.appearance,
                        ms(chatbot.created_at),
                        ms(chatbot.updated_at)
                    ],
                )
                .map_err(backend)?;
                load_chatbot(tx, &chatbot.id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn chatbot(&self, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
        let chatbot_id = chatbot_id.to_owned();
        self.pool.read(move |conn| load_chatbot(conn, &chatbot_id)).await
    }

    async fn list_chatbots(&self, query: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
        self.pool
            .read(move |conn| {
                let (after_at, after_id) = cursor_params(&query.after);
                let only = query.only.join(" ");
                let sql = format!(
                    "SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE account_id = ?1 \
                     AND (?2 = '' OR instr(' ' || ?2 || ' ', ' ' || id || ' ') > 0) \
                     AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) \
                     ORDER BY created_at, id LIMIT ?5"
                );
                let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(params![query.account_id, only, after_at, after_id, rows::limit(query.limit)], |r| {
                        rows::chatbot(r)
                    })
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn update_chatbot(&self, chatbot_id: &str, patch: ChatbotPatch, now: DateTime<Utc>) -> StoreResult<Chatbot> {
        let chatbot_id = chatbot_id.to_owned();
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE chatbots SET name = coalesce(?2, name), description = coalesce(?3, description), \
                         appearance = coalesce(?4, appearance), updated_at = ?5 WHERE id = ?1",
                        params![chatbot_id, patch.name, patch.description, patch.appearance, ms(now)],
                    )
                    .map_err(backend)?,
                )?;
                load_chatbot(tx, &chatbot_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_chatbot(&self, chatbot_id: &str) -> StoreResult<()> {
        let chatbot_id = chatbot_id.to_owned();
        self.pool
            .write(move |tx| {
                expect_one(tx.execute("DELETE FROM chatbots WHERE id = ?1", [chatbot_id]).map_err(backend)?)
            })
            .await
    }

    async fn insert_item(&self, item: ChatbotItem) -> StoreResult<ChatbotItem> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO chatbot_items (id, account_id, chatbot_id, kind, data, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        item.id,
                        item.account_id,
                        item.chatbot_id,
                        item.kind,
                        item.data,
                        ms(item.created_at),
                        ms(item.updated_at)
                    ],
                )
                .map_err(|e| match &e {
                    rusqlite::Error::SqliteFailure(err, _)
                        if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                    {
                        StoreError::NotFound
                    }
                    _ => backend(e),
                })?;
                load_item(tx, &item.kind, &item.id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn item(&self, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
        let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
        self.pool.read(move |conn| load_item(conn, &kind, &item_id)).await
    }

    async fn list_items(&self, query: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
        self.pool
            .read(move |conn| {
                let (after_at, after_id) = cursor_params(&query.after);
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE chatbot_id = ?1 AND kind = ?2 \
                     AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) \
                     ORDER BY created_at, id LIMIT ?5"
                );
                let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(
                        params![query.chatbot_id, query.kind, after_at, after_id, rows::limit(query.limit)],
                        |r| rows::item(r),
                    )
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn update_item(
        &self,
        kind: &str,
        item_id: &str,
        data: String,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatbotItem> {
        let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE chatbot_items SET data = ?3, updated_at = ?4 WHERE id = ?1 AND kind = ?2",
                        params![item_id, kind, data, ms(now)],
                    )
                    .map_err(backend)?,
                )?;
                load_item(tx, &kind, &item_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_item(&self, kind: &str, item_id: &str) -> StoreResult<()> {
        let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute("DELETE FROM chatbot_items WHERE id = ?1 AND kind = ?2", params![item_id, kind])
                        .map_err(backend)?,
                )
            })
            .await
    }

    async fn settings(&self, chatbot_id: &str) -> StoreResult<Option<String>> {
        let chatbot_id = chatbot_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.query_row("SELECT data FROM chatbot_settings WHERE chatbot_id = ?1", [chatbot_id], |r| r.get(0))
                    .optional()
                    .map_err(backend)
            })
            .await
    }

    async fn save_settings(&self, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()> {
        let chatbot_id = chatbot_id.to_owned();
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO chatbot_settings (chatbot_id, data, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (chatbot_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                    params![chatbot_id, data, ms(now)],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn insert_conversation(&self, conversation: Conversation, messages: Vec<Message>) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO conversations (id, account_id, chatbot_id, status, visitor, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        conversation.id,
                        conversation.account_id,
                        conversation.chatbot_id,
                        conversation.status,
                        conversation.visitor,
                        ms(conversation.created_at),
                        ms(conversation.updated_at)
                    ],
                )
                .map_err(backend)?;
                for message in messages {
                    insert_message(tx, &message)?;
                }
                Ok(())
            })
            .await
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        let conversation_id = conversation_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"))
                    .and_then(|mut stmt| stmt.query_row([conversation_id], |r| rows::conversation(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn list_conversations(&self, query: ItemQuery, status: Option<String>) -> StoreResult<Vec<Conversation>> {
        self.pool
            .read(move |conn| {
                let (after_at, after_id) = cursor_params(&query.after);
                let sql = format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE chatbot_id = ?1 AND (?2 IS NULL OR status = ?2) \
                     AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) ORDER BY created_at, id LIMIT ?5"
                );
                let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(
                        params![
                            query.chatbot_id,
                            status,
                            after_at,
                            after_id,
                            rows::limit(query.limit)
                        ],
                        |r| rows::conversation(r),
                    )
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn messages(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
        let ids = conversation_ids.join(" ");
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages \
                         WHERE instr(' ' || ?1 || ' ', ' ' || conversation_id || ' ') > 0 \
                         ORDER BY conversation_id, created_at, id"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([ids], |r| rows::message(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn set_conversation_status(
        &self,
        conversation_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (conversation_id, status) = (conversation_id.to_owned(), status.to_owned());
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE conversations SET status = ?2, updated_at = ?3 WHERE id = ?1",
                        params![conversation_id, status, ms(now)],
                    )
                    .map_err(backend)?,
                )
            })
            .await
    }

    async fn add_message(&self, message: Message) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                expect_one(
                    tx.execute(
                        "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
                        params![message.conversation_id, ms(message.created_at)],
                    )
                    .map_err(backend)?,
                )?;
                insert_message(tx, &message)
            })
            .await
    }

    async fn delete_conversation(&self, conversation_id: &str) -> StoreResult<()> {
        let conversation_id = conversation_id.to_owned();
        self.pool
            .write(move |tx| {
                expect_one(tx.execute("DELETE FROM conversations WHERE id = ?1", [conversation_id]).map_err(backend)?)
            })
            .await
    }

    async fn existing_chatbots(&self, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let account_id = account_id.to_owned();
        let ids = ids.to_vec();
        self.pool
            .read(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT 1 FROM chatbots WHERE account_id = ?1 AND id = ?2").map_err(backend)?;
                let mut found = Vec::new();
                for id in ids {
                    if stmt.exists(params![account_id, id]).map_err(backend)? {
                        found.push(id);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn insert_token(&self, new: NewToken) -> StoreResult<TokenRecord> {
        self.pool
            .write(move |tx| {
                insert_token_row(tx, &new)?;
                load_token(tx, &new.id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn create_device_authorization(&self, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
        self.pool.write(move |tx| device::create(tx, new)).await
    }

    async fn device_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
        let user_code = user_code.to_owned();
        self.pool.read(move |conn| device::by_user_code(conn, &user_code)).await
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

    async fn poll_device(&self, poll: DevicePoll) -> StoreResult<DevicePollOutcome> {
        self.pool.write(move |tx| device::poll(tx, poll)).await
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("{TOKEN_AUTH_SELECT} WHERE t.secret_hash = ?1"))
                    .and_then(|mut stmt| stmt.query_row([&hash.as_bytes()[..]], |r| rows::token_auth(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn token(&self, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        let token_id = token_id.to_owned();
        self.pool.read(move |conn| load_token(conn, &token_id)).await
    }

    async fn list_tokens(&self, query: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
        self.pool
            .read(move |conn| {
                let sql = format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens t \
                     WHERE t.account_id = ?1 \
                       AND (?2 IS NULL OR t.user_id = ?2) \
                       AND (?3 OR t.revoked_at IS NULL) \
                       AND (?4 IS NULL OR t.created_at < ?4 OR (t.created_at = ?4 AND t.id < ?5)) \
                     ORDER BY t.created_at DESC, t.id DESC LIMIT ?6"
                );
                let (after_at, after_id) = cursor_params(&query.after);
                let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(
                        params![
                            query.account_id,
                            query.user_id,
                            query.include_revoked,
                            after_at,
                            after_id,
                            rows::limit(query.limit)
                        ],
                        |r| rows::token(r),
                    )
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn rotate_token(&self, rotation: Rotation) -> StoreResult<TokenRecord> {
        self.pool
            .write(move |tx| {
                let current = load_token(tx, &rotation.token_id)?.ok_or(StoreError::NotFound)?;
                if current.revoked_at.is_some() {
                    return Err(StoreError::Conflict("a revoked token cannot be rotated".into()));
                }
                tx.execute(
                    "UPDATE api_tokens SET secret_hash = ?2, hint = ?3, secret_issued_at = ?4, expires_at = ?5 \
                     WHERE id = ?1",
                    params![
                        rotation.token_id,
                        &rotation.hash.as_bytes()[..],
                        rotation.hint,
                        ms(rotation.now),
                        ms(rotation.expires_at)
                    ],
                )
                .map_err(backend)?;
                bump_epoch(tx)?;
                load_token(tx, &rotation.token_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> StoreResult<TokenRecord> {
        let token_id = token_id.to_owned();
        self.pool
            .write(move |tx| {
                let changed = tx
                    .execute(
                        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                        params![token_id, ms(now)],
                    )
                    .map_err(backend)?;
                if changed > 0 {
                    bump_epoch(tx)?;
                }
                load_token(tx, &token_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                // Sign-ins are rare: drop expired sessions while at it.
                tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ms(new.now)]).map_err(backend)?;
                tx.execute(
                    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![&new.id_hash[..], new.user_id, new.csrf_token, ms(new.now), ms(new.expires_at)],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn session(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("{SESSION_SELECT} WHERE s.id_hash = ?1 AND s.expires_at > ?2"))
                    .and_then(|mut stmt| {
                        stmt.query_row(params![&id_hash[..], ms(now)], |r| rows::session(r)).optional()
                    })
                    .map_err(backend)
            })
            .await
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash[..]]).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn create_email_verification(
        &self,
        token_hash: [u8; 32],
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO email_verifications (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&token_hash[..], user_id, ms(now), ms(expires_at)],
                )
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("duplicate link".into()) } else { backend(e) })?;
                Ok(())
            })
            .await
    }

    async fn use_email_verification(&self, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User> {
        self.pool
            .write(move |tx| {
                let found: Option<(String, i64, Option<i64>)> = tx
                    .query_row(
                        "SELECT user_id, expires_at, used_at FROM email_verifications WHERE token_hash = ?1",
                        [&token_hash[..]],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(backend)?;
                let (user_id, expires_at, used_at) = found.ok_or(StoreError::NotFound)?;
                if used_at.is_some() {
                    return Err(StoreError::Conflict("this link was already used".into()));
                }
                if ms(now) >= expires_at {
                    return Err(StoreError::Conflict("this link has expired".into()));
                }
                tx.execute(
                    "UPDATE email_verifications SET used_at = ?2 WHERE token_hash = ?1",
                    params![&token_hash[..], ms(now)],
                )
                .map_err(backend)?;
                tx.execute(
                    "UPDATE users SET email_verified_at = coalesce(email_verified_at, ?2) WHERE id = ?1",
                    params![user_id, ms(now)],
                )
                .map_err(backend)?;
                bump_epoch(tx)?;
                tx.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [&user_id], |r| rows::user(r))
                    .map_err(backend)
            })
            .await
    }

    async fn failures(
        &self,
        key: [u8; 32],
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<FailureWindow>> {
        let over = ms(now - window);
        self.pool
            .read(move |conn| {
                conn.prepare_cached(rows::FAILURES)
                    .and_then(|mut stmt| {
                        stmt.query_row(params![&key[..], over], |r| rows::failure_window(r)).optional()
                    })
                    .map_err(backend)
            })
            .await
    }

    async fn count_failure(&self, key: [u8; 32], now: DateTime<Utc>, window: Duration) -> StoreResult<FailureWindow> {
        let (at, over) = (ms(now), ms(now - window));
        self.pool
            .write(move |tx| {
                tx.prepare_cached(rows::COUNT_FAILURE)
                    .and_then(|mut stmt| stmt.query_row(params![&key[..], at, over], |r| rows::failure_window(r)))
                    .map_err(backend)
            })
            .await
    }

    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
        self.pool.write(move |tx| insert_mail(tx, &mail, now)).await
    }

    async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        // Workers look every few seconds and mostly find nothing: ask a
        // reader first, so an empty queue never takes the one writer.
        let due = self
            .pool
            .read(move |conn| {
                conn.prepare_cached(rows::ANY_MAIL_DUE).and_then(|mut stmt| stmt.exists([ms(now)])).map_err(backend)
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        self.pool
            .write(move |tx| {
                let mut stmt = tx.prepare_cached(&numbered(&rows::claim_mail_sql(""))).map_err(backend)?;
                let claimed = stmt
                    .query_map(params![ms(now), ms(now + lease), limit], |r| rows::queued_mail(r))
                    .map_err(backend)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(backend)?;
                Ok(claimed)
            })
            .await
            .map(oldest_first)
    }

    async fn mail_sent(&self, mail_id: &str) -> StoreResult<()> {
        let mail_id = mail_id.to_owned();
        self.pool
            .write(move |tx| {
                tx.execute("DELETE FROM mail_queue WHERE id = ?1", [mail_id]).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn mail_failed(
        &self,
        mail_id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (mail_id, error) = (mail_id.to_owned(), rows::mail_error(error));
        self.pool
            .write(move |tx| {
                tx.execute(&numbered(rows::MAIL_FAILED), params![mail_id, error, retry_at.map(ms), ms(now)])
                    .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn mail_counts(&self) -> StoreResult<(u64, u64)> {
        self.pool
            .read(|conn| {
                conn.query_row(rows::MAIL_COUNTS, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                    .map(|(due, failed)| (u64::try_from(due).unwrap_or(0), u64::try_from(failed).unwrap_or(0)))
                    .map_err(backend)
            })
            .await
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
                purged += tx.execute("DELETE FROM rate_limits WHERE window_start <= ?1", [day_ago]).map_err(backend)?;
                purged += tx
                    .execute("DELETE FROM mail_queue WHERE failed_at <= ?1", [ms(now) - rows::FAILED_MAIL_KEPT_MS])
                    .map_err(backend)?;
                Ok(u64::try_from(purged).unwrap_or_default())
            })
            .await
    }

    async fn touch_tokens(&self, uses: Vec<(String, DateTime<Utc>)>) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE api_tokens SET last_used_at = ?2 \
                         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60000)",
                    )
                    .map_err(backend)?;
                for (token_id, at) in uses {
                    stmt.execute(params![token_id, ms(at)]).map_err(backend)?;
                }
                Ok(())
            })
            .await
    }

    async fn set_whitelabel(&self, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()> {
        let account_id = account_id.to_owned();
        self.pool
            .write(move |tx| {
                if load_account(tx, &account_id)?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let sql = if on {
                    "INSERT INTO whitelabel_accounts (account_id, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM whitelabel_accounts WHERE account_id = ?1 AND ?2 IS NOT NULL"
                };
                tx.execute(sql, params![account_id, ms(now)]).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn is_whitelabel(&self, account_id: &str) -> StoreResult<bool> {
        let account_id = account_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM whitelabel_accounts WHERE account_id = ?1)")
                    .and_then(|mut stmt| stmt.query_row([account_id], |r| r.get(0)))
                    .map_err(backend)
            })
            .await
    }

    async fn create_brand(&self, brand: Brand) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO brands (id, account_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![brand.id, brand.account_id, brand.name, ms(brand.created_at)],
                )
                .map_err(constraint("a brand with this id already exists"))?;
                Ok(())
            })
            .await
    }

    async fn brand(&self, brand_id: &str) -> StoreResult<Option<Brand>> {
        let brand_id = brand_id.to_owned();
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT {BRAND_COLUMNS} FROM brands WHERE id = ?1"))
                    .and_then(|mut stmt| stmt.query_row([brand_id], |r| rows::brand(r)).optional())
                    .map_err(backend)
            })
            .await
    }

    async fn create_brand_user(&self, user: BrandUser) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO brand_users (id, brand_id, email, name, message_quota, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user.id,
                        user.brand_id,
                        user.email,
                        user.name,
                        user.message_quota,
                        ms(user.created_at),
                        ms(user.updated_at)
                    ],
                )
                .map_err(constraint("the brand already has a user with this e-mail"))?;
                Ok(())
            })
            .await
    }

    async fn brand_user(&self, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
        let (brand_id, user_id) = (brand_id.to_owned(), user_id.to_owned());
        self.pool.read(move |conn| load_brand_user(conn, &brand_id, &user_id)).await
    }

    async fn set_brand_user_quota(
        &self,
        brand_id: &str,
        user_id: &str,
        quota: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BrandUser>> {
        let (brand_id, user_id) = (brand_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |tx| {
                tx.execute(
                    "UPDATE brand_users SET message_quota = ?3, updated_at = ?4 WHERE id = ?2 AND brand_id = ?1",
                    params![brand_id, user_id, quota, ms(now)],
                )
                .map_err(backend)?;
                load_brand_user(tx, &brand_id, &user_id)
            })
            .await
    }

    async fn replace_v0_key(
        &self,
        owner: V0KeyOwner,
        hash: [u8; 32],
        hint: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.pool
            .write(move |tx| {
                let (user_id, brand_user_id) = rows::v0_owner_columns(&owner);
                tx.execute(
                    "DELETE FROM v0_api_keys WHERE user_id = ?1 OR brand_user_id = ?2",
                    params![user_id, brand_user_id],
                )
                .map_err(backend)?;
                tx.execute(
                    "INSERT INTO v0_api_keys (key_hash, hint, user_id, brand_user_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![&hash[..], hint, user_id, brand_user_id, ms(now)],
                )
                .map_err(constraint("this key already exists"))?;
                Ok(())
            })
            .await
    }

    async fn v0_key(&self, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
        self.pool
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT {V0_KEY_COLUMNS} FROM v0_api_keys WHERE key_hash = ?1"))
                    .and_then(|mut stmt| stmt.query_row([&hash[..]], |r| rows::v0_key(r)).optional())
                    .map_err(backend)
            })
            .await
    }
}
