//! Connections to one SQLite file: a single writer (so writes in this process
//! queue instead of failing with `SQLITE_BUSY`), a small pool of readers (WAL
//! lets them run beside the writer), and a watcher connection for the auth
//! epoch.
//!
//! The writer is a thread of its own that **commits in groups**: the writes
//! waiting when it is free run together in one transaction, each inside its
//! own savepoint (so a failing write is undone alone and fails alone), and
//! one commit, one sync to disk, makes them all durable before any of them
//! is answered. An idle server commits each write at once; under load the
//! cost of a sync is shared by every write that queued behind the last one.
//!
//! Reads run on tokio's blocking pool, waiting asynchronously for one of
//! [`MAX_READERS`] slots first, so a burst of requests queues as tasks
//! instead of growing hundreds of threads; reads of a few rows by key (a
//! token by its hash, a device code) run on the caller's thread, which
//! costs less than the hand-off ([`Pool::read_by_key`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::OpenFlags;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::{StoreError, StoreResult};

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reads running at once (and reader connections kept open).
pub(crate) const MAX_READERS: usize = 8;
/// Writes committed together at most.
const MAX_BATCH: usize = 256;

/// When a committed write is on disk (`PRAGMA synchronous` of the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is synced before it is acknowledged: nothing
    /// acknowledged is lost to a power cut or a kernel crash.
    #[default]
    Full,
    /// Commits are synced at checkpoints: a killed process loses nothing,
    /// but a power cut or a kernel crash can lose the last commits.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    /// Writes for the writer thread.
    writes: mpsc::Sender<Box<dyn Write>>,
    readers: Mutex<Vec<Connection>>,
    read_slots: Arc<Semaphore>,
    /// Set after every commit of this pool (the epoch watch reads it).
    committed: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

/// Writes and commits so far: how well writes are grouped.
#[derive(Debug, Default)]
struct Counts {
    writes: AtomicU64,
    commits: AtomicU64,
}

/// How many writes the writer ran, and in how many commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub writes: u64,
    pub commits: u64,
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
    /// Opens the writer with `synchronous`, runs `prepare` on it (the
    /// migrations), and starts the writer thread.
    pub(crate) fn open(
        path: &Path,
        synchronous: Synchronous,
        prepare: impl FnOnce(&mut Connection) -> StoreResult<()>,
    ) -> StoreResult<Pool> {
        let mut writer = open_connection(path)?;
        writer.pragma_update(None, "synchronous", synchronous.pragma()).map_err(backend)?;
        prepare(&mut writer)?;
        let committed = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let (writes, queue) = mpsc::channel();
        let (flag, counted) = (Arc::clone(&committed), Arc::clone(&counts));
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, &queue, &flag, &counted))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Pool {
            path: path.to_owned(),
            writes,
            readers: Mutex::new(Vec::new()),
            read_slots: Arc::new(Semaphore::new(MAX_READERS)),
            committed,
            counts,
        })
    }

    pub(crate) fn write_stats(&self) -> WriteStats {
        WriteStats {
            writes: self.counts.writes.load(Ordering::Relaxed),
            commits: self.counts.commits.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The flag each commit sets.
    pub(crate) fn commit_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.committed)
    }

    /// Runs `f` on the writer inside a write transaction (with the writes
    /// queued beside it, `f` in a savepoint of its own), and answers once
    /// that transaction is committed: an `Ok` of `f` is then on disk. An
    /// `Err` of `f` undoes what `f` did, and only that.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.writes
            .send(Box::new(Pending { f, answer }))
            .map_err(|_| StoreError::Backend("the store's writer has stopped".into()))?;
        answered.await.map_err(|_| StoreError::Backend("the store's writer dropped a write".into()))?
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
            pool.on_reader(f)
        })
        .await
    }
}

impl Pool {
    /// Runs `f`, a read of a few rows by key, on a reader connection on the
    /// calling thread. Handing a read to a blocking thread costs more than
    /// such a read (two thread wake-ups against a few microseconds of
    /// B-tree lookups in pages that are cached), and in WAL mode a reader
    /// never waits for the writer. Scans and anything that may read many
    /// pages go through [`Pool::read`].
    pub(crate) async fn read_by_key<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let _slot = slot(&self.read_slots).await?;
        self.on_reader(f)
    }

    /// Runs `f` on an idle reader connection (opening one if none is idle),
    /// then keeps the connection for the next read.
    fn on_reader<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < MAX_READERS {
            readers.push(conn);
        }
        result
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

/// A write waiting for the writer thread.
trait Write: Send {
    /// Runs the write on `conn`, inside the batch's transaction.
    fn run(self: Box<Self>, conn: &Connection) -> Ran;
    /// Answers without running (the batch could not start).
    fn fail(self: Box<Self>, error: &str);
}

/// Answers a write's caller, given how the batch's commit went (a failed
/// write answers its own error whatever the commit did).
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A write that ran: whether it succeeded, and its [`Answer`].
struct Ran {
    ok: bool,
    answer: Answer,
}

struct Pending<T, F> {
    f: F,
    answer: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Write for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Ran {
        let Pending { f, answer } = *self;
        let result = catch_unwind(AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a store write panicked".into())));
        let ok = result.is_ok();
        let answer = Box::new(move |committed: Result<(), &str>| {
            let reply = match (result, committed) {
                (Err(e), _) => Err(e),
                (Ok(value), Ok(())) => Ok(value),
                (Ok(_), Err(why)) => Err(StoreError::Backend(why.to_owned())),
            };
            // The caller may have gone away (a dropped request); nothing to do.
            drop(answer.send(reply));
        });
        Ran { ok, answer }
    }

    fn fail(self: Box<Self>, error: &str) {
        drop(self.answer.send(Err(StoreError::Backend(error.to_owned()))));
    }
}

/// The writer thread: takes the first waiting write and every write queued
/// behind it (up to [`MAX_BATCH`]), and commits them together.
fn run_writer(conn: Connection, queue: &mpsc::Receiver<Box<dyn Write>>, committed: &AtomicBool, counts: &Counts) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        counts.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        run_batch(&conn, batch, committed, counts);
    }
}

/// Runs `batch` in one immediate transaction, each write in a savepoint
/// (a lone write needs none: its failure rolls the transaction back), and
/// answers each write after the commit (counted first).
fn run_batch(conn: &Connection, batch: Vec<Box<dyn Write>>, committed: &AtomicBool, counts: &Counts) {
    let alone = batch.len() == 1;
    let mut open = begin(conn);
    let mut waiting: Vec<Answer> = Vec::with_capacity(batch.len());
    for write in batch {
        if let Err(why) = &open {
            write.fail(why);
            continue;
        }
        if !alone && let Err(e) = control(conn, "SAVEPOINT write") {
            write.fail(&e.to_string());
            continue;
        }
        let ran = write.run(conn);
        if conn.is_autocommit() {
            // SQLite gave the whole transaction up (a full disk, an I/O
            // error): the writes before this one are lost with it.
            let why = "the write transaction was rolled back by SQLite; try again";
            for answer in waiting.drain(..) {
                answer(Err(why));
            }
            (ran.answer)(Err(why));
            open = begin(conn);
            continue;
        }
        let undone = match (alone, ran.ok) {
            (true, true) => Ok(()),
            (true, false) => control(conn, "ROLLBACK").map(|()| open = Err("rolled back".into())),
            (false, true) => control(conn, "RELEASE write"),
            (false, false) => control(conn, "ROLLBACK TO write").and_then(|()| control(conn, "RELEASE write")),
        };
        match (undone, ran.ok) {
            (Ok(()), true) => waiting.push(ran.answer),
            (Ok(()), false) => (ran.answer)(Ok(())),
            (Err(e), _) => {
                let why = format!("could not end a write's savepoint: {e}");
                for answer in waiting.drain(..) {
                    answer(Err(&why));
                }
                (ran.answer)(Err(&why));
                drop(conn.execute_batch("ROLLBACK"));
                open = begin(conn);
            }
        }
    }
    if open.is_err() {
        // Every write has been answered (a lone failed write rolled back).
        return;
    }
    match control(conn, "COMMIT") {
        Ok(()) => {
            committed.store(true, Ordering::Release);
            counts.commits.fetch_add(1, Ordering::Relaxed);
            for answer in waiting {
                answer(Ok(()));
            }
        }
        Err(e) => {
            drop(conn.execute_batch("ROLLBACK"));
            let why = format!("could not commit: {e}");
            for answer in waiting {
                answer(Err(&why));
            }
        }
    }
}

/// Starts an immediate (write-locking) transaction.
fn begin(conn: &Connection) -> Result<(), String> {
    control(conn, "BEGIN IMMEDIATE").map_err(|e| format!("could not start a write transaction: {e}"))
}

/// A transaction-control statement, prepared once per connection.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
