//! The state every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use sitegpt_access::SubscriptionStatus;
use sitegpt_store::Store;

use crate::clients::Clients;
use crate::config::IntrospectionClients;
pub use crate::config::ServerConfig;
use crate::mail::MailQueue;
use crate::ratelimit::SharedLimiter;
use crate::verify::{UsageRecorder, Verifier};

/// Shared by all requests. One `Arc`, so cloning it per request is one
/// atomic increment.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    /// The database, behind the engine-neutral trait.
    pub store: Arc<dyn Store>,
    /// Verified tokens, cached per node and dropped when the auth epoch moves.
    pub verifier: Verifier,
    /// Writes `lastUsedAt` at most once a minute per token, off the request path.
    pub usage: UsageRecorder,
    /// The public base URL, without a trailing slash.
    pub public_url: Arc<str>,
    /// `WWW-Authenticate`'s `resource_metadata`: the RFC 9728 document of `/api/v2`.
    pub resource_metadata: Arc<str>,
    /// Confidential clients that may introspect any token.
    pub introspection_clients: IntrospectionClients,
    /// Outgoing mail: queued in the store, delivered by this queue's worker
    /// (SMTP, or the outbox folder).
    pub mail: Arc<MailQueue>,
    /// Subscription status of accounts created by sign-up.
    pub default_subscription: SubscriptionStatus,
    /// Rate limits counted in the store so every node sees them (the
    /// limits themselves are the constants of [`crate::ratelimit`]).
    pub limits: SharedLimiter,
    /// OAuth clients: registered, or described by a metadata document.
    pub clients: Clients,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client.
    pub trusted_proxies: crate::config::TrustedProxies,
    /// GitHub's keys for leaked-token reports; `None`: not accepted.
    pub secret_scanning: Option<crate::scanning_keys::ScanningKeys>,
    /// Address refusals written to the audit log, at most one per token a minute.
    pub refusals: crate::audit::Refusals,
    /// Answers to device-code polls that change nothing, kept a moment.
    pub poll_memo: crate::poll_memo::PollMemo,
    /// How long the audit log keeps an event.
    pub audit_retention: chrono::Duration,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> AppState {
        let public_url: Arc<str> = config.public_url.into();
        AppState(Arc::new(Shared {
            mail: Arc::new(MailQueue::new(Arc::clone(&store), config.mailer, Arc::clone(&public_url))),
            verifier: Verifier::new(Arc::clone(&store), config.token_cache),
            limits: SharedLimiter::new(Arc::clone(&store)),
            usage: UsageRecorder::new(Arc::clone(&store)),
            clients: Clients::new(Arc::clone(&store), config.documents),
            store,
            resource_metadata: format!("{public_url}/.well-known/oauth-protected-resource/api/v2").into(),
            public_url,
            introspection_clients: config.introspection_clients,
            trusted_proxies: config.trusted_proxies,
            secret_scanning: config.secret_scanning,
            refusals: crate::audit::Refusals::default(),
            poll_memo: crate::poll_memo::PollMemo::default(),
            audit_retention: config.audit_retention,
            default_subscription: config.default_subscription,
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
