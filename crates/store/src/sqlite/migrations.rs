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
];

pub(crate) fn run(conn: &mut Connection) -> StoreResult<u32> {
    for (index, sql) in MIGRATIONS.iter().enumerate() {
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
    Ok(u32::try_from(MIGRATIONS.len()).expect("few migrations"))
}
