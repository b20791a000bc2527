//! Queries for OAuth device authorizations.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::pool::backend;
use super::sql::is_unique_violation;
use super::tokens::{insert_token_row, load_token};
use crate::poll::{self, PollStep};
use crate::rows::{self, DEVICE_COLUMNS, ms};
use crate::{
    Actor, DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, DeviceStatus, NewDeviceAuthorization,
    StoreError, StoreResult,
};

fn by_id(conn: &Connection, id: &str) -> StoreResult<Option<DeviceAuthorization>> {
    conn.prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], |r| rows::device(r)).optional())
        .map(|found| found.map(|(device, _)| device))
        .map_err(backend)
}

/// Stores a pending authorization. A user code is unique among pending
/// ones: checked here, under the write lock every SQLite write holds, so the
/// one index on user codes serves lookups and the check. (A separate read
/// first: `INSERT … SELECT … WHERE NOT EXISTS` on the same table would copy
/// its row through a temporary table.)
pub(super) fn create(tx: &Connection, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
    let taken = tx
        .prepare_cached("SELECT 1 FROM device_authorizations WHERE user_code = ?1 AND status = 'pending' LIMIT 1")
        .and_then(|mut stmt| stmt.exists([&new.user_code]))
        .map_err(backend)?;
    if taken {
        return Err(in_use());
    }
    tx.prepare_cached(
        "INSERT INTO device_authorizations (id, device_code_hash, user_code, client_id, scopes, chatbot_ids, \
         token_name, status, created_at, expires_at, interval_secs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.id,
            &new.device_code_hash[..],
            new.user_code,
            new.client_id,
            new.scopes.to_space_separated(),
            new.chatbots.ids().join(" "),
            new.token_name,
            ms(new.now),
            ms(new.expires_at),
            new.interval_secs,
        ])
    })
    .map_err(|e| if is_unique_violation(&e) { in_use() } else { backend(e) })?;
    Ok(new.into_stored())
}

fn in_use() -> StoreError {
    StoreError::Conflict("user code or device id in use".into())
}

pub(super) fn by_user_code(conn: &Connection, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
    conn.prepare_cached(&format!(
        "SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE user_code = ?1 ORDER BY status = 'pending' DESC, created_at DESC, id DESC LIMIT 1"
    ))
    .and_then(|mut stmt| stmt.query_row([user_code], |r| rows::device(r)).optional())
    .map(|found| found.map(|(device, _)| device))
    .map_err(backend)
}

pub(super) fn decide(
    tx: &Connection,
    id: &str,
    decision: DeviceDecision,
    now: DateTime<Utc>,
) -> StoreResult<DeviceAuthorization> {
    let current = by_id(tx, id)?.ok_or(StoreError::NotFound)?;
    if current.status != DeviceStatus::Pending {
        return Err(StoreError::Conflict(format!("this request was already {}", current.status.as_str())));
    }
    if now >= current.expires_at {
        return Err(StoreError::Conflict("this request has expired".into()));
    }
    match decision {
        DeviceDecision::Approve { user_id, account_id } => tx.execute(
            "UPDATE device_authorizations SET status = 'approved', user_id = ?2, account_id = ?3, decided_at = ?4 \
             WHERE id = ?1 AND status = 'pending'",
            params![id, user_id, account_id, ms(now)],
        ),
        DeviceDecision::Deny => tx.execute(
            "UPDATE device_authorizations SET status = 'denied', decided_at = ?2 WHERE id = ?1 AND status = 'pending'",
            params![id, ms(now)],
        ),
    }
    .map_err(backend)?;
    by_id(tx, id)?.ok_or(StoreError::NotFound)
}

/// The authorization `id` if `hash` is its device code's, and when it was
/// last polled (found by the primary key; the hash has no index).
pub(super) fn by_code(
    conn: &Connection,
    id: &str,
    hash: &[u8; 32],
) -> StoreResult<Option<(DeviceAuthorization, Option<DateTime<Utc>>)>> {
    conn.prepare_cached(&format!(
        "SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = ?1 AND device_code_hash = ?2"
    ))
    .and_then(|mut stmt| stmt.query_row(params![id, &hash[..]], |r| rows::device(r)).optional())
    .map_err(backend)
}

pub(super) fn poll(tx: &Connection, poll: DevicePoll, by: &Actor) -> StoreResult<DevicePollOutcome> {
    let found = by_code(tx, &poll.device_id, &poll.device_code_hash)?;
    let Some((device, last_poll_at)) = found else { return Ok(DevicePollOutcome::Unknown) };
    let (id, now) = (device.id.clone(), poll.now);
    match poll::step(device, last_poll_at, poll)? {
        PollStep::Answer(outcome) => Ok(outcome),
        PollStep::Redeem(token) => {
            let changed = tx
                .execute(
                    "UPDATE device_authorizations SET status = 'redeemed', token_id = ?2 \
                     WHERE id = ?1 AND status = 'approved'",
                    params![id, token.id],
                )
                .map_err(backend)?;
            if changed != 1 {
                return Ok(DevicePollOutcome::AlreadyRedeemed);
            }
            insert_token_row(tx, &token, Some(by))?;
            let record = load_token(tx, &token.id)?.ok_or(StoreError::NotFound)?;
            Ok(DevicePollOutcome::Issued(Box::new(record)))
        }
        PollStep::Wait { interval_secs, slow_down } => {
            tx.execute(
                "UPDATE device_authorizations SET last_poll_at = ?2, interval_secs = ?3 WHERE id = ?1",
                params![id, ms(now), interval_secs],
            )
            .map_err(backend)?;
            Ok(PollStep::waiting(interval_secs, slow_down))
        }
    }
}
