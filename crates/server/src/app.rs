//! Start-up as a value: [`Application::build`] opens the store, binds the
//! listener (port 0 in tests) and builds the router; [`Application::run`]
//! serves until the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::router::router;
use crate::serve::{ConnectionLimits, serve};
use crate::state::AppState;

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let store = settings.open_store_for_serving().await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let state = AppState::new(store, settings.server_config(addr)?);
        Ok(Application { listener, state, limits: settings.connection_limits() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    /// Background tasks meanwhile deliver queued mail and purge expired
    /// sessions, codes and links.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let janitor = tokio::spawn(purge_regularly(self.state.clone()));
        let mail = tokio::spawn(std::sync::Arc::clone(&self.state.mail).run());
        tracing::debug!(limits = ?self.limits, "connection limits");
        let served = serve(self.listener, router(self.state), self.limits, shutdown).await.context("serving HTTP");
        janitor.abort();
        mail.abort();
        served
    }
}

/// Every ten minutes, one round of [`tidy`].
async fn purge_regularly(state: AppState) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        ticks.tick().await;
        tidy(&state, chrono::Utc::now()).await;
    }
}

/// Deletes rows that can no longer be used and audit events past their
/// retention, and queues the expiry warnings that fell due (each node does;
/// the store's claims make each warning go once).
pub async fn tidy(state: &AppState, now: chrono::DateTime<chrono::Utc>) {
    let store = state.store.as_ref();
    match store.purge_expired(now).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged expired sessions, codes and links"),
        Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
    }
    match store.purge_audit_events(now - state.audit_retention).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged audit events past their retention"),
        Err(e) => tracing::warn!(error = %e, "could not purge old audit events"),
    }
    match crate::notices::send_expiry_notices(store, &state.public_url).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, "expiry warnings queued"),
        Err(e) => tracing::warn!(error = %e, "could not queue expiry warnings"),
    }
}

/// A future that resolves on Ctrl-C or SIGTERM. The handlers are in place
/// when this returns (not when the future is first polled), so a signal
/// that arrives at once still shuts down cleanly.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|e| tracing::warn!(error = %e, "cannot listen for {name}")).ok()
        };
        (listen(SignalKind::interrupt(), "Ctrl-C"), listen(SignalKind::terminate(), "SIGTERM"))
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => drop(signal.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
