//! OAuth clients as the endpoints see them: registered ones from the store,
//! and clients whose `client_id` is an https URL, described by the client ID
//! metadata document found there.
//!
//! A document is fetched with no redirects, at most 5 KB, within 5 seconds,
//! from an address that is public unless the operator allows private ones
//! (`SITEGPT_CLIENT_METADATA_PRIVATE`): the name is resolved once, checked,
//! and the connection made to the address that was checked, so a second
//! resolution cannot point it elsewhere. A fetched client is kept per node
//! for as long as its `Cache-Control` allows (5 minutes without one, a day
//! at most) and stored, so grants can name it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde::Deserialize;
use sitegpt_access::oauth::{REDIRECT_URIS_MAX, check_redirect_uri};
use sitegpt_store::{ClientSource, OAuthClient, Store, StoreError};

/// The largest document read.
pub const DOCUMENT_MAX_BYTES: usize = 5 * 1024;
/// How long a fetch may take, from resolving the name to the last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a document is used without `Cache-Control`, and at most.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const LONGEST_MAX_AGE: Duration = Duration::from_secs(86_400);
/// Documents kept per node.
const CACHED_MAX: usize = 1024;

/// How documents are fetched: the TLS roots, and whether private addresses
/// may be asked (from the server's settings).
#[derive(Clone)]
pub struct DocumentFetch {
    tls: Arc<rustls::ClientConfig>,
    allow_private: bool,
}

impl std::fmt::Debug for DocumentFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentFetch").field("allow_private", &self.allow_private).finish_non_exhaustive()
    }
}

impl Default for DocumentFetch {
    /// Public addresses only, trusting the public CAs.
    fn default() -> DocumentFetch {
        DocumentFetch::new(false, None).expect("the built-in roots load")
    }
}

impl DocumentFetch {
    /// `roots`: CA certificates (PEM) trusted instead of the public ones.
    pub fn new(allow_private: bool, roots: Option<&Path>) -> anyhow::Result<DocumentFetch> {
        let roots = match roots {
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| anyhow::anyhow!("client metadata CA file {}: {e}", path.display()))?;
                let (added, _) = roots.add_parsable_certificates(certificates);
                anyhow::ensure!(added > 0, "client metadata CA file {} holds no CA certificate", path.display());
                roots
            }
            None => rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(DocumentFetch { tls: Arc::new(tls), allow_private })
    }
}

/// Why a client cannot be used; the text is for the person or the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unknown client `{0}`; register it first")]
    Unknown(String),
    #[error("the client metadata document at {url} cannot be used: {why}")]
    Document { url: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds clients, fetching metadata documents when needed.
#[derive(Debug)]
pub struct Clients {
    store: Arc<dyn Store>,
    fetch: DocumentFetch,
    cached: Mutex<HashMap<String, (OAuthClient, Instant)>>,
}

/// The metadata a document must give (others are ignored).
#[derive(Debug, Deserialize)]
struct Document {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

impl Clients {
    pub fn new(store: Arc<dyn Store>, fetch: DocumentFetch) -> Clients {
        Clients { store, fetch, cached: Mutex::default() }
    }

    /// The client `id` names: registered, or described by its document.
    pub async fn find(&self, id: &str) -> Result<OAuthClient, ClientError> {
        if !id.starts_with("https://") {
            return self.store.oauth_client(id).await?.ok_or_else(|| ClientError::Unknown(short(id)));
        }
        if let Some((client, until)) = self.cached.lock().expect("not poisoned").get(id)
            && Instant::now() < *until
        {
            return Ok(client.clone());
        }
        let (client, max_age) = self.fetch(id).await.map_err(|why| {
            tracing::info!(client_id = %short(id), %why, "client metadata document refused");
            ClientError::Document { url: short(id), why }
        })?;
        self.store.save_client(client.clone()).await?;
        let mut cached = self.cached.lock().expect("not poisoned");
        if cached.len() >= CACHED_MAX {
            let now = Instant::now();
            cached.retain(|_, (_, until)| *until > now);
            if cached.len() >= CACHED_MAX {
                cached.clear();
            }
        }
        cached.insert(id.to_owned(), (client.clone(), Instant::now() + max_age));
        Ok(client)
    }

    /// Fetches and checks the document at `url` (its own `client_id`).
    async fn fetch(&self, url: &str) -> Result<(OAuthClient, Duration), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if parsed.scheme() != "https"
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.path() == "/"
        {
            return Err("a client id URL is https, with a path, and no fragment or credentials".into());
        }
        let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let target = &url[url.find(parsed.path()).unwrap_or(url.len())..];
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, self.get(&host, port, target)).await;
        let (body, max_age) = fetched.map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
        let document: Document = serde_json::from_slice(&body).map_err(|e| format!("not client metadata JSON: {e}"))?;
        Ok((self.check(url, document)?, max_age))
    }

    /// `GET target` from `host`, at an address that may be used.
    async fn get(&self, host: &str, port: u16, target: &str) -> Result<(Bytes, Duration), String> {
        let addresses: Vec<SocketAddr> =
            tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        let address = addresses
            .iter()
            .copied()
            .find(|a| self.fetch.allow_private || sitegpt_access::net::is_public(a.ip()))
            .ok_or_else(|| format!("{host} resolves only to loopback or private addresses"))?;
        let tcp = tokio::net::TcpStream::connect(address).await.map_err(|e| format!("cannot connect: {e}"))?;
        let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("bad host name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.fetch.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::get(target)
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, concat!("sitegpt/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("request: {e}"))?;
        let response = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"));
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                driver.abort();
                return Err(e);
            }
        };
        let status = response.status();
        let max_age = max_age(response.headers());
        let body = Limited::new(response.into_body(), DOCUMENT_MAX_BYTES).collect().await;
        driver.abort();
        if status.is_redirection() {
            return Err(format!("it answered {status}; redirects are not followed"));
        }
        if status != hyper::StatusCode::OK {
            return Err(format!("it answered {status}"));
        }
        let body = body.map_err(|_| format!("it is larger than {DOCUMENT_MAX_BYTES} bytes"))?.to_bytes();
        Ok((body, max_age))
    }

    /// The client a document describes, if it is one this server accepts.
    fn check(&self, url: &str, document: Document) -> Result<OAuthClient, String> {
        if document.client_id != url {
            return Err("its client_id is not the URL it was fetched from".into());
        }
        if !matches!(document.token_endpoint_auth_method.as_deref(), None | Some("none")) {
            return Err("only public clients (token_endpoint_auth_method none) are accepted".into());
        }
        if document.grant_types.is_some_and(|g| !g.iter().any(|g| g == "authorization_code")) {
            return Err("its grant_types do not include authorization_code".into());
        }
        if document.response_types.is_some_and(|r| !r.iter().any(|r| r == "code")) {
            return Err("its response_types do not include code".into());
        }
        if document.redirect_uris.is_empty() || document.redirect_uris.len() > REDIRECT_URIS_MAX {
            return Err("it must list 1 to 10 redirect_uris".into());
        }
        for uri in &document.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let name = match document.client_name.map(|n| n.trim().to_owned()) {
            Some(name) if !name.is_empty() => {
                crate::issue::check_name(&name).map_err(|e| format!("client_{e}"))?;
                name
            }
            _ => url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
        };
        let now = Utc::now();
        Ok(OAuthClient {
            id: url.to_owned(),
            name,
            redirect_uris: document.redirect_uris,
            source: ClientSource::Metadata,
            created_at: now,
            last_used_at: now,
        })
    }
}

/// `Cache-Control: max-age` (no-store and no-cache: not at all), capped.
fn max_age(headers: &hyper::HeaderMap) -> Duration {
    let Some(value) = headers.get(hyper::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in value.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
            return Duration::ZERO;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=").and_then(|s| s.parse::<u64>().ok()) {
            age = Duration::from_secs(seconds);
        }
    }
    age.min(LONGEST_MAX_AGE)
}

/// Caps untrusted text echoed in messages.
fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_sets_the_lifetime_within_limits() {
        let with = |value: &str| {
            let mut headers = hyper::HeaderMap::new();
            headers.insert(hyper::header::CACHE_CONTROL, value.parse().expect("header"));
            max_age(&headers)
        };
        assert_eq!(max_age(&hyper::HeaderMap::new()), DEFAULT_MAX_AGE);
        assert_eq!(with("public, max-age=60"), Duration::from_secs(60));
        assert_eq!(with("max-age=99999999"), LONGEST_MAX_AGE);
        assert_eq!(with("no-store"), Duration::ZERO);
        assert_eq!(with("max-age=60, no-cache"), Duration::ZERO);
    }
}
