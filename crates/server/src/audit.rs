//! The server's side of the audit log: who is acting, from the request
//! being served; and the events of things that change nothing stored (a
//! token refused for its address, a failed sign-in), written off the
//! request's path.
//!
//! The store writes every other event itself, in the transaction of its
//! change (see `sitegpt_store::audit`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sitegpt_store::{Actor, AuditAction, AuditEvent, Store, TokenRecord};

use crate::context::RequestContext;

/// The person `user_id` (by the token `token_id`, when the request carried
/// one), from the address and `User-Agent` of the request being served.
pub fn actor(user_id: &str, token_id: Option<&str>) -> Actor {
    Actor { user_id: Some(user_id.to_owned()), token_id: token_id.map(str::to_owned), ..origin() }
}

/// Nobody known yet (a sign-in, a client's token request), from the
/// request being served.
pub fn origin() -> Actor {
    let context = RequestContext::current();
    Actor { ip: context.client.map(|ip| ip.to_string()), user_agent: context.readable_user_agent(), ..Actor::default() }
}

/// The `admin` command.
pub fn admin() -> Actor {
    Actor::service("admin")
}

/// How often one token's refusals for its address are written, per node: a
/// flood of refused requests writes one event a minute, not one each.
const REFUSAL_EVERY: Duration = Duration::from_secs(60);
/// Tokens remembered at most; past that the memory starts over.
const REFUSALS_KEPT: usize = 10_000;

/// Writes `token.address_refused` events, at most one per token a minute.
#[derive(Debug, Default)]
pub struct Refusals {
    last: Mutex<HashMap<String, Instant>>,
}

impl Refusals {
    /// Notes that `token` was refused for the request's address, and writes
    /// the event in the background when it is due.
    pub fn note(&self, store: &Arc<dyn Store>, token: &TokenRecord) {
        if !self.due(&token.id, Instant::now()) {
            return;
        }
        let by = Actor { user_id: Some(token.user_id.clone()), token_id: Some(token.id.clone()), ..origin() };
        write_later(store, AuditEvent::token_refused(token, &by, Utc::now()), "an address refusal");
    }

    fn due(&self, token_id: &str, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = last.get(token_id)
            && now.duration_since(*at) < REFUSAL_EVERY
        {
            return false;
        }
        if last.len() >= REFUSALS_KEPT {
            last.clear();
        }
        last.insert(token_id.to_owned(), now);
        true
    }
}

/// Writes a failed sign-in of `user_id` in the background, so the answer
/// takes as long as for an address nobody uses (which writes nothing:
/// there is no one to show it to).
pub fn sign_in_failed(store: &Arc<dyn Store>, user_id: &str) {
    let event = AuditEvent::personal(AuditAction::SignInFailed, user_id, &origin(), Utc::now());
    write_later(store, event, "a failed sign-in");
}

fn write_later(store: &Arc<dyn Store>, event: AuditEvent, what: &'static str) {
    let store = Arc::clone(store);
    tokio::spawn(async move {
        if let Err(error) = store.record_event(event).await {
            tracing::warn!(%error, "could not write {what} to the audit log");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_due_once_a_minute_per_token() {
        let refusals = Refusals::default();
        let start = Instant::now();
        assert!(refusals.due("tok_a", start));
        assert!(!refusals.due("tok_a", start + Duration::from_secs(59)));
        assert!(refusals.due("tok_b", start + Duration::from_secs(1)));
        assert!(refusals.due("tok_a", start + Duration::from_secs(61)));
    }
}
