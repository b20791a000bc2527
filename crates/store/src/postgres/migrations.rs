//! Schema migrations, recorded in `sitegpt_migrations`. All pending ones run
//! in one transaction under an advisory lock, so nodes starting together
//! apply each once, and a failed migration leaves nothing half-done
//! (PostgreSQL's DDL is transactional).

use super::sql::pg;
use crate::StoreResult;

/// A product's migrations: where they are recorded, the list, the lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    pub(crate) table: &'static str,
    pub(crate) list: &'static [&'static str],
    pub(crate) lock_key: i64,
}

/// Migrations in order; entry `i` is version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_rate_limits.sql"),
    include_str!("0003_whitelabel.sql"),
    include_str!("0004_mail_queue.sql"),
    include_str!("0005_oauth.sql"),
    include_str!("0006_password_resets.sql"),
    include_str!("0007_token_addresses.sql"),
    include_str!("0008_notices.sql"),
    include_str!("0009_audit.sql"),
    include_str!("0010_device_code_ids.sql"),
];

/// An arbitrary constant naming the migration lock.
pub(crate) const LOCK_KEY: i64 = 0x5347_5054_4d49_4752;

pub(crate) async fn run(client: &mut tokio_postgres::Client) -> StoreResult<i64> {
    apply(client, "sitegpt_migrations", MIGRATIONS, LOCK_KEY).await
}

/// Applies the `migrations` (a product's list, in order) not yet recorded in
/// `table`, in one transaction under the advisory lock `lock_key`; returns
/// the version reached.
pub(crate) async fn apply(
    client: &mut tokio_postgres::Client,
    table: &str,
    migrations: &[&str],
    lock_key: i64,
) -> StoreResult<i64> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key]).await.map_err(pg)?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
    ))
    .await
    .map_err(pg)?;
    let current: i64 =
        tx.query_one(&format!("SELECT coalesce(max(version), 0) FROM {table}"), &[]).await.map_err(pg)?.get(0);
    for (index, sql) in migrations.iter().enumerate() {
        let version = i64::try_from(index + 1).expect("few migrations");
        if version > current {
            tx.batch_execute(sql).await.map_err(pg)?;
            tx.execute(
                &format!(
                    "INSERT INTO {table} (version, applied_at) VALUES ($1, (extract(epoch FROM now()) * 1000)::bigint)"
                ),
                &[&version],
            )
            .await
            .map_err(pg)?;
            tracing::info!(version, table, "applied store migration");
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(i64::try_from(migrations.len()).expect("few migrations"))
}
