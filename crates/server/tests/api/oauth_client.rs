//! The device flow completed by an independent OAuth client library (the
//! `oauth2` crate), against the real server on a TCP port.

use std::io::Read;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use sitegpt_access::device::UserCode;
use sitegpt_server::app::Application;
use sitegpt_server::config::Settings;
use sitegpt_store::{DeviceDecision, NewMembership, NewUser};

/// The library's HTTP hook, implemented with a plain HTTP client.
fn http_client(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
    let mut call = ureq::request(request.method().as_str(), &request.uri().to_string());
    for (name, value) in request.headers() {
        call = call.set(name.as_str(), value.to_str().map_err(std::io::Error::other)?);
    }
    let response = match call.send_bytes(request.body()) {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let mut builder = axum::http::Response::builder().status(response.status());
    if let Some(content_type) = response.header("content-type") {
        builder = builder.header("content-type", content_type);
    }
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body)?;
    builder.body(body).map_err(std::io::Error::other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth2_crate_completes_a_device_login() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Application::build(&Settings::for_data_dir(dir.path().to_owned())).await.expect("build");
    let base = format!("http://{}", app.local_addr());
    let store = std::sync::Arc::clone(&app.state().store);
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
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
                .request::<_, oauth2::EmptyExtraDeviceAuthorizationFields>(&http_client)
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
            let token = client.exchange_device_access_token(&details).request(&http_client, std::thread::sleep, None);
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
    shutdown.send(()).expect("stop");
    server.await.expect("join").expect("server stopped cleanly");
}
