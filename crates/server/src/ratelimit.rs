//! Fixed-window failure counters: each key may fail `limit` times per
//! window. [`SharedLimiter`] keeps them in the store, so every node counts
//! the same failures (sign-in attempts, wrong device codes);
//! [`RateLimiter`] keeps them in this process, for limits that protect the
//! node itself (lookups of unknown tokens).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest;
use sitegpt_store::{Store, StoreResult};

/// Failure counters in the store, shared by every node on it. Keys are
/// stored as SHA-256 hashes.
#[derive(Debug)]
pub struct SharedLimiter {
    store: Arc<dyn Store>,
    limit: u32,
    window: chrono::Duration,
}

impl SharedLimiter {
    pub fn new(store: Arc<dyn Store>, limit: u32, window: Duration) -> SharedLimiter {
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        SharedLimiter { store, limit, window }
    }

    /// `Some(wait)` when any of `keys` has used up its failures.
    pub async fn blocked(&self, keys: &[String]) -> StoreResult<Option<Duration>> {
        let now = chrono::Utc::now();
        let mut wait = None;
        for key in keys {
            if let Some(window) = self.store.failures(hash(key), now, self.window).await?
                && window.count >= self.limit
            {
                let left = (window.started_at + self.window - now).to_std().unwrap_or(Duration::from_secs(1));
                wait = wait.max(Some(left));
            }
        }
        Ok(wait)
    }

    /// Counts one failure for each of `keys`.
    pub async fn fail(&self, keys: &[String]) -> StoreResult<()> {
        let now = chrono::Utc::now();
        for key in keys {
            self.store.count_failure(hash(key), now, self.window).await?;
        }
        Ok(())
    }
}

fn hash(key: &str) -> [u8; 32] {
    sha2::Sha256::digest(key.as_bytes()).into()
}

/// Keys kept before stale ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter { limit, window, entries: Mutex::new(HashMap::new()) }
    }

    /// `Some(wait)` when `key` has used up its failures for this window.
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = entries.get(key)?;
        let elapsed = start.elapsed();
        (elapsed < self.window && *count >= self.limit).then(|| self.window - elapsed)
    }

    /// Counts one failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SWEEP_AT {
            let window = self.window;
            entries.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_within_the_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.blocked("a").is_none());
            limiter.fail("a");
        }
        let wait = limiter.blocked("a").expect("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(limiter.blocked("b").is_none(), "keys are independent");
    }

    #[test]
    fn a_new_window_starts_over() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        limiter.fail("a");
        assert!(limiter.blocked("a").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.blocked("a").is_none());
        limiter.fail("a");
        assert!(limiter.blocked("a").is_some());
    }
}
