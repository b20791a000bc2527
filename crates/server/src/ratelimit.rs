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

/// One limit: at most `max` counted events per `window` for each key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Prefix of the keys, so limits with the same key text never share a counter.
    pub name: &'static str,
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minute(name: &'static str, max: u32) -> Limit {
        Limit { name, max, window: Duration::from_secs(60) }
    }
}

/// Failed sign-ins from one address, whatever the account.
pub const LOGIN_ADDRESS: Limit = Limit::per_minute("login-addr", 10);
/// Failed sign-ins from one address into one account.
pub const LOGIN_ADDRESS_ACCOUNT: Limit = Limit { name: "login-pair", max: 5, window: Duration::from_secs(600) };
/// Failed sign-ins into one account from anywhere. Past it, only addresses
/// that have already failed for that account are refused, so nobody can
/// lock the owner out by failing on purpose.
pub const LOGIN_ACCOUNT: Limit = Limit { name: "login-account", max: 10, window: Duration::from_secs(600) };
/// Sign-ups from one address (each costs a password hash and a mail).
pub const SIGNUP_ADDRESS: Limit = Limit { name: "signup-addr", max: 10, window: Duration::from_secs(600) };
/// Device authorizations from one address (each stores a row).
pub const DEVICE_ADDRESS: Limit = Limit::per_minute("device-addr", 30);
/// OAuth client registrations from one address (each stores a row).
pub const CLIENT_REGISTRATION: Limit = Limit { name: "register-addr", max: 20, window: Duration::from_secs(3600) };
/// Wrong device codes, per session and per address.
pub const DEVICE_CODE: Limit = Limit::per_minute("device-code", 5);
/// New verification links asked for by one person.
pub const RESEND_VERIFICATION: Limit = Limit::per_minute("resend", 10);
/// Password reset requests from one client address.
pub const RESET_ADDRESS: Limit = Limit { name: "reset-addr", max: 10, window: Duration::from_secs(3600) };
/// Password reset mails to one address.
pub const RESET_EMAIL: Limit = Limit { name: "reset-email", max: 3, window: Duration::from_secs(3600) };
/// Wrong current passwords when changing it, per user.
pub const PASSWORD_CHANGE: Limit = Limit { name: "password-change", max: 5, window: Duration::from_secs(600) };

/// Counters in the store, shared by every node on it. Keys are stored as
/// SHA-256 hashes of the limit's name and the key.
#[derive(Debug)]
pub struct SharedLimiter {
    store: Arc<dyn Store>,
}

impl SharedLimiter {
    pub fn new(store: Arc<dyn Store>) -> SharedLimiter {
        SharedLimiter { store }
    }

    /// Events counted for `key` under `limit` in its current window.
    pub async fn count(&self, limit: &Limit, key: &str) -> StoreResult<u32> {
        let window = chrono_window(limit);
        Ok(self.store.failures(hash(limit, key), chrono::Utc::now(), window).await?.map_or(0, |w| w.count))
    }

    /// `Some(wait)` when any of `checks` has used up its limit.
    pub async fn blocked(&self, checks: &[(Limit, &str)]) -> StoreResult<Option<Duration>> {
        let now = chrono::Utc::now();
        let mut wait = None;
        for (limit, key) in checks {
            let window = chrono_window(limit);
            if let Some(counted) = self.store.failures(hash(limit, key), now, window).await?
                && counted.count >= limit.max
            {
                wait = wait.max(Some(left(counted.started_at + window, now)));
            }
        }
        Ok(wait)
    }

    /// Counts one event for each of `checks`.
    pub async fn fail(&self, checks: &[(Limit, &str)]) -> StoreResult<()> {
        let now = chrono::Utc::now();
        for (limit, key) in checks {
            self.store.count_failure(hash(limit, key), now, chrono_window(limit)).await?;
        }
        Ok(())
    }

    /// Counts one attempt for each of `checks` and says how long to wait
    /// when any of them is now past its limit. Counting first makes the
    /// limit exact under concurrency: of 25 simultaneous attempts against a
    /// limit of 10, exactly 10 pass.
    pub async fn take(&self, checks: &[(Limit, &str)]) -> StoreResult<Option<Duration>> {
        let now = chrono::Utc::now();
        let mut wait = None;
        for (limit, key) in checks {
            let window = chrono_window(limit);
            let counted = self.store.count_failure(hash(limit, key), now, window).await?;
            if counted.count > limit.max {
                wait = wait.max(Some(left(counted.started_at + window, now)));
            }
        }
        Ok(wait)
    }
}

/// A use of `limit` by `key` at `now`, for a store method that counts it in
/// the transaction of the write it limits (one commit instead of two).
pub fn use_of(limit: &Limit, key: &str, now: chrono::DateTime<chrono::Utc>) -> sitegpt_store::UseLimit {
    sitegpt_store::UseLimit { key: hash(limit, key), now, window: chrono_window(limit), max: limit.max }
}

/// How long to wait once `window` of `limit` is over its count.
pub fn wait_for(limit: &Limit, window: sitegpt_store::FailureWindow, now: chrono::DateTime<chrono::Utc>) -> Duration {
    left(window.started_at + chrono_window(limit), now)
}

fn chrono_window(limit: &Limit) -> chrono::Duration {
    chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX)
}

fn left(ends: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Duration {
    (ends - now).to_std().unwrap_or(Duration::from_secs(1)).max(Duration::from_secs(1))
}

fn hash(limit: &Limit, key: &str) -> [u8; 32] {
    let mut digest = sha2::Sha256::new();
    digest.update(limit.name.as_bytes());
    digest.update(b":");
    digest.update(key.as_bytes());
    digest.finalize().into()
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
