//! `sitepulse-server serve`: its settings, its store (SQLite in the data
//! directory by default, PostgreSQL for many nodes), the HTTP application
//! (health, API v1, an access log) on the engine's listener, and the
//! node's check runner.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sitegpt_access::net::IpRange;
use sitegpt_store::pulse::PulseStore;
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;

use crate::api::{self, AppState};
use crate::check::{CheckPolicy, Checker};
use crate::runner::{Runner, RunnerSettings};

/// Settings of `sitepulse-server`, from flags or `SITEPULSE_*` variables.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "SITEPULSE_LISTEN", default_value = "127.0.0.1:8090", global = true)]
    pub listen: SocketAddr,
    /// The URL people reach this server at; cookies are `Secure` when it is https.
    #[arg(long, env = "SITEPULSE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Folder of the embedded database (`sitepulse.db`).
    #[arg(long, env = "SITEPULSE_DATA_DIR", default_value = "./sitepulse-data", global = true)]
    pub data_dir: PathBuf,
    /// A `postgres://` URL: a database of SitePulse's own, for many nodes.
    #[arg(long, env = "SITEPULSE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// `full` (every answered write survives a power cut) or `normal`
    /// (survives a crashed process; the last writes may be lost on power loss).
    #[arg(long, env = "SITEPULSE_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = sitegpt_server::config::parse_synchronous, global = true)]
    pub synchronous: Synchronous,
    /// Non-public address ranges checks may reach, space-separated (none by
    /// default: loopback, private and link-local addresses are refused).
    #[arg(long, env = "SITEPULSE_CHECK_PRIVATE_RANGES", default_value = "", value_parser = parse_ranges, global = true)]
    pub check_private_ranges: Ranges,
    /// Seconds a check may take, redirects included.
    #[arg(long, env = "SITEPULSE_CHECK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120), global = true)]
    pub check_timeout_secs: u64,
    /// Whether this node runs checks (a node can serve the API only).
    #[arg(long, env = "SITEPULSE_RUN_CHECKS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub run_checks: bool,
    /// This node's name in the claims of check runs (unique among nodes).
    #[arg(long, env = "SITEPULSE_NODE", global = true)]
    pub node: Option<String>,
    /// Milliseconds between looks for due and queued checks.
    #[arg(long, env = "SITEPULSE_CHECK_TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000), global = true)]
    pub check_tick_ms: u64,
}

/// Address ranges, as parsed from a setting.
#[derive(Debug, Clone, Default)]
pub struct Ranges(pub Vec<IpRange>);

fn parse_ranges(text: &str) -> Result<Ranges, String> {
    text.split_whitespace()
        .map(|r| r.parse::<IpRange>().map_err(|e| format!("`{r}`: {e}")))
        .collect::<Result<Vec<_>, _>>()
        .map(Ranges)
}

impl Settings {
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("sitepulse.db")
    }

    /// The store, for the server (`serving`: the one process serving the
    /// SQLite file) or for an admin command beside it.
    pub async fn open_store(&self, serving: bool) -> anyhow::Result<Arc<dyn PulseStore>> {
        Ok(match &self.database_url {
            Some(url) => Arc::new(sitegpt_store::postgres::pulse::PostgresPulseStore::connect(url).await?),
            None if serving => Arc::new(SqlitePulseStore::open_serving(&self.sqlite_path(), self.synchronous)?),
            None => Arc::new(SqlitePulseStore::open(&self.sqlite_path(), self.synchronous)?),
        })
    }

    pub fn checker(&self) -> anyhow::Result<Checker> {
        let policy = CheckPolicy {
            timeout: Duration::from_secs(self.check_timeout_secs),
            private_ranges: self.check_private_ranges.0.clone(),
            ..CheckPolicy::default()
        };
        Checker::new(policy, None)
    }

    fn node(&self) -> String {
        self.node.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
            format!("{}-{}", if host.is_empty() { "node" } else { &host }, std::process::id())
        })
    }

    fn engine(&self) -> &'static str {
        if self.database_url.is_some() { "postgres" } else { "sqlite" }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    use crate::web;
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/assets/app.css", get(sitegpt_server::web::assets::css))
        .route("/assets/app.js", get(sitegpt_server::web::assets::script))
        .route("/assets/favicon.svg", get(sitegpt_server::web::assets::favicon))
        .route("/", get(web::home))
        .route("/login", get(web::login_page).post(web::login))
        .route("/logout", axum::routing::post(web::logout))
        .route("/settings/tokens", get(web::tokens).post(web::create))
        .route("/settings/tokens/{id}/revoke", get(web::confirm_revoke).post(web::revoke))
        .route("/settings/mcp", get(web::mcp))
        .route("/settings/mcp/apps/{id}/revoke", axum::routing::post(web::disconnect))
        .route("/oauth/authorize", get(crate::consent::show).post(crate::consent::decide))
        .merge(crate::oauth::routes())
        .merge(api::routes())
        .merge(crate::mcp::routes(&state));
    api::with_fallbacks(routes).with_state(state).layer(middleware::from_fn(access_log))
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok", "product": "sitepulse", "version": env!("CARGO_PKG_VERSION")}))
        .into_response()
}

/// One line per request: method, route template (never the raw path),
/// status and time taken. Nothing of the headers, so no token.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    tracing::info!(
        target: "sitepulse::access",
        method = %method,
        route = route.as_ref().map_or("(unmatched)", MatchedPath::as_str),
        status = response.status().as_u16(),
        elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// On a store without users: how to make the first one and a token.
fn first_run_hint(settings: &Settings) {
    let data = settings.data_dir.display();
    tracing::info!(
        "No users yet. Create one, a team and a first token (the token is shown once):\n    \
         sitepulse-server --data-dir {data} admin create-user --email you@example.com --password '…' --verified\n    \
         sitepulse-server --data-dir {data} admin create-team --owner-email you@example.com --name 'My team'\n    \
         sitepulse-server --data-dir {data} admin create-token --email you@example.com --name first \
         --scope teams:read --scope sites:read --scope sites:write --scope checks:read --scope checks:run --scope issues:read"
    );
}

/// Serves until a signal, running checks on this node unless turned off.
pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let store = settings.open_store(true).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let address = listener.local_addr()?;
    let shutdown = sitegpt_server::app::shutdown_signal();
    if store.user_count().await? == 0 {
        first_run_hint(settings);
    }
    let runner = if settings.run_checks {
        let runner_settings =
            RunnerSettings { node: settings.node(), tick: Duration::from_millis(settings.check_tick_ms), batch: 32 };
        Some(Runner::new(Arc::clone(&store), settings.checker()?, runner_settings).spawn())
    } else {
        None
    };
    tracing::info!(
        listen = %address,
        store = settings.engine(),
        checks = settings.run_checks,
        version = env!("CARGO_PKG_VERSION"),
        "sitepulse-server is listening"
    );
    let limits = sitegpt_server::serve::ConnectionLimits {
        max_connections: sitegpt_server::serve::fit_connections(10_000),
        ..Default::default()
    };
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
    let state = AppState::new(store, &public_url);
    let served = sitegpt_server::serve::serve(listener, app(state), limits, shutdown).await;
    if let Some(runner) = runner {
        runner.abort();
    }
    served
}
