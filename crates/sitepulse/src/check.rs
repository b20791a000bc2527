//! One check of a site: `GET` its URL, follow a few redirects, and report
//! the final status, how long the answer took, and (for https) when the
//! server's certificate expires. A site is up when the final answer is a
//! 2xx or 3xx within the time allowed.
//!
//! Every hop is resolved and checked before it is connected to: loopback,
//! private, link-local and other non-public addresses are refused unless
//! the operator allowed their range (`SITEPULSE_CHECK_PRIVATE_RANGES`), so
//! a site's URL, or a redirect it answers with, cannot reach into the
//! network the checker runs in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Empty;
use hyper::StatusCode;
use hyper::header::{ACCEPT, HOST, LOCATION, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use sitegpt_access::net::{IpRange, is_public};
use tokio::io::{AsyncRead, AsyncWrite};
use url::{Host, Url};

/// What checks may do.
#[derive(Debug, Clone)]
pub struct CheckPolicy {
    /// The whole check, redirects included.
    pub timeout: Duration,
    /// Redirects followed before the check fails.
    pub max_redirects: u32,
    /// Non-public addresses checks may reach (none by default).
    pub private_ranges: Vec<IpRange>,
}

impl Default for CheckPolicy {
    fn default() -> CheckPolicy {
        CheckPolicy { timeout: Duration::from_secs(10), max_redirects: 5, private_ranges: Vec::new() }
    }
}

impl CheckPolicy {
    /// Whether a check may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.private_ranges.iter().any(|range| range.contains(ip))
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub up: bool,
    /// The final answer's status, if one came.
    pub http_status: Option<u16>,
    /// From the start of the check to the final answer's head.
    pub latency_ms: Option<u32>,
    pub redirects: u32,
    /// The URL that gave the final answer (or the last one tried).
    pub final_url: String,
    /// When the certificate of the first https server met expires.
    pub tls_expires_at: Option<DateTime<Utc>>,
    /// Why the site is down, in a sentence.
    pub error: Option<String>,
}

/// Runs checks; one per server, shared by every run.
#[derive(Clone)]
pub struct Checker {
    tls: Arc<rustls::ClientConfig>,
    policy: CheckPolicy,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// What a check saw so far: kept when the time runs out mid-way.
#[derive(Debug)]
struct Trace {
    started: Instant,
    status: Option<u16>,
    latency: Option<Duration>,
    redirects: u32,
    url: String,
    tls_expires_at: Option<DateTime<Utc>>,
}

impl Checker {
    /// A checker trusting `roots` (the public CAs when `None`).
    pub fn new(policy: CheckPolicy, roots: Option<rustls::RootCertStore>) -> anyhow::Result<Checker> {
        let roots = roots.unwrap_or_else(|| rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Checker { tls: Arc::new(tls), policy })
    }

    pub fn policy(&self) -> &CheckPolicy {
        &self.policy
    }

    /// Checks `url`.
    pub async fn check(&self, url: &str) -> Report {
        let mut trace = Trace {
            started: Instant::now(),
            status: None,
            latency: None,
            redirects: 0,
            url: url.to_owned(),
            tls_expires_at: None,
        };
        let timeout = self.policy.timeout;
        let error = match tokio::time::timeout(timeout, self.follow(url, &mut trace)).await {
            Ok(Ok(status)) if (200..400).contains(&status) => None,
            Ok(Ok(status)) => Some(format!("HTTP {status}")),
            Ok(Err(error)) => Some(error),
            Err(_) => Some(format!("no answer within {}", seconds(timeout))),
        };
        Report {
            up: error.is_none(),
            http_status: trace.status,
            latency_ms: trace.latency.map(|l| u32::try_from(l.as_millis()).unwrap_or(u32::MAX)),
            redirects: trace.redirects,
            final_url: trace.url,
            tls_expires_at: trace.tls_expires_at,
            error,
        }
    }

    /// Requests `url` and the redirects it answers with; the final status.
    async fn follow(&self, url: &str, trace: &mut Trace) -> Result<u16, String> {
        let mut current = Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        loop {
            trace.url = current.to_string();
            let (status, location) = self.request(&current, trace).await?;
            trace.status = Some(status.as_u16());
            trace.latency = Some(trace.started.elapsed());
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                return Ok(status.as_u16());
            };
            if trace.redirects >= self.policy.max_redirects {
                return Err(format!("more than {} redirects", self.policy.max_redirects));
            }
            trace.redirects += 1;
            current = current.join(&location).map_err(|e| format!("a redirect to a bad URL ({e})"))?;
        }
    }

    /// One `GET`: the status and `Location` of the answer.
    async fn request(&self, url: &Url, trace: &mut Trace) -> Result<(StatusCode, Option<String>), String> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("{other}: URLs are checked over http and https only")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs with credentials are not checked".into());
        }
        let host = url.host().ok_or("the URL has no host")?;
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let address = self.address(&host, port).await?;
        let tcp =
            tokio::net::TcpStream::connect(address).await.map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        if !https {
            return exchange(tcp, &authority, target).await;
        }
        let name = match &host {
            Host::Domain(domain) => ServerName::try_from(domain.to_string()),
            Host::Ipv4(ip) => Ok(ServerName::from(IpAddr::V4(*ip))),
            Host::Ipv6(ip) => Ok(ServerName::from(IpAddr::V6(*ip))),
        }
        .map_err(|e| format!("bad host name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        if trace.tls_expires_at.is_none() {
            trace.tls_expires_at =
                tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| not_after(c));
        }
        exchange(tls, &authority, target).await
    }

    /// The first address of `host` that checks may reach.
    async fn address(&self, host: &Host<&str>, port: u16) -> Result<SocketAddr, String> {
        let addresses: Vec<SocketAddr> = match host {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), port)],
            Host::Domain(domain) => tokio::net::lookup_host((*domain, port))
                .await
                .map_err(|e| format!("cannot resolve {domain}: {e}"))?
                .collect(),
        };
        addresses.iter().copied().find(|a| self.policy.allows(a.ip())).ok_or_else(|| {
            format!(
                "{host} is a loopback or private address, which checks may not reach \
                 (an operator can allow its range with SITEPULSE_CHECK_PRIVATE_RANGES)"
            )
        })
    }
}

/// Sends `GET target` over `io` and reads the answer's head.
async fn exchange<S>(io: S, authority: &str, target: &str) -> Result<(StatusCode, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(target)
        .header(HOST, authority)
        .header(ACCEPT, "*/*")
        .header(USER_AGENT, concat!("SitePulse/", env!("CARGO_PKG_VERSION"), " (monitoring check)"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let answered = sender.send_request(request).await;
    driver.abort();
    let response = answered.map_err(|e| format!("HTTP: {e}"))?;
    let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((response.status(), location))
}

/// When the DER certificate `der` expires.
fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    use x509_cert::der::Decode;
    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    let after = certificate.tbs_certificate.validity.not_after.to_unix_duration();
    DateTime::from_timestamp(i64::try_from(after.as_secs()).ok()?, 0)
}

/// `10 s`, `1.5 s`.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{:.1} s", d.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_always_private_ones_only_in_an_allowed_range() {
        let closed = CheckPolicy::default();
        assert!(closed.allows("93.184.216.34".parse().expect("ip")));
        for private in ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fd00::1"] {
            assert!(!closed.allows(private.parse().expect("ip")), "{private}");
        }
        let open = CheckPolicy { private_ranges: vec!["10.0.0.0/8".parse().expect("range")], ..CheckPolicy::default() };
        assert!(open.allows("10.0.0.5".parse().expect("ip")));
        assert!(!open.allows("127.0.0.1".parse().expect("ip")), "only the range given");
        assert!(!open.allows("169.254.169.254".parse().expect("ip")));
    }

    #[test]
    fn timeouts_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn a_certificate_that_does_not_parse_has_no_expiry() {
        assert_eq!(not_after(b"not a certificate"), None);
        assert_eq!(not_after(&[]), None);
    }
}
