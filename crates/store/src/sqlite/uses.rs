//! Uses counted against a limit in this process's memory: how SQLite counts
//! device authorizations per client address.
//!
//! A SQLite file is served by one server process, so a count in its memory
//! is the count. Kept as rows, each new address would cost a device
//! authorization a randomly placed index page in the WAL, almost as much as
//! the authorization itself. A restart forgets the counts (windows are a
//! minute long).
//!
//! Memory is bounded: past [`MAX_KEYS`] live keys, new keys are counted in
//! the `rate_limits` table instead, as on PostgreSQL, until one window after
//! the last such key. That keeps every count exact: a key is counted in
//! memory only while no window of it can be live in the table.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::{FailureWindow, UseLimit};

/// Keys counted in memory at most (25 bytes each in the hash table, which
/// grows by doubling: at most 25 MiB, reached only when over half a million
/// addresses ask within a minute; the sweep once a window gives it back).
pub(super) const MAX_KEYS: usize = 1 << 19;

#[derive(Debug, Default)]
pub(super) struct UseCounts {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By the first 8 bytes of the key (a SHA-256 hash: two of half a
    /// million keys share a counter with odds of about 1 in 10^8, and then
    /// only count together).
    windows: HashMap<u64, Window>,
    /// New keys are counted in the table until then.
    in_table_until: Option<DateTime<Utc>>,
    /// When ended windows are next dropped (once a window, milliseconds).
    next_sweep_ms: i64,
}

/// One key's window: when it started (milliseconds) and its count.
#[derive(Debug, Clone, Copy)]
struct Window {
    started_ms: i64,
    count: u32,
}

impl Window {
    fn public(self) -> FailureWindow {
        FailureWindow { started_at: crate::rows::from_ms(self.started_ms), count: self.count }
    }
}

/// Where a use was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// In memory, with the key's window after it.
    InMemory(FailureWindow),
    /// Not yet: count it in the table, in the write's transaction.
    InTable,
}

impl UseCounts {
    /// Counts one use of `limit.key` at `limit.now` (fixed windows: the
    /// first use after a window ended starts the next).
    pub(super) fn count(&self, limit: &UseLimit) -> Counted {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now_ms = limit.now.timestamp_millis();
        let ended = now_ms - limit.window.num_milliseconds();
        let key = short(&limit.key);
        if now_ms >= inner.next_sweep_ms {
            // Once a window, ended windows go, and with them the memory a
            // burst of addresses took.
            inner.windows.retain(|_, window| window.started_ms > ended);
            inner.windows.shrink_to_fit();
            inner.next_sweep_ms = now_ms + limit.window.num_milliseconds();
        }
        if let Some(window) = inner.windows.get_mut(&key) {
            if window.started_ms <= ended {
                *window = Window { started_ms: now_ms, count: 1 };
            } else {
                window.count = window.count.saturating_add(1);
            }
            return Counted::InMemory(window.public());
        }
        if inner.in_table_until.is_some_and(|until| limit.now < until) {
            return Counted::InTable;
        }
        if inner.windows.len() >= MAX_KEYS {
            inner.windows.retain(|_, window| window.started_ms > ended);
            // Unless an eighth is free again, the table takes new keys for a
            // window (so full memory is not scanned for every new key).
            if inner.windows.len() > MAX_KEYS - MAX_KEYS / 8 {
                inner.in_table_until = Some(limit.now + limit.window);
                return Counted::InTable;
            }
        }
        let window = Window { started_ms: now_ms, count: 1 };
        inner.windows.insert(key, window);
        Counted::InMemory(window.public())
    }

    /// Takes back a use counted in memory (its write failed).
    pub(super) fn uncount(&self, key: &[u8; 32]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = short(key);
        if let Some(window) = inner.windows.get_mut(&key) {
            window.count = window.count.saturating_sub(1);
            if window.count == 0 {
                inner.windows.remove(&key);
            }
        }
    }
}

fn short(key: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_ne_bytes(first)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn limit(key: u32, now: DateTime<Utc>) -> UseLimit {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&key.to_be_bytes());
        UseLimit { key: bytes, now, window: Duration::minutes(1), max: 30 }
    }

    fn count_of(counted: Counted) -> u32 {
        match counted {
            Counted::InMemory(window) => window.count,
            Counted::InTable => panic!("counted in the table"),
        }
    }

    #[test]
    fn uses_count_per_key_in_fixed_windows() {
        let uses = UseCounts::default();
        let start = crate::rows::from_ms(Utc::now().timestamp_millis());
        assert_eq!(count_of(uses.count(&limit(1, start))), 1);
        assert_eq!(count_of(uses.count(&limit(1, start + Duration::seconds(30)))), 2);
        assert_eq!(count_of(uses.count(&limit(2, start + Duration::seconds(30)))), 1, "another key");
        // The window started at `start`: it ends a minute later.
        let next = uses.count(&limit(1, start + Duration::seconds(60)));
        assert_eq!(next, Counted::InMemory(FailureWindow { started_at: start + Duration::seconds(60), count: 1 }));
    }

    #[test]
    fn a_use_taken_back_is_not_counted() {
        let uses = UseCounts::default();
        let now = Utc::now();
        uses.count(&limit(1, now));
        uses.count(&limit(1, now));
        uses.uncount(&limit(1, now).key);
        assert_eq!(count_of(uses.count(&limit(1, now))), 2);
        uses.uncount(&limit(1, now).key);
        uses.uncount(&limit(1, now).key);
        assert_eq!(count_of(uses.count(&limit(1, now))), 1, "gone at zero, then counted afresh");
    }

    #[test]
    fn ended_windows_are_dropped_within_a_window() {
        let uses = UseCounts::default();
        let start = crate::rows::from_ms(Utc::now().timestamp_millis());
        for key in 0..1000 {
            uses.count(&limit(key, start));
        }
        assert_eq!(uses.inner.lock().expect("lock").windows.len(), 1000);
        // Two windows on, one more use: the thousand ended windows are gone.
        uses.count(&limit(5000, start + Duration::seconds(120)));
        assert_eq!(uses.inner.lock().expect("lock").windows.len(), 1);
    }

    #[test]
    fn past_the_bound_new_keys_go_to_the_table_until_no_window_there_can_be_live() {
        let uses = UseCounts::default();
        let start = crate::rows::from_ms(Utc::now().timestamp_millis());
        for key in 0..MAX_KEYS as u32 {
            assert_eq!(count_of(uses.count(&limit(key, start))), 1);
        }
        let later = start + Duration::seconds(10);
        // Full of live windows: a new key is counted in the table, and so is
        // every new key for a window after that; known keys stay in memory.
        assert_eq!(uses.count(&limit(u32::MAX, later)), Counted::InTable);
        assert_eq!(count_of(uses.count(&limit(7, later))), 2);
        // The first windows have ended, but a window in the table may not.
        let after_first = start + Duration::seconds(61);
        assert_eq!(uses.count(&limit(u32::MAX - 1, after_first)), Counted::InTable);
        // A window after the last key counted in the table, memory again
        // (the ended windows make room).
        let free = after_first + Duration::seconds(60);
        assert_eq!(count_of(uses.count(&limit(u32::MAX, free))), 1);
        assert!(uses.inner.lock().expect("lock").windows.len() < 10, "ended windows were dropped");
    }
}
