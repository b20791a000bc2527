//! API tokens: creation, lookup for verification, listing, rotation,
//! revocation and the batched last-used times.

use crate::{Actor, AuditEvent, TokenUse};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sitegpt_access::TokenHash;
use tokio_postgres::error::SqlState;

use super::audit;
use super::sql::{Db, all, bump_epoch, execute, has_code, missing_parent, pg, query, query_opt, unique_or};
use crate::rows::{self, Cells, TOKEN_AUTH_SELECT, TOKEN_COLUMNS, cursor_params, ms};
use crate::{NewToken, Rotation, StoreError, StoreResult, TokenAuth, TokenQuery, TokenRecord};

/// Stores a new token; with `by`, writes its `token.created` event (tokens
/// an OAuth grant issues on refresh have none: the grant's creation is the
/// event). `tx` must be a transaction when `by` is given.
pub(super) async fn insert_token_row(tx: &impl GenericClient, new: &NewToken, by: Option<&Actor>) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO api_tokens (id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids, \
         created_via, created_at, secret_issued_at, expires_at, allowed_ips) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)",
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
            &new.allowed_ips.to_stored(),
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
    if let Some(by) = by {
        audit::insert(tx, &AuditEvent::token_created(new, by)).await?;
    }
    Ok(())
}

pub(super) async fn load_token(c: &impl GenericClient, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    query_opt(c, &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1"), &[&token_id])
        .await?
        .map(|r| rows::token(&r))
        .transpose()
}

pub(super) async fn insert_token(db: &Db, new: NewToken, by: &Actor) -> StoreResult<TokenRecord> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    insert_token_row(&tx, &new, Some(by)).await?;
    let record = load_token(&tx, &new.id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(pg)?;
    Ok(record)
}

pub(super) async fn token_for_auth(db: &Db, hash: TokenHash) -> StoreResult<Option<TokenAuth>> {
    let client = db.client().await?;
    query_opt(&client, &format!("{TOKEN_AUTH_SELECT} WHERE t.secret_hash = $1"), &[&&hash.as_bytes()[..]])
        .await?
        .map(|r| rows::token_auth(&r))
        .transpose()
}

pub(super) async fn token(db: &Db, token_id: &str) -> StoreResult<Option<TokenRecord>> {
    load_token(&db.client().await?, token_id).await
}

pub(super) async fn list_tokens(db: &Db, q: TokenQuery) -> StoreResult<Vec<TokenRecord>> {
    let client = db.client().await?;
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

pub(super) async fn rotate_token(db: &Db, rotation: Rotation, by: &Actor) -> StoreResult<TokenRecord> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let locked = query_opt(&tx, "SELECT revoked_at FROM api_tokens WHERE id = $1 FOR UPDATE", &[&rotation.token_id])
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
    audit::insert(&tx, &AuditEvent::token_rotated(&record, by, rotation.now)).await?;
    tx.commit().await.map_err(pg)?;
    db.epoch.bump();
    Ok(record)
}

pub(super) async fn revoke_token(db: &Db, token_id: &str, now: DateTime<Utc>, by: &Actor) -> StoreResult<TokenRecord> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let changed = execute(
        &tx,
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&token_id, &ms(now)],
    )
    .await
    .map_err(pg)?;
    let record = load_token(&tx, token_id).await?.ok_or(StoreError::NotFound)?;
    if changed > 0 {
        audit::insert(&tx, &AuditEvent::token_revoked(&record, by, now)).await?;
        bump_epoch(&tx).await?;
    }
    tx.commit().await.map_err(pg)?;
    if changed > 0 {
        db.epoch.bump();
    }
    Ok(record)
}

pub(super) async fn touch_tokens(db: &Db, uses: Vec<TokenUse>) -> StoreResult<()> {
    let client = db.client().await?;
    let mut ids = Vec::with_capacity(uses.len());
    let mut times = Vec::with_capacity(uses.len());
    let mut ips = Vec::with_capacity(uses.len());
    let mut agents = Vec::with_capacity(uses.len());
    for used in uses {
        ids.push(used.token_id);
        times.push(ms(used.at));
        ips.push(used.ip);
        agents.push(used.user_agent);
    }
    execute(
        &client,
        "UPDATE api_tokens t SET last_used_at = u.at, last_used_ip = u.ip, last_used_user_agent = u.agent \
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS u(id, at, ip, agent) \
         WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at <= u.at - 60000)",
        &[&ids, &times, &ips, &agents],
    )
    .await
    .map_err(pg)?;
    Ok(())
}
