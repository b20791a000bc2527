//! API tokens: creation, lookup for verification, listing, rotation,
//! revocation and the batched last-used times.

use crate::{Actor, AuditEvent, TokenUse};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sitegpt_access::TokenHash;

use super::audit;
use super::pool::{Pool, backend};
use super::sql::{bump_epoch, is_unique_violation};
use crate::rows::{self, TOKEN_AUTH_SELECT, TOKEN_COLUMNS, cursor_params, ms};
use crate::{NewToken, Rotation, StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord};

/// Stores a new token; with `by`, writes its `token.created` event (tokens
/// an OAuth grant issues on refresh have none: the grant's creation is the
/// event).
pub(super) fn insert_token_row(tx: &Connection, new: &NewToken, by: Option<&Actor>) -> StoreResult<()> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO api_tokens (id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids, \
             created_via, created_at, secret_issued_at, expires_at, allowed_ips) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)",
        )
        .map_err(backend)?;
    insert
        .execute(params![
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
            new.allowed_ips.to_stored(),
        ])
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
    if let Some(by) = by {
        audit::insert(tx, &AuditEvent::token_created(new, by))?;
    }
    Ok(())
}

pub(super) fn load_token(conn: &Connection, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([token_id], |r| rows::token(r)).optional())
        .map_err(backend)
}

pub(super) async fn insert_token(pool: &Arc<Pool>, new: NewToken, by: Actor) -> StoreResult<TokenRecord> {
    pool.write(move |tx| {
        insert_token_row(tx, &new, Some(&by))?;
        load_token(tx, &new.id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn token_for_auth(pool: &Arc<Pool>, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
    pool.read_by_key(|conn| {
        conn.prepare_cached(&format!("{TOKEN_AUTH_SELECT} WHERE t.secret_hash = ?1"))
            .and_then(|mut stmt| stmt.query_row([&hash.as_bytes()[..]], |r| rows::token_auth(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn token(pool: &Arc<Pool>, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    let token_id = token_id.to_owned();
    pool.read(move |conn| load_token(conn, &token_id)).await
}

pub(super) async fn list_tokens(pool: &Arc<Pool>, query: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
    pool.read(move |conn| {
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

pub(super) async fn rotate_token(pool: &Arc<Pool>, rotation: Rotation, by: Actor) -> StoreResult<TokenRecord> {
    pool.write(move |tx| {
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
        let rotated = load_token(tx, &rotation.token_id)?.ok_or(StoreError::NotFound)?;
        audit::insert(tx, &AuditEvent::token_rotated(&rotated, &by, rotation.now))?;
        Ok(rotated)
    })
    .await
}

pub(super) async fn revoke_token(
    pool: &Arc<Pool>,
    token_id: &str,
    now: DateTime<Utc>,
    by: Actor,
) -> StoreResult<TokenRecord> {
    let token_id = token_id.to_owned();
    pool.write(move |tx| {
        let changed = tx
            .execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![token_id, ms(now)],
            )
            .map_err(backend)?;
        let record = load_token(tx, &token_id)?.ok_or(StoreError::NotFound)?;
        if changed > 0 {
            audit::insert(tx, &AuditEvent::token_revoked(&record, &by, now))?;
            bump_epoch(tx)?;
        }
        Ok(record)
    })
    .await
}

pub(super) async fn touch_tokens(pool: &Arc<Pool>, uses: Vec<TokenUse>) -> StoreResult<()> {
    pool.write(move |tx| {
        let mut stmt = tx
            .prepare_cached(
                "UPDATE api_tokens SET last_used_at = ?2, last_used_ip = ?3, last_used_user_agent = ?4 \
                     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60000)",
            )
            .map_err(backend)?;
        for used in uses {
            stmt.execute(params![used.token_id, ms(used.at), used.ip, used.user_agent]).map_err(backend)?;
        }
        Ok(())
    })
    .await
}
