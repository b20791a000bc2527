//! The audit log: an event written inside the transaction of its change,
//! events that change nothing else, the listing, and the retention purge.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::pool::{Pool, backend};
use crate::rows::{self, cursor_params, ms};
use crate::{AuditEvent, AuditQuery, StoreResult};

/// Writes `event` with the transaction `tx` is in.
pub(super) fn insert(tx: &Connection, event: &AuditEvent) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO audit_events (id, at, account_id, action, actor_user_id, actor_token_id, actor_service, \
         user_id, token_id, target_id, ip, user_agent, details) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            event.id,
            ms(event.at),
            event.account_id,
            event.action.as_str(),
            event.actor_user_id,
            event.actor_token_id,
            event.actor_service,
            event.user_id,
            event.token_id,
            event.target_id,
            event.ip,
            event.user_agent,
            event.details_json(),
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub(super) async fn record(pool: &Arc<Pool>, event: AuditEvent) -> StoreResult<()> {
    pool.write(move |tx| insert(tx, &event)).await
}

pub(super) async fn list(pool: &Arc<Pool>, q: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
    pool.read(move |conn| {
        let (after_at, after_id) = cursor_params(&q.after);
        let mut stmt = conn.prepare_cached(&rows::audit_list_sql(None)).map_err(backend)?;
        let found = stmt
            .query_map(
                params![
                    q.account_id,
                    q.viewer,
                    q.everyone,
                    q.user_id,
                    q.token_id,
                    q.action,
                    q.since.map(ms),
                    q.until.map(ms),
                    after_at,
                    after_id,
                    rows::limit(q.limit)
                ],
                |r| rows::audit_event(r),
            )
            .map_err(backend)?;
        found.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn purge(pool: &Arc<Pool>, before: DateTime<Utc>) -> StoreResult<u64> {
    pool.write(move |tx| {
        let gone = tx.execute("DELETE FROM audit_events WHERE at < ?1", [ms(before)]).map_err(backend)?;
        Ok(u64::try_from(gone).unwrap_or(u64::MAX))
    })
    .await
}
