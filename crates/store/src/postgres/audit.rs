//! The audit log: an event written inside the transaction of its change,
//! events that change nothing else, the listing, and the retention purge.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::sql::{Db, all, execute, pg, query};
use crate::rows::{self, cursor_params, ms};
use crate::{AuditEvent, AuditQuery, StoreResult};

/// The listing, its parameters typed for PostgreSQL.
static LIST: LazyLock<String> = LazyLock::new(|| {
    rows::audit_list_sql(Some(&[
        "text", "text", "boolean", "text", "text", "text", "bigint", "bigint", "bigint", "text", "bigint",
    ]))
});

/// Writes `event` with the transaction `tx` is in.
pub(super) async fn insert(tx: &impl GenericClient, event: &AuditEvent) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO audit_events (id, at, account_id, action, actor_user_id, actor_token_id, actor_service, \
         user_id, token_id, target_id, ip, user_agent, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &event.id,
            &ms(event.at),
            &event.account_id,
            &event.action.as_str(),
            &event.actor_user_id,
            &event.actor_token_id,
            &event.actor_service,
            &event.user_id,
            &event.token_id,
            &event.target_id,
            &event.ip,
            &event.user_agent,
            &event.details_json(),
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub(super) async fn record(db: &Db, event: AuditEvent) -> StoreResult<()> {
    insert(&db.client().await?, &event).await
}

pub(super) async fn list(db: &Db, q: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
    let client = db.client().await?;
    let (after_at, after_id) = cursor_params(&q.after);
    let found = query(
        &client,
        &LIST,
        &[
            &q.account_id,
            &q.viewer,
            &q.everyone,
            &q.user_id,
            &q.token_id,
            &q.action,
            &q.since.map(ms),
            &q.until.map(ms),
            &after_at,
            &after_id,
            &rows::limit(q.limit),
        ],
    )
    .await?;
    all(found, rows::audit_event)
}

pub(super) async fn purge(db: &Db, before: DateTime<Utc>) -> StoreResult<u64> {
    execute(&db.client().await?, "DELETE FROM audit_events WHERE at < $1", &[&ms(before)]).await.map_err(pg)
}
