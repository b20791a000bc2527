//! The state every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use sitegpt_store::Store;

use crate::auth::{UsageRecorder, Verifier};
use crate::config::IntrospectionClients;

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
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, public_url: &str, introspection_clients: IntrospectionClients) -> AppState {
        AppState(Arc::new(Shared {
            verifier: Verifier::new(Arc::clone(&store)),
            usage: UsageRecorder::new(Arc::clone(&store)),
            store,
            public_url: public_url.into(),
            resource_metadata: format!("{public_url}/.well-known/oauth-protected-resource/api/v2").into(),
            introspection_clients,
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
