//! The auth epoch of a SQLite file, read cheaply enough for every request.
//!
//! The exact check is `PRAGMA data_version` (changes when any *other*
//! connection, in any process, commits) followed, when it moved, by reading
//! the `auth_epoch` row. That check opens a read transaction, which in WAL
//! mode costs several `fcntl` lock calls, too much for the hot path.
//!
//! So a cheaper test comes first: every commit in WAL mode rewrites the
//! WAL-index header at the start of the `-shm` file (its `iChange` counter
//! moves; see "WAL-index format" in SQLite's file-format documentation).
//! Reading those 96 bytes with one `pread` and finding them unchanged proves
//! that nothing was committed since the last exact check. Any difference,
//! a missing `-shm`, or a second passing since the last exact check leads to
//! the exact check; so a misread can cost time but never correctness, and
//! the one-second fallback bounds staleness should the file be replaced.
//!
//! Even a `pread` per request is a tenth of a busy server's time, so it runs
//! at most every [`READ_EVERY`]: commits by *this* store mark the epoch stale
//! (the next call checks exactly, so its own writes apply at once), and
//! commits by other processes (admin commands) are seen within that bound.
//!
//! Those bounds are kept on the wall clock, in nanoseconds since the Unix
//! epoch, so that a request which has read the clock already (to judge its
//! token's expiry) passes its reading in ([`EpochWatch::current_at`]) rather
//! than reading the clock again. A reading more than [`SLACK`] before the
//! last check (the clock was set back) counts as late, never as fresh: the
//! next call checks again and measures from its own reading.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::pool::{backend, open_connection};
use crate::StoreResult;

/// Both copies of the WAL-index header.
const HEADER_LEN: usize = 96;
/// The longest an answer rests on the `-shm` shortcut alone.
const RECHECK_AFTER: Duration = Duration::from_secs(1);
/// The longest another process's commit goes unseen.
pub(crate) const READ_EVERY: Duration = Duration::from_micros(200);

/// How far a reading may lag the last check's and still count: two
/// threads' readings taken a moment apart may reach the watch in either
/// order.
const SLACK: Duration = Duration::from_millis(1);

/// What the last exact check found: the header it read and the epoch.
#[derive(Debug, Clone, Copy)]
struct Seen {
    header: Option<[u8; HEADER_LEN]>,
    epoch: u64,
}

/// `checked_at` before the first exact check.
const NEVER: u64 = u64::MAX;

#[derive(Debug)]
struct Exact {
    conn: Connection,
    data_version: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct EpochWatch {
    /// Opened once; `pread` needs no lock.
    shm: Option<File>,
    seen: RwLock<Option<Seen>>,
    exact: Mutex<Exact>,
    /// Set by this store's commits: check exactly next time.
    stale: Arc<AtomicBool>,
    /// When the header was last read, in nanoseconds since the Unix epoch.
    read_at: AtomicU64,
    /// The epoch of `seen` and when it was checked exactly (nanoseconds
    /// since the Unix epoch), readable without the lock. The epoch is
    /// stored first, so one read after `checked_at` is at least as new.
    epoch: AtomicU64,
    checked_at: AtomicU64,
}

impl EpochWatch {
    /// `stale` is set by the store's writer after each commit.
    pub(crate) fn open(path: &Path, stale: Arc<AtomicBool>) -> StoreResult<EpochWatch> {
        let conn = open_connection(path)?;
        // Make sure the connection has joined the WAL (creating `-shm`).
        conn.query_row("SELECT value FROM auth_epoch WHERE id = 1", [], |_| Ok(())).map_err(backend)?;
        let mut shm_path = path.as_os_str().to_owned();
        shm_path.push("-shm");
        let shm = File::open(shm_path).ok();
        Ok(EpochWatch {
            shm,
            seen: RwLock::new(None),
            exact: Mutex::new(Exact { conn, data_version: None }),
            stale,
            read_at: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            checked_at: AtomicU64::new(NEVER),
        })
    }

    fn header(&self) -> Option<[u8; HEADER_LEN]> {
        let mut buf = [0u8; HEADER_LEN];
        self.shm.as_ref()?.read_exact_at(&mut buf, 0).ok()?;
        Some(buf)
    }

    /// The epoch, reading the clock.
    pub(crate) fn current(&self) -> StoreResult<u64> {
        self.current_at(unix_nanos())
    }

    /// The epoch as of `now` (nanoseconds since the Unix epoch, read
    /// moments ago); on the hot path three atomic loads.
    pub(crate) fn current_at(&self, now: u64) -> StoreResult<u64> {
        const RECHECK_NS: u64 = RECHECK_AFTER.as_nanos() as u64;
        const READ_EVERY_NS: u64 = READ_EVERY.as_nanos() as u64;
        if !self.stale.load(Ordering::Acquire) {
            let checked_at = self.checked_at.load(Ordering::Acquire);
            if checked_at != NEVER && within(now, checked_at, RECHECK_NS) {
                if within(now, self.read_at.load(Ordering::Relaxed), READ_EVERY_NS) {
                    return Ok(self.epoch.load(Ordering::Acquire));
                }
                let seen = *self.seen.read().unwrap_or_else(|p| p.into_inner());
                if let Some(seen) = seen {
                    let header = self.header();
                    if header.is_some() && header == seen.header {
                        self.read_at.store(now, Ordering::Relaxed);
                        return Ok(seen.epoch);
                    }
                }
            }
        }
        self.exact_check()
    }

    fn exact_check(&self) -> StoreResult<u64> {
        let mut exact = self.exact.lock().unwrap_or_else(|p| p.into_inner());
        // Clear the mark first: a commit after this sets it again.
        self.stale.store(false, Ordering::Release);
        let read_at = unix_nanos();
        // Read the header before the database: a commit landing between the
        // two makes the next call see a new header and check again.
        let header = self.header();
        let version: i64 = exact
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .map_err(backend)?;
        let previous = *self.seen.read().unwrap_or_else(|p| p.into_inner());
        let epoch = match previous {
            Some(seen) if exact.data_version == Some(version) => seen.epoch,
            _ => {
                let value: i64 = exact
                    .conn
                    .prepare_cached("SELECT value FROM auth_epoch WHERE id = 1")
                    .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
                    .map_err(backend)?;
                exact.data_version = Some(version);
                u64::try_from(value).unwrap_or_default()
            }
        };
        *self.seen.write().unwrap_or_else(|p| p.into_inner()) = Some(Seen { header, epoch });
        self.epoch.store(epoch, Ordering::Release);
        self.checked_at.store(read_at, Ordering::Release);
        self.read_at.store(read_at, Ordering::Relaxed);
        Ok(epoch)
    }
}

/// Whether `now` is less than `limit` nanoseconds after `then`, or at most
/// [`SLACK`] before it.
fn within(now: u64, then: u64, limit: u64) -> bool {
    const SLACK_NS: u64 = SLACK.as_nanos() as u64;
    now.wrapping_sub(then).wrapping_add(SLACK_NS) < limit + SLACK_NS
}

/// The wall clock in nanoseconds since the Unix epoch (0 before it).
fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ_EVERY_NS: u64 = READ_EVERY.as_nanos() as u64;
    const SECOND: u64 = 1_000_000_000;

    fn set_epoch(conn: &Connection, value: i64) {
        conn.execute("UPDATE auth_epoch SET value = ?1 WHERE id = 1", [value]).expect("update");
    }

    #[test]
    fn a_reading_is_fresh_from_a_moment_before_the_last_check_to_the_limit_after() {
        let then = 5 * SECOND;
        let slack = SLACK.as_nanos() as u64;
        assert!(within(then, then, READ_EVERY_NS));
        assert!(within(then + READ_EVERY_NS - 1, then, READ_EVERY_NS));
        assert!(!within(then + READ_EVERY_NS, then, READ_EVERY_NS));
        assert!(within(then - slack, then, READ_EVERY_NS), "another thread's reading, a moment older");
        assert!(!within(then - slack - 1, then, READ_EVERY_NS), "the clock was set back");
        assert!(!within(0, then, READ_EVERY_NS));
        assert!(!within(u64::MAX, then, READ_EVERY_NS));
        assert!(!within(then, u64::MAX, READ_EVERY_NS));
    }

    /// Another connection stands for another process: its commits reach
    /// the watch through the `-shm` header, within the bounds, whatever
    /// readings of the clock the callers pass.
    #[test]
    fn other_connections_commits_are_seen_after_the_bound_or_a_clock_set_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("epoch.db");
        let other = open_connection(&path).expect("open");
        other
            .execute_batch("CREATE TABLE auth_epoch (id INTEGER PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO auth_epoch VALUES (1, 0);")
            .expect("schema");
        let watch = EpochWatch::open(&path, Arc::new(AtomicBool::new(false))).expect("watch");
        assert_eq!(watch.current().expect("epoch"), 0);
        let read_at = watch.read_at.load(Ordering::Relaxed);

        set_epoch(&other, 5);
        // Within the bound the last reading stands: that is its price.
        assert_eq!(watch.current_at(read_at).expect("epoch"), 0);
        assert_eq!(watch.current_at(read_at + READ_EVERY_NS - 1).expect("epoch"), 0);
        // Past it, the header has moved: checked exactly.
        assert_eq!(watch.current_at(read_at + READ_EVERY_NS).expect("epoch"), 5);

        // A clock set back by a minute does not make an old reading fresh.
        let read_at = watch.read_at.load(Ordering::Relaxed);
        set_epoch(&other, 7);
        assert_eq!(watch.current_at(read_at).expect("epoch"), 5);
        assert_eq!(watch.current_at(read_at - 60 * SECOND).expect("epoch"), 7);

        // The store's own commits are seen at once, whatever the reading.
        let read_at = watch.read_at.load(Ordering::Relaxed);
        set_epoch(&other, 9);
        watch.stale.store(true, Ordering::Release);
        assert_eq!(watch.current_at(read_at).expect("epoch"), 9);
    }
}
