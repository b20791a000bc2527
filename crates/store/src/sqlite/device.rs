//! Queries for OAuth device authorizations.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sitegpt_access::CreatedVia;

use super::pool::backend;
use super::{insert_token_row, is_unique_violation, load_token, ms};
use crate::rows::{self, DEVICE_COLUMNS};
use crate::{
    DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, DeviceStatus, NewDeviceAuthorization, NewToken,
    StoreError, StoreResult,
};

fn by_id(conn: &Connection, id: &str) -> StoreResult<Option<DeviceAuthorization>> {
    conn.prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], |r| rows::device(r)).optional())
        .map(|found| found.map(|(device, _)| device))
        .map_err(backend)
}

pub(super) fn create(tx: &Connection, new: NewDeviceAuthorization) -> StoreResult<DeviceAuthorization> {
    tx.execute(
        "INSERT INTO device_authorizations (id, device_code_hash, user_code, client_id, scopes, chatbot_ids, \
         token_name, status, created_at, expires_at, interval_secs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10)",
        params![
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
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("user code or device code in use".into())
        } else {
            backend(e)
        }
    })?;
    by_id(tx, &new.id)?.ok_or(StoreError::NotFound)
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

pub(super) fn poll(tx: &Connection, poll: DevicePoll) -> StoreResult<DevicePollOutcome> {
    let found = tx
        .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE device_code_hash = ?1"))
        .and_then(|mut stmt| stmt.query_row([&poll.device_code_hash[..]], |r| rows::device(r)).optional())
        .map_err(backend)?;
    let Some((device, last_poll_at)) = found else { return Ok(DevicePollOutcome::Unknown) };
    if device.client_id != poll.client_id {
        return Ok(DevicePollOutcome::WrongClient);
    }
    match device.status {
        DeviceStatus::Redeemed => return Ok(DevicePollOutcome::AlreadyRedeemed),
        DeviceStatus::Denied => return Ok(DevicePollOutcome::Denied),
        _ if poll.now >= device.expires_at => return Ok(DevicePollOutcome::Expired),
        DeviceStatus::Approved => {
            let (Some(user_id), Some(account_id)) = (device.user_id.clone(), device.account_id.clone()) else {
                return Err(StoreError::Backend("approved device authorization without a user".into()));
            };
            let changed = tx
                .execute(
                    "UPDATE device_authorizations SET status = 'redeemed', token_id = ?2 \
                     WHERE id = ?1 AND status = 'approved'",
                    params![device.id, poll.token_id],
                )
                .map_err(backend)?;
            if changed != 1 {
                return Ok(DevicePollOutcome::AlreadyRedeemed);
            }
            insert_token_row(
                tx,
                &NewToken {
                    id: poll.token_id.clone(),
                    account_id,
                    user_id,
                    name: device.token_name.clone().unwrap_or(poll.default_name),
                    hash: poll.token_hash,
                    hint: poll.token_hint,
                    scopes: device.scopes,
                    chatbots: device.chatbots,
                    created_via: CreatedVia::CliDevice,
                    now: poll.now,
                    expires_at: poll.token_expires_at,
                },
            )?;
            let record = load_token(tx, &poll.token_id)?.ok_or(StoreError::NotFound)?;
            return Ok(DevicePollOutcome::Issued(Box::new(record)));
        }
        DeviceStatus::Pending => {}
    }
    let too_soon = last_poll_at.is_some_and(|last| poll.now < last + Duration::seconds(device.interval_secs));
    let interval = if too_soon { device.interval_secs + 5 } else { device.interval_secs };
    tx.execute(
        "UPDATE device_authorizations SET last_poll_at = ?2, interval_secs = ?3 WHERE id = ?1",
        params![device.id, ms(poll.now), interval],
    )
    .map_err(backend)?;
    Ok(if too_soon { DevicePollOutcome::SlowDown { interval_secs: interval } } else { DevicePollOutcome::Pending })
}
