//! Client ID metadata documents: a `client_id` that is an https URL is
//! fetched (from a real TLS server here) and must describe itself; private
//! addresses, redirects, large or slow documents are refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use sitegpt_server::clients::DocumentFetch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::agents::signed_in;
use crate::authorization_code::html_unescape;
use crate::helpers::TestApp;
use crate::oauth::assert_oauth_error;

/// What the document server answers for a path.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Answer {
    fn json(body: serde_json::Value, cache: &str) -> Answer {
        Answer {
            status: "200 OK",
            headers: vec![("Content-Type", "application/json".into()), ("Cache-Control", cache.into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
}

/// An https server on localhost with a certificate from a CA made for the
/// test; counts the requests for each path.
struct DocumentServer {
    base: String,
    ca: std::path::PathBuf,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<HashMap<String, Arc<AtomicUsize>>>>,
    _dir: tempfile::TempDir,
}

impl DocumentServer {
    async fn start() -> DocumentServer {
        let dir = tempfile::tempdir().expect("dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/postgres.sh");
        let made = std::process::Command::new("bash")
            .args(["-c", &format!("source {script} && pg_certificates {}", dir.path().display())])
            .status()
            .expect("openssl through scripts/postgres.sh");
        assert!(made.success(), "certificates made");
        let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(dir.path().join("server.crt"))
            .expect("cert")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(dir.path().join("server.key")).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, Arc<AtomicUsize>>>> = Arc::default();
        let (served, counted) = (Arc::clone(&answers), Arc::clone(&hits));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, answers, hits) = (acceptor.clone(), Arc::clone(&served), Arc::clone(&counted));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    hits.lock().expect("lock").entry(path.clone()).or_default().fetch_add(1, Ordering::SeqCst);
                    let answer = answers.lock().expect("lock").get(&path).cloned();
                    let answer = answer.unwrap_or(Answer {
                        status: "404 Not Found",
                        headers: vec![],
                        body: String::new(),
                        delay: Duration::ZERO,
                    });
                    tokio::time::sleep(answer.delay).await;
                    let mut response = format!(
                        "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        answer.status,
                        answer.body.len()
                    );
                    for (name, value) in &answer.headers {
                        response.push_str(&format!("{name}: {value}\r\n"));
                    }
                    response.push_str("\r\n");
                    response.push_str(&answer.body);
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        DocumentServer {
            base: format!("https://localhost:{port}"),
            ca: dir.path().join("ca.crt"),
            answers,
            hits,
            _dir: dir,
        }
    }

    fn serve(&self, path: &str, answer: Answer) -> String {
        self.answers.lock().expect("lock").insert(path.into(), answer);
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("lock").get(path).map_or(0, |n| n.load(Ordering::SeqCst))
    }

    /// A valid document for `path`, naming itself.
    fn document(&self, path: &str, name: &str, cache: &str) -> String {
        let url = format!("{}{path}", self.base);
        let body = json!({
            "client_id": url,
            "client_name": name,
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        self.serve(path, Answer::json(body, cache))
    }
}

fn authorize(client_id: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", "http://127.0.0.1:5555/callback"),
            ("scope", "account:read"),
            ("state", "s"),
            ("code_challenge", &sitegpt_access::oauth::s256(VERIFIER)),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("/oauth/authorize?{query}")
}

const VERIFIER: &str = "document-client-verifier-0123456789-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_described_by_its_document_signs_a_person_in() {
    let documents = DocumentServer::start().await;
    let fetch = DocumentFetch::new(true, Some(&documents.ca)).expect("fetch settings");
    let app = TestApp::with_documents(fetch).await;
    let (mut browser, _) = signed_in(&app, "document@example.com").await;
    let client_id = documents.document("/client.json", "Document Agent", "max-age=60");

    let consent = browser.get(&authorize(&client_id)).await;
    assert_eq!(consent.status.as_u16(), 200, "{}", consent.body);
    consent.assert_contains("Allow Document Agent to access SiteGPT?");
    // Cached per Cache-Control: the second look does not fetch again.
    browser.get(&authorize(&client_id)).await.assert_contains("Document Agent");
    assert_eq!(documents.hits("/client.json"), 1);

    let mut form: Vec<(String, String)> = vec![("csrf".into(), consent.csrf())];
    for name in
        ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"]
    {
        form.push((name.into(), html_unescape(&consent.field(name))));
    }
    form.extend([("grant_scope".into(), "account:read".into()), ("decision".into(), "approve".into())]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = browser.post("/oauth/authorize", &pairs).await;
    assert_eq!(back.status.as_u16(), 303, "{}", back.body);
    let location = back.location().to_owned();
    let code: String = form_urlencoded::parse(location.split_once('?').expect("query").1.as_bytes())
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let tokens = app
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:5555/callback"),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.body);
    app.get("/api/v2/account", tokens.body["access_token"].as_str().expect("token")).await.assert_ok(200);
    browser.get("/dashboard/apps").await.assert_contains("Document Agent");

    // Without caching, every use fetches.
    let fresh = documents.document("/fresh.json", "Fresh Agent", "no-store");
    browser.get(&authorize(&fresh)).await.assert_contains("Fresh Agent");
    browser.get(&authorize(&fresh)).await.assert_contains("Fresh Agent");
    assert_eq!(documents.hits("/fresh.json"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_that_cannot_be_trusted_are_refused() {
    let documents = DocumentServer::start().await;
    let fetch = DocumentFetch::new(true, Some(&documents.ca)).expect("fetch settings");
    let app = TestApp::with_documents(fetch).await;
    let (mut browser, _) = signed_in(&app, "refused@example.com").await;
    let other = format!("{}/someone-else.json", documents.base);
    let wrong_id = documents.serve(
        "/wrong-id.json",
        Answer::json(json!({"client_id": other, "redirect_uris": ["http://127.0.0.1/callback"]}), "no-store"),
    );
    let redirected = documents.serve(
        "/moved.json",
        Answer {
            status: "302 Found",
            headers: vec![("Location", format!("{}/client.json", documents.base))],
            body: String::new(),
            delay: Duration::ZERO,
        },
    );
    let big = documents.serve(
        "/big.json",
        Answer::json(
            json!({"client_id": "x", "redirect_uris": ["http://127.0.0.1/callback"], "pad": "a".repeat(6000)}),
            "no-store",
        ),
    );
    let slow = {
        let mut answer = Answer::json(json!({}), "no-store");
        answer.delay = Duration::from_secs(7);
        documents.serve("/slow.json", answer)
    };
    let no_redirects = documents.serve(
        "/empty.json",
        Answer::json(json!({"client_id": format!("{}/empty.json", documents.base), "redirect_uris": []}), "no-store"),
    );
    let missing = format!("{}/missing.json", documents.base);
    let http = "https://localhost:1/";
    let cases = [
        (wrong_id, "its client_id is not the URL"),
        (redirected, "redirects are not followed"),
        (big, "larger than 5120 bytes"),
        (no_redirects, "1 to 10 redirect_uris"),
        (missing, "404"),
        (http.to_owned(), "with a path"),
    ];
    for (client_id, why) in cases {
        let page = browser.get(&authorize(&client_id)).await;
        assert_eq!(page.status.as_u16(), 400, "{client_id}: {}", page.body);
        assert!(page.headers.get("location").is_none());
        page.assert_contains(why);
    }
    let started = std::time::Instant::now();
    let page = browser.get(&authorize(&slow)).await;
    assert_eq!(page.status.as_u16(), 400);
    page.assert_contains("no answer within 5 s");
    assert!(started.elapsed() < Duration::from_secs(7), "the fetch gave up at its limit");

    // A document naming redirect URIs does not admit others.
    let good = documents.document("/good.json", "Good Agent", "max-age=60");
    let elsewhere = authorize(&good).replace("127.0.0.1%3A5555", "evil.example");
    let page = browser.get(&elsewhere).await;
    assert_eq!(page.status.as_u16(), 400);
    assert!(page.headers.get("location").is_none());
    assert_eq!(app.count_rows("oauth_grants").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_not_fetched_unless_allowed() {
    let documents = DocumentServer::start().await;
    let app = TestApp::with_documents(DocumentFetch::new(false, Some(&documents.ca)).expect("fetch")).await;
    let (mut browser, _) = signed_in(&app, "private@example.com").await;
    let client_id = documents.document("/client.json", "Inside Agent", "max-age=60");
    let page = browser.get(&authorize(&client_id)).await;
    assert_eq!(page.status.as_u16(), 400, "{}", page.body);
    page.assert_contains("only to loopback or private addresses");
    assert_eq!(documents.hits("/client.json"), 0, "nothing was asked");
    let token = app
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", "x"),
                ("redirect_uri", "http://127.0.0.1/callback"),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_oauth_error(&token, 401, "invalid_client");
}
