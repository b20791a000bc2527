//! Moving an installation from its SQLite file to PostgreSQL.
//!
//! Both engines have the same tables and columns, so every row is copied as
//! it is: read from one SQLite read transaction (a consistent snapshot even
//! if a server is still writing), written with `COPY … FROM STDIN BINARY`
//! inside one PostgreSQL transaction that first checks the target is empty
//! and at the end compares every table's row count. Nothing is committed
//! unless all of it is.

use std::collections::HashMap;
use std::path::Path;

use tokio::sync::mpsc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::postgres::pg;
use crate::sqlite::SqliteStore;
use crate::{StoreError, StoreResult};

/// Every table, parents before children. The auth epoch is not copied: it
/// only orders caches within one installation.
pub const TABLES: &[&str] = &[
    "accounts",
    "users",
    "memberships",
    "chatbots",
    "oauth_clients",
    "oauth_grants",
    "api_tokens",
    "token_notices",
    "device_authorizations",
    "sessions",
    "email_verifications",
    "password_resets",
    "chatbot_items",
    "chatbot_settings",
    "conversations",
    "messages",
    "integrations",
    "invitations",
    "rate_limits",
    "whitelabel_accounts",
    "brands",
    "brand_users",
    "v0_api_keys",
    "mail_queue",
    "oauth_refresh_tokens",
    "audit_events",
];
const NOT_COPIED: &[&str] = &["auth_epoch"];
/// Columns that only SQLite's server needs (`table.column`): whether a
/// device authorization's user code is in the index or in the server's
/// memory; PostgreSQL indexes them all.
pub const SQLITE_ONLY: &[&str] = &["device_authorizations.user_code_indexed"];
/// Rows sent from the reader to the writer at a time.
const BATCH: usize = 2_000;

/// How many rows of each table were copied.
pub type Copied = Vec<(&'static str, u64)>;

enum Batch {
    Columns(&'static str, Vec<String>),
    Rows(Vec<Vec<rusqlite::types::Value>>),
    Done(&'static str, u64),
}

/// Copies everything in the SQLite database at `from` into the empty
/// PostgreSQL database at `to` (creating its schema).
pub async fn sqlite_to_postgres(from: &Path, to: &str) -> StoreResult<Copied> {
    if !from.exists() {
        return Err(StoreError::Backend(format!("there is no SQLite database at {}", from.display())));
    }
    // Bring the file's schema up to date, as the server would.
    drop(SqliteStore::open(from)?);
    let (mut client, driver) = crate::postgres::connect_once(to).await?;
    crate::postgres::migrate(&mut client).await?;
    let tx = client.transaction().await.map_err(pg)?;
    for table in TABLES {
        let row = tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[]).await.map_err(pg)?;
        if row.get::<_, bool>(0) {
            return Err(StoreError::Conflict(format!(
                "the PostgreSQL database already has data (table {table}); migrate into an empty database"
            )));
        }
    }
    let (sender, mut batches) = mpsc::channel(4);
    let path = from.to_owned();
    let reader = tokio::task::spawn_blocking(move || read_all(&path, &sender));
    let mut copied = Vec::new();
    let mut writer = None;
    let mut types = Vec::new();
    while let Some(batch) = batches.recv().await {
        match batch {
            Batch::Columns(table, columns) => {
                types = column_types(&tx, table, &columns).await?;
                let sql = format!("COPY {table} ({}) FROM STDIN BINARY", columns.join(", "));
                let sink = tx.copy_in(&sql).await.map_err(pg)?;
                writer = Some(Box::pin(BinaryCopyInWriter::new(sink, &types)));
            }
            Batch::Rows(rows) => {
                let writer = writer.as_mut().ok_or_else(|| StoreError::Backend("rows before columns".into()))?;
                for row in rows {
                    let values =
                        row.into_iter().zip(&types).map(|(v, t)| cell(v, t)).collect::<StoreResult<Vec<_>>>()?;
                    let params: Vec<&(dyn ToSql + Sync)> =
                        values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
                    writer.as_mut().write(&params).await.map_err(pg)?;
                }
            }
            Batch::Done(table, read) => {
                let written = match writer.take() {
                    Some(mut writer) => writer.as_mut().finish().await.map_err(pg)?,
                    None => 0,
                };
                let stored: i64 = tx.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.map_err(pg)?.get(0);
                if written != read || u64::try_from(stored).ok() != Some(read) {
                    return Err(StoreError::Backend(format!(
                        "{table}: read {read} rows, wrote {written}, PostgreSQL holds {stored}"
                    )));
                }
                copied.push((table, read));
            }
        }
    }
    reader.await.map_err(|e| StoreError::Backend(format!("the reader failed: {e}")))??;
    tx.commit().await.map_err(pg)?;
    drop(client);
    let _ = driver.await;
    Ok(copied)
}

/// Reads every table in one read transaction and sends it in batches.
fn read_all(path: &Path, sender: &mpsc::Sender<Batch>) -> StoreResult<()> {
    let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)?;
    conn.execute_batch("BEGIN").map_err(backend)?;
    let present: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(backend)?;
    if let Some(unknown) = present.iter().find(|t| !TABLES.contains(&t.as_str()) && !NOT_COPIED.contains(&t.as_str())) {
        return Err(StoreError::Backend(format!("table {unknown} has no place in PostgreSQL; upgrade this tool")));
    }
    let send = |batch| sender.blocking_send(batch).map_err(|_| StoreError::Backend("the writer stopped".into()));
    for table in TABLES {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"))
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>())
            .map_err(backend)?
            .into_iter()
            .filter(|column| !SQLITE_ONLY.contains(&format!("{table}.{column}").as_str()))
            .collect();
        send(Batch::Columns(table, columns.clone()))?;
        let mut stmt =
            conn.prepare(&format!("SELECT {} FROM {table} ORDER BY rowid", columns.join(", "))).map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let (mut batch, mut count) = (Vec::with_capacity(BATCH), 0u64);
        while let Some(row) = rows.next().map_err(backend)? {
            batch.push(
                (0..columns.len())
                    .map(|i| row.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<_, _>>()
                    .map_err(backend)?,
            );
            count += 1;
            if batch.len() == BATCH {
                send(Batch::Rows(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))?;
            }
        }
        if !batch.is_empty() {
            send(Batch::Rows(batch))?;
        }
        send(Batch::Done(table, count))?;
    }
    conn.execute_batch("COMMIT").map_err(backend)
}

/// The PostgreSQL type of each column, in the order given.
async fn column_types(tx: &tokio_postgres::Transaction<'_>, table: &str, columns: &[String]) -> StoreResult<Vec<Type>> {
    let rows = tx
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = $1",
            &[&table],
        )
        .await
        .map_err(pg)?;
    let types: HashMap<String, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    columns
        .iter()
        .map(|column| match types.get(column).map(String::as_str) {
            Some("bigint") => Ok(Type::INT8),
            Some("text") => Ok(Type::TEXT),
            Some("bytea") => Ok(Type::BYTEA),
            other => {
                Err(StoreError::Backend(format!("{table}.{column}: no PostgreSQL column of a known type ({other:?})")))
            }
        })
        .collect()
}

/// One SQLite value as the PostgreSQL column's type.
fn cell(value: rusqlite::types::Value, ty: &Type) -> StoreResult<Box<dyn ToSql + Sync + Send>> {
    use rusqlite::types::Value;
    Ok(match (value, ty) {
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(i), t) if *t == Type::INT8 => Box::new(i),
        (Value::Text(s), t) if *t == Type::TEXT => Box::new(s),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b),
        (other, t) => return Err(StoreError::Backend(format!("a {other:?} cannot go into a {t} column"))),
    })
}
