//! Schema migrations, tracked in `PRAGMA user_version`. Each runs in its own
//! immediate transaction that re-reads the version, so two processes starting
//! on the same file apply each migration once.

use rusqlite::{Connection, TransactionBehavior};

use super::pool::backend;
use crate::StoreResult;

/// Migrations in order; the version after applying entry `i` is `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_device_sessions.sql"),
    include_str!("0003_chatbots.sql"),
    include_str!("0004_chatbot_items.sql"),
    include_str!("0005_settings_conversations.sql"),
    include_str!("0006_team.sql"),
    include_str!("0007_invitations.sql"),
    include_str!("0008_rate_limits.sql"),
    include_str!("0009_whitelabel.sql"),
    include_str!("0010_mail_queue.sql"),
    include_str!("0011_oauth.sql"),
    include_str!("0012_password_resets.sql"),
    include_str!("0013_token_addresses.sql"),
    include_str!("0014_notices.sql"),
    include_str!("0015_audit.sql"),
    include_str!("0016_device_code_ids.sql"),
    include_str!("0017_user_codes_in_memory.sql"),
];

pub(crate) fn run(conn: &mut Connection) -> StoreResult<u32> {
    run_to(conn, MIGRATIONS.len())
}

/// Applies the first `last` migrations.
fn run_to(conn: &mut Connection, last: usize) -> StoreResult<u32> {
    apply(conn, &MIGRATIONS[..last])
}

/// Applies `migrations` (a product's list, in order) that the file has not
/// had yet; returns the version reached.
pub(crate) fn apply(conn: &mut Connection, migrations: &[&str]) -> StoreResult<u32> {
    let last = migrations.len();
    for (index, sql) in migrations.iter().enumerate() {
        let version = u32::try_from(index + 1).expect("few migrations");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        if current < version {
            tx.execute_batch(sql).map_err(backend)?;
            tx.pragma_update(None, "user_version", version).map_err(backend)?;
            tracing::info!(version, "applied store migration");
        }
        tx.commit().map_err(backend)?;
    }
    Ok(u32::try_from(last).expect("few migrations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'device_authorizations' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").map(|name| name.expect("name")).collect()
    }

    /// Every column of every device authorization, one string per row.
    fn device_rows(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT id || quote(device_code_hash) || user_code || client_id || scopes || chatbot_ids || \
                 coalesce(token_name, '-') || status || created_at || expires_at || interval_secs || \
                 coalesce(last_poll_at, '-') || coalesce(user_id, '-') || coalesce(account_id, '-') || \
                 coalesce(decided_at, '-') || coalesce(token_id, '-') FROM device_authorizations ORDER BY id",
            )
            .expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").map(|row| row.expect("row")).collect()
    }

    #[test]
    fn device_authorizations_keep_their_rows_and_lose_the_code_hash_index() {
        let mut conn = Connection::open_in_memory().expect("open");
        run_to(&mut conn, 15).expect("up to 15");
        conn.execute_batch(
            "INSERT INTO device_authorizations (id, device_code_hash, user_code, client_id, scopes, chatbot_ids, \
             token_name, status, created_at, expires_at, interval_secs, last_poll_at, decided_at, token_id) \
             VALUES ('dev_a', x'01', 'BCDFGHJK', 'sitegpt-cli', 'account:read', 'cb_1', 'laptop', 'redeemed', \
             1, 2, 5, 3, 4, 'tok_1'), \
             ('dev_b', x'02', 'BCDFGHJL', 'sitegpt-cli', 'account:read', '', NULL, 'pending', 1, 2, 10, NULL, NULL, NULL)",
        )
        .expect("rows of version 15");
        let before = device_rows(&conn);
        assert!(indexes(&conn).iter().any(|name| name.starts_with("sqlite_autoindex")), "{:?}", indexes(&conn));
        run(&mut conn).expect("the rest");
        let after = device_rows(&conn);
        assert_eq!(before, after);
        assert_eq!(before.len(), 2);
        // Rows from before the map of user codes in memory stay indexed.
        let indexed: i64 = conn
            .query_row("SELECT count(*) FROM device_authorizations WHERE user_code_indexed = 1", [], |r| r.get(0))
            .expect("count");
        assert_eq!(indexed, 2);
        // The primary key's index, user codes, expiry: no index on the hash.
        assert_eq!(
            indexes(&conn),
            [
                "device_authorizations_by_expiry",
                "device_authorizations_by_user_code",
                "sqlite_autoindex_device_authorizations_1"
            ]
        );
    }
}
