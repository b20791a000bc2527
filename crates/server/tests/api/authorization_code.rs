//! The authorization-code flow with PKCE, client registration, refresh and
//! resource indicators, through the server's own router: every answer and
//! error of the authorization and token endpoints.

use axum::http::Method;
use serde_json::{Value, json};
use sitegpt_access::oauth::s256;

use crate::agents::signed_in;
use crate::helpers::{Browser, Page, TestApp, TestUser};
use crate::oauth::assert_oauth_error;

const ISSUER: &str = "http://api.test";
const REDIRECT: &str = "http://127.0.0.1/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

async fn register(app: &TestApp, body: Value) -> crate::helpers::TestResponse {
    app.request(Method::POST, "/oauth/register", None, Some(body)).await
}

/// A registered public client for `REDIRECT`.
pub async fn client(app: &TestApp) -> String {
    let response = register(app, json!({"client_name": "Claude Test", "redirect_uris": [REDIRECT]})).await;
    assert_eq!(response.status.as_u16(), 201, "{}", response.body);
    response.body["client_id"].as_str().expect("client_id").to_owned()
}

/// `/oauth/authorize?…` with the usual parameters, `overrides` replacing or
/// (with an empty value) removing them.
pub fn authorize_path(client_id: &str, overrides: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", "http://127.0.0.1:43123/callback".into()),
        ("scope", "account:read chatbots:read knowledge:write".into()),
        ("state", "st4te with spaces".into()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
        ("resource", format!("{ISSUER}/api/v2")),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, (*value).to_owned()));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    format!("/oauth/authorize?{query}")
}

/// The query of a redirect back to the client.
fn returned(page: &Page) -> Vec<(String, String)> {
    assert_eq!(page.status.as_u16(), 303, "{}", page.body);
    let location = page.location();
    assert!(location.starts_with("http://127.0.0.1:43123/callback?"), "{location}");
    let query = location.split_once('?').expect("query").1;
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Shows the consent page and approves it with the scopes and chatbots
/// given (all offered scopes when `scopes` is `None`); returns the code.
pub async fn approve(browser: &mut Browser<'_>, path: &str, scopes: Option<&[&str]>, chatbots: &[&str]) -> String {
    let consent = browser.get(path).await;
    assert_eq!(consent.status.as_u16(), 200, "{}", consent.body);
    let mut form: Vec<(String, String)> = hidden_fields(&consent);
    let offered: Vec<String> = checkbox_values(&consent, "grant_scope");
    for scope in scopes.map_or(offered.clone(), |s| s.iter().map(|s| s.to_string()).collect()) {
        form.push(("grant_scope".into(), scope));
    }
    for chatbot in chatbots {
        form.push(("chatbot_id".into(), chatbot.to_string()));
    }
    form.push(("decision".into(), "approve".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = returned(&browser.post("/oauth/authorize", &pairs).await);
    assert_eq!(param(&back, "state"), Some("st4te with spaces"));
    assert_eq!(param(&back, "iss"), Some(ISSUER));
    param(&back, "code").expect("a code").to_owned()
}

/// Every hidden input of the page, as the browser would send it.
fn hidden_fields(page: &Page) -> Vec<(String, String)> {
    page.body
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = rest.split("name=\"").nth(1).expect("name").split('"').next().expect("name");
            let value = rest.split("value=\"").nth(1).expect("value").split('"').next().expect("value");
            (name.to_owned(), html_unescape(value))
        })
        .collect()
}

fn checkbox_values(page: &Page, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    page.body.split(&marker).skip(1).map(|rest| rest.split('"').next().expect("value").to_owned()).collect()
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'").replace("&amp;", "&")
}

pub async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> crate::helpers::TestResponse {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:43123/callback"),
        ("code_verifier", VERIFIER),
    ];
    for (name, value) in extra {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    app.form("/oauth/token", &pairs, None).await
}

async fn refresh(app: &TestApp, client_id: &str, token: &str, extra: &[(&str, &str)]) -> crate::helpers::TestResponse {
    let mut pairs = vec![("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", token)];
    pairs.extend_from_slice(extra);
    app.form("/oauth/token", &pairs, None).await
}

/// A signed-in person, a client, and a redeemed grant's token response.
pub async fn granted<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, TestUser, String, Value) {
    let (mut browser, user) = signed_in(app, email).await;
    let client_id = client(app).await;
    let code = approve(&mut browser, &authorize_path(&client_id, &[]), None, &[]).await;
    let tokens = exchange(app, &client_id, &code, &[]).await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.body);
    (browser, user, client_id, tokens.body)
}

#[tokio::test]
async fn metadata_describes_the_authorization_code_flow() {
    let app = TestApp::new().await;
    let meta = app.request(Method::GET, "/.well-known/oauth-authorization-server", None, None).await.body;
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(meta["authorization_endpoint"], format!("{ISSUER}/oauth/authorize"));
    assert_eq!(meta["registration_endpoint"], format!("{ISSUER}/oauth/register"));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    let grants = meta["grant_types_supported"].as_array().expect("grants");
    for grant in ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"] {
        assert!(grants.contains(&json!(grant)), "{grant}");
    }
    assert!(meta["token_endpoint_auth_methods_supported"].as_array().expect("methods").contains(&json!("none")));
}

#[tokio::test]
async fn registration_echoes_what_it_accepted_and_refuses_the_rest() {
    let app = TestApp::new().await;
    let created = register(
        &app,
        json!({
            "client_name": "Inspector",
            "redirect_uris": ["http://localhost:6274/oauth/callback", "com.example.app:/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "logo_uri": "https://example.com/logo.png",
        }),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let body = created.body.as_object().expect("object");
    assert!(body["client_id"].as_str().is_some_and(|id| id.starts_with("oc_")));
    assert!(body["client_id_issued_at"].as_i64().is_some_and(|t| t > 1_700_000_000));
    assert_eq!(body["client_name"], "Inspector");
    assert_eq!(body["redirect_uris"], json!(["http://localhost:6274/oauth/callback", "com.example.app:/cb"]));
    assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert!(body.values().all(|v| !v.is_null()), "{body:?}");
    assert!(!body.contains_key("logo_uri"));

    let minimal = register(&app, json!({"redirect_uris": ["https://app.example/cb"]})).await;
    assert_eq!(minimal.status.as_u16(), 201, "{}", minimal.body);
    assert_eq!(minimal.body["client_name"], "Unnamed application");
    assert_eq!(minimal.body["grant_types"], json!(["authorization_code"]));

    let cases = [
        (json!({"redirect_uris": ["http://app.example/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["javascript:alert(1)"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://app.example/cb#x"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
        ),
        (json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [REDIRECT], "grant_types": ["refresh_token"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(121)}), "invalid_client_metadata"),
        (json!({"redirect_uris": "https://app.example/cb"}), "invalid_client_metadata"),
        (json!([1, 2]), "invalid_client_metadata"),
    ];
    let before = app.count_rows("oauth_clients").await;
    for (body, error) in cases {
        assert_oauth_error(&register(&app, body).await, 400, error);
    }
    assert_eq!(app.count_rows("oauth_clients").await, before, "no refused registration is stored");
    let form = app.form("/oauth/register", &[("redirect_uris", REDIRECT)], None).await;
    assert_oauth_error(&form, 400, "invalid_client_metadata");
}

#[tokio::test]
async fn a_person_approves_and_the_client_gets_working_tokens_once() {
    let app = TestApp::new().await;
    let (mut browser, user, _, _) = granted(&app, "first@example.com").await;
    let client_id = client(&app).await;

    // Signed out, the authorize link goes through sign-in and back.
    let path = authorize_path(&client_id, &[]);
    let signed_out = Browser::new(&app).get(&path).await;
    assert_eq!(signed_out.status.as_u16(), 303);
    let next = signed_out.location().strip_prefix("/login?next=").expect("to sign in");
    let next: String = form_urlencoded::parse(format!("n={next}").as_bytes()).next().expect("next").1.into_owned();
    assert_eq!(next, path);

    let consent = browser.get(&path).await;
    consent.assert_contains("Allow Claude Test to access SiteGPT?");
    consent.assert_contains("127.0.0.1");
    consent.assert_contains("registered itself");
    consent.assert_contains("knowledge:write");
    let bot = app.chatbot(&user.account_id).await;
    let code = approve(&mut browser, &path, Some(&["account:read", "knowledge:write"]), &[&bot]).await;

    let tokens = exchange(&app, &client_id, &code, &[]).await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.body);
    assert_eq!(tokens.header("cache-control"), "no-store");
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 3600);
    assert_eq!(tokens.body["scope"], "account:read knowledge:write");
    let access = tokens.body["access_token"].as_str().expect("access token").to_owned();
    let refresh_token = tokens.body["refresh_token"].as_str().expect("refresh token").to_owned();
    assert!(access.starts_with("sgpt_") && refresh_token.starts_with("sgpr_"));

    let account = app.get("/api/v2/account", &access).await;
    account.assert_ok(200);
    let token_id = account.body["data"]["token"]["id"].as_str().expect("token id").to_owned();
    let record = app.store().token(&token_id).await.expect("query").expect("token");
    assert_eq!(record.created_via.as_str(), "oauth");
    assert_eq!(record.chatbots.ids(), std::slice::from_ref(&bot));
    assert!(record.grant_id.is_some());
    app.get("/api/v2/chatbots", &access).await.assert_error(403, "INSUFFICIENT_SCOPE");

    // A second use of the code is refused and ends everything it issued.
    let replay = exchange(&app, &client_id, &code, &[]).await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    app.get("/api/v2/account", &access).await.assert_error(401, "TOKEN_REVOKED");
    assert_oauth_error(&refresh(&app, &client_id, &refresh_token, &[]).await, 400, "invalid_grant");
    for secret in [&access, &refresh_token, &code] {
        assert!(!crate::helpers::contains(&app.database_bytes().await, secret), "a secret is stored in plain");
    }
}

#[tokio::test]
async fn a_bad_client_or_redirect_gets_a_page_and_never_a_redirect() {
    let app = TestApp::new().await;
    let (mut browser, _) = signed_in(&app, "pages@example.com").await;
    let client_id = client(&app).await;
    let cases = [
        authorize_path("oc_unknown", &[]),
        authorize_path(&client_id, &[("client_id", "")]),
        authorize_path(&client_id, &[("redirect_uri", "")]),
        authorize_path(&client_id, &[("redirect_uri", "https://evil.example/callback")]),
        authorize_path(&client_id, &[("redirect_uri", "http://127.0.0.1:43123/other")]),
        authorize_path(&client_id, &[("redirect_uri", "http://localhost:43123/callback")]),
        format!("{}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback", authorize_path(&client_id, &[])),
    ];
    for path in cases {
        let page = browser.get(&path).await;
        assert_eq!(page.status.as_u16(), 400, "{path}: {}", page.body);
        assert!(page.headers.get("location").is_none(), "{path}");
    }
    // Signed out too: the page, not a sign-in that would lead there.
    let page =
        Browser::new(&app).get(&authorize_path(&client_id, &[("redirect_uri", "https://evil.example/cb")])).await;
    assert_eq!(page.status.as_u16(), 400);
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let app = TestApp::new().await;
    let (mut browser, _) = signed_in(&app, "errors@example.com").await;
    let client_id = client(&app).await;
    let cases = [
        (vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "account:read everything")], "invalid_scope"),
        (vec![("resource", "https://other.example/api/v2")], "invalid_target"),
        (vec![("resource", "http://api.test/api/v3")], "invalid_target"),
    ];
    for (overrides, error) in cases {
        let back = returned(&browser.get(&authorize_path(&client_id, &overrides)).await);
        assert_eq!(param(&back, "error"), Some(error), "{overrides:?}");
        assert!(param(&back, "error_description").is_some_and(|d| !d.is_empty()));
        assert_eq!(param(&back, "state"), Some("st4te with spaces"));
        assert_eq!(param(&back, "iss"), Some(ISSUER));
        assert_eq!(param(&back, "code"), None);
    }
    let repeated = format!("{}&resource=http%3A%2F%2Fapi.test%2Fmcp", authorize_path(&client_id, &[]));
    assert_eq!(param(&returned(&browser.get(&repeated).await), "error"), Some("invalid_target"));

    // Deny.
    let consent = browser.get(&authorize_path(&client_id, &[])).await;
    let mut form = hidden_fields(&consent);
    form.push(("decision".into(), "deny".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let denied = returned(&browser.post("/oauth/authorize", &pairs).await);
    assert_eq!(param(&denied, "error"), Some("access_denied"));
    assert_eq!(param(&denied, "state"), Some("st4te with spaces"));
    assert_eq!(param(&denied, "iss"), Some(ISSUER));
    assert_eq!(app.count_rows("oauth_grants").await, 0);

    // The posted form is checked again: no scope ticked, a scope not asked for.
    let mut nothing = hidden_fields(&consent);
    nothing.push(("decision".into(), "approve".into()));
    let pairs: Vec<(&str, &str)> = nothing.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = browser.post("/oauth/authorize", &pairs).await;
    assert_eq!(page.status.as_u16(), 422);
    page.assert_contains("Tick at least one permission");
    let mut more = nothing.clone();
    more.push(("grant_scope".into(), "billing:write".into()));
    let pairs: Vec<(&str, &str)> = more.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(browser.post("/oauth/authorize", &pairs).await.status.as_u16(), 400);
    let mut forged = nothing.clone();
    forged.retain(|(k, _)| k != "redirect_uri");
    forged.push(("redirect_uri".into(), "https://evil.example/cb".into()));
    forged.push(("grant_scope".into(), "account:read".into()));
    let pairs: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = browser.post("/oauth/authorize", &pairs).await;
    assert_eq!(page.status.as_u16(), 400);
    assert!(page.headers.get("location").is_none());
    assert_eq!(app.count_rows("oauth_grants").await, 0);
}

#[tokio::test]
async fn a_viewer_cannot_approve_beyond_their_role() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "viewer@example.com").await;
    let client_id = client(&app).await;
    app.member(&user.account_id, sitegpt_access::Role::Owner).await;
    app.store()
        .set_role(&user.account_id, &user.id, sitegpt_access::Role::Viewer, &sitegpt_store::Actor::system())
        .await
        .expect("role");
    let path = authorize_path(&client_id, &[("scope", "account:read billing:write")]);
    let consent = browser.get(&path).await;
    assert_eq!(consent.status.as_u16(), 200, "{}", consent.body);
    assert_eq!(checkbox_values(&consent, "grant_scope"), ["account:read"]);
    consent.assert_contains("your role (viewer) cannot grant this");
    let mut form = hidden_fields(&consent);
    form.extend([("grant_scope".into(), "account:read".into()), ("grant_scope".into(), "billing:write".into())]);
    form.push(("decision".into(), "approve".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = browser.post("/oauth/authorize", &pairs).await;
    assert_eq!(refused.status.as_u16(), 422, "{}", refused.body);
    refused.assert_contains("does not permit billing:write");
    assert_eq!(app.count_rows("oauth_grants").await, 0);
    let code = approve(&mut browser, &path, None, &[]).await;
    let tokens = exchange(&app, &client_id, &code, &[]).await;
    assert_eq!(tokens.body["scope"], "account:read");
}

#[tokio::test]
async fn the_token_endpoint_checks_client_redirect_verifier_and_resource() {
    let app = TestApp::new().await;
    let (mut browser, _) = signed_in(&app, "token@example.com").await;
    let client_id = client(&app).await;
    let other_client = client(&app).await;
    let code = approve(&mut browser, &authorize_path(&client_id, &[]), None, &[]).await;
    let wrong_verifier = "another-verifier-of-at-least-forty-three-characters-000";
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("code_verifier", wrong_verifier)], 400, "invalid_grant"),
        (vec![("code_verifier", "short")], 400, "invalid_grant"),
        (vec![("code_verifier", "")], 400, "invalid_request"),
        (vec![("redirect_uri", "http://127.0.0.1:43123/other")], 400, "invalid_grant"),
        (vec![("redirect_uri", "")], 400, "invalid_request"),
        (vec![("client_id", &other_client)], 400, "invalid_grant"),
        (vec![("client_id", "oc_nobody")], 401, "invalid_client"),
        (vec![("client_id", "")], 401, "invalid_client"),
        (vec![("resource", "http://api.test/mcp")], 400, "invalid_target"),
        (vec![("resource", "http://elsewhere.test/api/v2")], 400, "invalid_target"),
        (vec![("code", "not-a-code")], 400, "invalid_grant"),
    ];
    for (extra, status, error) in cases {
        assert_oauth_error(&exchange(&app, &client_id, &code, &extra).await, status, error);
    }
    // None of those used the code up.
    let good = exchange(&app, &client_id, &code, &[("resource", "HTTP://API.TEST/api/v2/")]).await;
    assert_eq!(good.status.as_u16(), 200, "{}", good.body);

    // A code lives 60 seconds.
    let late = approve(&mut browser, &authorize_path(&client_id, &[]), None, &[]).await;
    app.execute_sql("UPDATE oauth_grants SET code_expires_at = code_expires_at - 61000").await;
    assert_oauth_error(&exchange(&app, &client_id, &late, &[]).await, 400, "invalid_grant");
}

#[tokio::test]
async fn refresh_tokens_rotate_with_a_grace_and_a_late_reuse_ends_the_grant() {
    let app = TestApp::new().await;
    let (_, _, client_id, first) = granted(&app, "refresh@example.com").await;
    let r1 = first["refresh_token"].as_str().expect("r1").to_owned();

    let second = refresh(&app, &client_id, &r1, &[]).await;
    assert_eq!(second.status.as_u16(), 200, "{}", second.body);
    assert_eq!(second.header("cache-control"), "no-store");
    let r2 = second.body["refresh_token"].as_str().expect("r2").to_owned();
    assert_ne!(r1, r2);
    let access2 = second.body["access_token"].as_str().expect("access").to_owned();
    app.get("/api/v2/account", &access2).await.assert_ok(200);

    // A retry with the previous token inside the grace still works.
    let retry = refresh(&app, &client_id, &r1, &[]).await;
    assert_eq!(retry.status.as_u16(), 200, "{}", retry.body);

    // A narrower scope may be asked for; a wider one may not.
    let narrow = refresh(&app, &client_id, &r2, &[("scope", "account:read")]).await;
    assert_eq!(narrow.status.as_u16(), 200, "{}", narrow.body);
    assert_eq!(narrow.body["scope"], "account:read");
    let r3 = narrow.body["refresh_token"].as_str().expect("r3").to_owned();
    assert_oauth_error(&refresh(&app, &client_id, &r3, &[("scope", "billing:write")]).await, 400, "invalid_scope");
    assert_oauth_error(
        &refresh(&app, &client_id, &r3, &[("resource", "http://api.test/mcp")]).await,
        400,
        "invalid_target",
    );
    let other = client(&app).await;
    assert_oauth_error(&refresh(&app, &other, &r3, &[]).await, 400, "invalid_grant");
    assert_oauth_error(&refresh(&app, &client_id, "sgpr_not-a-token", &[]).await, 400, "invalid_grant");

    // After the grace, the old token revokes the whole grant.
    app.execute_sql(
        "UPDATE oauth_refresh_tokens SET superseded_at = superseded_at - 61000 WHERE superseded_at IS NOT NULL",
    )
    .await;
    assert_oauth_error(&refresh(&app, &client_id, &r1, &[]).await, 400, "invalid_grant");
    app.get("/api/v2/account", &access2).await.assert_error(401, "TOKEN_REVOKED");
    assert_oauth_error(&refresh(&app, &client_id, &r3, &[]).await, 400, "invalid_grant");
}

#[tokio::test]
async fn a_token_for_one_resource_is_refused_at_the_other() {
    let app = TestApp::new().await;
    let (mut browser, _) = signed_in(&app, "resource@example.com").await;
    let client_id = client(&app).await;
    let path = authorize_path(&client_id, &[("resource", "http://api.test/mcp")]);
    let code = approve(&mut browser, &path, None, &[]).await;
    let tokens = exchange(&app, &client_id, &code, &[("resource", "http://api.test/mcp")]).await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.body);
    let access = tokens.body["access_token"].as_str().expect("access");
    let refused = app.get("/api/v2/account", access).await;
    refused.assert_error(401, "UNAUTHENTICATED");
    assert!(refused.header("www-authenticate").contains("invalid_token"), "{}", refused.header("www-authenticate"));
    assert!(refused.body["error"]["message"].as_str().expect("message").contains("/mcp"));

    // Without a resource the grant is for the API.
    let code = approve(&mut browser, &authorize_path(&client_id, &[("resource", "")]), None, &[]).await;
    let tokens = exchange(&app, &client_id, &code, &[]).await;
    let access = tokens.body["access_token"].as_str().expect("access");
    app.get("/api/v2/account", access).await.assert_ok(200);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant() {
    let app = TestApp::new().await;
    let (_, _, client_id, tokens) = granted(&app, "revoke@example.com").await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    let response = app.form("/oauth/revoke", &[("token", refresh_token), ("client_id", &client_id)], None).await;
    assert_eq!(response.status.as_u16(), 200);
    app.get("/api/v2/account", access).await.assert_error(401, "TOKEN_REVOKED");
    assert_oauth_error(&refresh(&app, &client_id, refresh_token, &[]).await, 400, "invalid_grant");
    let unknown = app.form("/oauth/revoke", &[("token", "sgpr_unknown")], None).await;
    assert_eq!(unknown.status.as_u16(), 200);
}

#[tokio::test]
async fn the_janitor_purges_what_the_flow_left_behind() {
    let app = TestApp::new().await;
    let (mut browser, _, client_id, _) = granted(&app, "purge@example.com").await;
    approve(&mut browser, &authorize_path(&client_id, &[]), None, &[]).await;
    assert_eq!(app.count_rows("oauth_grants").await, 2);
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    app.store().purge_expired(later).await.expect("purge");
    // The unredeemed code's grant and the expired access token went; the
    // redeemed grant stays.
    assert_eq!(app.count_rows("oauth_grants").await, 1);
    assert_eq!(app.count_rows("oauth_refresh_tokens").await, 1);
    let far = chrono::Utc::now() + chrono::Duration::days(92);
    app.store().purge_expired(far).await.expect("purge");
    assert_eq!(app.count_rows("oauth_grants").await, 0);
    assert_eq!(app.count_rows("oauth_clients").await, 0);
}

#[tokio::test]
async fn connected_apps_lists_grants_and_revoking_one_ends_its_tokens() {
    let app = TestApp::new().await;
    let (mut browser, user, client_id, tokens) = granted(&app, "apps@example.com").await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");

    let page = browser.get("/dashboard/apps").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    page.assert_contains("Claude Test");
    page.assert_contains("127.0.0.1");
    page.assert_contains("knowledge:write");
    let grant = app.store().grants(&user.id).await.expect("grants").remove(0);
    let action = format!("/dashboard/apps/{}/revoke", grant.id);
    page.assert_contains(&action);

    // Nobody else sees or revokes it.
    let (mut stranger, _) = signed_in(&app, "stranger@example.com").await;
    assert!(!stranger.get("/dashboard/apps").await.body.contains(&grant.id));
    let csrf = stranger.get("/dashboard/apps").await.csrf();
    assert_eq!(stranger.post(&action, &[("csrf", &csrf)]).await.status.as_u16(), 404);
    app.get("/api/v2/account", access).await.assert_ok(200);

    // Without the CSRF token nothing happens.
    assert_eq!(browser.post(&action, &[("csrf", "wrong")]).await.status.as_u16(), 403);
    app.get("/api/v2/account", access).await.assert_ok(200);

    let done = browser.post(&action, &[("csrf", &page.csrf())]).await;
    assert_eq!((done.status.as_u16(), done.location()), (303, "/dashboard/apps?done=revoked"));
    browser.get("/dashboard/apps?done=revoked").await.assert_contains("Access revoked");
    app.get("/api/v2/account", access).await.assert_error(401, "TOKEN_REVOKED");
    assert_oauth_error(&refresh(&app, &client_id, refresh_token, &[]).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_on_one_node_stops_its_tokens_on_the_other_within_a_second() {
    let a = TestApp::new().await;
    let b = a.another_node().await;
    let (_, _, client_id, tokens) = granted(&a, "nodes@example.com").await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    for node in [&a, &b] {
        node.get("/api/v2/account", access).await.assert_ok(200);
    }
    let revoked = a.form("/oauth/revoke", &[("token", refresh_token), ("client_id", &client_id)], None).await;
    assert_eq!(revoked.status.as_u16(), 200);
    crate::nodes::within_a_second(&b, access, "grant revoked", |r| r.code() == "TOKEN_REVOKED").await;
}

#[tokio::test]
async fn registrations_are_limited_per_address_once_valid() {
    let app = TestApp::new().await;
    let from = |address: &str, body: Value| {
        let mut request = axum::http::Request::post("/oauth/register")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let peer: std::net::SocketAddr = address.parse().expect("address");
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        request
    };
    // Refused registrations cost nothing.
    for _ in 0..30 {
        let bad = app.send(from("10.9.0.1:4000", json!({"redirect_uris": ["http://evil.example/cb"]}))).await;
        assert_oauth_error(&bad, 400, "invalid_redirect_uri");
    }
    for _ in 0..20 {
        let created = app.send(from("10.9.0.1:4000", json!({"redirect_uris": [REDIRECT]}))).await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    }
    let refused = app.send(from("10.9.0.1:4001", json!({"redirect_uris": [REDIRECT]}))).await;
    assert_oauth_error(&refused, 429, "temporarily_unavailable");
    assert!(refused.header("retry-after").parse::<u64>().is_ok_and(|s| s > 0));
    assert_eq!(app.count_rows("oauth_clients").await, 20);
    let elsewhere = app.send(from("10.9.0.2:4000", json!({"redirect_uris": [REDIRECT]}))).await;
    assert_eq!(elsewhere.status.as_u16(), 201);
}

#[tokio::test]
async fn the_mcp_resource_is_described_and_browser_clients_may_call_the_oauth_endpoints() {
    let app = TestApp::new().await;
    let doc = app.request(Method::GET, "/.well-known/oauth-protected-resource/mcp", None, None).await;
    assert_eq!(doc.status.as_u16(), 200);
    assert_eq!(doc.body["resource"], format!("{ISSUER}/mcp"));
    assert_eq!(doc.body["authorization_servers"], json!([ISSUER]));
    assert_eq!(doc.body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc.body["scopes_supported"].as_array().expect("scopes").len(), 37);

    let origin = "http://localhost:6274";
    for path in ["/oauth/token", "/oauth/register", "/oauth/revoke"] {
        let preflight = axum::http::Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization, mcp-protocol-version")
            .body(axum::body::Body::empty())
            .expect("request");
        let (status, headers, _) = app.send_text(preflight).await;
        assert!(status.is_success(), "{path}: {status}");
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_lowercase();
        assert_eq!(header("access-control-allow-origin"), "*", "{path}");
        assert!(header("access-control-allow-methods").contains("post"), "{path}");
        for allowed in ["content-type", "authorization", "mcp-protocol-version", "mcp-session-id"] {
            assert!(header("access-control-allow-headers").contains(allowed), "{path}: {allowed}");
        }
    }
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/api/v2",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let get =
            axum::http::Request::get(path).header("origin", origin).body(axum::body::Body::empty()).expect("request");
        let (status, headers, _) = app.send_text(get).await;
        assert_eq!(status.as_u16(), 200);
        assert_eq!(headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("*"), "{path}");
        let exposed = headers.get("access-control-expose-headers").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(exposed.to_lowercase().contains("www-authenticate"), "{path}: {exposed}");
    }
    // Pages (cookies) and the API are not opened to other origins.
    for path in ["/login", "/api/v2/account", "/oauth/authorize"] {
        let get =
            axum::http::Request::get(path).header("origin", origin).body(axum::body::Body::empty()).expect("request");
        let (_, headers, _) = app.send_text(get).await;
        assert!(headers.get("access-control-allow-origin").is_none(), "{path}");
    }
}
