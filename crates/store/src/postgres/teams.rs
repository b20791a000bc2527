//! Users, accounts (teams), memberships, invitations, integrations and
//! e-mail verification state.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{Role, SubscriptionStatus};
use tokio_postgres::error::SqlState;

use super::audit;
use super::mail::insert_mail;
use super::sql::{Db, all, bump_epoch, execute, expect_one, has_code, missing_parent, pg, query, query_opt, unique_or};
use crate::rows::{
    self, ACCOUNT_COLUMNS, Cells, INTEGRATION_COLUMNS, INVITATION_COLUMNS, MEMBER_SELECT, USER_COLUMNS, from_ms, ms,
};
use crate::{
    Account, Actor, AuditEvent, IntegrationRecord, Invitation, MemberRecord, NewMembership, NewUser, OutgoingMail,
    StoreError, StoreResult, User,
};

/// Refuses when the account has no owner left. The caller holds the
/// account's row lock, so two demotions cannot both pass.
pub(super) async fn keep_an_owner(tx: &impl GenericClient, account_id: &str) -> StoreResult<()> {
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
pub(super) async fn lock_account(tx: &impl GenericClient, account_id: &str) -> StoreResult<()> {
    query_opt(tx, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", &[&account_id])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(())
}

pub(super) async fn load_account(c: &impl GenericClient, account_id: &str) -> StoreResult<Option<Account>> {
    query_opt(c, &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"), &[&account_id])
        .await?
        .map(|r| rows::account(&r))
        .transpose()
}

pub(super) async fn insert_user(tx: &impl GenericClient, new: NewUser) -> StoreResult<(User, Account)> {
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
            (Account { id, name, subscription, created_at }, Some(Role::Owner))
        }
        NewMembership::Existing { account_id, role } => {
            (load_account(tx, &account_id).await?.ok_or(StoreError::NotFound)?, Some(role))
        }
        NewMembership::Invited { account_id } => {
            (load_account(tx, &account_id).await?.ok_or(StoreError::NotFound)?, None)
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
    if let Some(role) = role {
        execute(
            tx,
            "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            &[&account.id, &user.id, &role.as_str(), &now],
        )
        .await
        .map_err(missing_parent)?;
    }
    Ok((user, account))
}

pub(super) async fn create_user(db: &Db, new: NewUser) -> StoreResult<(User, Account)> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let created = insert_user(&tx, new).await?;
    tx.commit().await.map_err(pg)?;
    Ok(created)
}

pub(super) async fn sign_up(db: &Db, new: NewUser, mut mail: OutgoingMail) -> StoreResult<(User, Account)> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = new.now;
    let (user, account) = insert_user(&tx, new).await?;
    mail.user_id = Some(user.id.clone());
    insert_mail(&tx, &mail, now).await?;
    tx.commit().await.map_err(pg)?;
    Ok((user, account))
}

pub(super) async fn user_by_email(db: &Db, email: &str) -> StoreResult<Option<User>> {
    let client = db.client().await?;
    query_opt(&client, &format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"), &[&email])
        .await?
        .map(|r| rows::user(&r))
        .transpose()
}

pub(super) async fn count_users(db: &Db) -> StoreResult<u64> {
    let client = db.client().await?;
    let row = query_opt(&client, "SELECT count(*) FROM users", &[]).await?.ok_or(StoreError::NotFound)?;
    Ok(u64::try_from(row.int(0)?).unwrap_or_default())
}

pub(super) async fn account(db: &Db, account_id: &str) -> StoreResult<Option<Account>> {
    load_account(&db.client().await?, account_id).await
}

pub(super) async fn memberships(db: &Db, user_id: &str) -> StoreResult<Vec<(Account, Role)>> {
    let client = db.client().await?;
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

pub(super) async fn set_role(db: &Db, account_id: &str, user_id: &str, role: Role, by: &Actor) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    lock_account(&tx, account_id).await?;
    let before = query_opt(
        &tx,
        "SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2 FOR UPDATE",
        &[&account_id, &user_id],
    )
    .await?
    .ok_or(StoreError::NotFound)?
    .role(0)?;
    execute(
        &tx,
        "UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2",
        &[&account_id, &user_id, &role.as_str()],
    )
    .await
    .map_err(pg)?;
    keep_an_owner(&tx, account_id).await?;
    audit::insert(&tx, &AuditEvent::role_changed(account_id, user_id, before, role, by)).await?;
    db.commit_authorization_change(tx).await?;
    Ok(())
}

pub(super) async fn remove_member(
    db: &Db,
    account_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
    by: &Actor,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    lock_account(&tx, account_id).await?;
    expect_one(
        execute(&tx, "DELETE FROM memberships WHERE account_id = $1 AND user_id = $2", &[&account_id, &user_id])
            .await
            .map_err(pg)?,
    )?;
    keep_an_owner(&tx, account_id).await?;
    let revoked = execute(
        &tx,
        "UPDATE api_tokens SET revoked_at = $3 WHERE account_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        &[&account_id, &user_id, &ms(now)],
    )
    .await
    .map_err(pg)?;
    audit::insert(&tx, &AuditEvent::member_removed(account_id, user_id, revoked, by, now)).await?;
    db.commit_authorization_change(tx).await?;
    Ok(())
}

pub(super) async fn set_subscription(
    db: &Db,
    account_id: &str,
    status: SubscriptionStatus,
    by: &Actor,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let before = query_opt(&tx, "SELECT subscription_status FROM accounts WHERE id = $1 FOR UPDATE", &[&account_id])
        .await?
        .ok_or(StoreError::NotFound)?
        .subscription(0)?;
    execute(&tx, "UPDATE accounts SET subscription_status = $2 WHERE id = $1", &[&account_id, &status.as_str()])
        .await
        .map_err(pg)?;
    if before != status {
        audit::insert(&tx, &AuditEvent::subscription_changed(account_id, before, status, by)).await?;
    }
    db.commit_authorization_change(tx).await?;
    Ok(())
}

pub(super) async fn rename_account(db: &Db, account_id: &str, name: &str) -> StoreResult<Account> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    expect_one(execute(&tx, "UPDATE accounts SET name = $2 WHERE id = $1", &[&account_id, &name]).await.map_err(pg)?)?;
    // The name is part of what verified tokens carry.
    bump_epoch(&tx).await?;
    let account = load_account(&tx, account_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(pg)?;
    db.epoch.bump();
    Ok(account)
}

pub(super) async fn plan(db: &Db, account_id: &str) -> StoreResult<String> {
    let client = db.client().await?;
    query_opt(&client, "SELECT plan FROM accounts WHERE id = $1", &[&account_id])
        .await?
        .ok_or(StoreError::NotFound)?
        .text(0)
}

pub(super) async fn set_plan(db: &Db, account_id: &str, plan: &str) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(
        execute(&client, "UPDATE accounts SET plan = $2 WHERE id = $1", &[&account_id, &plan]).await.map_err(pg)?,
    )
}

pub(super) async fn members(db: &Db, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
    let client = db.client().await?;
    let found =
        query(&client, &format!("{MEMBER_SELECT} WHERE m.account_id = $1 ORDER BY m.created_at, u.id"), &[&account_id])
            .await?;
    all(found, rows::member)
}

pub(super) async fn member(db: &Db, account_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
    let client = db.client().await?;
    query_opt(&client, &format!("{MEMBER_SELECT} WHERE m.account_id = $1 AND m.user_id = $2"), &[&account_id, &user_id])
        .await?
        .map(|r| rows::member(&r))
        .transpose()
}

pub(super) async fn add_member(
    db: &Db,
    account_id: &str,
    user_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut client = db.client().await?;
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
    db.commit_authorization_change(tx).await?;
    Ok(())
}

pub(super) async fn create_invitation(
    db: &Db,
    invitation: Invitation,
    mail: OutgoingMail,
    by: &Actor,
) -> StoreResult<()> {
    let mut client = db.client().await?;
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
    audit::insert(&tx, &AuditEvent::member_invited(&invitation, by)).await?;
    insert_mail(&tx, &mail, invitation.created_at).await?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn accept_invitations(
    db: &Db,
    email: &str,
    user_id: &str,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let mut client = db.client().await?;
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
        db.epoch.bump();
    }
    Ok(joined)
}

pub(super) async fn pending_invitations(db: &Db, account_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
    let client = db.client().await?;
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

pub(super) async fn invitations_to(db: &Db, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<(Invitation, String)>> {
    let client = db.client().await?;
    let found = query(&client, rows::INVITATIONS_TO, &[&email, &ms(now)]).await?;
    all(found, |r| Ok((rows::invitation(r)?, r.text(7)?)))
}

pub(super) async fn decline_invitation(db: &Db, email: &str, invitation_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(execute(&client, rows::DECLINE_INVITATION, &[&email, &invitation_id]).await.map_err(pg)?)
}

pub(super) async fn cancel_invitation(db: &Db, account_id: &str, invitation_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
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

pub(super) async fn insert_integration(db: &Db, i: IntegrationRecord) -> StoreResult<()> {
    let client = db.client().await?;
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

pub(super) async fn integration(db: &Db, integration_id: &str) -> StoreResult<Option<IntegrationRecord>> {
    let client = db.client().await?;
    query_opt(&client, &format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE id = $1"), &[&integration_id])
        .await?
        .map(|r| rows::integration(&r))
        .transpose()
}

pub(super) async fn integrations(db: &Db, account_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
    let client = db.client().await?;
    let found = query(
        &client,
        &format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE account_id = $1 ORDER BY created_at, id"),
        &[&account_id],
    )
    .await?;
    all(found, rows::integration)
}

pub(super) async fn update_integration(db: &Db, i: IntegrationRecord) -> StoreResult<()> {
    let client = db.client().await?;
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

pub(super) async fn verify_email(db: &Db, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let mut client = db.client().await?;
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
    db.commit_authorization_change(tx).await?;
    Ok(())
}
