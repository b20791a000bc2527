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
    let user = store
        .create_user(NewPulseUser {
            email: email.into(),
            name: email.into(),
            password_hash: "$argon2id$fake".into(),
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
    let state = AppState::new(Arc::clone(&store), false);
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
        Err(ureq::Error::Status(401, answer)) => assert_eq!(answer.header("www-authenticate"), Some("Bearer")),
        other => panic!("expected 401: {other:?}"),
    }
    let tokens = store.tokens_of(&ada).await.expect("tokens");
    store.revoke_token(&ada, &tokens[0].id, Utc::now()).await.expect("revoke");
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(secret);
    assert!(().serve(StreamableHttpClientTransport::from_config(config)).await.is_err(), "a revoked token is refused");
    server.abort();
}
