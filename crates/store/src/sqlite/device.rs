//! Queries for OAuth device authorizations.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::pool::backend;
use super::sql::is_unique_violation;
use super::tokens::{insert_token_row, load_token};
use super::user_codes::UserCodes;
use crate::poll::{self, PollStep};
use crate::rows::{self, DEVICE_COLUMNS, ms};
use crate::{
    Actor, DeviceAuthorization, DeviceDecision, DevicePoll, DevicePollOutcome, DeviceStatus, NewDeviceAuthorization,
    StoreError, StoreResult,
};

/// The queries' text, each naming every column: built once, not per call
/// (the statement cache is looked up by it).
static BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = ?1"));
static BY_CODE: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE id = ?1 AND device_code_hash = ?2")
});
/// The newest with a user code in the index; with one among all rows (a
/// scan, for handles other than the server's).
static NEWEST_INDEXED: LazyLock<String> =
    LazyLock::new(|| newest_sql("WHERE user_code = ?1 AND user_code_indexed = 1"));
static NEWEST_ANY: LazyLock<String> = LazyLock::new(|| newest_sql("WHERE user_code = ?1"));

fn by_id(conn: &Connection, id: &str) -> StoreResult<Option<DeviceAuthorization>> {
    conn.prepare_cached(&BY_ID)
        .and_then(|mut stmt| stmt.query_row([id], |r| rows::device(r)).optional())
        .map(|found| found.map(|(device, _)| device))
        .map_err(backend)
}

/// Stores a pending authorization. A user code is unique among pending
/// ones: checked here, under the write lock every SQLite write holds. On
/// the serving handle the code is held in `codes` (in memory) if there is
/// room; otherwise its row goes into the user-code index.
pub(super) fn create(
    tx: &Connection,
    new: NewDeviceAuthorization,
    codes: Option<&UserCodes>,
) -> StoreResult<DeviceAuthorization> {
    if by_user_code(tx, &new.user_code, codes)?.is_some_and(|held| held.status == DeviceStatus::Pending) {
        return Err(in_use());
    }
    let in_memory = codes.is_some_and(|codes| codes.hold(&new.user_code, &new.id, new.expires_at));
    tx.prepare_cached(
        "INSERT INTO device_authorizations (id, device_code_hash, user_code, client_id, scopes, chatbot_ids, \
         token_name, status, created_at, expires_at, interval_secs, user_code_indexed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11)",
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
            !in_memory,
        ])
    })
    .map_err(|e| {
        if let (true, Some(codes)) = (in_memory, codes) {
            codes.release(&new.user_code, &new.id);
        }
        if is_unique_violation(&e) { in_use() } else { backend(e) }
    })?;
    Ok(new.into_stored())
}

fn in_use() -> StoreError {
    StoreError::Conflict("user code or device id in use".into())
}

/// The authorization a person means by `user_code`: the pending one if
/// there is one, else the newest. The serving handle asks its map in memory
/// and the index (rows past the map's bound, from before it, or written by
/// other handles) and keeps the better; other handles read every row.
pub(super) fn by_user_code(
    conn: &Connection,
    user_code: &str,
    codes: Option<&UserCodes>,
) -> StoreResult<Option<DeviceAuthorization>> {
    let Some(codes) = codes else { return newest(conn, &NEWEST_ANY, user_code) };
    let held = match codes.holder(user_code) {
        Some(id) => by_id(conn, &id)?.filter(|device| device.user_code == user_code),
        None => None,
    };
    let indexed = newest(conn, &NEWEST_INDEXED, user_code)?;
    Ok(held.into_iter().chain(indexed).max_by(|a, b| {
        let rank = |d: &DeviceAuthorization| (d.status == DeviceStatus::Pending, d.created_at);
        rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id))
    }))
}

fn newest(conn: &Connection, sql: &str, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row([user_code], |r| rows::device(r)).optional())
        .map(|found| found.map(|(device, _)| device))
        .map_err(backend)
}

fn newest_sql(filter: &str) -> String {
    format!(
        "SELECT {DEVICE_COLUMNS} FROM device_authorizations {filter} \
         ORDER BY status = 'pending' DESC, created_at DESC, id DESC LIMIT 1"
    )
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
    conn.prepare_cached(&BY_CODE)
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

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use sitegpt_access::id::{IdKind, new_sorted_id};
    use sitegpt_access::{AccessLevel, ChatbotRestriction};

    use super::*;

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        super::super::migrations::run(&mut conn).expect("migrations");
        conn
    }

    fn new(user_code: &str, now: DateTime<Utc>) -> NewDeviceAuthorization {
        NewDeviceAuthorization {
            id: new_sorted_id(IdKind::Device),
            device_code_hash: [7; 32],
            user_code: user_code.into(),
            client_id: "sitegpt-cli".into(),
            scopes: AccessLevel::Standard.scopes(),
            chatbots: ChatbotRestriction::unrestricted(),
            token_name: None,
            now,
            expires_at: now + Duration::minutes(10),
            interval_secs: 5,
        }
    }

    fn indexed(conn: &Connection, id: &str) -> bool {
        conn.query_row("SELECT user_code_indexed FROM device_authorizations WHERE id = ?1", [id], |r| r.get(0))
            .expect("row")
    }

    fn found(conn: &Connection, code: &str, codes: &UserCodes) -> Option<(String, DeviceStatus)> {
        by_user_code(conn, code, Some(codes)).expect("lookup").map(|device| (device.id, device.status))
    }

    #[test]
    fn codes_in_memory_and_in_the_index_are_found_alike() {
        let conn = database();
        let codes = UserCodes::bounded(1);
        let now = Utc::now();
        let a = create(&conn, new("XXXXXXXX", now), Some(&codes)).expect("a");
        assert!(!indexed(&conn, &a.id), "held in memory, out of the index");
        let b = create(&conn, new("YYYYYYYY", now), Some(&codes)).expect("b");
        assert!(indexed(&conn, &b.id), "memory full: indexed");
        assert_eq!(found(&conn, "XXXXXXXX", &codes), Some((a.id.clone(), DeviceStatus::Pending)));
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((b.id.clone(), DeviceStatus::Pending)));
        assert_eq!(found(&conn, "ZZZZZZZZ", &codes), None);

        // A pending code is refused wherever it is kept.
        for code in ["XXXXXXXX", "YYYYYYYY"] {
            let refused = create(&conn, new(code, now), Some(&codes));
            assert!(matches!(refused, Err(StoreError::Conflict(_))), "{code}: {refused:?}");
        }

        // Decided, a code is free again; a held code changes hands in
        // memory, full or not, and the new holder is the one found.
        decide(&conn, &a.id, DeviceDecision::Deny, now).expect("deny a");
        decide(&conn, &b.id, DeviceDecision::Deny, now).expect("deny b");
        let later = now + Duration::seconds(1);
        let c = create(&conn, new("XXXXXXXX", later), Some(&codes)).expect("c");
        assert!(!indexed(&conn, &c.id));
        assert_eq!(found(&conn, "XXXXXXXX", &codes), Some((c.id.clone(), DeviceStatus::Pending)));
        let d = create(&conn, new("YYYYYYYY", later), Some(&codes)).expect("d");
        assert!(indexed(&conn, &d.id));
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((d.id.clone(), DeviceStatus::Pending)));
        decide(&conn, &d.id, DeviceDecision::Deny, later).expect("deny d");
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((d.id.clone(), DeviceStatus::Denied)), "the newest");

        // Memory emptied (as by the sweep): a code indexed earlier and one
        // held now; the pending one wins, then the newer one.
        codes.sweep(later + Duration::days(1));
        let e = create(&conn, new("YYYYYYYY", later + Duration::seconds(1)), Some(&codes)).expect("e");
        assert!(!indexed(&conn, &e.id));
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((e.id.clone(), DeviceStatus::Pending)));
        decide(&conn, &e.id, DeviceDecision::Deny, later).expect("deny e");
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((e.id, DeviceStatus::Denied)));
    }

    #[test]
    fn a_pending_code_in_the_index_keeps_a_new_holder_out_of_memory() {
        let conn = database();
        let codes = UserCodes::bounded(0);
        let now = Utc::now();
        let a = create(&conn, new("XXXXXXXX", now), Some(&codes)).expect("a");
        assert!(indexed(&conn, &a.id));
        let roomy = UserCodes::default();
        assert!(matches!(create(&conn, new("XXXXXXXX", now), Some(&roomy)), Err(StoreError::Conflict(_))));
        assert_eq!(roomy.holder("XXXXXXXX"), None, "nothing held for a refused authorization");
    }

    #[test]
    fn the_map_is_rebuilt_from_the_rows_and_what_does_not_fit_is_indexed() {
        let mut conn = database();
        let codes = UserCodes::default();
        let now = Utc::now();
        let old = create(&conn, new("XXXXXXXX", now), Some(&codes)).expect("old");
        decide(&conn, &old.id, DeviceDecision::Deny, now).expect("deny");
        let newer = create(&conn, new("XXXXXXXX", now + Duration::seconds(1)), Some(&codes)).expect("newer");
        let other = create(&conn, new("YYYYYYYY", now + Duration::seconds(2)), Some(&codes)).expect("other");

        // A restart: the newest holder of each code is held again.
        let reopened = UserCodes::default();
        reopened.load(&mut conn).expect("load");
        assert_eq!(reopened.holder("XXXXXXXX"), Some(newer.id.clone()));
        assert_eq!(reopened.holder("YYYYYYYY"), Some(other.id.clone()));

        // With less room than rows, the rest go into the index and are
        // found there.
        let small = UserCodes::bounded(1);
        small.load(&mut conn).expect("load");
        assert_eq!(small.holder("XXXXXXXX"), Some(newer.id.clone()));
        assert!(indexed(&conn, &other.id));
        assert!(!indexed(&conn, &newer.id));
        assert_eq!(found(&conn, "YYYYYYYY", &small), Some((other.id, DeviceStatus::Pending)));
        assert_eq!(found(&conn, "XXXXXXXX", &small), Some((newer.id, DeviceStatus::Pending)));
    }

    /// Handles other than the server's (admin commands) keep nothing in
    /// memory: they find the server's rows by reading every row, and index
    /// what they write, so the server finds it.
    #[test]
    fn other_handles_read_every_row_and_index_what_they_write() {
        let conn = database();
        let codes = UserCodes::default();
        let now = Utc::now();
        let served = create(&conn, new("XXXXXXXX", now), Some(&codes)).expect("by the server");
        assert_eq!(by_user_code(&conn, "XXXXXXXX", None).expect("lookup").map(|d| d.id), Some(served.id));
        assert!(matches!(create(&conn, new("XXXXXXXX", now), None), Err(StoreError::Conflict(_))), "pending");
        let other = create(&conn, new("YYYYYYYY", now), None).expect("by another handle");
        assert!(indexed(&conn, &other.id));
        assert_eq!(found(&conn, "YYYYYYYY", &codes), Some((other.id, DeviceStatus::Pending)));
        assert!(matches!(create(&conn, new("YYYYYYYY", now), Some(&codes)), Err(StoreError::Conflict(_))));
    }

    #[test]
    fn the_index_lookup_uses_the_partial_index() {
        let conn = database();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", *NEWEST_INDEXED))
            .expect("prepare")
            .query_map(["XXXXXXXX"], |r| r.get(3))
            .expect("plan")
            .map(|line| line.expect("line"))
            .collect();
        assert!(plan.iter().any(|line| line.contains("USING INDEX device_authorizations_by_user_code")), "{plan:?}");
    }
}
