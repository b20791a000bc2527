//! Settings → MCP's token fallback: the official Rust MCP SDK's client
//! (`rmcp`, Streamable HTTP) against SitePulse on a TCP port with a
//! personal access token as bearer: the tools within the token's scopes,
//! calls that succeed, and refusals in the API's words.

use std::sync::Arc;

use chrono::Utc;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sitegpt_access::sitepulse::{PulseAccessToken, PulseScope, token_expiry};
use sitegpt_store::pulse::{MonitoringDefaults, NewPulseToken, NewPulseUser, NewTeam, PlanLimits, PulseStore};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;
use sitepulse::api::AppState;
use sitepulse::server::app;

fn args(value: Value) -> rmcp::model::JsonObject {
    value.as_object().cloned().expect("an object")
}

fn text(result: &CallToolResult) -> String {
    result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default()
}

async fn user_with_team(store: &Arc<dyn PulseStore>, email: &str) -> (String, String) {
    user_with_password_and_team(store, email, "$argon2id$fake".into()).await
}

/// A verified user who owns a team on an active plan: (user id, team id).
async fn user_with_password_and_team(
    store: &Arc<dyn PulseStore>,
    email: &str,
    password_hash: String,
) -> (String, String) {
    let user = store
        .create_user(NewPulseUser {
            email: email.into(),
            name: email.into(),
            password_hash,
            verified: true,
            created_at: Utc::now(),
        })
        .await
        .expect("user");
    let team = NewTeam {
        name: "Ops".into(),
        limits: PlanLimits { plan: "pro".into(), max_sites: 10, min_cadence_seconds: 60 },
        subscription_active: true,
        defaults: MonitoringDefaults { cadence_seconds: 300, failure_threshold: 3, escalation_minutes: None },
        created_at: Utc::now(),
    };
    let team = store.create_team(team, &user.id).await.expect("team");
    (user.id, team.id)
}

async fn token(store: &Arc<dyn PulseStore>, user_id: &str, scopes: &[PulseScope]) -> String {
    let plain = PulseAccessToken::generate();
    let now = Utc::now();
    store
        .create_token(NewPulseToken {
            user_id: user_id.into(),
            name: "agent".into(),
            hash: plain.hash(),
            hint: plain.hint(),
            scopes: scopes.iter().copied().collect(),
            created_at: now,
            expires_at: token_expiry(now),
        })
        .await
        .expect("token");
    plain.expose()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_client_lists_and_calls_tools_with_a_personal_access_token() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn PulseStore> =
        Arc::new(SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("open"));
    let (ada, team) = user_with_team(&store, "ada@example.com").await;
    let (_, foreign_team) = user_with_team(&store, "eve@example.com").await;
    let secret = token(
        &store,
        &ada,
        &[PulseScope::TeamsRead, PulseScope::SitesRead, PulseScope::SitesWrite, PulseScope::ChecksRun],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(Arc::clone(&store), "http://127.0.0.1:8090");
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });

    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(secret.clone());
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("the handshake");
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("sitepulse"));

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        ["checks_run", "sites_create", "sites_get", "sites_list", "sites_update", "teams_get", "teams_list"],
        "the tools within the token's scopes"
    );
    let create = tools.iter().find(|t| t.name == "sites_create").expect("sites_create");
    assert_eq!(create.input_schema["required"], json!(["team", "name", "url"]));

    let teams = client.call_tool(CallToolRequestParams::new("teams_list")).await.expect("tools/call");
    assert_eq!(teams.is_error, Some(false), "{teams:?}");
    assert_eq!(teams.structured_content.expect("structured")["data"][0]["id"], team.as_str());

    let created = client
        .call_tool(
            CallToolRequestParams::new("sites_create")
                .with_arguments(args(json!({"team": team, "name": "Shop", "url": "https://shop.example.com"}))),
        )
        .await
        .expect("tools/call");
    assert_eq!(created.is_error, Some(false), "{created:?}");
    let site = created.structured_content.expect("structured")["id"].as_str().expect("id").to_owned();
    let queued = client
        .call_tool(CallToolRequestParams::new("checks_run").with_arguments(args(json!({"site": site}))))
        .await
        .expect("tools/call");
    assert_eq!(queued.is_error, Some(false), "{queued:?}");
    assert_eq!(queued.structured_content.expect("structured")["status"], "queued");
    assert_eq!(store.runs_of_site(&site, 10).await.expect("runs").len(), 1, "the tool queued a real run");

    // Refusals are the API's, as tool errors.
    let delete = client
        .call_tool(CallToolRequestParams::new("sites_delete").with_arguments(args(json!({"site": site}))))
        .await
        .expect("a refusal is a result");
    assert_eq!(delete.is_error, Some(true));
    assert_eq!(text(&delete), "HTTP 403: The token lacks the `sites:delete` scope this route requires.");
    let foreign = client
        .call_tool(CallToolRequestParams::new("sites_list").with_arguments(args(json!({"team": foreign_team}))))
        .await
        .expect("a refusal is a result");
    assert_eq!(text(&foreign), "HTTP 404: Not found.");
    let missing = client
        .call_tool(CallToolRequestParams::new("sites_create").with_arguments(args(json!({"name": "x"}))))
        .await
        .expect("a refusal is a result");
    assert_eq!(text(&missing), "HTTP 422: Invalid arguments: `team` is required.");
    let invalid = client
        .call_tool(
            CallToolRequestParams::new("sites_create")
                .with_arguments(args(json!({"team": team, "name": "x", "url": "ftp://x"}))),
        )
        .await
        .expect("a refusal is a result");
    assert!(
        text(&invalid).starts_with("HTTP 422: The url field must be a valid http or https URL."),
        "{}",
        text(&invalid)
    );
    client.cancel().await.expect("close");

    // Without a token, or with a revoked one: 401 before the protocol.
    let response = ureq::post(&format!("{base}/mcp"))
        .set("Accept", "application/json, text/event-stream")
        .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    match response {
        Err(ureq::Error::Status(401, answer)) => assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer resource_metadata=\"http://127.0.0.1:8090/.well-known/oauth-protected-resource/mcp\""),
            "the challenge names where an MCP client learns to sign in"
        ),
        other => panic!("expected 401: {other:?}"),
    }
    let tokens = store.tokens_of(&ada).await.expect("tokens");
    store.revoke_token(&ada, &tokens[0].id, Utc::now()).await.expect("revoke");
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(secret);
    assert!(().serve(StreamableHttpClientTransport::from_config(config)).await.is_err(), "a revoked token is refused");
    server.abort();
}

/// A person in a browser: signs in, opens the authorization URL and
/// decides; returns where the server sent the browser back to.
fn consent(base: &str, authorize_url: &str, decision: &str, keep: &[&str]) -> url::Url {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut jar: Vec<String> = Vec::new();
    let remember = |response: &ureq::Response, jar: &mut Vec<String>| {
        for value in response.all("set-cookie") {
            let pair = value.split(';').next().unwrap_or_default().to_owned();
            let name = pair.split('=').next().unwrap_or_default().to_owned();
            jar.retain(|kept| !kept.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
    };
    let send = |request: ureq::Request, form: Option<&[(&str, &str)]>, jar: &Vec<String>| {
        let request = request.set("cookie", &jar.join("; "));
        let result = match form {
            Some(fields) => request.send_form(fields),
            None => request.call(),
        };
        match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(e) => panic!("{e}"),
        }
    };
    // Not signed in: the authorization request sends the person to sign in first, and back.
    let path = authorize_url.strip_prefix(base).expect("on this server").to_owned();
    let first = send(agent.get(authorize_url), None, &jar);
    assert_eq!(first.status(), 303);
    let login = first.header("location").expect("to sign in").to_owned();
    assert!(login.starts_with("/login?next="), "{login}");
    let form = send(agent.get(&format!("{base}{login}")), None, &jar);
    remember(&form, &mut jar);
    let csrf = |jar: &Vec<String>| {
        jar.iter().find_map(|c| c.strip_prefix("sitepulse_csrf=")).expect("a CSRF cookie").to_owned()
    };
    let token = csrf(&jar);
    let signed = send(
        agent.post(&format!("{base}/login")),
        Some(&[("csrf", &token), ("email", "oauth@example.com"), ("password", "correct horse"), ("next", &path)]),
        &jar,
    );
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.header("location"), Some(path.as_str()), "back to the request after signing in");
    remember(&signed, &mut jar);
    let page = send(agent.get(authorize_url), None, &jar);
    assert_eq!(page.status(), 200);
    let csp = page.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "the form may send the browser back: {csp}");
    let html = page.into_string().expect("page");
    assert!(html.contains("Allow Lib agent to access SitePulse?"), "{html}");
    let token = csrf(&jar);
    let query: Vec<(String, String)> =
        url::Url::parse(authorize_url).expect("url").query_pairs().into_owned().collect();
    let mut fields: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.extend([("csrf", token.as_str()), ("decision", decision)]);
    fields.extend(keep.iter().map(|scope| ("grant_scope", *scope)));
    let decided = send(agent.post(&format!("{base}/oauth/authorize")), Some(&fields), &jar);
    assert_eq!(decided.status(), 303, "{:?}", decided.into_string());
    url::Url::parse(decided.header("location").expect("back to the client")).expect("a URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_signs_in_through_oauth_with_pkce_and_refreshes_its_token() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, RevocationUrl,
        Scope, StandardRevocableToken, TokenResponse, TokenUrl,
    };

    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn PulseStore> =
        Arc::new(SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("open"));
    let password = sitegpt_store::password::hash_password("correct horse");
    let (person, team) = user_with_password_and_team(&store, "oauth@example.com", password).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(Arc::clone(&store), &base);
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let mcp_resource = format!("{base}/mcp");

    // Discovery: the endpoint's 401 names its resource metadata, which names the issuer.
    let (status, challenge, metadata) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            let refused = match ureq::post(&format!("{base}/mcp")).send_string("{}") {
                Err(ureq::Error::Status(status, response)) => {
                    (status, response.header("www-authenticate").unwrap_or_default().to_owned())
                }
                other => panic!("{other:?}"),
            };
            let resource: Value = ureq::get(&format!("{base}/.well-known/oauth-protected-resource/mcp"))
                .call()
                .expect("resource metadata")
                .into_json()
                .expect("json");
            let server: Value = ureq::get(&format!("{base}/.well-known/oauth-authorization-server"))
                .call()
                .expect("server metadata")
                .into_json()
                .expect("json");
            (refused.0, refused.1, (resource, server))
        }
    })
    .await
    .expect("join");
    assert_eq!(status, 401);
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\""));
    let (resource, server_metadata) = metadata;
    assert_eq!(resource["resource"], mcp_resource.as_str());
    assert_eq!(resource["authorization_servers"], json!([base]));
    assert_eq!(server_metadata["issuer"], base.as_str());
    assert_eq!(server_metadata["code_challenge_methods_supported"], json!(["S256"]));
    assert!(server_metadata["scopes_supported"].as_array().expect("scopes").contains(&json!("checks:run")));

    // Registration (RFC 7591), then the authorization code flow with PKCE
    // driven by the `oauth2` crate.
    let registered: Value = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            ureq::post(&format!("{base}/oauth/register"))
                .send_json(json!({"client_name": "Lib agent", "redirect_uris": ["http://127.0.0.1:9/callback"]}))
                .expect("registered")
                .into_json()
                .expect("json")
        }
    })
    .await
    .expect("join");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9/callback".into()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf_state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("teams:read".into()))
        .add_scope(Scope::new("sites:read".into()))
        .add_scope(Scope::new("sites:write".into()))
        .add_extra_param("resource", mcp_resource.clone())
        .set_pkce_challenge(challenge)
        .url();
    let back = tokio::task::spawn_blocking({
        let (base, url) = (base.clone(), authorize_url.to_string());
        move || consent(&base, &url, "approve", &["teams:read", "sites:read"])
    })
    .await
    .expect("join");
    let pairs: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state"), Some(csrf_state.secret()));
    assert_eq!(pairs.get("iss"), Some(&base), "RFC 9207");
    let code = pairs.get("code").expect("a code").clone();

    let exchange = {
        let (client, code, verifier) = (client.clone(), code.clone(), verifier.secret().clone());
        let resource = mcp_resource.clone();
        tokio::task::spawn_blocking(move || {
            client
                .exchange_code(AuthorizationCode::new(code))
                .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier))
                .add_extra_param("resource", resource)
                .request(&sitegpt_testkit::oauth2_http)
        })
    };
    let tokens = exchange.await.expect("join").expect("the code exchanged");
    let access = tokens.access_token().secret().clone();
    assert!(access.starts_with("spat_"));
    let granted: Vec<String> = tokens.scopes().expect("scope").iter().map(|s| s.to_string()).collect();
    assert_eq!(granted, ["teams:read", "sites:read"], "what the person kept ticked");
    assert_eq!(tokens.expires_in(), Some(std::time::Duration::from_secs(3600)));
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    assert!(refresh.secret().starts_with("sprt_"));

    // The Rust MCP SDK's client with the OAuth token: the tools of the
    // granted scopes, and a call.
    let config = StreamableHttpClientTransportConfig::with_uri(mcp_resource.clone()).auth_header(access.clone());
    let mcp = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("the handshake");
    let names: Vec<String> = mcp.list_all_tools().await.expect("tools").iter().map(|t| t.name.to_string()).collect();
    for name in ["teams_list", "sites_list", "sites_create", "checks_run", "sites_delete"] {
        assert!(names.contains(&name.to_owned()), "an OAuth client sees {name}, to ask for its scope: {names:?}");
    }
    let teams = mcp.call_tool(CallToolRequestParams::new("teams_list")).await.expect("tools/call");
    assert_eq!(teams.structured_content.expect("structured")["data"][0]["id"], team.as_str());
    mcp.cancel().await.expect("close");

    // A call beyond the granted scopes is refused before it runs, naming
    // the scopes to ask the person for (step-up).
    let beyond = tokio::task::spawn_blocking({
        let (url, access, team) = (mcp_resource.clone(), access.clone(), team.clone());
        move || {
            let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "sites_create", "arguments": {"team": team, "name": "Shop", "url": "https://shop.example.com"}}});
            match ureq::post(&url)
                .set("authorization", &format!("Bearer {access}"))
                .set("accept", "application/json, text/event-stream")
                .set("mcp-protocol-version", "2025-11-25")
                .send_json(call)
            {
                Err(ureq::Error::Status(status, response)) => (
                    status,
                    response.header("www-authenticate").unwrap_or_default().to_owned(),
                    response.into_string().unwrap_or_default(),
                ),
                other => panic!("expected a refusal: {other:?}"),
            }
        }
    })
    .await
    .expect("join");
    assert_eq!(beyond.0, 403);
    assert_eq!(
        beyond.1,
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"teams:read sites:read sites:write\", \
             resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\""
        )
    );
    assert!(beyond.2.contains("lacks the `sites:write` scope"), "{}", beyond.2);
    assert!(store.sites_of(&team).await.expect("sites").is_empty(), "nothing was created");

    // Issued for /mcp, so refused at the API (RFC 8707).
    let at_api = tokio::task::spawn_blocking({
        let (base, access) = (base.clone(), access.clone());
        move || match ureq::get(&format!("{base}/api/v1/teams"))
            .set("authorization", &format!("Bearer {access}"))
            .set("accept", "application/json")
            .call()
        {
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap_or_default()),
            Ok(response) => (response.status(), String::new()),
            Err(e) => panic!("{e}"),
        }
    })
    .await
    .expect("join");
    assert_eq!(at_api.0, 401, "{at_api:?}");
    assert!(at_api.1.contains("issued for another resource"), "{}", at_api.1);

    // The refresh token rotates; the new access token works.
    let refreshed = {
        let client = client.clone();
        tokio::task::spawn_blocking(move || {
            client.exchange_refresh_token(&refresh).request(&sitegpt_testkit::oauth2_http)
        })
    };
    let refreshed = refreshed.await.expect("join").expect("refreshed");
    assert_ne!(refreshed.access_token().secret(), &access);
    assert!(refreshed.refresh_token().is_some_and(|r| r.secret().starts_with("sprt_")));
    let apps = store.grants_of(&person).await.expect("apps");
    assert_eq!(apps.iter().map(|g| g.client_name.as_str()).collect::<Vec<_>>(), ["Lib agent"]);

    // The code again: refused, and every token of the grant is revoked.
    let replay = {
        let (client, verifier) = (client.clone(), verifier.secret().clone());
        tokio::task::spawn_blocking(move || {
            client
                .exchange_code(AuthorizationCode::new(code))
                .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier))
                .request(&sitegpt_testkit::oauth2_http)
        })
    };
    let refused = replay.await.expect("join").expect_err("a used code");
    assert!(format!("{refused:?}").contains("invalid_grant"), "{refused:?}");
    let config = StreamableHttpClientTransportConfig::with_uri(mcp_resource.clone())
        .auth_header(refreshed.access_token().secret().clone());
    assert!(
        ().serve(StreamableHttpClientTransport::from_config(config)).await.is_err(),
        "the grant's tokens no longer work"
    );
    assert!(store.grants_of(&person).await.expect("apps").is_empty());

    // Denying sends the client `access_denied`, with its state and our issuer.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let denied = tokio::task::spawn_blocking({
        let base = base.clone();
        move || consent(&base, url.as_str(), "deny", &[])
    })
    .await
    .expect("join");
    let pairs: std::collections::HashMap<String, String> = denied.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(pairs.get("iss"), Some(&base));

    // Revocation (RFC 7009) through the library: the access token alone,
    // then the refresh token, which ends the grant.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("teams:read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = tokio::task::spawn_blocking({
        let base = base.clone();
        move || consent(&base, url.as_str(), "approve", &["teams:read"])
    })
    .await
    .expect("join");
    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("a code");
    let https = base.replacen("http://", "https://", 1);
    let revocable = client.set_revocation_url(RevocationUrl::new(format!("{https}/oauth/revoke")).expect("url"));
    let outcome = tokio::task::spawn_blocking(move || {
        let tokens = revocable
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request(&sitegpt_testkit::oauth2_http)
            .expect("exchanged");
        let access = tokens.access_token().secret().clone();
        let refresh = tokens.refresh_token().expect("refresh").clone();
        let api_status = |token: &str| match ureq::get(&format!(
            "{}/api/v1/teams",
            revocable.auth_uri().url().origin().ascii_serialization()
        ))
        .set("authorization", &format!("Bearer {token}"))
        .call()
        {
            Ok(response) => response.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(e) => panic!("{e}"),
        };
        let before = api_status(&access);
        revocable
            .revoke_token(StandardRevocableToken::AccessToken(tokens.access_token().clone()))
            .expect("revocable")
            .request(&sitegpt_testkit::oauth2_http)
            .expect("revoked");
        let after = api_status(&access);
        let refreshed = revocable
            .exchange_refresh_token(&refresh)
            .request(&sitegpt_testkit::oauth2_http)
            .expect("the grant lives on");
        revocable
            .revoke_token(StandardRevocableToken::RefreshToken(refreshed.refresh_token().expect("refresh").clone()))
            .expect("revocable")
            .request(&sitegpt_testkit::oauth2_http)
            .expect("revoked");
        let ended = revocable.exchange_refresh_token(&refresh).request(&sitegpt_testkit::oauth2_http);
        let renewed = api_status(refreshed.access_token().secret());
        (before, after, ended.is_err(), renewed)
    })
    .await
    .expect("join");
    assert_eq!(
        outcome,
        (200, 401, true, 401),
        "(before, after revoking the access token, refresh ended, the grant's newer token)"
    );
    server.abort();
}
