//! The auth epoch of a PostgreSQL store, kept by listening.
//!
//! Every transaction that can change an authorization decision sends
//! `NOTIFY sitegpt_auth`; PostgreSQL delivers it, on commit, to every session
//! listening, so each node learns of a revocation on another node within
//! milliseconds. The epoch is a local counter that moves:
//!
//! - on each notification,
//! - at once after this node commits such a write (before the call returns),
//! - when the listening connection comes up (notifications sent while it was
//!   down are lost),
//! - and every [`TICK`] while it is down, so that caches keyed on the epoch
//!   hold nothing older than that: the fallback is a short time to live.
//!
//! Reading it is one atomic load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The notification channel.
pub(crate) const CHANNEL: &str = "sitegpt_auth";
/// How often the epoch moves while no notifications can arrive.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// Wait between attempts to reconnect.
const RECONNECT: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub(crate) struct Epoch {
    value: AtomicU64,
    listening: AtomicBool,
}

impl Epoch {
    pub(crate) fn current(&self) -> u64 {
        self.value.load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self) {
        self.value.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }
}

/// The background tasks; aborted when dropped.
#[derive(Debug)]
pub(crate) struct Listener {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Listener {
    pub(crate) fn start(config: tokio_postgres::Config, tls: MakeRustlsConnect, epoch: Arc<Epoch>) -> Listener {
        let ticker = {
            let epoch = Arc::clone(&epoch);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(TICK);
                loop {
                    tick.tick().await;
                    if !epoch.listening() {
                        epoch.bump();
                    }
                }
            })
        };
        let listener = tokio::spawn(listen_forever(config, tls, epoch));
        Listener { tasks: vec![ticker, listener] }
    }
}

async fn listen_forever(mut config: tokio_postgres::Config, tls: MakeRustlsConnect, epoch: Arc<Epoch>) {
    // Notice a vanished server even when no packet says so.
    config.keepalives(true).keepalives_idle(Duration::from_secs(5)).keepalives_interval(Duration::from_secs(2));
    config.keepalives_retries(3).connect_timeout(Duration::from_secs(5));
    loop {
        match listen_once(&config, tls.clone(), &epoch).await {
            Ok(()) => tracing::warn!("the PostgreSQL notification connection closed; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "the PostgreSQL notification connection failed; reconnecting"),
        }
        epoch.listening.store(false, Ordering::Release);
        epoch.bump();
        tokio::time::sleep(RECONNECT).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    epoch: &Arc<Epoch>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    let driver = {
        let epoch = Arc::clone(epoch);
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(_)) => epoch.bump(),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    };
    let listened = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
    if let Err(e) = listened {
        driver.abort();
        return Err(e);
    }
    // Whatever was committed before LISTEN took effect may not have been
    // heard: move on from it.
    epoch.listening.store(true, Ordering::Release);
    epoch.bump();
    tracing::info!("listening for authorization changes");
    let ended = driver.await;
    drop(client);
    match ended {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
