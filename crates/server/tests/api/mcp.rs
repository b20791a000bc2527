//! The MCP endpoint through the server's own router: challenges and
//! discovery, `Origin`, the tool list by token kind, tool calls and their
//! refusals, and what the log keeps. (Every tool against its route, case by
//! case, is in `matrix`.)

use axum::body::Body;
use axum::http::{Method, Request};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::{Role, Scope, ScopeSet, SubscriptionStatus};
use sitegpt_server::mcp::tools::catalog;

use crate::agents::signed_in;
use crate::authorization_code::{approve, authorize_path, client, exchange};
use crate::helpers::{TestApp, TestResponse, captured_logs};

const METADATA: &str = "http://api.test/.well-known/oauth-protected-resource/mcp";

/// A client and its token response for `resource` with `scopes`, approved
/// by a new person signed in on the consent page.
pub async fn oauth_grant(app: &TestApp, email: &str, resource: &str, scopes: &[&str]) -> (String, Value) {
    let (mut browser, _) = signed_in(app, email).await;
    let client_id = client(app).await;
    let requested = scopes.join(" ");
    let path = authorize_path(&client_id, &[("resource", resource), ("scope", &requested)]);
    let code = approve(&mut browser, &path, Some(scopes), &[]).await;
    let tokens = exchange(app, &client_id, &code, &[("resource", resource)]).await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.body);
    (client_id, tokens.body)
}

/// Just the access token of [`oauth_grant`].
pub async fn oauth_token(app: &TestApp, email: &str, resource: &str, scopes: &[&str]) -> String {
    let (_, tokens) = oauth_grant(app, email, resource, scopes).await;
    tokens["access_token"].as_str().expect("access token").to_owned()
}

/// The result of a `tools/call` that ran (HTTP 200).
#[track_caller]
fn result(response: &TestResponse) -> &Value {
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    &response.body["result"]
}

/// The API error code of a tool error.
#[track_caller]
fn tool_error(response: &TestResponse) -> String {
    let result = result(response);
    assert_eq!(result["isError"], true, "{result}");
    assert!(result.get("structuredContent").is_none(), "errors are not held to the output schema: {result}");
    let text = result["content"][0]["text"].as_str().expect("text");
    text.split_once(':').expect("CODE: message").0.to_owned()
}

fn tool_names(response: &TestResponse) -> Vec<String> {
    let tools = result(response)["tools"].as_array().expect("tools");
    tools.iter().map(|t| t["name"].as_str().expect("name").to_owned()).collect()
}

#[tokio::test]
async fn refusals_before_the_protocol_are_challenges_that_point_at_the_mcp_resource() {
    let app = TestApp::new().await;
    let owner = app.owner().await;

    let missing = app.mcp(None, "tools/list", json!({})).await;
    missing.assert_error(401, "UNAUTHENTICATED");
    let challenge = missing.header("www-authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA}\"")), "{challenge}");
    assert!(challenge.contains("scope=\"account:read "), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    let garbage = app.mcp(Some("sgpt_garbage"), "tools/list", json!({})).await;
    garbage.assert_error(401, "UNAUTHENTICATED");
    assert!(garbage.header("www-authenticate").contains("error=\"invalid_token\""));
    assert!(garbage.header("www-authenticate").contains(METADATA));

    let (_, expired) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() - Duration::seconds(1)).await;
    app.mcp(Some(&expired), "tools/list", json!({})).await.assert_error(401, "TOKEN_EXPIRED");
    let (revoked_id, revoked) = app.token(&owner, &[Scope::ChatbotsRead]).await;
    app.store().revoke_token(&revoked_id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
    app.mcp(Some(&revoked), "tools/list", json!({})).await.assert_error(401, "TOKEN_REVOKED");

    // A token issued for the API is refused here, and one for MCP at the API.
    let for_api = oauth_token(&app, "api-audience@example.com", "http://api.test/api/v2", &["chatbots:read"]).await;
    let refused = app.mcp(Some(&for_api), "tools/list", json!({})).await;
    refused.assert_error(401, "UNAUTHENTICATED");
    assert!(refused.body["error"]["message"].as_str().expect("message").contains("/api/v2"));
    assert!(refused.header("www-authenticate").contains(METADATA));
    app.get("/api/v2/chatbots", &for_api).await.assert_ok(200);
    let for_mcp = oauth_token(&app, "mcp-audience@example.com", "http://api.test/mcp", &["chatbots:read"]).await;
    app.get("/api/v2/chatbots", &for_mcp).await.assert_error(401, "UNAUTHENTICATED");
    assert_eq!(result(&app.call_tool(&for_mcp, "chatbots_list", json!({})).await)["isError"], false);

    // The document the challenge names.
    let document = app.request(Method::GET, "/.well-known/oauth-protected-resource/mcp", None, None).await;
    assert_eq!(document.body["resource"], "http://api.test/mcp");
    assert_eq!(document.body["authorization_servers"], json!(["http://api.test"]));
    assert_eq!(document.body["bearer_methods_supported"], json!(["header"]));
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_browsers_get_cors() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::ChatbotsRead]).await;
    let with_origin = |origin: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/mcp")
            .header("host", "api.test")
            .header("origin", origin)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Body::from(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string()))
            .expect("request")
    };
    let (status, _, body) = app.send_text(with_origin("http://evil.example")).await;
    assert_eq!(status.as_u16(), 403, "{body}");
    assert!(body.contains("Origin"), "{body}");
    let (status, headers, body) = app.send_text(with_origin("http://api.test")).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-expose-headers"].to_str().expect("ascii").contains("www-authenticate"));

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/mcp")
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, mcp-protocol-version")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = app.send_text(preflight).await;
    assert!(status.is_success(), "{status}");
    let allowed = headers["access-control-allow-headers"].to_str().expect("ascii");
    for header in ["authorization", "content-type", "mcp-protocol-version", "mcp-session-id"] {
        assert!(allowed.contains(header), "{allowed}");
    }
}

#[tokio::test]
async fn oauth_tokens_see_every_tool_and_other_tokens_only_those_in_their_scopes() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, narrow) = app.token(&owner, &[Scope::ChatbotsRead, Scope::KnowledgeRead, Scope::KnowledgeWrite]).await;
    let listed = tool_names(&app.mcp(Some(&narrow), "tools/list", json!({})).await);
    let expected: Vec<String> = catalog()
        .iter()
        .filter(|t| [Scope::ChatbotsRead, Scope::KnowledgeRead, Scope::KnowledgeWrite].contains(&t.scope()))
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(&"knowledge_create".to_owned()) && !listed.contains(&"chatbots_create".to_owned()));

    let oauth = oauth_token(&app, "all-tools@example.com", "http://api.test/mcp", &["chatbots:read"]).await;
    let everything = tool_names(&app.mcp(Some(&oauth), "tools/list", json!({})).await);
    assert_eq!(everything.len(), catalog().iter().count());
    for name in ["account_get", "chatbots_list", "chatbots_create", "knowledge_list", "knowledge_create"] {
        assert!(everything.contains(&name.to_owned()), "{name}");
    }
    assert!(!everything.iter().any(|n| n == "tokens_create" || n == "tokens_rotate"));
}

#[tokio::test]
async fn a_call_beyond_the_tokens_scopes_is_a_403_naming_the_scopes_to_ask_for() {
    let app = TestApp::new().await;
    let oauth =
        oauth_token(&app, "step-up@example.com", "http://api.test/mcp", &["account:read", "chatbots:read"]).await;
    let before = app.dump(&["last_used_at"]).await;
    let refused = app.call_tool(&oauth, "chatbots_create", json!({"name": "Needs write"})).await;
    refused.assert_error(403, "INSUFFICIENT_SCOPE");
    let challenge = refused.header("www-authenticate");
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"account:read chatbots:read chatbots:write\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA}\"")), "{challenge}");
    assert_eq!(before, app.dump(&["last_used_at"]).await, "nothing ran");

    // The decision's order holds: an unverified owner hears about the e-mail first.
    let owner = app.owner().await;
    let unverified = app.new_user(Some((&owner.account_id, Role::Owner)), false).await;
    let (_, token) = app.token(&unverified, &[Scope::ChatbotsRead]).await;
    let answer = app.call_tool(&token, "chatbots_create", json!({"name": "x"})).await;
    assert_eq!(tool_error(&answer), "EMAIL_NOT_VERIFIED");
    app.request(Method::POST, "/api/v2/chatbots", Some(&token), Some(json!({"name": "x"})))
        .await
        .assert_error(403, "EMAIL_NOT_VERIFIED");
}

#[tokio::test]
async fn a_chatbot_restricted_token_reaches_its_chatbot_and_nothing_else() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let mine = app.chatbot(&owner.account_id).await;
    let other = app.chatbot(&owner.account_id).await;
    let scopes: ScopeSet = [Scope::ChatbotsRead, Scope::KnowledgeRead, Scope::KnowledgeWrite].into_iter().collect();
    let (_, token) = app.raw_token(&owner, scopes, &[&mine], Utc::now() + Duration::days(30)).await;

    let listed = result(&app.call_tool(&token, "chatbots_list", json!({})).await).clone();
    let ids: Vec<&str> = listed["structuredContent"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![mine.as_str()]);
    let text: Value = serde_json::from_str(listed["content"][0]["text"].as_str().expect("text")).expect("json text");
    assert_eq!(text, listed["structuredContent"]);

    let got = result(&app.call_tool(&token, "chatbots_get", json!({"chatbotId": mine})).await).clone();
    let api = app.get(&format!("/api/v2/chatbots/{mine}"), &token).await;
    assert_eq!(got["structuredContent"], *api.assert_ok(200));
    assert_eq!(tool_error(&app.call_tool(&token, "chatbots_get", json!({"chatbotId": other})).await), "NOT_FOUND");
    assert_eq!(
        tool_error(&app.call_tool(&token, "chatbots_get", json!({"chatbotId": "cb_does_not_exist"})).await),
        "NOT_FOUND"
    );

    let created = app
        .call_tool(&token, "knowledge_create", json!({"chatbotId": mine, "type": "text", "content": "Open 9 to 5"}))
        .await;
    let created = result(&created).clone();
    assert_eq!(created["isError"], false, "{created}");
    let id = created["structuredContent"]["knowledgeSource"]["id"].as_str().expect("id").to_owned();
    let stored = app.get(&format!("/api/v2/chatbots/{mine}/knowledge/{id}"), &token).await;
    assert_eq!(stored.assert_ok(200)["knowledgeSource"]["id"], id.as_str());
    let refused =
        app.call_tool(&token, "knowledge_create", json!({"chatbotId": other, "type": "text", "content": "x"})).await;
    assert_eq!(tool_error(&refused), "NOT_FOUND");
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_answered_clearly() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let chatbot = app.chatbot(&owner.account_id).await;
    let (_, token) = app.token(&owner, &[Scope::ChatbotsRead, Scope::KnowledgeWrite]).await;

    let missing = app.call_tool(&token, "chatbots_get", json!({})).await;
    assert_eq!(tool_error(&missing), "VALIDATION_FAILED");
    assert!(result(&missing)["content"][0]["text"].as_str().expect("text").contains("chatbotId"));
    let invalid = app.call_tool(&token, "knowledge_create", json!({"chatbotId": chatbot, "type": 42})).await;
    assert_eq!(tool_error(&invalid), "VALIDATION_FAILED");
    let text = result(&invalid)["content"][0]["text"].as_str().expect("text");
    assert!(text.contains("\n[{"), "the details follow as JSON: {text}");
    let limit = app.call_tool(&token, "chatbots_list", json!({"limit": 0})).await;
    assert_eq!(tool_error(&limit), "VALIDATION_FAILED");

    let unknown = app.call_tool(&token, "tokens_create", json!({})).await;
    assert_eq!(unknown.status.as_u16(), 200);
    assert!(unknown.body["error"]["message"].as_str().expect("message").contains("tokens_create"), "{}", unknown.body);
    assert!(unknown.body.get("result").is_none());
}

#[tokio::test]
async fn refusals_after_the_scope_are_tool_errors_with_the_apis_code() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let viewer = app.member(&owner.account_id, Role::Viewer).await;
    let (_, viewer_token) = app.token(&viewer, &[Scope::ChatbotsWrite]).await;
    assert_eq!(tool_error(&app.call_tool(&viewer_token, "chatbots_create", json!({"name": "x"})).await), "FORBIDDEN");

    let (_, token) = app.token(&owner, &[Scope::ChatbotsRead, Scope::BillingRead]).await;
    app.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("lapse");
    assert_eq!(tool_error(&app.call_tool(&token, "chatbots_list", json!({})).await), "SUBSCRIPTION_REQUIRED");
    let billing = app.call_tool(&token, "billing_get", json!({})).await;
    assert_eq!(result(&billing)["isError"], false, "billing stays reachable: {}", billing.body);
}

#[tokio::test]
async fn the_log_names_the_tool_and_its_outcome_but_no_argument_or_token() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::ChatbotsWrite, Scope::ChatbotsRead]).await;
    let name = "Secret-ish chatbot name 7c1d";
    assert_eq!(result(&app.call_tool(&token, "chatbots_create", json!({"name": name})).await)["isError"], false);
    let refused = app.call_tool(&token, "chatbots_get", json!({"chatbotId": "cb_missing_4b2e"})).await;
    assert_eq!(tool_error(&refused), "NOT_FOUND");
    let logs = captured_logs();
    assert!(
        logs.lines().any(|l| l.contains("tool call") && l.contains("chatbots_create") && l.contains("ok")),
        "{logs}"
    );
    assert!(logs.lines().any(|l| l.contains("chatbots_get") && l.contains("NOT_FOUND")), "{logs}");
    assert!(!logs.contains(name) && !logs.contains("cb_missing_4b2e"));
    assert!(!logs.contains(&token) && !logs.contains(&token[..16]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_on_one_node_stops_its_token_at_mcp_on_the_other_within_a_second() {
    let a = TestApp::new().await;
    let b = a.another_node().await;
    let (client_id, tokens) = oauth_grant(&a, "mcp-nodes@example.com", "http://api.test/mcp", &["chatbots:read"]).await;
    let access = tokens["access_token"].as_str().expect("access");
    for node in [&a, &b] {
        assert_eq!(result(&node.call_tool(access, "chatbots_list", json!({})).await)["isError"], false);
    }
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let revoked = a.form("/oauth/revoke", &[("token", refresh), ("client_id", &client_id)], None).await;
    assert_eq!(revoked.status.as_u16(), 200);
    let start = std::time::Instant::now();
    loop {
        let answer = b.call_tool(access, "chatbots_list", json!({})).await;
        if answer.status.as_u16() == 401 {
            answer.assert_error(401, "TOKEN_REVOKED");
            assert!(answer.header("www-authenticate").contains(METADATA));
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "the other node still answers {}", answer.body);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_handshake_settles_on_the_clients_protocol_revision() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::ChatbotsRead]).await;
    for version in ["2025-06-18", "2025-11-25"] {
        let params =
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}});
        let answer = app.mcp(Some(&token), "initialize", params).await;
        assert_eq!(result(&answer)["protocolVersion"], version, "{}", answer.body);
        assert_eq!(result(&answer)["serverInfo"]["name"], "sitegpt");
        assert!(result(&answer)["capabilities"]["tools"].is_object());
    }
}

#[tokio::test]
async fn the_connect_page_gives_the_url_and_setup_for_common_clients() {
    let app = TestApp::new().await;
    let anonymous = crate::helpers::Browser::new(&app).get("/dashboard/mcp").await;
    assert_eq!(anonymous.status.as_u16(), 303);
    assert!(anonymous.location().starts_with("/login?next="), "{}", anonymous.location());

    let (mut browser, _) = signed_in(&app, "connect-page@example.com").await;
    let page = browser.get("/dashboard/mcp").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    for expected in [
        "value=\"http://api.test/mcp\"",
        "claude mcp add --transport http sitegpt http://api.test/mcp",
        "&quot;type&quot;: &quot;http&quot;, &quot;url&quot;: &quot;http://api.test/mcp&quot;",
        "&quot;mcpServers&quot;",
        "Authorization: Bearer sgpt_…",
        "href=\"/dashboard/agents/new\"",
        "href=\"/dashboard/mcp\"",
    ] {
        page.assert_contains(expected);
    }
}

/// POST /mcp with the given `Accept` and message.
async fn post_mcp(app: &TestApp, token: &str, accept: &str, message: Value) -> (u16, String, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/mcp")
        .header("host", "api.test")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .header("mcp-protocol-version", "2025-11-25")
        .body(Body::from(message.to_string()))
        .expect("request");
    let (status, headers, body) = app.send_text(request).await;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status.as_u16(), content_type, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

#[tokio::test]
async fn plain_tool_calls_answered_by_the_guard_match_the_sdks_answers() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let chatbot = app.chatbot(&owner.account_id).await;
    let (_, token) = app.token(&owner, &[Scope::ChatbotsRead, Scope::KnowledgeWrite]).await;
    let calls = [
        json!({"name": "chatbots_list", "arguments": {}}),
        json!({"name": "chatbots_list"}),
        json!({"name": "chatbots_get", "arguments": {"chatbotId": chatbot}}),
        json!({"name": "chatbots_get", "arguments": {"chatbotId": "cb_nowhere"}}),
        json!({"name": "chatbots_get", "arguments": {}}),
        json!({"name": "knowledge_create", "arguments": {"chatbotId": chatbot, "type": "nonsense"}}),
        json!({"name": "chatbots_list", "arguments": {"limit": "many"}}),
    ];
    for (n, params) in calls.into_iter().enumerate() {
        let plain = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params});
        let direct = post_mcp(&app, &token, "application/json, text/event-stream", plain.clone()).await;
        // The same call as the SDK alone answers it: a progress token, or a
        // broader Accept, keeps the guard out of it.
        let mut with_meta = plain.clone();
        with_meta["params"]["_meta"] = json!({"progressToken": n});
        let sdk = post_mcp(&app, &token, "application/json, text/event-stream", with_meta).await;
        let broad = post_mcp(&app, &token, "application/json, text/event-stream, */*", plain).await;
        assert_eq!(direct.0, 200, "{:?}", direct.2);
        assert_eq!(direct.1, "application/json");
        assert_eq!(direct, sdk, "call {n}");
        assert_eq!(direct, broad, "call {n}");
    }
    // A string id comes back as it went.
    let call = json!({"jsonrpc": "2.0", "id": "call-7", "method": "tools/call", "params": {"name": "chatbots_list"}});
    let (_, _, answer) = post_mcp(&app, &token, "application/json, text/event-stream", call).await;
    assert_eq!(answer["id"], "call-7");
    assert!(answer["result"].get("resultType").is_none(), "{answer}");
}
