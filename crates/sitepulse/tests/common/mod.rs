//! Local sites for checks to reach: a tiny HTTP/1.1 server answering each
//! path as told, over plain TCP or TLS, counting what it was sent.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sitepulse::check::CheckPolicy;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a path is answered.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    Redirect(u16, String),
    /// 200 after this long.
    Slow(Duration),
    /// Never a byte.
    Silent,
}

type Route = dyn Fn(&str) -> Answer + Send + Sync;

/// A site on a local port; stops when dropped.
pub struct Site {
    address: SocketAddr,
    scheme: &'static str,
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks may reach 127.0.0.1 (only).
pub fn local_policy() -> CheckPolicy {
    CheckPolicy { private_ranges: vec!["127.0.0.1/32".parse().expect("range")], ..CheckPolicy::default() }
}

impl Site {
    pub async fn start(route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Site {
        Site::start_on("127.0.0.1", route).await
    }

    pub async fn start_on(ip: &str, route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Site {
        Site::serve(ip, None, Arc::new(route)).await
    }

    async fn serve(ip: &str, tls: Option<tokio_rustls::TlsAcceptor>, route: Arc<Route>) -> Site {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind a local port");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen, counted) = (Arc::clone(&requests), Arc::clone(&connections));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (route, seen, tls) = (Arc::clone(&route), Arc::clone(&seen), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                answer(stream, &*route, &seen).await;
                            }
                        }
                        None => answer(stream, &*route, &seen).await,
                    }
                });
            }
        });
        Site { address, scheme, requests, connections, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.address)
    }

    /// The path and query of every request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, route: &Route, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    seen.lock().expect("lock").push(target.clone());
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let reply = match route(&path) {
        Answer::Status(code @ (204 | 304)) => format!("HTTP/1.1 {code} X\r\nconnection: close\r\n\r\n"),
        Answer::Status(code) => format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"),
        Answer::Redirect(code, location) => {
            format!("HTTP/1.1 {code} X\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
        }
        Answer::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// An https site on 127.0.0.1 whose certificate (from a CA of its own,
/// made with `openssl`) expires in `days`, answering 200; and the roots
/// that trust it.
pub async fn tls_site(days: u32) -> (Site, rustls::RootCertStore) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap_or_else(|e| panic!("openssl is needed for the TLS tests (scripts/test.sh installs it): {e}"));
        assert!(status.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=sitepulse test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "site.key",
        "-out",
        "site.csr",
    ]);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("extensions");
    let days = days.to_string();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "site.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        &days,
        "-extfile",
        "ext.cnf",
        "-out",
        "site.crt",
    ]);
    let certs = pem_certs(&d.join("site.crt"));
    let key = PrivateKeyDer::from_pem_file(d.join("site.key")).expect("the site's key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    for ca in pem_certs(&d.join("ca.crt")) {
        roots.add(ca).expect("the CA");
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let site = Site::serve("127.0.0.1", Some(acceptor), Arc::new(|_: &str| Answer::Status(200))).await;
    (site, roots)
}

fn pem_certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path).expect("PEM").collect::<Result<Vec<_>, _>>().expect("certificates")
}
