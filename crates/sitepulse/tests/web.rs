//! The dashboard through the whole application's router: signing in,
//! Settings → API tokens (create with chosen scopes, shown once; revoke
//! after a confirmation), CSRF on every form, signing out.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use sitegpt_store::password::hash_password;
use sitegpt_store::pulse::{NewPulseUser, PulseStore};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;
use sitepulse::api::AppState;
use sitepulse::server::app;
use tower::ServiceExt;

/// A browser: its cookies, and the application.
struct Browser {
    store: Arc<dyn PulseStore>,
    state: AppState,
    cookies: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    cache_control: Option<String>,
    body: String,
}

impl Browser {
    async fn new() -> Browser {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn PulseStore> = Arc::new(
            SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("open"),
        );
        for (email, verified) in [("ada@example.com", true), ("eve@example.com", true)] {
            let new = NewPulseUser {
                email: email.into(),
                name: email.into(),
                password_hash: hash_password("correct horse"),
                verified,
                created_at: Utc::now(),
            };
            store.create_user(new).await.expect("user");
        }
        let state = AppState::new(Arc::clone(&store), "http://127.0.0.1:8090");
        Browser { store, state, cookies: HashMap::new(), _dir: dir }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>, extra: &[(&str, &str)]) -> Page {
        let mut request = Request::builder().method(method).uri(path);
        let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !jar.is_empty() {
            request = request.header(header::COOKIE, jar.join("; "));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let request = match form {
            Some(fields) => {
                let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body))
            }
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = app(self.state.clone()).oneshot(request).await.expect("answer");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ASCII");
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite="), "{text}");
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, location, cache_control) =
            (response.status(), header(header::LOCATION), header(header::CACHE_CONTROL));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Page { status, location, cache_control, body: String::from_utf8(bytes.to_vec()).expect("UTF-8") }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None, &[]).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.cookies.get("sitepulse_csrf").cloned().unwrap_or_default();
        let mut with_csrf: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        with_csrf.extend_from_slice(fields);
        self.send("POST", path, Some(&with_csrf), &[]).await
    }

    async fn sign_in(&mut self, email: &str) {
        self.get("/login").await;
        let page = self.post("/login", &[("email", email), ("password", "correct horse")]).await;
        assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/tokens")));
    }

    /// Calls API v1 with a bearer token.
    async fn api(&self, token: &str) -> StatusCode {
        let request = Request::builder()
            .uri("/api/v1/teams")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        app(self.state.clone()).oneshot(request).await.expect("answer").status()
    }
}

/// The value of the secret field on the page that shows a new token.
fn secret(page: &str) -> String {
    let at = page.find("value=\"spat_").expect("the token on the page") + "value=\"".len();
    page[at..].split('"').next().expect("closing quote").to_owned()
}

#[tokio::test]
async fn signing_in_with_a_wrong_password_or_no_csrf_token_fails_and_the_pages_need_a_session() {
    let mut browser = Browser::new().await;
    let page = browser.get("/settings/tokens").await;
    assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    let form = browser.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"csrf\"") && browser.cookies.contains_key("sitepulse_csrf"));
    let wrong = browser.post("/login", &[("email", "ada@example.com"), ("password", "wrong horse")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The e-mail address or the password is wrong."));
    assert!(!browser.cookies.contains_key("sitepulse_session"));
    let no_csrf =
        browser.send("POST", "/login", Some(&[("email", "ada@example.com"), ("password", "correct horse")]), &[]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "a form without the browser's CSRF token");
    // Ten failures, then the address waits (even with the right password).
    for _ in 0..9 {
        browser.post("/login", &[("email", "eve@example.com"), ("password", "nope")]).await;
    }
    let tenth = browser.post("/login", &[("email", "eve@example.com"), ("password", "nope")]).await;
    assert_eq!(tenth.status, StatusCode::UNAUTHORIZED);
    let blocked = browser.post("/login", &[("email", "eve@example.com"), ("password", "correct horse")]).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("Too many failed attempts"));
}

#[tokio::test]
async fn a_token_is_created_with_chosen_scopes_shown_once_works_and_is_revoked_after_a_confirmation() {
    let mut browser = Browser::new().await;
    browser.sign_in("ada@example.com").await;
    let session = browser.cookies["sitepulse_session"].clone();
    let list = browser.get("/settings/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("No tokens yet.") && list.body.contains("Create a token"));
    for scope in sitegpt_access::sitepulse::PulseScope::ALL {
        assert!(list.body.contains(scope.description()), "{scope}");
    }
    // A preset checks its scopes.
    let preset = browser.get("/settings/tokens?preset=3").await;
    assert_eq!(preset.body.matches(" checked").count(), 4, "teams:read sites:read checks:read checks:run");

    // Mistakes are answered on the form, and nothing is created.
    let no_scope = browser.post("/settings/tokens", &[("name", "CI Pipeline")]).await;
    assert_eq!(no_scope.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_scope.body.contains("Choose at least one scope.") && no_scope.body.contains("value=\"CI Pipeline\""));
    let no_name = browser.post("/settings/tokens", &[("name", " "), ("scope", "sites:read")]).await;
    assert!(no_name.body.contains("Give the token a name"));
    let foreign = browser.post("/settings/tokens", &[("name", "x"), ("scope", "account:read")]).await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = browser
        .send("POST", "/settings/tokens", Some(&[("csrf", "forged"), ("name", "x"), ("scope", "sites:read")]), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let ada = browser.store.user_by_email("ada@example.com").await.expect("read").expect("ada");
    assert!(browser.store.tokens_of(&ada.id).await.expect("tokens").is_empty());

    let created = browser
        .post("/settings/tokens", &[("name", "CI Pipeline"), ("scope", "teams:read"), ("scope", "sites:read")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.cache_control.as_deref(), Some("no-store"), "the secret page is never cached");
    assert!(created.body.contains("shown once"));
    let token = secret(&created.body);
    assert_eq!(browser.api(&token).await, StatusCode::OK, "the new token works on the API");
    let stored = browser.store.tokens_of(&ada.id).await.expect("tokens");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scopes.to_space_separated(), "teams:read sites:read");
    let days = (stored[0].expires_at - stored[0].created_at).num_days();
    assert!((181..=184).contains(&days), "six months: {days} days");

    let list = browser.get("/settings/tokens").await;
    assert!(list.body.contains("CI Pipeline") && list.body.contains(&token[token.len() - 4..]));
    assert!(!list.body.contains(&token), "never shown again");

    // Eve cannot revoke Ada's token.
    let mut eve = Browser {
        store: Arc::clone(&browser.store),
        state: browser.state.clone(),
        cookies: HashMap::new(),
        _dir: tempfile::tempdir().expect("dir"),
    };
    eve.sign_in("eve@example.com").await;
    let path = format!("/settings/tokens/{}/revoke", stored[0].id);
    assert_eq!(eve.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(eve.post(&path, &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.api(&token).await, StatusCode::OK);

    let confirm = browser.get(&path).await;
    assert!(confirm.status == StatusCode::OK && confirm.body.contains("cannot be undone"));
    let revoked = browser.post(&path, &[]).await;
    assert_eq!(
        (revoked.status, revoked.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/tokens?revoked=1"))
    );
    assert_eq!(browser.api(&token).await, StatusCode::UNAUTHORIZED, "revoked: 401 at once");
    let list = browser.get("/settings/tokens?revoked=1").await;
    assert!(list.body.contains("The token is revoked") && list.body.contains("revoked 20"));

    // Settings → MCP says where and how to connect: at the public URL, not
    // at whatever host the request named.
    let mcp = browser.send("GET", "/settings/mcp", None, &[("host", "pulse.example.com")]).await;
    assert!(
        mcp.body.contains("http://127.0.0.1:8090/mcp")
            && !mcp.body.contains("pulse.example.com")
            && mcp.body.contains("Sign in from the client (OAuth)")
            && mcp.body.contains("Authorization: Bearer spat_")
            && mcp.body.contains("No app is connected."),
        "{}",
        mcp.body
    );

    // Signing out ends the session in the store.
    let out = browser.post("/logout", &[]).await;
    assert_eq!((out.status, out.location.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    assert!(!browser.cookies.contains_key("sitepulse_session"));
    browser.cookies.insert("sitepulse_session".into(), session);
    assert_eq!(
        browser.get("/settings/tokens").await.location.as_deref(),
        Some("/login"),
        "the old cookie is worthless"
    );
}

impl Browser {
    /// A raw request to the application: (status, `WWW-Authenticate` or
    /// `Location`, body).
    async fn raw(&self, method: &str, path: &str, content_type: &str, body: &str) -> (StatusCode, String, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .expect("request");
        let response = app(self.state.clone()).oneshot(request).await.expect("answer");
        let status = response.status();
        let header = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .or(response.headers().get(header::LOCATION))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, header, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    async fn register(&self, metadata: &str) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self.raw("POST", "/oauth/register", "application/json", metadata).await;
        (status, serde_json::from_str(&body).expect("JSON"))
    }
}

#[tokio::test]
async fn wrong_oauth_requests_get_clear_refusals_and_never_a_redirect_to_an_unregistered_address() {
    let mut browser = Browser::new().await;
    // Registration: JSON only, public clients, safe redirect URIs.
    let (status, _, body) = browser.raw("POST", "/oauth/register", "text/plain", "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_client_metadata"), "{body}");
    let (status, error) = browser.register(r#"{"redirect_uris":["http://evil.example.com/cb"]}"#).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_redirect_uri")));
    let (status, error) = browser
        .register(r#"{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#)
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")));
    let (status, client) =
        browser.register(r#"{"client_name":"Agent","redirect_uris":["http://127.0.0.1:9/cb"]}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();

    // The client and its redirect URI are checked first, on a page here.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = |extra: &str| {
        format!(
            "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s1{extra}"
        )
    };
    let unknown =
        browser.get("/oauth/authorize?response_type=code&client_id=oc_nope&redirect_uri=http://127.0.0.1:9/cb").await;
    assert_eq!((unknown.status, unknown.location.as_deref()), (StatusCode::BAD_REQUEST, None));
    assert!(unknown.body.contains("Unknown application"));
    let elsewhere = browser
        .get(&format!(
            "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=http://127.0.0.1:9/other"
        ))
        .await;
    assert_eq!((elsewhere.status, elsewhere.location.as_deref()), (StatusCode::BAD_REQUEST, None));
    assert!(elsewhere.body.contains("did not register"));

    // Then the rest goes back to the client, with its state and our issuer.
    for (extra, error) in [
        ("", "invalid_request"),
        ("&code_challenge_method=plain&code_challenge=x", "invalid_request"),
        (&format!("&code_challenge_method=S256&code_challenge={challenge}&scope=sites:fly") as &str, "invalid_scope"),
        (
            &format!("&code_challenge_method=S256&code_challenge={challenge}&resource=http://other.example/mcp"),
            "invalid_target",
        ),
    ] {
        let page = browser.get(&authorize(extra)).await;
        let location = page.location.unwrap_or_default();
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{extra}");
        assert!(location.starts_with("http://127.0.0.1:9/cb?error="), "{location}");
        let query: HashMap<String, String> =
            url::Url::parse(&location).expect("a URL").query_pairs().into_owned().collect();
        assert_eq!(query.get("error").map(String::as_str), Some(error), "{extra}");
        assert_eq!((query["state"].as_str(), query["iss"].as_str()), ("s1", "http://127.0.0.1:8090"));
    }

    // A valid request waits for the person to sign in; the consent form
    // refuses a scope that was not asked for, and one without any.
    let valid = authorize(&format!("&code_challenge_method=S256&code_challenge={challenge}&scope=sites:read"));
    let page = browser.get(&valid).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/login?next=%2Foauth%2Fauthorize")));
    browser.sign_in("ada@example.com").await;
    let consent = browser.get(&valid).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.body.contains("Allow Agent to access SitePulse?"));
    let query: Vec<(String, String)> =
        url::Url::parse(&format!("http://x{valid}")).expect("url").query_pairs().into_owned().collect();
    let mut fields: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("decision", "approve"));
    let mut beyond = fields.clone();
    beyond.push(("grant_scope", "sites:delete"));
    let refused = browser.post("/oauth/authorize", &beyond).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("`sites:delete` was not asked for."));
    let none = browser.post("/oauth/authorize", &fields).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.body.contains("Tick at least one permission"));
    assert_eq!((refused.location, none.location), (None, None), "no code goes back to the client");

    // The token endpoint: form bodies, known grant types and clients, live codes.
    for (content_type, body, status, error) in [
        ("application/json", "{}", StatusCode::BAD_REQUEST, "invalid_request"),
        ("application/x-www-form-urlencoded", "", StatusCode::BAD_REQUEST, "invalid_request"),
        ("application/x-www-form-urlencoded", "grant_type=password", StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        (
            "application/x-www-form-urlencoded",
            "grant_type=authorization_code&client_id=oc_nope&code=x&redirect_uri=x&code_verifier=x",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "application/x-www-form-urlencoded",
            &format!(
                "grant_type=authorization_code&client_id={client_id}&code=abc&redirect_uri=http://127.0.0.1:9/cb&code_verifier={}",
                "v".repeat(43)
            ) as &str,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "application/x-www-form-urlencoded",
            &format!("grant_type=refresh_token&client_id={client_id}&refresh_token=sprt_nope") as &str,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ] {
        let (got, _, answer) = browser.raw("POST", "/oauth/token", content_type, body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&answer).expect("JSON")["error"], error, "{body}");
    }
}
