//! Browser sessions, e-mail verification links and the failure counters
//! behind rate limits.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};

use super::audit;
use super::pool::{Pool, backend};
use super::sql::{bump_epoch, is_unique_violation};
use crate::rows::{self, SESSION_SELECT, USER_COLUMNS, ms};
use crate::{Actor, AuditAction, AuditEvent, FailureWindow, NewSession, Session, StoreError, StoreResult, User};

pub(super) async fn create_session(pool: &Arc<Pool>, new: NewSession, by: Actor) -> StoreResult<()> {
    pool.write(move |tx| {
        // Sign-ins are rare: drop expired sessions while at it.
        tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ms(new.now)]).map_err(backend)?;
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&new.id_hash[..], new.user_id, new.csrf_token, ms(new.now), ms(new.expires_at)],
        )
        .map_err(backend)?;
        audit::insert(tx, &AuditEvent::personal(AuditAction::SignedIn, &new.user_id, &by, new.now))
    })
    .await
}

pub(super) async fn session(pool: &Arc<Pool>, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    pool.read(move |conn| {
        conn.prepare_cached(&format!("{SESSION_SELECT} WHERE s.id_hash = ?1 AND s.expires_at > ?2"))
            .and_then(|mut stmt| stmt.query_row(params![&id_hash[..], ms(now)], |r| rows::session(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn delete_session(pool: &Arc<Pool>, id_hash: [u8; 32]) -> StoreResult<()> {
    pool.write(move |tx| {
        tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash[..]]).map_err(backend)?;
        Ok(())
    })
    .await
}

pub(super) async fn create_email_verification(
    pool: &Arc<Pool>,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_link(pool, "email_verifications", token_hash, user_id, now, expires_at).await
}

/// Stores the hash of a single-use link's secret in `table`.
async fn insert_link(
    pool: &Arc<Pool>,
    table: &'static str,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let user_id = user_id.to_owned();
    pool.write(move |tx| {
        tx.execute(
            &format!("INSERT INTO {table} (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)"),
            params![&token_hash[..], user_id, ms(now), ms(expires_at)],
        )
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict("duplicate link".into()) } else { backend(e) }
        })?;
        Ok(())
    })
    .await
}

use crate::ALREADY_VERIFIED;

pub(super) async fn use_email_verification(
    pool: &Arc<Pool>,
    token_hash: [u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<User> {
    pool.write(move |tx| {
        let found: Option<(String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT user_id, expires_at, used_at FROM email_verifications WHERE token_hash = ?1",
                [&token_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(backend)?;
        let (user_id, expires_at, used_at) = found.ok_or(StoreError::NotFound)?;
        if let Err(unusable) = rows::link_usable(expires_at, used_at, now) {
            let verified: Option<i64> = tx
                .query_row("SELECT email_verified_at FROM users WHERE id = ?1", [&user_id], |r| r.get(0))
                .optional()
                .map_err(backend)?
                .flatten();
            return Err(if verified.is_some() { StoreError::Conflict(ALREADY_VERIFIED.into()) } else { unusable });
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

pub(super) async fn failures(
    pool: &Arc<Pool>,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<Option<FailureWindow>> {
    let over = ms(now - window);
    pool.read(move |conn| {
        conn.prepare_cached(rows::FAILURES)
            .and_then(|mut stmt| stmt.query_row(params![&key[..], over], |r| rows::failure_window(r)).optional())
            .map_err(backend)
    })
    .await
}

/// Counts one under `key` in the window containing `now`, with the
/// transaction `tx` is in.
pub(super) fn count(
    tx: &rusqlite::Connection,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<FailureWindow> {
    let (at, over) = (ms(now), ms(now - window));
    tx.prepare_cached(rows::COUNT_FAILURE)
        .and_then(|mut stmt| stmt.query_row(params![&key[..], at, over], |r| rows::failure_window(r)))
        .map_err(backend)
}

pub(super) async fn count_failure(
    pool: &Arc<Pool>,
    key: [u8; 32],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<FailureWindow> {
    pool.write(move |tx| count(tx, key, now, window)).await
}

/// `DELETE FROM sessions` for the user, but the session `keep`.
fn end_sessions(tx: &rusqlite::Connection, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
    let ended = match keep {
        Some(keep) => {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND id_hash <> ?2", params![user_id, &keep[..]])
        }
        None => tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id]),
    }
    .map_err(backend)?;
    Ok(u64::try_from(ended).unwrap_or_default())
}

pub(super) async fn end_other_sessions(pool: &Arc<Pool>, user_id: &str, keep: Option<[u8; 32]>) -> StoreResult<u64> {
    let user_id = user_id.to_owned();
    pool.write(move |tx| end_sessions(tx, &user_id, keep)).await
}

pub(super) async fn set_password(
    pool: &Arc<Pool>,
    user_id: &str,
    password_hash: &str,
    keep: Option<[u8; 32]>,
    by: Actor,
) -> StoreResult<()> {
    let (user_id, password_hash) = (user_id.to_owned(), password_hash.to_owned());
    pool.write(move |tx| {
        let changed = tx
            .execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", [&user_id, &password_hash])
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        end_sessions(tx, &user_id, keep)?;
        audit::insert(tx, &AuditEvent::personal(AuditAction::PasswordChanged, &user_id, &by, Utc::now()))
    })
    .await
}

pub(super) async fn create_password_reset(
    pool: &Arc<Pool>,
    token_hash: [u8; 32],
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_link(pool, "password_resets", token_hash, user_id, now, expires_at).await
}

/// The reset link's user, if the link can be used now.
fn usable_reset(conn: &rusqlite::Connection, token_hash: &[u8; 32], now: DateTime<Utc>) -> StoreResult<String> {
    let found: Option<(String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = ?1",
            [&token_hash[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(backend)?;
    let (user_id, expires_at, used_at) = found.ok_or(StoreError::NotFound)?;
    crate::rows::link_usable(expires_at, used_at, now)?;
    Ok(user_id)
}

pub(super) async fn check_password_reset(
    pool: &Arc<Pool>,
    token_hash: [u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    pool.read(move |conn| usable_reset(conn, &token_hash, now).map(|_| ())).await
}

pub(super) async fn use_password_reset(
    pool: &Arc<Pool>,
    token_hash: [u8; 32],
    password_hash: &str,
    now: DateTime<Utc>,
    by: Actor,
) -> StoreResult<User> {
    let password_hash = password_hash.to_owned();
    pool.write(move |tx| {
        let user_id = usable_reset(tx, &token_hash, now)?;
        tx.execute("UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1", params![&token_hash[..], ms(now)])
            .map_err(backend)?;
        // Every other link of the user stops working too.
        tx.execute(
            "UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
            params![user_id, ms(now)],
        )
        .map_err(backend)?;
        tx.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", [&user_id, &password_hash]).map_err(backend)?;
        end_sessions(tx, &user_id, None)?;
        audit::insert(tx, &AuditEvent::personal(AuditAction::PasswordReset, &user_id, &by, now))?;
        tx.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [&user_id], |r| rows::user(r))
            .map_err(backend)
    })
    .await
}
