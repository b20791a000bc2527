//! SitePulse's OAuth grants on SQLite. The statements that touch only the
//! clients, grants and refresh tokens are SiteGPT's (the tables are laid out
//! alike); what issues and revokes tokens is SitePulse's. Each use of a code
//! or a refresh token decides and issues in one write transaction, so a code
//! is redeemed once and a replay revokes its grant.

use sitegpt_access::oauth::ResourceKind;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::pulse::rows::{self as pulse_rows, GRANT_SELECT};
use crate::pulse::{NewPulseGrant, PulseGrant, PulseGrantIssue, PulseTokenRecord};
use crate::rows::{self, GrantUse, ms};
use crate::sqlite::oauth::{code_use, refresh_use};
use crate::sqlite::pool::{Pool, backend};
use crate::sqlite::pulse::tokens::{insert_token, load_token};
use crate::sqlite::sql::{bump_epoch, constraint, numbered};
use crate::{RedeemOutcome, RefreshOutcome, StoreError, StoreResult};

/// A statement from the shared text, prepared once per connection.
fn cached<'c>(conn: &'c Connection, sql: &str) -> StoreResult<rusqlite::CachedStatement<'c>> {
    conn.prepare_cached(&numbered(sql)).map_err(backend)
}

pub(super) async fn create_grant(pool: &Arc<Pool>, grant: NewPulseGrant) -> StoreResult<String> {
    let id = sitegpt_access::id::new_prefixed_id("grt_");
    let grant_id = id.clone();
    pool.write(move |tx| {
        cached(tx, pulse_rows::INSERT_GRANT)?
            .execute(params![
                grant_id,
                grant.client_id,
                grant.user_id,
                grant.scopes.to_space_separated(),
                grant.resource.as_str(),
                grant.redirect_uri,
                &grant.code_hash[..],
                grant.code_challenge,
                ms(grant.code_expires_at),
                ms(grant.now)
            ])
            .map_err(constraint("a grant with this code already exists"))?;
        cached(tx, rows::TOUCH_CLIENT)?.execute(params![grant.client_id, ms(grant.now)]).map_err(backend)?;
        Ok(())
    })
    .await?;
    Ok(id)
}

fn grant_where(conn: &Connection, clause: &str, param: &dyn rusqlite::ToSql) -> StoreResult<Option<PulseGrant>> {
    cached(conn, &format!("{GRANT_SELECT}{clause}"))?
        .query_row([param], |r| pulse_rows::grant(r))
        .optional()
        .map_err(backend)
}

pub(super) async fn grant_by_code(pool: &Arc<Pool>, code_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
    pool.read(move |conn| grant_where(conn, " WHERE g.code_hash = $1", &&code_hash[..])).await
}

pub(super) async fn grant_by_refresh(pool: &Arc<Pool>, refresh_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
    pool.read(move |conn| {
        grant_where(conn, " JOIN oauth_refresh_tokens r ON r.grant_id = g.id WHERE r.hash = $1", &&refresh_hash[..])
    })
    .await
}

/// Stores the access token and the next refresh token of a grant that may
/// issue them, and marks the grant and its client used.
fn issue(tx: &Connection, grant_id: &str, issue: &PulseGrantIssue) -> StoreResult<PulseTokenRecord> {
    let now = ms(issue.token.created_at);
    let (resource, client_id): (String, String) = cached(tx, rows::TOUCH_GRANT)?
        .query_row(params![grant_id, now], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?;
    cached(tx, rows::TOUCH_CLIENT)?.execute(params![client_id, now]).map_err(backend)?;
    let token = insert_token(tx, &issue.token)?;
    cached(tx, pulse_rows::SET_TOKEN_GRANT)?.execute(params![token.id, grant_id, resource]).map_err(backend)?;
    cached(tx, rows::INSERT_REFRESH)?
        .execute(params![&issue.refresh_hash[..], grant_id, now])
        .map_err(constraint("the refresh token already exists"))?;
    load_token(tx, &token.id)?.ok_or(StoreError::NotFound)
}

/// Revokes a grant (of `user_id`, when given) and its tokens.
fn revoke(tx: &Connection, grant_id: &str, user_id: Option<&str>, now: i64) -> StoreResult<()> {
    let found = cached(tx, rows::REVOKE_GRANT)?.execute(params![grant_id, now, user_id]).map_err(backend)?;
    if found == 0 {
        return Err(StoreError::NotFound);
    }
    cached(tx, pulse_rows::REVOKE_GRANT_TOKENS)?.execute(params![grant_id, now]).map_err(backend)?;
    bump_epoch(tx)
}

pub(super) async fn redeem_code(
    pool: &Arc<Pool>,
    code_hash: [u8; 32],
    grant_issue: PulseGrantIssue,
) -> StoreResult<RedeemOutcome<PulseTokenRecord>> {
    pool.write(move |tx| {
        let now = ms(grant_issue.token.created_at);
        Ok(match code_use(tx, code_hash, now)? {
            GrantUse::Issue(id) => RedeemOutcome::Issued(Box::new(issue(tx, &id, &grant_issue)?)),
            GrantUse::Revoke(id) => {
                revoke(tx, &id, None, now)?;
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
    grant_issue: PulseGrantIssue,
    grace: Duration,
    idle: Duration,
) -> StoreResult<RefreshOutcome<PulseTokenRecord>> {
    pool.write(move |tx| {
        let now = grant_issue.token.created_at;
        Ok(match refresh_use(tx, refresh_hash, now, grace, idle)? {
            GrantUse::Issue(id) => RefreshOutcome::Issued(Box::new(issue(tx, &id, &grant_issue)?)),
            GrantUse::Revoke(id) => {
                revoke(tx, &id, None, ms(now))?;
                RefreshOutcome::Reused
            }
            refused => refused.refused_refresh(),
        })
    })
    .await
}

pub(super) async fn grants_of(pool: &Arc<Pool>, user_id: &str) -> StoreResult<Vec<PulseGrant>> {
    let user_id = user_id.to_owned();
    pool.read(move |conn| {
        let mut stmt = cached(conn, &format!("{GRANT_SELECT}{}", rows::USER_GRANTS))?;
        let found = stmt.query_map([user_id], |r| pulse_rows::grant(r)).map_err(backend)?;
        found.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn revoke_grant(
    pool: &Arc<Pool>,
    user_id: &str,
    grant_id: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (grant_id, user_id) = (grant_id.to_owned(), user_id.to_owned());
    pool.write(move |tx| revoke(tx, &grant_id, Some(&user_id), ms(at))).await
}
