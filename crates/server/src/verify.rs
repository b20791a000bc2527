//! Verifying bearer tokens on the hot path: the per-node cache of
//! verified tokens (served without a database read while the store's auth
//! epoch stands still), the limit on lookups of unknown tokens, and the
//! batched recording of `lastUsedAt`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sitegpt_access::{TokenFacts, TokenHash};
use sitegpt_store::{Store, TokenAuth, TokenUse};

use crate::error::ApiError;
use crate::ratelimit::RateLimiter;

pub use crate::config::CACHE_CAPACITY;
/// Hashes the store did not know, kept so repeating one costs no read.
const UNKNOWN_CAPACITY: usize = 16_384;
/// Lookups of unknown tokens one address may cause per minute; beyond,
/// tokens not already cached are refused with 429 until the minute ends.
pub const UNKNOWN_PER_MINUTE: u32 = 120;

/// A verified token as the cache holds it.
#[derive(Debug)]
pub struct Verified {
    pub auth: TokenAuth,
    pub facts: TokenFacts,
    /// `data` of `GET /api/v2/account` for this token, serialized on first use:
    /// it depends only on what is cached here.
    pub account_data: OnceLock<Box<RawValue>>,
    /// When this node last had `lastUsedAt` written for the token
    /// (milliseconds since the Unix epoch; 0: not yet), shared by every
    /// thread's copy of the entry.
    used_at: Arc<AtomicI64>,
}

impl Verified {
    fn new(auth: TokenAuth) -> Verified {
        let facts = TokenFacts {
            expires_at: auth.token.expires_at,
            revoked_at: auth.token.revoked_at,
            scopes: auth.token.scopes,
            chatbots: auth.token.chatbots.clone(),
            role: auth.role,
            email_verified: auth.email_verified,
            subscription_active: auth.subscription == sitegpt_access::SubscriptionStatus::Active,
            audience: auth.token.audience,
            allowed_ips: auth.token.allowed_ips.clone(),
        };
        Verified { auth, facts, account_data: OnceLock::new(), used_at: Arc::new(AtomicI64::new(0)) }
    }

    /// A copy of this entry for one thread's front cache: requests on that
    /// thread then count references to their own copy, and no two threads
    /// write to one reference count on every request. Only the record of
    /// the token's last use stays shared.
    fn copy_for_thread(&self) -> Verified {
        Verified {
            auth: self.auth.clone(),
            facts: self.facts.clone(),
            account_data: self.account_data.clone(),
            used_at: Arc::clone(&self.used_at),
        }
    }
}

/// The per-node cache of verified tokens, keyed by token hash.
///
/// Correctness rests on the store's auth epoch: every write that can change
/// a decision advances it (on PostgreSQL, every node's copy, by
/// notification). Each entry carries the epoch read *before* its database
/// read, and is served only while the epoch still has that value, so nothing
/// read before a change is used after it; when the epoch moves the cache is
/// also emptied. Expiry is not cached: it is checked on every request.
///
/// Unknown tokens cannot hammer the database: a hash the store did not know
/// is remembered (bounded), and each address may cause at most
/// [`UNKNOWN_PER_MINUTE`] lookups that find nothing. A token created on
/// another node is never in the unknown set, since its hash was never
/// presented before it existed.
/// What the cache answered for a hash.
#[derive(Debug)]
pub enum Cached {
    Hit(Arc<Verified>),
    /// Not cached: look it up, at this epoch.
    Miss {
        epoch: u64,
    },
}

#[derive(Debug)]
pub struct Verifier {
    store: Arc<dyn Store>,
    /// Tells this verifier's entries in the threads' front caches apart.
    id: u64,
    /// Moves at [`Verifier::clear`]: front entries from before are not served.
    generation: AtomicU64,
    /// The epoch the cache was last emptied at.
    epoch: AtomicU64,
    /// `None` when caching is turned off.
    entries: Option<TokenCache<(u64, Arc<Verified>)>>,
    unknown: TokenCache<()>,
    misses: RateLimiter,
}

impl Verifier {
    /// A verifier keeping up to `capacity` verified tokens (0: none).
    pub fn new(store: Arc<dyn Store>, capacity: usize) -> Verifier {
        static IDS: AtomicU64 = AtomicU64::new(1);
        Verifier {
            store,
            id: IDS.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(u64::MAX),
            entries: (capacity > 0).then(|| token_cache(capacity)),
            unknown: token_cache(UNKNOWN_CAPACITY),
            misses: RateLimiter::new(UNKNOWN_PER_MINUTE, Duration::from_secs(60)),
        }
    }

    /// The token with this hash and its facts, or `None` if none is stored.
    /// `peer` gives the client's address, for the limit on unknown tokens
    /// (asked only when the cache does not answer).
    pub async fn verify(
        &self,
        hash: TokenHash,
        peer: impl FnOnce() -> String,
    ) -> Result<Option<Arc<Verified>>, ApiError> {
        match self.cached(&hash, crate::clock::read().unix_nanos)? {
            Cached::Hit(verified) => Ok(Some(verified)),
            Cached::Miss { epoch } => self.look_up(hash, epoch, peer).await,
        }
    }

    /// The token with this hash if the cache holds it (only a token the
    /// store knew can be there, so a hit needs no other check). `unix_nanos`
    /// is the request's reading of the clock ([`crate::clock::read`]).
    pub fn cached(&self, hash: &TokenHash, unix_nanos: u64) -> Result<Cached, ApiError> {
        let epoch = self.store.auth_epoch_at(unix_nanos)?;
        if let Some(entries) = &self.entries {
            // A plain load first: the hot path writes nothing shared.
            if self.epoch.load(Ordering::Acquire) != epoch && self.epoch.swap(epoch, Ordering::AcqRel) != epoch {
                entries.clear();
            }
            let generation = self.generation.load(Ordering::Acquire);
            if let Some(hit) = front::get(self.id, generation, hash, epoch) {
                return Ok(Cached::Hit(hit));
            }
            if let Some((at, hit)) = entries.get(hash)
                && at == epoch
            {
                front::put(self.id, generation, *hash, epoch, &hit);
                return Ok(Cached::Hit(hit));
            }
        }
        Ok(Cached::Miss { epoch })
    }

    /// After a miss at `epoch`: the token from the store, remembered, or
    /// `None` (remembered as unknown, and counted against `peer`).
    #[tracing::instrument(name = "token_lookup", level = "debug", skip_all)]
    pub async fn look_up(
        &self,
        hash: TokenHash,
        epoch: u64,
        peer: impl FnOnce() -> String,
    ) -> Result<Option<Arc<Verified>>, ApiError> {
        if self.unknown.get(&hash).is_some() {
            return Ok(None);
        }
        let peer = &peer();
        if let Some(wait) = self.unknown_lookups_blocked(peer) {
            return Err(ApiError::RateLimited(wait.as_secs().max(1)));
        }
        let Some(auth) = self.store.token_for_auth(hash).await? else {
            self.unknown.insert(hash, ());
            self.count_unknown_lookup(peer);
            return Ok(None);
        };
        let verified = Arc::new(Verified::new(auth));
        if let Some(entries) = &self.entries {
            entries.insert(hash, (epoch, Arc::clone(&verified)));
        }
        Ok(Some(verified))
    }

    /// How long `peer` must wait before its next lookup of an unknown
    /// credential, if it used up its minute (shared with the v0 API's keys).
    pub fn unknown_lookups_blocked(&self, peer: &str) -> Option<Duration> {
        self.misses.blocked(peer)
    }

    /// Counts a lookup that found nothing against `peer`.
    pub fn count_unknown_lookup(&self, peer: &str) {
        self.misses.fail(peer);
    }

    /// Forgets everything (after writes this node makes, the epoch does the
    /// same; this is for tests and operators).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(entries) = &self.entries {
            entries.clear();
        }
        self.unknown.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A small cache in front of the shared one on each thread: a token used
/// again and again (an agent's) is found without touching the shared
/// cache's locks, which every thread would otherwise take for that one
/// token. An entry is served only for its verifier, at the epoch it was
/// read at and before any [`Verifier::clear`], exactly as the shared
/// cache's entries are; one that is not is replaced by the next use.
mod front {
    use std::cell::RefCell;
    use std::sync::Arc;

    use sitegpt_access::TokenHash;

    use super::Verified;

    const SLOTS: usize = 64;

    struct Entry {
        verifier: u64,
        generation: u64,
        hash: TokenHash,
        epoch: u64,
        verified: Arc<Verified>,
    }

    thread_local! {
        static FRONT: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
    }

    /// Token hashes are uniform: their first byte picks the slot.
    fn slot(hash: &TokenHash) -> usize {
        usize::from(hash.as_bytes()[0]) % SLOTS
    }

    pub(super) fn get(verifier: u64, generation: u64, hash: &TokenHash, epoch: u64) -> Option<Arc<Verified>> {
        FRONT.with(|front| {
            let front = front.try_borrow().ok()?;
            let entry = front.get(slot(hash))?.as_ref()?;
            (entry.verifier == verifier
                && entry.generation == generation
                && entry.epoch == epoch
                && entry.hash == *hash)
                .then(|| Arc::clone(&entry.verified))
        })
    }

    pub(super) fn put(verifier: u64, generation: u64, hash: TokenHash, epoch: u64, verified: &Arc<Verified>) {
        FRONT.with(|front| {
            let Ok(mut front) = front.try_borrow_mut() else { return };
            if front.is_empty() {
                front.resize_with(SLOTS, || None);
            }
            let verified = Arc::new(verified.copy_for_thread());
            front[slot(&hash)] = Some(Entry { verifier, generation, hash, epoch, verified });
        });
    }
}

type TokenCache<V> = quick_cache::sync::Cache<TokenHash, V, quick_cache::UnitWeighter, KeyedPrefix>;

fn token_cache<V: Clone>(capacity: usize) -> TokenCache<V> {
    let hasher = KeyedPrefix { key: rand::random() };
    quick_cache::sync::Cache::with(
        capacity,
        capacity as u64,
        quick_cache::UnitWeighter,
        hasher,
        quick_cache::sync::DefaultLifecycle::default(),
    )
}

/// Hashes token hashes, which are SHA-256 outputs: their first eight bytes
/// are already uniform, so mixing them with a per-process key (against
/// ground collisions) is all the hashing needed.
#[derive(Debug, Clone)]
struct KeyedPrefix {
    key: u64,
}

impl std::hash::BuildHasher for KeyedPrefix {
    type Hasher = PrefixHasher;

    fn build_hasher(&self) -> PrefixHasher {
        PrefixHasher(self.key)
    }
}

#[derive(Debug)]
struct PrefixHasher(u64);

impl std::hash::Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        (self.0 ^ (self.0 >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = (self.0 ^ u64::from_le_bytes(word)).rotate_left(23).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Records `lastUsedAt` at most once a minute per token, off the request
/// path. The time of the last recording rides on the cached entry, so a
/// request takes no lock unless its token is due; due uses wait in a bounded
/// buffer and are written together, a quarter of a second later, in one
/// transaction (the store's conditional `UPDATE` is the final guard). When
/// more than [`MAX_PENDING_USES`] tokens fall due within one flush, the rest
/// are skipped for that minute rather than queued without bound.
#[derive(Debug, Clone)]
pub struct UsageRecorder {
    store: Arc<dyn Store>,
    pending: Arc<std::sync::Mutex<Vec<TokenUse>>>,
    flushing: Arc<std::sync::atomic::AtomicBool>,
}

const USAGE_INTERVAL_MS: i64 = 60_000;
/// Uses kept waiting for one flush.
pub const MAX_PENDING_USES: usize = 2_000;
const FLUSH_AFTER: Duration = Duration::from_millis(250);

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>) -> UsageRecorder {
        UsageRecorder { store, pending: Default::default(), flushing: Default::default() }
    }

    /// Records a use from the address `client` gives, with the `User-Agent`
    /// that `user_agent` reads (both asked only when the token is due).
    pub fn record<'h>(
        &self,
        verified: &Verified,
        now: DateTime<Utc>,
        client: impl FnOnce() -> Option<std::net::IpAddr>,
        user_agent: impl FnOnce() -> Option<&'h axum::http::HeaderValue>,
    ) {
        let now_ms = now.timestamp_millis();
        let last = verified.used_at.load(Ordering::Relaxed);
        if now_ms - last < USAGE_INTERVAL_MS
            || verified.used_at.compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed).is_err()
        {
            return;
        }
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() >= MAX_PENDING_USES {
                return;
            }
            pending.push(TokenUse {
                token_id: verified.auth.token.id.clone(),
                at: now,
                ip: client().map(|ip| ip.to_string()),
                user_agent: user_agent().and_then(|v| v.to_str().ok()).map(crate::context::readable_user_agent),
            });
        }
        if !self.flushing.swap(true, Ordering::AcqRel) {
            let recorder = self.clone();
            tokio::spawn(async move { recorder.flush().await });
        }
    }

    async fn flush(self) {
        loop {
            tokio::time::sleep(FLUSH_AFTER).await;
            let uses = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
            if !uses.is_empty() {
                let count = uses.len();
                if let Err(e) = self.store.touch_tokens(uses).await {
                    tracing::warn!(count, error = %e, "could not record token use");
                }
            }
            // Stop, unless uses arrived since the batch was taken and no
            // other flush has been scheduled for them.
            self.flushing.store(false, Ordering::Release);
            let more = !self.pending.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
            if !more || self.flushing.swap(true, Ordering::AcqRel) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitegpt_access::{ChatbotRestriction, CreatedVia, Role, ScopeSet, SubscriptionStatus};
    use sitegpt_store::TokenRecord;

    fn verified(i: usize) -> Verified {
        let now = Utc::now();
        Verified::new(TokenAuth {
            token: TokenRecord {
                id: format!("tok_{i}"),
                account_id: "acc_1".into(),
                user_id: "usr_1".into(),
                name: "t".into(),
                hint: "abcd".into(),
                scopes: ScopeSet::all(),
                chatbots: ChatbotRestriction::unrestricted(),
                created_via: CreatedVia::Api,
                created_at: now,
                secret_issued_at: now,
                expires_at: now + chrono::Duration::days(1),
                last_used_at: None,
                revoked_at: None,
                grant_id: None,
                audience: None,
                last_used_ip: None,
                last_used_user_agent: None,
                allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
            },
            user_email: "u@example.com".into(),
            email_verified: true,
            role: Some(Role::Owner),
            account_name: "a".into(),
            subscription: SubscriptionStatus::Active,
        })
    }

    #[test]
    fn a_threads_front_entry_is_served_only_for_its_verifier_epoch_generation_and_token() {
        let token = Arc::new(verified(1));
        let hash = TokenHash([7; 32]);
        // Same slot (first byte), another token.
        let mut other = [7; 32];
        other[31] = 8;
        let other = TokenHash(other);
        token.account_data.set(RawValue::from_string("{}".into()).expect("json")).expect("unset");
        front::put(1, 0, hash, 5, &token);
        let front = front::get(1, 0, &hash, 5).expect("served from the thread's front");
        // The thread's own copy (no reference count shared across threads)…
        assert!(!Arc::ptr_eq(&front, &token));
        assert_eq!((&front.auth, &front.facts), (&token.auth, &token.facts));
        assert_eq!(front.account_data.get().map(|d| d.get()), Some("{}"));
        assert!(Arc::ptr_eq(&front::get(1, 0, &hash, 5).expect("again"), &front), "one copy per thread");
        assert!(front::get(2, 0, &hash, 5).is_none(), "another verifier (another store)");
        assert!(front::get(1, 1, &hash, 5).is_none(), "cleared since");
        assert!(front::get(1, 0, &hash, 6).is_none(), "the epoch moved");
        assert!(front::get(1, 0, &other, 5).is_none(), "another token in the same slot");
        let elsewhere = std::thread::spawn(move || front::get(1, 0, &hash, 5).is_none());
        assert!(elsewhere.join().expect("thread"), "each thread has its own");
    }

    /// A recorder writing to a SQLite file in a directory of its own (kept
    /// while the directory is).
    fn recorder() -> (tempfile::TempDir, UsageRecorder) {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> =
            Arc::new(sitegpt_store::sqlite::SqliteStore::open(&dir.path().join("db")).expect("store"));
        (dir, UsageRecorder::new(store))
    }

    #[tokio::test]
    async fn a_threads_copy_shares_the_record_of_the_last_use() {
        let (_dir, recorder) = recorder();
        let shared = verified(1);
        let copy = shared.copy_for_thread();
        let now = Utc::now();
        recorder.record(&copy, now, || None, || None);
        recorder.record(&shared, now + chrono::Duration::seconds(1), || None, || None);
        assert_eq!(recorder.pending.lock().expect("lock").len(), 1, "once a minute, whichever copy was used");
        recorder.record(&shared, now + chrono::Duration::seconds(61), || None, || None);
        assert_eq!(recorder.pending.lock().expect("lock").len(), 2);
    }

    #[tokio::test]
    async fn uses_are_recorded_once_a_minute_and_the_buffer_is_bounded() {
        let (_dir, recorder) = recorder();
        let now = Utc::now();
        let one = verified(0);
        let agent = axum::http::HeaderValue::from_static("curl/8.5.0\tok");
        recorder.record(&one, now, || "203.0.113.7".parse().ok(), || Some(&agent));
        let first = recorder.pending.lock().expect("lock")[0].clone();
        assert_eq!((first.ip.as_deref(), first.user_agent.as_deref()), (Some("203.0.113.7"), Some("curl/8.5.0ok")));
        recorder.record(&one, now + chrono::Duration::seconds(30), || panic!("read only when"), || panic!("recorded"));
        assert_eq!(recorder.pending.lock().expect("lock").len(), 1, "once a minute per token");
        recorder.record(&one, now + chrono::Duration::seconds(61), || None, || None);
        assert_eq!(recorder.pending.lock().expect("lock").len(), 2, "again after a minute");
        let many: Vec<Verified> = (1..=MAX_PENDING_USES + 500).map(verified).collect();
        for v in &many {
            recorder.record(v, now, || None, || None);
        }
        assert_eq!(recorder.pending.lock().expect("lock").len(), MAX_PENDING_USES, "bounded");
        // The flush empties the buffer (the tokens do not exist; the update
        // simply changes nothing).
        tokio::time::sleep(FLUSH_AFTER * 4).await;
        assert!(recorder.pending.lock().expect("lock").is_empty());
        assert!(!recorder.flushing.load(Ordering::Acquire));
    }
}
