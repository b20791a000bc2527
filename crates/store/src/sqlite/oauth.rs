//! OAuth clients, grants and refresh tokens (the authorization-code flow).
//! Each use of a code or a refresh token decides and issues in one write
//! transaction, so a code is redeemed once and a replay revokes its grant.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::audit;
use super::pool::{Pool, backend};
use super::sql::{bump_epoch, constraint, numbered};
use super::tokens::{insert_token_row, load_token};
use crate::audit::{REPLAYED_CODE, REUSED_REFRESH};
use crate::rows::{self, CLIENT_COLUMNS, GRANT_SELECT, GrantUse, ms};
use crate::{
    Actor, AuditEvent, ClientSource, Grant, GrantIssue, NewGrant, OAuthClient, RedeemOutcome, RefreshOutcome,
    StoreError, StoreResult, TokenRecord,
};

pub(super) async fn save_client(pool: &Arc<Pool>, client: OAuthClient) -> StoreResult<()> {
    pool.write(move |tx| {
        let sql = match client.source {
            ClientSource::Registered => rows::INSERT_CLIENT,
            ClientSource::Metadata => rows::UPSERT_CLIENT,
        };
        cached(tx, sql)?
            .execute(params![
                client.id,
                client.name,
                client.redirect_uris.join("\n"),
                client.source.as_str(),
                ms(client.created_at)
            ])
            .map_err(constraint("a client with this id already exists"))?;
        Ok(())
    })
    .await
}

pub(super) async fn oauth_client(pool: &Arc<Pool>, client_id: &str) -> StoreResult<Option<OAuthClient>> {
    let client_id = client_id.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row([client_id], |r| rows::client(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn create_grant(pool: &Arc<Pool>, grant: NewGrant, by: Actor) -> StoreResult<()> {
    pool.write(move |tx| {
        cached(tx, rows::INSERT_GRANT)?
            .execute(params![
                grant.id,
                grant.client_id,
                grant.user_id,
                grant.account_id,
                grant.scopes.to_space_separated(),
                grant.chatbots.ids().join(" "),
                grant.resource.as_str(),
                grant.redirect_uri,
                &grant.code_hash[..],
                grant.code_challenge,
                ms(grant.code_expires_at),
                ms(grant.now)
            ])
            .map_err(constraint("a grant with this id or code already exists"))?;
        cached(tx, rows::TOUCH_CLIENT)?.execute(params![grant.client_id, ms(grant.now)]).map_err(backend)?;
        let client_name: String =
            cached(tx, rows::CLIENT_NAME)?.query_row([&grant.client_id], |r| r.get(0)).map_err(backend)?;
        audit::insert(tx, &AuditEvent::grant_created(&grant, &client_name, &by))
    })
    .await
}

fn grant_where(conn: &Connection, clause: &str, hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    conn.prepare_cached(&numbered(&format!("{GRANT_SELECT}{clause}")))
        .and_then(|mut stmt| stmt.query_row([&hash[..]], |r| rows::grant(r)).optional())
        .map_err(backend)
}

pub(super) async fn grant_by_code(pool: &Arc<Pool>, code_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    pool.read(move |conn| grant_where(conn, " WHERE g.code_hash = $1", code_hash)).await
}

pub(super) async fn grant_by_refresh(pool: &Arc<Pool>, refresh_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    pool.read(move |conn| {
        grant_where(conn, " JOIN oauth_refresh_tokens r ON r.grant_id = g.id WHERE r.hash = $1", refresh_hash)
    })
    .await
}

/// A statement from the shared text, prepared once per connection.
fn cached<'c>(conn: &'c Connection, sql: &str) -> StoreResult<rusqlite::CachedStatement<'c>> {
    conn.prepare_cached(&numbered(sql)).map_err(backend)
}

/// Stores the access token and the next refresh token of a grant that may
/// issue them, and marks the grant and its client used.
fn issue(tx: &Connection, grant_id: &str, issue: &GrantIssue, by: Option<&Actor>) -> StoreResult<TokenRecord> {
    let now = ms(issue.token.now);
    let (resource, client_id): (String, String) = cached(tx, rows::TOUCH_GRANT)?
        .query_row(params![grant_id, now], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?;
    cached(tx, rows::TOUCH_CLIENT)?.execute(params![client_id, now]).map_err(backend)?;
    insert_token_row(tx, &issue.token, by)?;
    cached(tx, rows::SET_TOKEN_GRANT)?.execute(params![issue.token.id, grant_id, resource]).map_err(backend)?;
    cached(tx, rows::INSERT_REFRESH)?
        .execute(params![&issue.refresh_hash[..], grant_id, now])
        .map_err(constraint("the refresh token already exists"))?;
    load_token(tx, &issue.token.id)?.ok_or(StoreError::NotFound)
}

/// Revokes a grant and its tokens, and writes the event when it was live.
fn revoke(tx: &Connection, grant_id: &str, user_id: Option<&str>, now: i64, by: &Actor) -> StoreResult<()> {
    let before = tx
        .prepare_cached(&numbered(&format!("{GRANT_SELECT} WHERE g.id = $1")))
        .and_then(|mut stmt| stmt.query_row([grant_id], |r| rows::grant(r)).optional())
        .map_err(backend)?;
    let found = cached(tx, rows::REVOKE_GRANT)?.execute(params![grant_id, now, user_id]).map_err(backend)?;
    let Some(before) = before.filter(|_| found > 0) else { return Err(StoreError::NotFound) };
    cached(tx, rows::REVOKE_GRANT_TOKENS)?.execute(params![grant_id, now]).map_err(backend)?;
    if before.revoked_at.is_none() {
        audit::insert(tx, &AuditEvent::grant_revoked(&before, by, rows::from_ms(now)))?;
    }
    bump_epoch(tx)
}

/// What presenting the code allows; a live code is marked used.
pub(super) fn code_use(tx: &Connection, code_hash: [u8; 32], now: i64) -> StoreResult<GrantUse> {
    let live: Option<String> = cached(tx, rows::REDEEM_CODE)?
        .query_row(params![&code_hash[..], now], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let state = match live {
        Some(_) => None,
        None => cached(tx, rows::CODE_STATE)?
            .query_row([&code_hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(backend)?,
    };
    Ok(GrantUse::of_code(live, state))
}

/// What presenting the refresh token allows; a usable one is superseded.
pub(super) fn refresh_use(
    tx: &Connection,
    refresh_hash: [u8; 32],
    now: DateTime<Utc>,
    grace: Duration,
    idle: Duration,
) -> StoreResult<GrantUse> {
    let idle_limit = ms(now - idle);
    let live: Option<String> = cached(tx, rows::USE_REFRESH)?
        .query_row(params![&refresh_hash[..], ms(now), ms(now - grace), idle_limit], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let state = match live {
        Some(_) => None,
        None => cached(tx, rows::REFRESH_STATE)?
            .query_row(params![&refresh_hash[..], idle_limit], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(backend)?,
    };
    Ok(GrantUse::of_refresh(live, state))
}

pub(super) async fn redeem_code(
    pool: &Arc<Pool>,
    code_hash: [u8; 32],
    grant_issue: GrantIssue,
    by: Actor,
) -> StoreResult<RedeemOutcome> {
    pool.write(move |tx| {
        let now = ms(grant_issue.token.now);
        Ok(match code_use(tx, code_hash, now)? {
            GrantUse::Issue(id) => RedeemOutcome::Issued(Box::new(issue(tx, &id, &grant_issue, Some(&by))?)),
            GrantUse::Revoke(id) => {
                revoke(tx, &id, None, now, &by.because(REPLAYED_CODE))?;
                RedeemOutcome::Replayed
            }
            refused => refused.refused_code(),
        })
    })
    .await
}

pub(super) async fn refresh_grant(
    pool: &Arc<Pool>,
    refresh_hash: [u8; 32],
    grant_issue: GrantIssue,
    grace: Duration,
    idle: Duration,
) -> StoreResult<RefreshOutcome> {
    pool.write(move |tx| {
        let now = grant_issue.token.now;
        Ok(match refresh_use(tx, refresh_hash, now, grace, idle)? {
            GrantUse::Issue(id) => RefreshOutcome::Issued(Box::new(issue(tx, &id, &grant_issue, None)?)),
            GrantUse::Revoke(id) => {
                revoke(tx, &id, None, ms(now), &Actor::system().because(REUSED_REFRESH))?;
                RefreshOutcome::Reused
            }
            refused => refused.refused_refresh(),
        })
    })
    .await
}

pub(super) async fn revoke_grant(
    pool: &Arc<Pool>,
    grant_id: &str,
    user_id: Option<&str>,
    now: DateTime<Utc>,
    by: Actor,
) -> StoreResult<()> {
    let (grant_id, user_id) = (grant_id.to_owned(), user_id.map(str::to_owned));
    pool.write(move |tx| revoke(tx, &grant_id, user_id.as_deref(), ms(now), &by)).await
}

pub(super) async fn grants(pool: &Arc<Pool>, user_id: &str) -> StoreResult<Vec<Grant>> {
    let user_id = user_id.to_owned();
    pool.read(move |conn| {
        let mut stmt =
            conn.prepare_cached(&numbered(&format!("{GRANT_SELECT}{}", rows::USER_GRANTS))).map_err(backend)?;
        let found = stmt.query_map([user_id], |r| rows::grant(r)).map_err(backend)?;
        found.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

/// The janitor's part for the OAuth flow; returns how many rows went.
pub(super) fn purge(tx: &Connection, now: DateTime<Utc>) -> StoreResult<usize> {
    let day_ago = ms(now) - 86_400_000;
    let idle_limit = ms(now - Duration::days(sitegpt_access::oauth::IDLE_DAYS));
    let mut purged = 0;
    for sql in rows::PURGE_OAUTH_DAY {
        purged += cached(tx, sql)?.execute([day_ago]).map_err(backend)?;
    }
    for sql in rows::PURGE_OAUTH_IDLE {
        purged += cached(tx, sql)?.execute([idle_limit]).map_err(backend)?;
    }
    let kept = ms(now) - rows::SUPERSEDED_REFRESH_KEPT_MS;
    purged += cached(tx, rows::PURGE_SUPERSEDED_REFRESH)?.execute([kept]).map_err(backend)?;
    Ok(purged)
}
