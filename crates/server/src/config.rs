//! Settings shared by `serve` and the admin commands, so both reach the same
//! database. Each comes from a flag or its `SITEGPT_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use sitegpt_access::SubscriptionStatus;
use sitegpt_access::net::IpRange;
use sitegpt_store::Store;
use sitegpt_store::postgres::PostgresStore;
use sitegpt_store::sqlite::{SqliteStore, Synchronous};

use crate::mail::Mailer;

/// What the server is told at start (the rest of `Shared` it builds itself).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL, without a trailing slash.
    pub public_url: String,
    pub introspection_clients: IntrospectionClients,
    pub mailer: Mailer,
    pub default_subscription: SubscriptionStatus,
    /// Verified tokens kept in memory (0: none).
    pub token_cache: usize,
    /// How OAuth client ID metadata documents are fetched.
    pub documents: crate::clients::DocumentFetch,
    /// Peers whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// GitHub's keys for leaked-token reports, when they are accepted.
    pub secret_scanning: Option<crate::scanning_keys::ScanningKeys>,
    /// How long the audit log keeps an event.
    pub audit_retention: chrono::Duration,
}

/// Days the audit log keeps an event by default.
pub const AUDIT_RETENTION_DAYS: u32 = 400;

/// Verified tokens kept per node by default (a few hundred bytes each).
pub const CACHE_CAPACITY: usize = 32_768;

#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "SITEGPT_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,

    /// Folder for the SQLite file and other local state.
    #[arg(long, env = "SITEGPT_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// `sqlite://PATH` (default: `DATA_DIR/sitegpt.db`) or `postgres://…`.
    #[arg(long, env = "SITEGPT_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// The URL clients reach this server at (default: `http://LISTEN`).
    #[arg(long, env = "SITEGPT_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Subscription status of new accounts: `active` (self-hosted default) or
    /// `inactive` (where an operator gates on billing).
    #[arg(long, env = "SITEGPT_DEFAULT_SUBSCRIPTION", default_value = "active", value_parser = parse_subscription, global = true)]
    pub default_subscription: SubscriptionStatus,

    /// Confidential clients allowed to introspect any token, as
    /// `id:secret[,id:secret…]` (HTTP Basic at `/oauth/introspect`).
    #[arg(long, env = "SITEGPT_INTROSPECTION_CLIENTS", default_value = "", value_parser = IntrospectionClients::parse, global = true, hide_env_values = true)]
    pub introspection_clients: IntrospectionClients,

    /// SMTP server for verification mail (`smtp://user:pass@host:587?tls=required`
    /// or `smtps://…`); without it, mail goes to `DATA_DIR/outbox/` and the log.
    #[arg(long, env = "SITEGPT_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of outgoing mail (default: `SiteGPT <no-reply@HOST>` from the public URL).
    #[arg(long, env = "SITEGPT_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// Verified tokens each node keeps in memory (a few hundred bytes each;
    /// 0 turns the cache off, so every request reads the database).
    #[arg(long, env = "SITEGPT_TOKEN_CACHE", default_value_t = CACHE_CAPACITY, global = true)]
    pub token_cache: usize,

    /// Seconds a client has to send a request's head, from when its
    /// connection opens or the previous response ends (so also how long an
    /// idle keep-alive connection stays open).
    #[arg(long, env = "SITEGPT_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a whole request body; slower bodies get
    /// 408 and the connection is closed.
    #[arg(long, env = "SITEGPT_BODY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub body_timeout_secs: u64,

    /// Connections open at once (further clients wait to be accepted); kept
    /// below the process's descriptor limit, which is raised to its maximum.
    #[arg(long, env = "SITEGPT_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub max_connections: u64,

    /// Fetch OAuth client ID metadata documents from loopback and private
    /// addresses too (by default only public addresses are asked, so a
    /// `client_id` URL cannot reach into the server's network).
    #[arg(long, env = "SITEGPT_CLIENT_METADATA_PRIVATE", default_value_t = false, global = true)]
    pub client_metadata_private: bool,

    /// CA certificates (PEM) trusted for fetching client ID metadata
    /// documents, instead of the public roots.
    #[arg(long, env = "SITEGPT_CLIENT_METADATA_CA", global = true)]
    pub client_metadata_ca: Option<PathBuf>,

    /// Proxies and load balancers in front of the server, as CIDR blocks
    /// (`10.0.0.0/8,fd00::/8`). Only from these peers are `Forwarded` and
    /// `X-Forwarded-For` read; the client is the right-most address there
    /// that is not itself trusted. Default: none (the TCP peer is the client).
    #[arg(long, env = "SITEGPT_TRUSTED_PROXIES", default_value = "", value_parser = TrustedProxies::parse, global = true)]
    pub trusted_proxies: TrustedProxies,

    /// GitHub's secret-scanning public keys (the JSON document GitHub
    /// publishes, saved as a file): turns on `POST /secret-scanning/github`,
    /// where leaked tokens are reported and revoked.
    #[arg(long, env = "SITEGPT_SECRET_SCANNING_KEYS", global = true)]
    pub secret_scanning_keys: Option<PathBuf>,

    /// Days the audit log keeps an event; older ones are deleted by every
    /// node's janitor (every ten minutes).
    #[arg(long, env = "SITEGPT_AUDIT_RETENTION_DAYS", default_value_t = AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=36_500), global = true)]
    pub audit_retention_days: u32,

    /// SQLite only: `full` (default) syncs every acknowledged write to disk,
    /// so nothing acknowledged is lost to a power cut or a kernel crash;
    /// `normal` syncs at checkpoints only: faster writes, and a killed
    /// process still loses nothing, but a power cut can lose the last
    /// writes (a token a person already copied, an agent's new token).
    #[arg(long, env = "SITEGPT_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = parse_synchronous, global = true)]
    pub sqlite_synchronous: Synchronous,
}

/// The peers whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpRange]>);

impl TrustedProxies {
    pub fn parse(s: &str) -> Result<TrustedProxies, String> {
        s.split([',', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<IpRange>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(|ranges| TrustedProxies(ranges.into()))
    }
}

/// Registered confidential clients for introspection. Keeps only SHA-256
/// digests of the secrets and compares them in constant time.
#[derive(Clone, Default)]
pub struct IntrospectionClients(Vec<(String, [u8; 32])>);

impl std::fmt::Debug for IntrospectionClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(id, _)| id)).finish()
    }
}

impl IntrospectionClients {
    pub fn parse(s: &str) -> Result<IntrospectionClients, String> {
        let mut clients = Vec::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, secret) = entry.split_once(':').ok_or("each client is `id:secret`")?;
            if id.is_empty() || secret.len() < 16 {
                return Err("client ids must be non-empty and secrets at least 16 characters".into());
            }
            clients.push((id.to_owned(), digest(secret)));
        }
        Ok(IntrospectionClients(clients))
    }

    pub fn verify(&self, id: &str, secret: &str) -> bool {
        let presented = digest(secret);
        self.0.iter().any(|(known_id, known)| {
            known_id == id && bool::from(subtle::ConstantTimeEq::ct_eq(&known[..], &presented[..]))
        })
    }
}

fn digest(secret: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// `full` or `normal`, as the SQLite durability settings take it.
pub fn parse_synchronous(s: &str) -> Result<Synchronous, String> {
    match s.to_ascii_lowercase().as_str() {
        "full" => Ok(Synchronous::Full),
        "normal" => Ok(Synchronous::Normal),
        _ => Err(format!("`{s}` is not `full` or `normal`")),
    }
}

fn parse_subscription(s: &str) -> Result<SubscriptionStatus, String> {
    SubscriptionStatus::parse(s).ok_or_else(|| format!("`{s}` is not `active` or `inactive`"))
}

/// Where the data lives, resolved from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Settings {
    /// Settings for tests and embedding: SQLite in `data_dir`, port 0.
    pub fn for_data_dir(data_dir: PathBuf) -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            public_url: None,
            default_subscription: SubscriptionStatus::Active,
            introspection_clients: IntrospectionClients::default(),
            smtp_url: None,
            mail_from: None,
            token_cache: CACHE_CAPACITY,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 10_000,
            client_metadata_private: false,
            client_metadata_ca: None,
            trusted_proxies: TrustedProxies::default(),
            secret_scanning_keys: None,
            audit_retention_days: AUDIT_RETENTION_DAYS,
            sqlite_synchronous: Synchronous::Full,
        }
    }

    /// The connection limits, the cap fitted under the descriptor limit.
    pub fn connection_limits(&self) -> crate::serve::ConnectionLimits {
        crate::serve::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs),
            max_connections: crate::serve::fit_connections(usize::try_from(self.max_connections).unwrap_or(usize::MAX)),
        }
    }

    pub fn database(&self) -> anyhow::Result<Database> {
        match self.database_url.as_deref() {
            None | Some("") => Ok(Database::Sqlite(self.data_dir.join("sitegpt.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(url.to_owned()))
            }
            Some(url) => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .context("SITEGPT_DATABASE_URL must start with sqlite:// or postgres://")?;
                if path.is_empty() {
                    bail!("SITEGPT_DATABASE_URL names no file");
                }
                Ok(Database::Sqlite(PathBuf::from(path)))
            }
        }
    }

    /// The public URL without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
            _ => format!("http://{bound}"),
        }
    }

    /// The mailer: SMTP when configured, else the outbox folder.
    pub fn mailer(&self, public_url: &str) -> anyhow::Result<Mailer> {
        let host = public_url.split("://").nth(1).and_then(|rest| rest.split([':', '/']).next()).unwrap_or("localhost");
        let host = if host.parse::<std::net::IpAddr>().is_ok() || host.is_empty() { "localhost" } else { host };
        let from = self.mail_from.clone().unwrap_or_else(|| format!("SiteGPT <no-reply@{host}>"));
        match self.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Mailer::smtp(url, &from),
            None => Mailer::outbox(self.data_dir.join("outbox"), &from),
        }
    }

    /// Everything the server state needs besides the store.
    pub fn server_config(&self, bound: SocketAddr) -> anyhow::Result<ServerConfig> {
        let public_url = self.public_url(bound);
        Ok(ServerConfig {
            mailer: self.mailer(&public_url)?,
            public_url,
            introspection_clients: self.introspection_clients.clone(),
            default_subscription: self.default_subscription,
            token_cache: self.token_cache,
            trusted_proxies: self.trusted_proxies.clone(),
            audit_retention: chrono::Duration::days(i64::from(self.audit_retention_days)),
            secret_scanning: self
                .secret_scanning_keys
                .as_deref()
                .map(crate::scanning_keys::ScanningKeys::load)
                .transpose()?,
            documents: crate::clients::DocumentFetch::new(
                self.client_metadata_private,
                self.client_metadata_ca.as_deref(),
            )?,
        })
    }

    /// Opens the store and runs its migrations.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open(false).await
    }

    /// Opens the store for a server: on SQLite, the one handle that serves
    /// the file ([`SqliteStore::open_serving`]; a second server is refused).
    pub async fn open_store_for_serving(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open(true).await
    }

    async fn open(&self, serving: bool) -> anyhow::Result<Arc<dyn Store>> {
        match self.database()? {
            Database::Sqlite(path) => {
                let store = if serving {
                    SqliteStore::open_serving(&path, self.sqlite_synchronous)
                } else {
                    SqliteStore::open_with(&path, self.sqlite_synchronous)
                }
                .with_context(|| format!("opening the SQLite database {}", path.display()))?;
                Ok(Arc::new(store))
            }
            Database::Postgres(url) => {
                let store = PostgresStore::connect(&url).await.context("connecting to PostgreSQL")?;
                Ok(Arc::new(store))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let mut s = Settings::for_data_dir(PathBuf::from("/var/lib/sitegpt"));
        assert_eq!(s.database().expect("default"), Database::Sqlite(PathBuf::from("/var/lib/sitegpt/sitegpt.db")));
        s.database_url = Some("sqlite:///tmp/x.db".into());
        assert_eq!(s.database().expect("abs"), Database::Sqlite(PathBuf::from("/tmp/x.db")));
        s.database_url = Some("sqlite:rel.db".into());
        assert_eq!(s.database().expect("rel"), Database::Sqlite(PathBuf::from("rel.db")));
        s.database_url = Some("postgres://u@h/db".into());
        assert!(matches!(s.database().expect("pg"), Database::Postgres(_)));
        s.database_url = Some("mysql://h".into());
        assert!(s.database().is_err());
    }

    #[test]
    fn introspection_clients_verify_in_constant_time_and_hide_secrets() {
        let clients = IntrospectionClients::parse("billing:0123456789abcdef, search:fedcba9876543210").expect("valid");
        assert!(clients.verify("billing", "0123456789abcdef"));
        assert!(!clients.verify("billing", "fedcba9876543210"));
        assert!(!clients.verify("other", "0123456789abcdef"));
        assert!(!format!("{clients:?}").contains("0123"));
        assert!(IntrospectionClients::parse("nosecret").is_err());
        assert!(IntrospectionClients::parse("a:short").is_err());
        assert!(IntrospectionClients::parse("").expect("empty").0.is_empty());
    }

    #[test]
    fn public_url_defaults_to_the_bound_address() {
        let mut s = Settings::for_data_dir(PathBuf::from("d"));
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        assert_eq!(s.public_url(addr), "http://127.0.0.1:8080");
        s.public_url = Some("https://api.example.com/".into());
        assert_eq!(s.public_url(addr), "https://api.example.com");
    }
}
