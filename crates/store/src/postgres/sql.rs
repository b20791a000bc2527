//! What every area's statements share: the connection pool and node epoch
//! ([`Db`]), statement helpers, error mapping and row decoding. Imports
//! nothing from the areas.

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::rows::Cells;
use crate::{StoreError, StoreResult};
use deadpool_postgres::Pool;
use tokio_postgres::types::ToSql;

use super::listen::{CHANNEL, Epoch};
use super::tls;

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The connection pool and this node's epoch: what every area's methods use.
#[derive(Debug)]
pub(super) struct Db {
    pub(super) pool: Pool,
    pub(super) epoch: Arc<Epoch>,
}

impl Db {
    pub(super) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Commits a change to what verified tokens carry: the auth epoch moves
    /// in the same transaction (and every node hears it), then here.
    pub(super) async fn commit_authorization_change(&self, tx: deadpool_postgres::Transaction<'_>) -> StoreResult<()> {
        bump_epoch(&tx).await?;
        tx.commit().await.map_err(pg)?;
        self.epoch.bump();
        Ok(())
    }
}

/// One connection (not pooled), for migrations and tools; the second value
/// drives it and ends when the client is dropped.
pub(crate) async fn connect_once(
    url: &str,
) -> StoreResult<(tokio_postgres::Client, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>)> {
    let (config, tls) = tls::settings(url)?;
    let (client, connection) = config.connect(tls).await.map_err(pg)?;
    Ok((client, tokio::spawn(connection)))
}

pub(super) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(format!("no PostgreSQL connection: {}", with_causes(&e)))
}

pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(with_causes(&e))
}

/// An error with its chain of causes (the driver hides a TLS failure's).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = inner.source();
    }
    tls::redact(&message)
}

pub(super) fn has_code(e: &tokio_postgres::Error, code: &SqlState) -> bool {
    e.code() == Some(code)
}

/// `Conflict(message)` for a unique violation, else a backend error.
pub(super) fn unique_or(message: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if has_code(&e, &SqlState::UNIQUE_VIOLATION) { StoreError::Conflict(message.into()) } else { pg(e) }
    }
}

/// `Conflict(message)` for a unique violation, `NotFound` for a missing
/// parent row, else a backend error.
pub(super) fn constraint(message: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| if has_code(&e, &SqlState::FOREIGN_KEY_VIOLATION) { StoreError::NotFound } else { unique_or(message)(e) }
}

/// `NotFound` for a foreign-key violation (the parent row is gone).
pub(super) fn missing_parent(e: tokio_postgres::Error) -> StoreError {
    if has_code(&e, &SqlState::FOREIGN_KEY_VIOLATION) { StoreError::NotFound } else { pg(e) }
}

impl Cells for Row {
    type Error = StoreError;
    fn text(&self, i: usize) -> StoreResult<String> {
        self.try_get(i).map_err(pg)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.try_get(i).map_err(pg)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.try_get(i).map_err(pg)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.try_get(i).map_err(pg)
    }
    fn corrupt(what: &str, value: &str) -> StoreError {
        StoreError::Backend(format!("stored {what} `{value}` is not valid"))
    }
}

/// Text with U+0000, which PostgreSQL cannot hold: as a value to look up it
/// matches no stored row. (Request bodies with it are refused before.)
fn is_nul_text(e: &tokio_postgres::Error) -> bool {
    has_code(e, &SqlState::CHARACTER_NOT_IN_REPERTOIRE)
}

pub(super) async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    match c.query(&statement, params).await {
        Err(e) if is_nul_text(&e) => Ok(Vec::new()),
        result => result.map_err(pg),
    }
}

pub(super) async fn query_opt(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    match c.query_opt(&statement, params).await {
        Err(e) if is_nul_text(&e) => Ok(None),
        result => result.map_err(pg),
    }
}

/// Runs a statement; the driver's error is kept for the caller to map.
pub(super) async fn execute(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

/// Decodes every row with `f`.
pub(super) fn all<T>(rows: Vec<Row>, f: impl Fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// Fails with `NotFound` unless exactly one row changed.
pub(super) fn expect_one(changed: u64) -> StoreResult<()> {
    if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

/// Advances the durable epoch and tells every node, on commit.
pub(super) async fn bump_epoch(tx: &impl GenericClient) -> StoreResult<()> {
    execute(tx, "UPDATE auth_epoch SET value = value + 1 WHERE id = 1", &[]).await.map_err(pg)?;
    execute(tx, &format!("NOTIFY {CHANNEL}"), &[]).await.map_err(pg)?;
    Ok(())
}
