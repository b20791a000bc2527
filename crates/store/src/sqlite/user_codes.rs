//! Which device authorization holds each user code, kept in this process's
//! memory: how SQLite finds an authorization by its user code.
//!
//! User codes are random, so an index on them puts every new authorization
//! on a randomly placed page: with a group commit of many authorizations,
//! one page written to the WAL (and later to the file) for each, against a
//! few shared pages for everything else they write. A SQLite file is served
//! by one server process, so a map in its memory can stand in for the
//! index: rows held here are stored with `user_code_indexed = 0` and stay
//! out of the (partial) index; the map is rebuilt from those rows when the
//! file is opened.
//!
//! Memory is bounded: past [`MAX_CODES`] codes, new authorizations are
//! stored with `user_code_indexed = 1` and found through the index, as
//! before. A lookup asks both and keeps the better match, so where a code
//! is found never changes what is found.
//!
//! The map is split in [`SHARDS`] by the code, so that growing it (each
//! part doubles when full) moves a sixty-fourth of the codes at a time
//! while holding one part's lock: at the bound a whole map's doubling would
//! stop the writer for tens of milliseconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};

use super::pool::backend;
use crate::StoreResult;

/// Codes held in memory at most: seven eighths of 2^20 slots, as many as
/// hash tables of 2^20 slots in all hold (37 bytes a slot: about 37 MiB,
/// somewhat more as the parts fill unevenly; reached only when that many
/// authorizations were begun within a day).
pub(super) const MAX_CODES: usize = (1 << 20) / 8 * 7;

/// Parts of the map (a power of two: the top bits of a code's hash pick).
const SHARDS: usize = 64;

/// User codes are 8 characters; authorization ids 21 (`dev_` and 17).
/// Anything else is found through the index.
const CODE_LEN: usize = 8;
const ID_LEN: usize = 21;

type Shard = HashMap<[u8; CODE_LEN], Holder>;

#[derive(Debug)]
pub(super) struct UserCodes {
    shards: Box<[Mutex<Shard>]>,
    /// Codes held, in all parts.
    held: AtomicUsize,
    max: usize,
}

/// The newest authorization with a code, and when it expires (seconds):
/// the map forgets it once its row is purged.
#[derive(Debug, Clone, Copy)]
struct Holder {
    id: [u8; ID_LEN],
    expires_s: u32,
}

impl Default for UserCodes {
    fn default() -> Self {
        UserCodes::bounded(MAX_CODES)
    }
}

impl UserCodes {
    pub(super) fn bounded(max: usize) -> UserCodes {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        UserCodes { shards, held: AtomicUsize::new(0), max }
    }

    /// The part of the map that holds `code`.
    fn shard(&self, code: &[u8; CODE_LEN]) -> MutexGuard<'_, Shard> {
        self.shards[shard_of(code)].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The id of the newest authorization holding `code` in memory.
    pub(super) fn holder(&self, code: &str) -> Option<String> {
        let key: [u8; CODE_LEN] = code.as_bytes().try_into().ok()?;
        let holder = self.shard(&key).get(&key).copied()?;
        String::from_utf8(holder.id.to_vec()).ok()
    }

    /// Records the authorization `id`, expiring at `expires_at`, as the
    /// newest holder of `code`. False when memory cannot take it (full, or
    /// a code or id of another shape): its row goes into the index then.
    pub(super) fn hold(&self, code: &str, id: &str, expires_at: DateTime<Utc>) -> bool {
        let (Ok(key), Ok(id)) = (code.as_bytes().try_into(), id.as_bytes().try_into()) else { return false };
        let expires_s = u32::try_from(expires_at.timestamp().max(0)).unwrap_or(u32::MAX);
        let mut shard = self.shard(&key);
        if !shard.contains_key(&key) {
            // One thread writes (the writer, or the load before it starts).
            if self.held.load(Ordering::Relaxed) >= self.max {
                return false;
            }
            self.held.fetch_add(1, Ordering::Relaxed);
        }
        shard.insert(key, Holder { id, expires_s });
        true
    }

    /// Forgets that `id` holds `code` (its write failed). An older holder
    /// it replaced is not restored: its row is found as unknown instead of
    /// as used, the only trace a failed commit leaves.
    pub(super) fn release(&self, code: &str, id: &str) {
        let Ok(key) = <[u8; CODE_LEN]>::try_from(code.as_bytes()) else { return };
        let mut shard = self.shard(&key);
        if shard.get(&key).is_some_and(|holder| holder.id == id.as_bytes()) {
            shard.remove(&key);
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets the authorizations that expired at or before `until`, whose
    /// rows are purged, and gives back the memory they took.
    pub(super) fn sweep(&self, until: DateTime<Utc>) {
        let until_s = until.timestamp();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = shard.len();
            shard.retain(|_, holder| i64::from(holder.expires_s) > until_s);
            shard.shrink_to_fit();
            self.held.fetch_sub(before - shard.len(), Ordering::Relaxed);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Rebuilds the map from the rows that are not in the index, oldest
    /// first so the newest holder of each code wins. Rows past the bound
    /// (a smaller bound than when they were written) are put in the index.
    pub(super) fn load(&self, conn: &mut Connection) -> StoreResult<()> {
        let mut unheld = Vec::new();
        {
            let mut stmt = conn
                .prepare(
                    "SELECT user_code, id, expires_at FROM device_authorizations WHERE user_code_indexed = 0 \
                     ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let mut rows = stmt.query([]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let (code, id): (String, String) = (row.get(0).map_err(backend)?, row.get(1).map_err(backend)?);
                let expires_at = crate::rows::from_ms(row.get(2).map_err(backend)?);
                if !self.hold(&code, &id, expires_at) {
                    unheld.push(id);
                }
            }
        }
        if unheld.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        for id in &unheld {
            tx.execute("UPDATE device_authorizations SET user_code_indexed = 1 WHERE id = ?1", params![id])
                .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        tracing::info!(count = unheld.len(), "device user codes past the memory bound were indexed");
        Ok(())
    }
}

/// Which part of the map holds `code`: the top bits of a multiplicative
/// hash of its bytes.
fn shard_of(code: &[u8; CODE_LEN]) -> usize {
    let mixed = u64::from_le_bytes(*code).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - SHARDS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn id(n: u32) -> String {
        format!("dev_{n:017}")
    }

    #[test]
    fn the_newest_holder_of_a_code_is_found() {
        let codes = UserCodes::default();
        let expires = Utc::now() + Duration::minutes(10);
        assert_eq!(codes.holder("BCDFGHJK"), None);
        assert!(codes.hold("BCDFGHJK", &id(1), expires));
        assert!(codes.hold("BCDFGHJL", &id(2), expires));
        assert_eq!(codes.holder("BCDFGHJK"), Some(id(1)));
        assert!(codes.hold("BCDFGHJK", &id(3), expires));
        assert_eq!(codes.holder("BCDFGHJK"), Some(id(3)));
        assert_eq!(codes.holder("BCDFGHJL"), Some(id(2)));
        assert_eq!(codes.len(), 2);
    }

    #[test]
    fn codes_and_ids_of_another_shape_are_left_to_the_index() {
        let codes = UserCodes::default();
        let expires = Utc::now();
        assert!(!codes.hold("BCDFGHJ", &id(1), expires), "7 characters");
        assert!(!codes.hold("BCDFGHJKL", &id(1), expires), "9 characters");
        assert!(!codes.hold("BCDFGHJK", "dev_short", expires));
        assert_eq!(codes.len(), 0);
        assert_eq!(codes.holder("BCDFGHJ"), None);
    }

    #[test]
    fn a_released_hold_is_forgotten_only_by_its_own_id() {
        let codes = UserCodes::default();
        let expires = Utc::now();
        codes.hold("BCDFGHJK", &id(1), expires);
        codes.release("BCDFGHJK", &id(2));
        assert_eq!(codes.holder("BCDFGHJK"), Some(id(1)), "another id's release changes nothing");
        codes.release("BCDFGHJK", &id(1));
        assert_eq!(codes.holder("BCDFGHJK"), None);
    }

    #[test]
    fn past_the_bound_new_codes_are_refused_and_held_codes_still_change_hands() {
        let codes = UserCodes::bounded(2);
        let expires = Utc::now();
        assert!(codes.hold("BCDFGHJK", &id(1), expires));
        assert!(codes.hold("BCDFGHJL", &id(2), expires));
        assert!(!codes.hold("BCDFGHJM", &id(3), expires));
        assert!(codes.hold("BCDFGHJK", &id(4), expires), "a held code takes no more room");
        assert_eq!(codes.holder("BCDFGHJK"), Some(id(4)));
        assert_eq!(codes.holder("BCDFGHJM"), None);
    }

    #[test]
    fn the_sweep_forgets_codes_whose_rows_are_purged() {
        let codes = UserCodes::default();
        let now = crate::rows::from_ms(Utc::now().timestamp() * 1000);
        codes.hold("BCDFGHJK", &id(1), now);
        codes.hold("BCDFGHJL", &id(2), now + Duration::seconds(1));
        codes.sweep(now);
        assert_eq!(codes.holder("BCDFGHJK"), None);
        assert_eq!(codes.holder("BCDFGHJL"), Some(id(2)));
    }

    #[test]
    fn codes_spread_evenly_over_the_parts() {
        let mut counts = [0usize; SHARDS];
        let n = SHARDS * 1000;
        for _ in 0..n {
            let code = sitegpt_access::device::UserCode::generate();
            let key: [u8; CODE_LEN] = code.normalized().as_bytes().try_into().expect("8 letters");
            counts[shard_of(&key)] += 1;
        }
        // 1000 expected in each; 4 standard deviations is about 130.
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
        assert!((MAX_CODES * 8 / 7).is_power_of_two());
    }
}
