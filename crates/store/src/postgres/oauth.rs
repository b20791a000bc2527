//! OAuth clients, grants and refresh tokens (the authorization-code flow).
//! Codes and refresh tokens are used by an `UPDATE` that carries the rule in
//! its `WHERE`, so concurrent uses on several nodes redeem a code once, and
//! the loser of a race sees the code used (and revokes the grant).

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

use super::audit;
use super::sql::{Db, all, bump_epoch, constraint, execute, pg, query, query_opt};
use super::tokens::{insert_token_row, load_token};
use crate::audit::{REPLAYED_CODE, REUSED_REFRESH};
use crate::rows::{self, CLIENT_COLUMNS, Cells, GRANT_SELECT, GrantUse, ms};
use crate::{
    Actor, AuditEvent, ClientSource, Grant, GrantIssue, NewGrant, OAuthClient, RedeemOutcome, RefreshOutcome,
    StoreError, StoreResult, TokenRecord,
};

pub(super) async fn save_client(db: &Db, client: OAuthClient) -> StoreResult<()> {
    let sql = match client.source {
        ClientSource::Registered => rows::INSERT_CLIENT,
        ClientSource::Metadata => rows::UPSERT_CLIENT,
    };
    execute(
        &db.client().await?,
        sql,
        &[&client.id, &client.name, &client.redirect_uris.join("\n"), &client.source.as_str(), &ms(client.created_at)],
    )
    .await
    .map_err(constraint("a client with this id already exists"))?;
    Ok(())
}

pub(super) async fn oauth_client(db: &Db, client_id: &str) -> StoreResult<Option<OAuthClient>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1");
    query_opt(&db.client().await?, &sql, &[&client_id]).await?.map(|r| rows::client(&r)).transpose()
}

pub(super) async fn create_grant(db: &Db, grant: NewGrant, by: &Actor) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    execute(
        &tx,
        rows::INSERT_GRANT,
        &[
            &grant.id,
            &grant.client_id,
            &grant.user_id,
            &grant.account_id,
            &grant.scopes.to_space_separated(),
            &grant.chatbots.ids().join(" "),
            &grant.resource.as_str(),
            &grant.redirect_uri,
            &&grant.code_hash[..],
            &grant.code_challenge,
            &ms(grant.code_expires_at),
            &ms(grant.now),
        ],
    )
    .await
    .map_err(constraint("a grant with this id or code already exists"))?;
    execute(&tx, rows::TOUCH_CLIENT, &[&grant.client_id, &ms(grant.now)]).await.map_err(pg)?;
    let client_name =
        query_opt(&tx, rows::CLIENT_NAME, &[&grant.client_id]).await?.ok_or(StoreError::NotFound)?.text(0)?;
    audit::insert(&tx, &AuditEvent::grant_created(&grant, &client_name, by)).await?;
    tx.commit().await.map_err(pg)
}

async fn grant_where(c: &impl GenericClient, clause: &str, hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    query_opt(c, &format!("{GRANT_SELECT}{clause}"), &[&&hash[..]]).await?.map(|r| rows::grant(&r)).transpose()
}

pub(super) async fn grant_by_code(db: &Db, code_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    grant_where(&db.client().await?, " WHERE g.code_hash = $1", code_hash).await
}

pub(super) async fn grant_by_refresh(db: &Db, refresh_hash: [u8; 32]) -> StoreResult<Option<Grant>> {
    let clause = " JOIN oauth_refresh_tokens r ON r.grant_id = g.id WHERE r.hash = $1";
    grant_where(&db.client().await?, clause, refresh_hash).await
}

/// Stores the access token and the next refresh token of a grant that may
/// issue them, and marks the grant and its client used.
async fn issue(
    tx: &impl GenericClient,
    grant_id: &str,
    issue: &GrantIssue,
    by: Option<&Actor>,
) -> StoreResult<TokenRecord> {
    let now = ms(issue.token.now);
    let row = query_opt(tx, rows::TOUCH_GRANT, &[&grant_id, &now]).await?.ok_or(StoreError::NotFound)?;
    let (resource, client_id) = (row.text(0)?, row.text(1)?);
    execute(tx, rows::TOUCH_CLIENT, &[&client_id, &now]).await.map_err(pg)?;
    insert_token_row(tx, &issue.token, by).await?;
    execute(tx, rows::SET_TOKEN_GRANT, &[&issue.token.id, &grant_id, &resource]).await.map_err(pg)?;
    execute(tx, rows::INSERT_REFRESH, &[&&issue.refresh_hash[..], &grant_id, &now])
        .await
        .map_err(constraint("the refresh token already exists"))?;
    load_token(tx, &issue.token.id).await?.ok_or(StoreError::NotFound)
}

/// Revokes a grant and its tokens, and writes the event when it was live
/// (the caller bumps this node's epoch after the commit).
async fn revoke(
    tx: &impl GenericClient,
    grant_id: &str,
    user_id: Option<&str>,
    now: i64,
    by: &Actor,
) -> StoreResult<()> {
    let before = query_opt(tx, &format!("{GRANT_SELECT} WHERE g.id = $1 FOR UPDATE OF g"), &[&grant_id])
        .await?
        .map(|r| rows::grant(&r))
        .transpose()?;
    let found = execute(tx, rows::REVOKE_GRANT, &[&grant_id, &now, &user_id]).await.map_err(pg)?;
    let Some(before) = before.filter(|_| found > 0) else { return Err(StoreError::NotFound) };
    execute(tx, rows::REVOKE_GRANT_TOKENS, &[&grant_id, &now]).await.map_err(pg)?;
    if before.revoked_at.is_none() {
        audit::insert(tx, &AuditEvent::grant_revoked(&before, by, rows::from_ms(now))).await?;
    }
    bump_epoch(tx).await
}

/// What presenting the code allows; a live code is marked used.
pub(super) async fn code_use(tx: &impl GenericClient, code_hash: [u8; 32], now: i64) -> StoreResult<GrantUse> {
    let live = query_opt(tx, rows::REDEEM_CODE, &[&&code_hash[..], &now]).await?.map(|r| r.text(0)).transpose()?;
    let state = match live {
        Some(_) => None,
        None => match query_opt(tx, rows::CODE_STATE, &[&&code_hash[..]]).await? {
            Some(row) => Some((row.text(0)?, row.opt_int(1)?, row.opt_int(2)?)),
            None => None,
        },
    };
    Ok(GrantUse::of_code(live, state))
}

/// What presenting the refresh token allows; a usable one is superseded.
pub(super) async fn refresh_use(
    tx: &impl GenericClient,
    refresh_hash: [u8; 32],
    now: DateTime<Utc>,
    grace: Duration,
    idle: Duration,
) -> StoreResult<GrantUse> {
    let idle_limit = ms(now - idle);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&&refresh_hash[..], &ms(now), &ms(now - grace), &idle_limit];
    let live = query_opt(tx, rows::USE_REFRESH, &params).await?.map(|r| r.text(0)).transpose()?;
    let state = match live {
        Some(_) => None,
        None => match query_opt(tx, rows::REFRESH_STATE, &[&&refresh_hash[..], &idle_limit]).await? {
            Some(row) => Some((row.text(0)?, row.try_get::<_, bool>(1).map_err(pg)?)),
            None => None,
        },
    };
    Ok(GrantUse::of_refresh(live, state))
}

pub(super) async fn redeem_code(
    db: &Db,
    code_hash: [u8; 32],
    grant_issue: GrantIssue,
    by: &Actor,
) -> StoreResult<RedeemOutcome> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = ms(grant_issue.token.now);
    let outcome = match code_use(&tx, code_hash, now).await? {
        GrantUse::Issue(id) => RedeemOutcome::Issued(Box::new(issue(&tx, &id, &grant_issue, Some(by)).await?)),
        GrantUse::Revoke(id) => {
            revoke(&tx, &id, None, now, &by.because(REPLAYED_CODE)).await?;
            RedeemOutcome::Replayed
        }
        refused => refused.refused_code(),
    };
    tx.commit().await.map_err(pg)?;
    if outcome == RedeemOutcome::Replayed {
        db.epoch.bump();
    }
    Ok(outcome)
}

pub(super) async fn refresh_grant(
    db: &Db,
    refresh_hash: [u8; 32],
    grant_issue: GrantIssue,
    grace: Duration,
    idle: Duration,
) -> StoreResult<RefreshOutcome> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = grant_issue.token.now;
    let outcome = match refresh_use(&tx, refresh_hash, now, grace, idle).await? {
        GrantUse::Issue(id) => RefreshOutcome::Issued(Box::new(issue(&tx, &id, &grant_issue, None).await?)),
        GrantUse::Revoke(id) => {
            revoke(&tx, &id, None, ms(now), &Actor::system().because(REUSED_REFRESH)).await?;
            RefreshOutcome::Reused
        }
        refused => refused.refused_refresh(),
    };
    tx.commit().await.map_err(pg)?;
    if outcome == RefreshOutcome::Reused {
        db.epoch.bump();
    }
    Ok(outcome)
}

pub(super) async fn revoke_grant(
    db: &Db,
    grant_id: &str,
    user_id: Option<&str>,
    now: DateTime<Utc>,
    by: &Actor,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    revoke(&tx, grant_id, user_id, ms(now), by).await?;
    tx.commit().await.map_err(pg)?;
    db.epoch.bump();
    Ok(())
}

pub(super) async fn grants(db: &Db, user_id: &str) -> StoreResult<Vec<Grant>> {
    let found = query(&db.client().await?, &format!("{GRANT_SELECT}{}", rows::USER_GRANTS), &[&user_id]).await?;
    all(found, rows::grant)
}

/// The janitor's part for the OAuth flow; returns how many rows went.
pub(super) async fn purge(c: &impl GenericClient, now: DateTime<Utc>) -> StoreResult<u64> {
    let day_ago = ms(now) - 86_400_000;
    let idle_limit = ms(now - Duration::days(sitegpt_access::oauth::IDLE_DAYS));
    let mut purged = 0;
    for sql in rows::PURGE_OAUTH_DAY {
        purged += execute(c, sql, &[&day_ago]).await.map_err(pg)?;
    }
    for sql in rows::PURGE_OAUTH_IDLE {
        purged += execute(c, sql, &[&idle_limit]).await.map_err(pg)?;
    }
    let kept = ms(now) - rows::SUPERSEDED_REFRESH_KEPT_MS;
    purged += execute(c, rows::PURGE_SUPERSEDED_REFRESH, &[&kept]).await.map_err(pg)?;
    Ok(purged)
}
