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
//! the last key counted there. That keeps every count exact: a key is
//! counted in memory only while no window of it can be live in the table.
//!
//! The counts are split in [`SHARDS`] parts by key, each swept of ended
//! windows once a window by the first use that lands on it: a sweep or a
//! doubling of one part holds one part's lock over a sixty-fourth of the
//! keys, where one map of half a million keys stopped every authorization
//! for tens of milliseconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::{FailureWindow, UseLimit};

/// Keys counted in memory at most (25 bytes each in the hash tables, which
/// grow by doubling: at most about 25 MiB, reached only when over half a
/// million addresses ask within a minute; the sweeps give it back).
pub(super) const MAX_KEYS: usize = 1 << 19;

/// Parts of the counts (a power of two: the key's top bits pick).
const SHARDS: usize = 64;

#[derive(Debug)]
pub(super) struct UseCounts {
    shards: Box<[Mutex<Shard>]>,
    /// Keys in memory, in all parts.
    live: AtomicUsize,
    /// New keys are counted in the table until then (milliseconds; 0: not).
    in_table_until_ms: AtomicI64,
}

#[derive(Debug, Default)]
struct Shard {
    /// By the first 8 bytes of the key (a SHA-256 hash: two of half a
    /// million keys share a counter with odds of about 1 in 10^8, and then
    /// only count together).
    windows: HashMap<u64, Window>,
    /// When this part's ended windows are next dropped (milliseconds).
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

impl Default for UseCounts {
    fn default() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        UseCounts { shards, live: AtomicUsize::new(0), in_table_until_ms: AtomicI64::new(0) }
    }
}

impl UseCounts {
    fn shard(&self, key: u64) -> MutexGuard<'_, Shard> {
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let index = (mixed >> (64 - SHARDS.trailing_zeros())) as usize;
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops `shard`'s windows that started at or before `ended`.
    fn drop_ended(&self, shard: &mut Shard, ended: i64) {
        let before = shard.windows.len();
        shard.windows.retain(|_, window| window.started_ms > ended);
        shard.windows.shrink_to_fit();
        self.live.fetch_sub(before - shard.windows.len(), Ordering::Relaxed);
    }

    /// Counts one use of `limit.key` at `limit.now` (fixed windows: the
    /// first use after a window ended starts the next).
    pub(super) fn count(&self, limit: &UseLimit) -> Counted {
        let now_ms = limit.now.timestamp_millis();
        let window_ms = limit.window.num_milliseconds();
        let ended = now_ms - window_ms;
        let key = short(&limit.key);
        {
            let mut shard = self.shard(key);
            if now_ms >= shard.next_sweep_ms {
                // Once a window, this part's ended windows go, and with
                // them the memory a burst of addresses took.
                self.drop_ended(&mut shard, ended);
                shard.next_sweep_ms = now_ms + window_ms;
            }
            if let Some(counted) = known(&mut shard, key, now_ms, ended) {
                return counted;
            }
            if now_ms < self.in_table_until_ms.load(Ordering::Relaxed) {
                return self.to_table(now_ms + window_ms);
            }
            if self.live.load(Ordering::Relaxed) < MAX_KEYS {
                return self.insert(&mut shard, key, now_ms);
            }
        }
        // Full: drop every part's ended windows (one part's lock at a time),
        // and unless an eighth is free again, the table takes new keys (so
        // full memory is not scanned for every new key).
        for shard in &self.shards {
            self.drop_ended(&mut shard.lock().unwrap_or_else(|p| p.into_inner()), ended);
        }
        let mut shard = self.shard(key);
        if let Some(counted) = known(&mut shard, key, now_ms, ended) {
            return counted;
        }
        if self.live.load(Ordering::Relaxed) > MAX_KEYS - MAX_KEYS / 8 {
            return self.to_table(now_ms + window_ms);
        }
        self.insert(&mut shard, key, now_ms)
    }

    /// A new key counted in the table: new keys go there until `until`, a
    /// window after it, when its window in the table has surely ended.
    fn to_table(&self, until: i64) -> Counted {
        self.in_table_until_ms.fetch_max(until, Ordering::Relaxed);
        Counted::InTable
    }

    fn insert(&self, shard: &mut Shard, key: u64, now_ms: i64) -> Counted {
        let window = Window { started_ms: now_ms, count: 1 };
        shard.windows.insert(key, window);
        self.live.fetch_add(1, Ordering::Relaxed);
        Counted::InMemory(window.public())
    }

    /// Takes back a use counted in memory (its write failed).
    pub(super) fn uncount(&self, key: &[u8; 32]) {
        let key = short(key);
        let mut shard = self.shard(key);
        if let Some(window) = shard.windows.get_mut(&key) {
            window.count = window.count.saturating_sub(1);
            if window.count == 0 {
                shard.windows.remove(&key);
                self.live.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    #[cfg(test)]
    fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

/// A use of a key already in memory: its window goes on, or a new one
/// starts after it ended.
fn known(shard: &mut Shard, key: u64, now_ms: i64, ended: i64) -> Option<Counted> {
    let window = shard.windows.get_mut(&key)?;
    if window.started_ms <= ended {
        *window = Window { started_ms: now_ms, count: 1 };
    } else {
        window.count = window.count.saturating_add(1);
    }
    Some(Counted::InMemory(window.public()))
}

fn short(key: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_ne_bytes(first)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

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
        assert_eq!(uses.live(), 1000);
        // Two windows on, a thousand other keys: the first use on each part
        // drops its ended windows, so only the new keys are left.
        for key in 1000..2000 {
            uses.count(&limit(key, start + Duration::seconds(120)));
        }
        assert_eq!(uses.live(), 1000);
        let kept: usize = uses.shards.iter().map(|s| s.lock().expect("lock").windows.len()).sum();
        assert_eq!(kept, 1000);
    }

    /// A key counted in the table just before the table period would end
    /// extends it: until its window there has ended, new keys (it among
    /// them) stay out of memory.
    #[test]
    fn every_key_counted_in_the_table_keeps_new_keys_there_for_a_window() {
        let uses = UseCounts::default();
        let start = crate::rows::from_ms(Utc::now().timestamp_millis());
        for key in 0..MAX_KEYS as u32 {
            uses.count(&limit(key, start));
        }
        let seconds = |s| start + Duration::seconds(s);
        assert_eq!(uses.count(&limit(u32::MAX, seconds(10))), Counted::InTable);
        assert_eq!(uses.count(&limit(u32::MAX - 1, seconds(69))), Counted::InTable);
        // A window after the first key sent to the table, not after the
        // last: that one's window in the table is still live.
        assert_eq!(uses.count(&limit(u32::MAX - 1, seconds(71))), Counted::InTable);
        assert_eq!(uses.count(&limit(u32::MAX - 2, seconds(100))), Counted::InTable);
        assert_eq!(count_of(uses.count(&limit(u32::MAX - 2, seconds(171)))), 1);
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
        assert!(uses.live() < MAX_KEYS, "ended windows were dropped");
    }
}
