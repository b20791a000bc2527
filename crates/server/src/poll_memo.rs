//! Answers to device-code polls that change nothing, remembered for a
//! moment, so a client polling far faster than its interval costs a hash
//! lookup rather than a database read.
//!
//! Only answers the store says hold for a while are kept: a code already
//! used, denied or expired (final), and `slow_down` for a poll too soon at
//! the longest interval (until the interval has passed). Each is kept at
//! most [`REMEMBER_FOR`]: a decision made on another node reaches a client
//! polling this one too fast that much later, and never one that keeps its
//! interval (its polls are not too soon). A decision made on this node
//! forgets everything at once.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sitegpt_store::{DevicePollOutcome, PollAnswer};

/// The longest an answer is served from memory.
pub const REMEMBER_FOR: chrono::Duration = chrono::Duration::seconds(1);
/// Codes remembered at once.
const CAPACITY: usize = 4_096;

#[derive(Debug)]
pub struct PollMemo {
    entries: quick_cache::sync::Cache<[u8; 32], Remembered>,
    /// Moves with every decision on this node; entries read before the
    /// latest one are not served.
    generation: AtomicU64,
}

#[derive(Debug, Clone)]
struct Remembered {
    client_id: Box<str>,
    outcome: DevicePollOutcome,
    until: DateTime<Utc>,
    generation: u64,
}

impl Default for PollMemo {
    fn default() -> PollMemo {
        PollMemo { entries: quick_cache::sync::Cache::new(CAPACITY), generation: AtomicU64::new(0) }
    }
}

impl PollMemo {
    /// The generation to pass to [`PollMemo::remember`]: read it before the
    /// store is read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The remembered answer to `client_id`'s poll of the code, if any holds.
    pub fn answer(&self, code_hash: &[u8; 32], client_id: &str, now: DateTime<Utc>) -> Option<DevicePollOutcome> {
        let found = self.entries.get(code_hash)?;
        let holds = found.client_id.as_ref() == client_id && now < found.until && found.generation == self.generation();
        holds.then_some(found.outcome)
    }

    /// Keeps `answer` (read at `generation`) while it holds, at most
    /// [`REMEMBER_FOR`].
    pub fn remember(
        &self,
        code_hash: [u8; 32],
        client_id: &str,
        answer: &PollAnswer,
        now: DateTime<Utc>,
        generation: u64,
    ) {
        let Some(holds_until) = answer.holds_until else { return };
        let until = holds_until.min(now + REMEMBER_FOR);
        if until > now {
            let outcome = answer.outcome.clone();
            self.entries.insert(code_hash, Remembered { client_id: client_id.into(), outcome, until, generation });
        }
    }

    /// Forgets every answer (a code was approved or denied here).
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_down_until(until: DateTime<Utc>) -> PollAnswer {
        PollAnswer { outcome: DevicePollOutcome::SlowDown { interval_secs: 60 }, holds_until: Some(until) }
    }

    #[test]
    fn answers_hold_until_the_store_says_and_at_most_a_second() {
        let memo = PollMemo::default();
        let now = Utc::now();
        let code = [7u8; 32];
        memo.remember(code, "cli", &slow_down_until(now + chrono::Duration::milliseconds(300)), now, memo.generation());
        let slow = Some(DevicePollOutcome::SlowDown { interval_secs: 60 });
        assert_eq!(memo.answer(&code, "cli", now), slow);
        assert_eq!(memo.answer(&code, "other-client", now), None, "another client's poll is not answered");
        assert_eq!(memo.answer(&[8u8; 32], "cli", now), None);
        assert_eq!(memo.answer(&code, "cli", now + chrono::Duration::milliseconds(300)), None, "the interval passed");

        let final_answer =
            PollAnswer { outcome: DevicePollOutcome::Denied, holds_until: Some(DateTime::<Utc>::MAX_UTC) };
        memo.remember(code, "cli", &final_answer, now, memo.generation());
        assert_eq!(
            memo.answer(&code, "cli", now + chrono::Duration::milliseconds(999)),
            Some(DevicePollOutcome::Denied)
        );
        assert_eq!(memo.answer(&code, "cli", now + REMEMBER_FOR), None, "never longer than a second");

        let unknown = PollAnswer { outcome: DevicePollOutcome::Unknown, holds_until: None };
        memo.remember([9u8; 32], "cli", &unknown, now, memo.generation());
        assert_eq!(memo.answer(&[9u8; 32], "cli", now), None, "an unknown code may yet be created");
    }

    #[test]
    fn a_decision_here_forgets_answers_read_before_it() {
        let memo = PollMemo::default();
        let now = Utc::now();
        let read_at = memo.generation();
        memo.forget_all();
        // A poll that read the store before the decision remembers too late.
        memo.remember([1u8; 32], "cli", &slow_down_until(now + REMEMBER_FOR), now, read_at);
        assert_eq!(memo.answer(&[1u8; 32], "cli", now), None);
        memo.remember([1u8; 32], "cli", &slow_down_until(now + REMEMBER_FOR), now, memo.generation());
        assert!(memo.answer(&[1u8; 32], "cli", now).is_some());
        memo.forget_all();
        assert_eq!(memo.answer(&[1u8; 32], "cli", now), None);
    }
}
