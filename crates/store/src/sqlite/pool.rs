//! Connections to one SQLite file: a single writer (so writes in this process
//! queue instead of failing with `SQLITE_BUSY`), a small pool of readers (WAL
//! lets them run beside the writer), and a watcher connection for the auth
//! epoch. All blocking work runs on tokio's blocking pool, but waiting is
//! asynchronous: a write waits for the writer, and a read for one of
//! [`MAX_READERS`] slots, before it takes a blocking thread, so a burst of
//! requests queues as tasks instead of growing hundreds of threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{StoreError, StoreResult};

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reads running at once (and reader connections kept open).
pub(crate) const MAX_READERS: usize = 8;

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    write_slot: Arc<Semaphore>,
    read_slots: Arc<Semaphore>,
    /// Set after every commit of this pool (the epoch watch reads it).
    committed: Arc<AtomicBool>,
}

pub(crate) fn open_connection(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Pool {
    pub(crate) fn open(path: &Path) -> StoreResult<Pool> {
        let writer = open_connection(path)?;
        Ok(Pool {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            write_slot: Arc::new(Semaphore::new(1)),
            read_slots: Arc::new(Semaphore::new(MAX_READERS)),
            committed: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The flag each commit sets.
    pub(crate) fn commit_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.committed)
    }

    /// Runs `f` in an immediate (write-locking) transaction on the writer and
    /// commits when it returns `Ok`.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(self);
        let slot = slot(&self.write_slot).await?;
        blocking(move || {
            let _slot = slot;
            let mut conn = pool.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let value = f(&tx)?;
            tx.commit().map_err(backend)?;
            pool.committed.store(true, std::sync::atomic::Ordering::Release);
            Ok(value)
        })
        .await
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(self);
        let slot = slot(&self.read_slots).await?;
        blocking(move || {
            let _slot = slot;
            let idle = pool.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_connection(&pool.path)?,
            };
            let result = f(&conn);
            let mut readers = pool.readers.lock().unwrap_or_else(|p| p.into_inner());
            if readers.len() < MAX_READERS {
                readers.push(conn);
            }
            result
        })
        .await
    }

    /// Runs `f` on the writer outside a transaction (migrations manage their own).
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }
}

async fn slot(semaphore: &Arc<Semaphore>) -> StoreResult<OwnedSemaphorePermit> {
    Arc::clone(semaphore).acquire_owned().await.map_err(|_| StoreError::Backend("the store is closed".into()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
