//! Browser sessions, e-mail verification links and the failure counters
//! behind rate limits.

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

use super::audit;
use super::sql::{Db, execute, missing_parent, pg, query_opt, unique_or};
use crate::rows::{self, Cells, SESSION_SELECT, USER_COLUMNS, ms};
use crate::{Actor, AuditAction, AuditEvent, FailureWindow, NewSession, Session, StoreError, StoreResult, User};

pub(super) async fn create_session(db: &Db, new: NewSession, by: &Actor) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    // Sign-ins are rare: drop expired sessions while at it.
    execute(&tx, "DELETE FROM sessions WHERE expires_at <= $1", &[&ms(new.now)]).await.map_err(pg)?;
    execute(
        &tx,
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[&&new.id_hash[..], &new.user_id, &new.csrf_token, &ms(new.now), &ms(new.expires_at)],
    )
    .await
    .map_err(missing_parent)?;
    audit::insert(&tx, &AuditEvent::personal(AuditAction::SignedIn, &new.user_id, by, new.now)).await?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn session(db: &Db, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    let client = db.client().await?;
    query_opt(
        &client,
        &format!("{SESSION_SELECT} WHERE s.id_hash = $1 AND s.expires_at > $2"),
        &[&&id_hash[..], &ms(now)],
    )
    .await?
    .map(|r| rows::session(&r))
    .transpose()
}

pub(super) async fn delete_session(db: &Db, id_hash: [u8; 32]) -> StoreResult<()> {
    let client = db.client().await?;
    execute(&client, "DELETE FROM sessions WHERE id_hash = $1", &[&&id_hash[..]]).await.map_err(pg)?;
    Ok(())
}

pub(super) async fn create_email_verification(
    db: &Db,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_link(db, "email_verifications", token_hash, user_id, now, expires_at).await
}

/// Stores the hash of a single-use link's secret in `table`.
async fn insert_link(
    db: &Db,
    table: &'static str,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let client = db.client().await?;
    execute(
        &client,
        &format!("INSERT INTO {table} (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"),
        &[&&token_hash[..], &user_id, &ms(now), &ms(expires_at)],
    )
    .await
    .map_err(unique_or("duplicate link"))?;
    Ok(())
}

pub(super) async fn use_email_verification(db: &Db, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<User> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let found = query_opt(
        &tx,
        "SELECT user_id, expires_at, used_at FROM email_verifications WHERE token_hash = $1 FOR UPDATE",
        &[&&token_hash[..]],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    let (user_id, expires_at, used_at) = (found.text(0)?, found.int(1)?, found.opt_int(2)?);
    if let Err(unusable) = rows::link_usable(expires_at, used_at, now) {
        let verified = query_opt(&tx, "SELECT email_verified_at FROM users WHERE id = $1", &[&user_id]).await?;
        let verified = verified.map(|row| row.opt_int(0)).transpose()?.flatten().is_some();
        return Err(if verified { StoreError::Conflict(crate::ALREADY_VERIFIED.into()) } else { unusable });
    }
    execute(&tx, "UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1", &[&&token_hash[..], &ms(now)])
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
    db.commit_authorization_change(tx).await?;
    Ok(user)
}

pub(super) async fn failures(
    db: &Db,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<Option<FailureWindow>> {
    let client = db.client().await?;
    query_opt(&client, rows::FAILURES, &[&&key[..], &ms(now - window)])
        .await?
        .map(|r| rows::failure_window(&r))
        .transpose()
}

/// Counts one under `key` in the window containing `now`, on `c` (a
/// transaction, when the count goes with another write).
pub(super) async fn count(
    c: &impl GenericClient,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<FailureWindow> {
    let row = query_opt(c, rows::COUNT_FAILURE, &[&&key[..], &ms(now), &ms(now - window)]).await?;
    rows::failure_window(&row.ok_or(StoreError::NotFound)?)
}

pub(super) async fn count_failure(
    db: &Db,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<FailureWindow> {
    count(&db.client().await?, key, now, window).await
}

/// `DELETE FROM sessions` for the user, but the session `keep`.
async fn end_sessions(c: &impl GenericClient, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
    match keep {
        Some(keep) => {
            execute(c, "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", &[&user_id, &&keep[..]]).await
        }
        None => execute(c, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await,
    }
    .map_err(pg)
}

pub(super) async fn end_other_sessions(db: &Db, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
    let client = db.client().await?;
    end_sessions(&client, user_id, keep).await
}

pub(super) async fn set_password(
    db: &Db,
    user_id: &str,
    password_hash: &str,
    keep: Option<[u8; 32]>,
    by: &Actor,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let changed = execute(&tx, "UPDATE users SET password_hash = $2 WHERE id = $1", &[&user_id, &password_hash])
        .await
        .map_err(pg)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    end_sessions(&tx, user_id, keep).await?;
    audit::insert(&tx, &AuditEvent::personal(AuditAction::PasswordChanged, user_id, by, Utc::now())).await?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn create_password_reset(
    db: &Db,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_link(db, "password_resets", token_hash, user_id, now, expires_at).await
}

/// The reset link's user, if the link can be used now (locked with `lock`).
async fn usable_reset(
    c: &impl GenericClient,
    token_hash: &[u8; 32],
    now: DateTime<Utc>,
    lock: bool,
) -> StoreResult<String> {
    let sql = if lock {
        "SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1 FOR UPDATE"
    } else {
        "SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1"
    };
    let found = query_opt(c, sql, &[&&token_hash[..]]).await?.ok_or(StoreError::NotFound)?;
    let (user_id, expires_at, used_at) = (found.text(0)?, found.int(1)?, found.opt_int(2)?);
    rows::link_usable(expires_at, used_at, now)?;
    Ok(user_id)
}

pub(super) async fn check_password_reset(db: &Db, token_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<()> {
    let client = db.client().await?;
    usable_reset(&client, &token_hash, now, false).await.map(|_| ())
}

pub(super) async fn use_password_reset(
    db: &Db,
    token_hash: [u8; 32],
    password_hash: &str,
    now: DateTime<Utc>,
    by: &Actor,
) -> StoreResult<User> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let user_id = usable_reset(&tx, &token_hash, now, true).await?;
    // This link and every other unused link of the user stop working.
    execute(
        &tx,
        "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 OR (user_id = $3 AND used_at IS NULL)",
        &[&&token_hash[..], &ms(now), &user_id],
    )
    .await
    .map_err(pg)?;
    let user = query_opt(
        &tx,
        &format!("UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING {USER_COLUMNS}"),
        &[&user_id, &password_hash],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    let user = rows::user(&user)?;
    end_sessions(&tx, &user_id, None).await?;
    audit::insert(&tx, &AuditEvent::personal(AuditAction::PasswordReset, &user_id, by, now)).await?;
    tx.commit().await.map_err(pg)?;
    Ok(user)
}
