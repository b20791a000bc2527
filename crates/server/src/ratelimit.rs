//! Fixed-window failure counters, per node and in memory: enough to slow
//! down guessing (passwords, device codes) from one address or against one
//! account. Each key may fail `limit` times per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
