//! SitePulse's OAuth grants on PostgreSQL. The statements that touch only
//! the clients, grants and refresh tokens are SiteGPT's (the tables are laid
//! out alike); what issues and revokes tokens is SitePulse's. Codes and
//! refresh tokens are used by an `UPDATE` that carries the rule in its
//! `WHERE`, so concurrent uses on several nodes redeem a code once, and the
//! loser of a race sees the code used (and revokes the grant).

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use sitegpt_access::oauth::ResourceKind;

use crate::postgres::oauth::{code_use, refresh_use};
use crate::postgres::pulse::tokens::{insert_token, load_token};
use crate::postgres::sql::{Db, all, bump_epoch, constraint, execute, pg, query, query_opt};
use crate::pulse::rows::{self as pulse_rows, GRANT_SELECT};
use crate::pulse::{NewPulseGrant, PulseGrant, PulseGrantIssue, PulseTokenRecord};
use crate::rows::{self, Cells, GrantUse, ms};
use crate::{RedeemOutcome, RefreshOutcome, StoreError, StoreResult};

pub(super) async fn create_grant(db: &Db, grant: NewPulseGrant) -> StoreResult<String> {
    let id = sitegpt_access::id::new_prefixed_id("grt_");
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    execute(
        &tx,
        pulse_rows::INSERT_GRANT,
        &[
            &id,
            &grant.client_id,
            &grant.user_id,
            &grant.scopes.to_space_separated(),
            &grant.resource.as_str(),
            &grant.redirect_uri,
            &&grant.code_hash[..],
            &grant.code_challenge,
            &ms(grant.code_expires_at),
            &ms(grant.now),
        ],
    )
    .await
    .map_err(constraint("a grant with this code already exists"))?;
    execute(&tx, rows::TOUCH_CLIENT, &[&grant.client_id, &ms(grant.now)]).await.map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(id)
}

async fn grant_where(c: &impl GenericClient, clause: &str, hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
    query_opt(c, &format!("{GRANT_SELECT}{clause}"), &[&&hash[..]]).await?.map(|r| pulse_rows::grant(&r)).transpose()
}

pub(super) async fn grant_by_code(db: &Db, code_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
    grant_where(&db.client().await?, " WHERE g.code_hash = $1", code_hash).await
}

pub(super) async fn grant_by_refresh(db: &Db, refresh_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
    let clause = " JOIN oauth_refresh_tokens r ON r.grant_id = g.id WHERE r.hash = $1";
    grant_where(&db.client().await?, clause, refresh_hash).await
}

/// Stores the access token and the next refresh token of a grant that may
/// issue them, and marks the grant and its client used.
async fn issue(tx: &impl GenericClient, grant_id: &str, issue: &PulseGrantIssue) -> StoreResult<PulseTokenRecord> {
    let now = ms(issue.token.created_at);
    let row = query_opt(tx, rows::TOUCH_GRANT, &[&grant_id, &now]).await?.ok_or(StoreError::NotFound)?;
    let (resource, client_id) = (row.text(0)?, row.text(1)?);
    execute(tx, rows::TOUCH_CLIENT, &[&client_id, &now]).await.map_err(pg)?;
    let token = insert_token(tx, &issue.token).await?;
    execute(tx, pulse_rows::SET_TOKEN_GRANT, &[&token.id, &grant_id, &resource]).await.map_err(pg)?;
    execute(tx, rows::INSERT_REFRESH, &[&&issue.refresh_hash[..], &grant_id, &now])
        .await
        .map_err(constraint("the refresh token already exists"))?;
    load_token(tx, &token.id).await?.ok_or(StoreError::NotFound)
}

/// Revokes a grant (of `user_id`, when given) and its tokens (the caller
/// bumps this node's epoch after the commit).
async fn revoke(tx: &impl GenericClient, grant_id: &str, user_id: Option<&str>, now: i64) -> StoreResult<()> {
    let found = execute(tx, rows::REVOKE_GRANT, &[&grant_id, &now, &user_id]).await.map_err(pg)?;
    if found == 0 {
        return Err(StoreError::NotFound);
    }
    execute(tx, pulse_rows::REVOKE_GRANT_TOKENS, &[&grant_id, &now]).await.map_err(pg)?;
    bump_epoch(tx).await
}

pub(super) async fn redeem_code(
    db: &Db,
    code_hash: [u8; 32],
    grant_issue: PulseGrantIssue,
) -> StoreResult<RedeemOutcome<PulseTokenRecord>> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = ms(grant_issue.token.created_at);
    let outcome = match code_use(&tx, code_hash, now).await? {
        GrantUse::Issue(id) => RedeemOutcome::Issued(Box::new(issue(&tx, &id, &grant_issue).await?)),
        GrantUse::Revoke(id) => {
            revoke(&tx, &id, None, now).await?;
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
    grant_issue: PulseGrantIssue,
    grace: Duration,
    idle: Duration,
) -> StoreResult<RefreshOutcome<PulseTokenRecord>> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = grant_issue.token.created_at;
    let outcome = match refresh_use(&tx, refresh_hash, now, grace, idle).await? {
        GrantUse::Issue(id) => RefreshOutcome::Issued(Box::new(issue(&tx, &id, &grant_issue).await?)),
        GrantUse::Revoke(id) => {
            revoke(&tx, &id, None, ms(now)).await?;
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

pub(super) async fn grants_of(db: &Db, user_id: &str) -> StoreResult<Vec<PulseGrant>> {
    let found = query(&db.client().await?, &format!("{GRANT_SELECT}{}", rows::USER_GRANTS), &[&user_id]).await?;
    all(found, pulse_rows::grant)
}

pub(super) async fn revoke_grant(db: &Db, user_id: &str, grant_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    revoke(&tx, grant_id, Some(user_id), ms(at)).await?;
    tx.commit().await.map_err(pg)?;
    db.epoch.bump();
    Ok(())
}
