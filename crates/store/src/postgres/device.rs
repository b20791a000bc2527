//! Queries for OAuth device authorizations. Decisions and redemptions carry
//! their rule in the `WHERE` of the `UPDATE`, so concurrent polls on several
//! nodes redeem an approval once.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::sql::{execute, pg, query_opt};
use super::tokens::{insert_token_row, load_token};
use crate::poll::{self, PollStep};
use crate::rows::{self, DEVICE_COLUMNS, ms};
use crate::{
    Actor, DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, DeviceStatus, FailureWindow,
    NewDeviceAuthorization, StoreError, StoreResult, UseLimit,
};

async fn by_id(c: &impl GenericClient, id: &str) -> StoreResult<Option<DeviceAuthorization>> {
    let row =
        query_opt(c, &format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = $1"), &[&id]).await?;
    Ok(row.map(|r| rows::device(&r)).transpose()?.map(|(device, _)| device))
}

/// Stores a new authorization.
pub(super) async fn create(c: &impl GenericClient, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
    let stored = insert(c, new, None).await?;
    stored.map_err(|_| StoreError::Backend("an uncounted authorization was refused".into()))
}

/// Counts the use against `limit` and, within it, stores the authorization:
/// one statement, so one round trip and atomic (a user-code collision
/// fails it whole, count included).
pub(super) async fn create_counted(
    c: &impl GenericClient,
    new: NewDeviceAuthorization,
    limit: UseLimit,
) -> StoreResult<Result<DeviceAuthorization, FailureWindow>> {
    insert(c, new, Some(limit)).await
}

const INSERT_COLUMNS: &str = "INSERT INTO device_authorizations (id, device_code_hash, user_code, client_id, scopes, \
     chatbot_ids, token_name, status, created_at, expires_at, interval_secs)";

async fn insert(
    c: &impl GenericClient,
    new: NewDeviceAuthorization,
    limit: Option<UseLimit>,
) -> StoreResult<Result<DeviceAuthorization, FailureWindow>> {
    let (scopes, chatbots) = (new.scopes.to_space_separated(), new.chatbots.ids().join(" "));
    let (created_at, expires_at) = (ms(new.now), ms(new.expires_at));
    let values: [&(dyn ToSql + Sync); 10] = [
        &new.id,
        &&new.device_code_hash[..],
        &new.user_code,
        &new.client_id,
        &scopes,
        &chatbots,
        &new.token_name,
        &created_at,
        &expires_at,
        &new.interval_secs,
    ];
    let Some(limit) = limit else {
        let sql = format!("{INSERT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)");
        execute(c, &sql, &values).await.map_err(in_use)?;
        return Ok(Ok(new.into_stored()));
    };
    let sql = format!(
        "WITH counted AS ({count}), created AS (\
           {INSERT_COLUMNS} \
           SELECT $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, $14 FROM counted WHERE counted.count <= $4 \
           RETURNING id) \
         SELECT counted.window_start, counted.count, EXISTS (SELECT 1 FROM created) FROM counted",
        count = rows::COUNT_FAILURE
    );
    let (key, now, over, max) = (&limit.key[..], ms(limit.now), ms(limit.now - limit.window), i64::from(limit.max));
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&key, &now, &over, &max];
    params.extend(values);
    let statement = c.prepare_cached(&sql).await.map_err(pg)?;
    let row = c.query_one(&statement, &params).await.map_err(in_use)?;
    let created: bool = row.try_get(2).map_err(pg)?;
    if created { Ok(Ok(new.into_stored())) } else { Ok(Err(rows::failure_window(&row)?)) }
}

fn in_use(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict("user code or device code in use".into())
    } else {
        pg(e)
    }
}

pub(super) async fn by_user_code(c: &impl GenericClient, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
    let row = query_opt(
        c,
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE user_code = $1 \
             ORDER BY status = 'pending' DESC, created_at DESC, id DESC LIMIT 1"
        ),
        &[&user_code],
    )
    .await?;
    Ok(row.map(|r| rows::device(&r)).transpose()?.map(|(device, _)| device))
}

pub(super) async fn decide(
    tx: &impl GenericClient,
    id: &str,
    decision: DeviceDecision,
    now: DateTime<Utc>,
) -> StoreResult<DeviceAuthorization> {
    let row =
        query_opt(tx, &format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = $1 FOR UPDATE"), &[&id])
            .await?
            .ok_or(StoreError::NotFound)?;
    let (current, _) = rows::device(&row)?;
    if current.status != DeviceStatus::Pending {
        return Err(StoreError::Conflict(format!("this request was already {}", current.status.as_str())));
    }
    if now >= current.expires_at {
        return Err(StoreError::Conflict("this request has expired".into()));
    }
    match decision {
        DeviceDecision::Approve { user_id, account_id } => execute(
            tx,
            "UPDATE device_authorizations SET status = 'approved', user_id = $2, account_id = $3, decided_at = $4 \
             WHERE id = $1 AND status = 'pending'",
            &[&id, &user_id, &account_id, &ms(now)],
        )
        .await
        .map_err(pg)?,
        DeviceDecision::Deny => execute(
            tx,
            "UPDATE device_authorizations SET status = 'denied', decided_at = $2 WHERE id = $1 AND status = 'pending'",
            &[&id, &ms(now)],
        )
        .await
        .map_err(pg)?,
    };
    by_id(tx, id).await?.ok_or(StoreError::NotFound)
}

/// The authorization `id` if `hash` is its device code's, and when it was
/// last polled (found by the primary key; the hash has no index).
pub(super) async fn by_code(
    c: &impl GenericClient,
    id: &str,
    hash: &[u8; 32],
) -> StoreResult<Option<(DeviceAuthorization, Option<DateTime<Utc>>)>> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = $1 AND device_code_hash = $2");
    query_opt(c, &sql, &[&id, &&hash[..]]).await?.map(|row| rows::device(&row)).transpose()
}

pub(super) async fn poll(tx: &impl GenericClient, poll: DevicePoll, by: &Actor) -> StoreResult<DevicePollOutcome> {
    // The row lock orders concurrent polls of one code: the second sees what
    // the first wrote (its redemption, or its `last_poll_at`).
    let found = query_opt(
        tx,
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = $1 AND device_code_hash = $2 FOR UPDATE"
        ),
        &[&poll.device_id, &&poll.device_code_hash[..]],
    )
    .await?;
    let Some(row) = found else { return Ok(DevicePollOutcome::Unknown) };
    let (device, last_poll_at) = rows::device(&row)?;
    let (id, now) = (device.id.clone(), poll.now);
    match poll::step(device, last_poll_at, poll)? {
        PollStep::Answer(outcome) => Ok(outcome),
        PollStep::Redeem(token) => {
            let changed = execute(
                tx,
                "UPDATE device_authorizations SET status = 'redeemed', token_id = $2 WHERE id = $1 AND status = 'approved'",
                &[&id, &token.id],
            )
            .await
            .map_err(pg)?;
            if changed != 1 {
                return Ok(DevicePollOutcome::AlreadyRedeemed);
            }
            insert_token_row(tx, &token, Some(by)).await?;
            let record = load_token(tx, &token.id).await?.ok_or(StoreError::NotFound)?;
            Ok(DevicePollOutcome::Issued(Box::new(record)))
        }
        PollStep::Wait { interval_secs, slow_down } => {
            execute(
                tx,
                "UPDATE device_authorizations SET last_poll_at = $2, interval_secs = $3 WHERE id = $1",
                &[&id, &ms(now), &interval_secs],
            )
            .await
            .map_err(pg)?;
            Ok(PollStep::waiting(interval_secs, slow_down))
        }
    }
}
