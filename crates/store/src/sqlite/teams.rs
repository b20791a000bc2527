//! Users, accounts (teams), memberships, invitations, integrations and
//! e-mail verification state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{Role, SubscriptionStatus};

use super::audit;
use super::mail::insert_mail;
use super::pool::{Pool, backend};
use super::sql::{bump_epoch, expect_one, is_unique_violation, numbered};
use crate::rows::{
    self, ACCOUNT_COLUMNS, Cells, INTEGRATION_COLUMNS, INVITATION_COLUMNS, MEMBER_SELECT, USER_COLUMNS, from_ms, ms,
};
use crate::{
    Account, Actor, AuditEvent, IntegrationRecord, Invitation, MemberRecord, NewMembership, NewUser, OutgoingMail,
    StoreError, StoreResult, User,
};

/// Refuses (rolling the transaction back) when the account has no owner left.
pub(super) fn keep_an_owner(tx: &Connection, account_id: &str) -> StoreResult<()> {
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

pub(super) fn load_account(conn: &Connection, account_id: &str) -> StoreResult<Option<Account>> {
    conn.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([account_id], |r| rows::account(r)).optional())
        .map_err(backend)
}

pub(super) fn insert_user(tx: &Connection, new: NewUser) -> StoreResult<(User, Account)> {
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
            (account, Some(Role::Owner))
        }
        NewMembership::Existing { account_id, role } => {
            (load_account(tx, &account_id)?.ok_or(StoreError::NotFound)?, Some(role))
        }
        NewMembership::Invited { account_id } => (load_account(tx, &account_id)?.ok_or(StoreError::NotFound)?, None),
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
    if let Some(role) = role {
        tx.execute(
            "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![account.id, user.id, role.as_str(), now],
        )
        .map_err(backend)?;
    }
    Ok((user, account))
}

pub(super) async fn create_user(pool: &Arc<Pool>, new: NewUser) -> StoreResult<(User, Account)> {
    pool.write(move |tx| insert_user(tx, new)).await
}

pub(super) async fn sign_up(pool: &Arc<Pool>, new: NewUser, mut mail: OutgoingMail) -> StoreResult<(User, Account)> {
    pool.write(move |tx| {
        let now = new.now;
        let (user, account) = insert_user(tx, new)?;
        mail.user_id = Some(user.id.clone());
        insert_mail(tx, &mail, now)?;
        Ok((user, account))
    })
    .await
}

pub(super) async fn user_by_email(pool: &Arc<Pool>, email: &str) -> StoreResult<Option<User>> {
    let email = email.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"))
            .and_then(|mut stmt| stmt.query_row([email], |r| rows::user(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn count_users(pool: &Arc<Pool>) -> StoreResult<u64> {
    pool.read(|conn| {
        let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or_default())
    })
    .await
}

pub(super) async fn account(pool: &Arc<Pool>, account_id: &str) -> StoreResult<Option<Account>> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| load_account(conn, &account_id)).await
}

pub(super) async fn memberships(pool: &Arc<Pool>, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
    let user_id = user_id.to_owned();
    pool.read(move |conn| {
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

pub(super) async fn set_role(
    pool: &Arc<Pool>,
    account_id: &str,
    user_id: &str,
    role: Role,
    by: Actor,
) -> StoreResult<()> {
    let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
    pool.write(move |tx| {
        let before: Role = tx
            .query_row(
                "SELECT role FROM memberships WHERE account_id = ?1 AND user_id = ?2",
                params![account_id, user_id],
                |r| r.role(0),
            )
            .optional()
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        tx.execute(
            "UPDATE memberships SET role = ?3 WHERE account_id = ?1 AND user_id = ?2",
            params![account_id, user_id, role.as_str()],
        )
        .map_err(backend)?;
        keep_an_owner(tx, &account_id)?;
        audit::insert(tx, &AuditEvent::role_changed(&account_id, &user_id, before, role, &by))?;
        bump_epoch(tx)
    })
    .await
}

pub(super) async fn remove_member(
    pool: &Arc<Pool>,
    account_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
    by: Actor,
) -> StoreResult<()> {
    let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute("DELETE FROM memberships WHERE account_id = ?1 AND user_id = ?2", params![account_id, user_id])
                .map_err(backend)?,
        )?;
        keep_an_owner(tx, &account_id)?;
        let revoked = tx
            .execute(
                "UPDATE api_tokens SET revoked_at = ?3 \
                 WHERE account_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                params![account_id, user_id, ms(now)],
            )
            .map_err(backend)?;
        let revoked = u64::try_from(revoked).unwrap_or(u64::MAX);
        audit::insert(tx, &AuditEvent::member_removed(&account_id, &user_id, revoked, &by, now))?;
        bump_epoch(tx)
    })
    .await
}

pub(super) async fn set_subscription(
    pool: &Arc<Pool>,
    account_id: &str,
    status: SubscriptionStatus,
    by: Actor,
) -> StoreResult<()> {
    let account_id = account_id.to_owned();
    pool.write(move |tx| {
        let before = load_account(tx, &account_id)?.ok_or(StoreError::NotFound)?.subscription;
        tx.execute("UPDATE accounts SET subscription_status = ?2 WHERE id = ?1", params![account_id, status.as_str()])
            .map_err(backend)?;
        if before != status {
            audit::insert(tx, &AuditEvent::subscription_changed(&account_id, before, status, &by))?;
        }
        bump_epoch(tx)
    })
    .await
}

pub(super) async fn rename_account(pool: &Arc<Pool>, account_id: &str, name: &str) -> StoreResult<Account> {
    let (account_id, name) = (account_id.to_owned(), name.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", params![account_id, name]).map_err(backend)?,
        )?;
        // The name is part of what verified tokens carry.
        bump_epoch(tx)?;
        load_account(tx, &account_id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn plan(pool: &Arc<Pool>, account_id: &str) -> StoreResult<String> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| {
        conn.query_row("SELECT plan FROM accounts WHERE id = ?1", [account_id], |r| r.get(0))
            .optional()
            .map_err(backend)?
            .ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn set_plan(pool: &Arc<Pool>, account_id: &str, plan: &str) -> StoreResult<()> {
    let (account_id, plan) = (account_id.to_owned(), plan.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute("UPDATE accounts SET plan = ?2 WHERE id = ?1", params![account_id, plan]).map_err(backend)?,
        )
    })
    .await
}

pub(super) async fn members(pool: &Arc<Pool>, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| {
        let mut stmt = conn
            .prepare_cached(&format!("{MEMBER_SELECT} WHERE m.account_id = ?1 ORDER BY m.created_at, u.id"))
            .map_err(backend)?;
        let rows = stmt.query_map([account_id], |r| rows::member(r)).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn member(pool: &Arc<Pool>, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
    let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
    pool.read(move |conn| {
        conn.prepare_cached(&format!("{MEMBER_SELECT} WHERE m.account_id = ?1 AND m.user_id = ?2"))
            .and_then(|mut stmt| stmt.query_row([account_id, user_id], |r| rows::member(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn add_member(
    pool: &Arc<Pool>,
    account_id: &str,
    user_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
    pool.write(move |tx| {
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

pub(super) async fn create_invitation(
    pool: &Arc<Pool>,
    invitation: Invitation,
    mail: OutgoingMail,
    by: Actor,
) -> StoreResult<()> {
    pool.write(move |tx| {
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
        audit::insert(tx, &AuditEvent::member_invited(&invitation, &by))?;
        insert_mail(tx, &mail, invitation.created_at)
    })
    .await
}

pub(super) async fn accept_invitations(
    pool: &Arc<Pool>,
    email: &str,
    user_id: &str,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let (email, user_id, only) = (email.to_owned(), user_id.to_owned(), only.map(str::to_owned));
    pool.write(move |tx| {
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

pub(super) async fn pending_invitations(
    pool: &Arc<Pool>,
    account_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Invitation>> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| {
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

pub(super) async fn invitations_to(
    pool: &Arc<Pool>,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<(Invitation, String)>> {
    let email = email.to_owned();
    pool.read(move |conn| {
        let mut stmt = conn.prepare_cached(&numbered(rows::INVITATIONS_TO)).map_err(backend)?;
        let rows =
            stmt.query_map(params![email, ms(now)], |r| Ok((rows::invitation(r)?, r.get(7)?))).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn decline_invitation(pool: &Arc<Pool>, email: &str, invitation_id: &str) -> StoreResult<()> {
    let (email, invitation_id) = (email.to_owned(), invitation_id.to_owned());
    pool.write(move |tx| {
        expect_one(tx.execute(&numbered(rows::DECLINE_INVITATION), params![email, invitation_id]).map_err(backend)?)
    })
    .await
}

pub(super) async fn cancel_invitation(pool: &Arc<Pool>, account_id: &str, invitation_id: &str) -> StoreResult<()> {
    let (account_id, invitation_id) = (account_id.to_owned(), invitation_id.to_owned());
    pool.write(move |tx| {
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

pub(super) async fn insert_integration(pool: &Arc<Pool>, i: IntegrationRecord) -> StoreResult<()> {
    pool.write(move |tx| {
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

pub(super) async fn integration(pool: &Arc<Pool>, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
    let integration_id = integration_id.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row([integration_id], |r| rows::integration(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn integrations(pool: &Arc<Pool>, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| {
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

pub(super) async fn update_integration(pool: &Arc<Pool>, i: IntegrationRecord) -> StoreResult<()> {
    pool.write(move |tx| {
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

pub(super) async fn verify_email(pool: &Arc<Pool>, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let user_id = user_id.to_owned();
    pool.write(move |tx| {
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
