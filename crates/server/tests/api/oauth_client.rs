//! The device flow completed by an independent OAuth client library (the
//! `oauth2` crate), against the real server on a TCP port.

use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use sitegpt_access::device::UserCode;
use sitegpt_store::{DeviceDecision, NewMembership, NewUser};

use crate::helpers::TcpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth2_crate_completes_a_device_login() {
    let server = TcpServer::start().await;
    let (base, store) = (server.base.clone(), server.store());
    let (user, account) = store
        .create_user(NewUser {
            email: "lib@example.com".into(),
            password_hash: "$argon2id$unused".into(),
            email_verified: true,
            membership: NewMembership::NewAccount {
                name: "Library team".into(),
                subscription: sitegpt_access::SubscriptionStatus::Active,
            },
            now: chrono::Utc::now(),
        })
        .await
        .expect("user");

    let client = BasicClient::new(ClientId::new("sitegpt-cli".into()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).expect("url"))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{base}/oauth/device_authorization")).expect("url"),
        );
    let started = {
        let client = client.clone();
        tokio::task::spawn_blocking(move || {
            client
                .exchange_device_code()
                .add_scope(Scope::new("account:read".into()))
                .add_scope(Scope::new("tokens:read".into()))
                .request::<_, oauth2::EmptyExtraDeviceAuthorizationFields>(&sitegpt_testkit::oauth2_http)
        })
        .await
        .expect("join")
        .expect("device authorization")
    };
    let details: StandardDeviceAuthorizationResponse = started;
    assert_eq!(details.verification_uri().as_str(), format!("{base}/device"));
    assert_eq!(details.interval(), Duration::from_secs(5));

    // The library polls (and sleeps between polls) while a person approves.
    let polling = {
        let (client, details) = (client.clone(), details.clone());
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let token = client.exchange_device_access_token(&details).request(
                &sitegpt_testkit::oauth2_http,
                std::thread::sleep,
                None,
            );
            (token, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let code = UserCode::parse(details.user_code().secret()).expect("code");
    let device = store.device_by_user_code(code.normalized()).await.expect("q").expect("pending");
    store
        .decide_device(
            &device.id,
            DeviceDecision::Approve { user_id: user.id, account_id: account.id },
            chrono::Utc::now(),
        )
        .await
        .expect("approve");
    let (token, waited) = polling.await.expect("join");
    let token = token.expect("the library receives the token");
    assert!(waited >= Duration::from_secs(5), "the library honoured the interval");
    assert_eq!(token.token_type().as_ref(), "bearer");
    let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["account:read", "tokens:read"]);

    let secret = token.access_token().secret().clone();
    let status = tokio::task::spawn_blocking(move || {
        let call =
            ureq::get(&format!("{base}/api/v2/account")).set("Authorization", &format!("Bearer {secret}")).call();
        call.map(|response| response.status()).unwrap_or_else(|e| panic!("account: {e}"))
    })
    .await
    .expect("join");
    assert_eq!(status, 200);
    server.stop().await;
}

/// A person's consent given over HTTP with a session made in the store:
/// opens `url` (the library's authorization URL), approves every offered
/// scope, and returns where the server sent the browser back to.
fn consent_over_http(url: &str, session_id: &str, csrf: &str, base: &str, origin: &str) -> String {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let cookie = format!("sitegpt_session={session_id}");
    let page = agent.get(url).set("Cookie", &cookie).call().expect("consent page").into_string().expect("html");
    assert!(page.contains("Allow Library client to access SiteGPT?"), "{page}");
    let mut form: Vec<(String, String)> = page
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let field = |attr: &str| rest.split(attr).nth(1).expect("attribute").split('"').next().expect("value");
            (field("name=\""), field("value=\"").replace("&amp;", "&").replace("&quot;", "\""))
        })
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    assert!(form.iter().any(|(name, value)| name == "csrf" && value == csrf));
    for scope in page.split("name=\"grant_scope\" value=\"").skip(1) {
        form.push(("grant_scope".into(), scope.split('"').next().expect("scope").to_owned()));
    }
    form.push(("decision".into(), "approve".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = agent
        .post(&format!("{base}/oauth/authorize"))
        .set("Cookie", &cookie)
        .set("Origin", origin)
        .send_form(&pairs)
        .expect("decision");
    assert_eq!(response.status(), 303);
    response.header("location").expect("location").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth2_crate_completes_an_authorization_code_login_with_pkce_and_refreshes() {
    use oauth2::{AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, RefreshToken as LibRefresh};

    let server = TcpServer::start().await;
    let (base, store) = (server.base.clone(), server.store());
    let issuer = server.state.public_url.to_string();
    let (user, _) = store
        .create_user(NewUser {
            email: "code@example.com".into(),
            password_hash: "$argon2id$unused".into(),
            email_verified: true,
            membership: NewMembership::NewAccount {
                name: "Code team".into(),
                subscription: sitegpt_access::SubscriptionStatus::Active,
            },
            now: chrono::Utc::now(),
        })
        .await
        .expect("user");
    let session_id = "library-session-id-for-tests-only-0000000000";
    store
        .create_session(
            sitegpt_store::NewSession {
                id_hash: sitegpt_server::web::hash_secret(session_id),
                user_id: user.id.clone(),
                csrf_token: "library-csrf".into(),
                now: chrono::Utc::now(),
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
            },
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("session");

    // Registration (RFC 7591), as any MCP client does it.
    let redirect = "http://127.0.0.1:49152/callback";
    let registered: serde_json::Value = {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            ureq::post(&format!("{base}/oauth/register"))
                .send_json(serde_json::json!({
                    "client_name": "Library client",
                    "redirect_uris": ["http://127.0.0.1/callback"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "token_endpoint_auth_method": "none",
                }))
                .expect("register")
                .into_json()
                .expect("json")
        })
        .await
        .expect("join")
    };
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();

    let client = BasicClient::new(ClientId::new(client_id))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new(redirect.into()).expect("url"));
    let resource = format!("{issuer}/api/v2");
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf_state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("account:read".into()))
        .add_scope(Scope::new("chatbots:read".into()))
        .add_extra_param("resource", &resource)
        .set_pkce_challenge(challenge)
        .url();

    let location = {
        let (url, base, origin) = (url.to_string(), base.clone(), issuer.trim_end_matches('/').to_owned());
        tokio::task::spawn_blocking(move || consent_over_http(&url, session_id, "library-csrf", &base, &origin))
            .await
            .expect("join")
    };
    let back = url::Url::parse(&location).expect("redirect");
    assert_eq!(format!("{}://{}{}", back.scheme(), back.authority(), back.path()), redirect);
    let query: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(query.get("state").map(String::as_str), Some(csrf_state.secret().as_str()));
    assert_eq!(query.get("iss"), Some(&issuer));
    let code = query.get("code").expect("code").clone();

    let (token, refreshed) = {
        let (client, resource) = (client.clone(), resource.clone());
        tokio::task::spawn_blocking(move || {
            let token = client
                .exchange_code(AuthorizationCode::new(code))
                .set_pkce_verifier(verifier)
                .add_extra_param("resource", &resource)
                .request(&sitegpt_testkit::oauth2_http)
                .expect("the library redeems the code");
            let refresh = token.refresh_token().expect("a refresh token").clone();
            let refreshed = client
                .exchange_refresh_token(&LibRefresh::new(refresh.secret().clone()))
                .request(&sitegpt_testkit::oauth2_http)
                .expect("the library refreshes");
            (token, refreshed)
        })
        .await
        .expect("join")
    };
    assert_eq!(token.token_type().as_ref(), "bearer");
    assert_eq!(token.expires_in(), Some(Duration::from_secs(3600)));
    let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["account:read", "chatbots:read"]);
    assert_ne!(refreshed.access_token().secret(), token.access_token().secret());
    assert_ne!(refreshed.refresh_token().expect("rotated").secret(), token.refresh_token().expect("first").secret());

    for secret in [token.access_token().secret().clone(), refreshed.access_token().secret().clone()] {
        let base = base.clone();
        let status = tokio::task::spawn_blocking(move || {
            ureq::get(&format!("{base}/api/v2/account"))
                .set("Authorization", &format!("Bearer {secret}"))
                .call()
                .map(|response| response.status())
                .unwrap_or_else(|e| panic!("account: {e}"))
        })
        .await
        .expect("join");
        assert_eq!(status, 200);
    }
    server.stop().await;
}
