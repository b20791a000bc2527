//! The official Rust MCP SDK's client (`rmcp`, Streamable HTTP over reqwest)
//! against the real server on a TCP port, with a bearer token: the
//! handshake (2025-11-25) or discovery (2026-07-28), the tool list and
//! tool calls, success and refusal.

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{ChatbotRestriction, CreatedVia, PlainToken, Scope, ScopeSet, SubscriptionStatus};
use sitegpt_store::{NewMembership, NewToken, NewUser};

use crate::helpers::TcpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_client_lists_and_calls_tools_with_a_bearer_token() {
    let server = TcpServer::start().await;
    let (base, store) = (server.base.clone(), server.store());
    let now = chrono::Utc::now();
    let (user, account) = store
        .create_user(NewUser {
            email: "rmcp@example.com".into(),
            password_hash: "$argon2id$unused".into(),
            email_verified: true,
            membership: NewMembership::NewAccount { name: "SDK team".into(), subscription: SubscriptionStatus::Active },
            now,
        })
        .await
        .expect("user");
    let chatbot = store.create_chatbot(&account.id, "Docs bot", now).await.expect("chatbot").id;
    let other = store.create_chatbot(&account.id, "Sales bot", now).await.expect("chatbot").id;
    let plain = PlainToken::generate();
    let scopes: ScopeSet = [Scope::ChatbotsRead, Scope::KnowledgeRead, Scope::KnowledgeWrite].into_iter().collect();
    store
        .insert_token(
            NewToken {
                id: new_id(IdKind::Token),
                account_id: account.id.clone(),
                user_id: user.id.clone(),
                name: "Docs agent".into(),
                hash: plain.hash(),
                hint: plain.hint(),
                scopes,
                chatbots: ChatbotRestriction::from_ids(vec![chatbot.clone()]),
                created_via: CreatedVia::Dashboard,
                now,
                expires_at: now + chrono::Duration::days(30),
                allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
            },
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("token");
    let secret = plain.expose();

    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(secret.clone());
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("the handshake");
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("sitegpt"));
    assert!(info.capabilities.tools.is_some());
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    let expected =
        ["chatbots_get", "chatbots_list", "knowledge_create", "knowledge_get", "knowledge_list", "knowledge_update"];
    assert_eq!(names, expected, "only the tools within the token's scopes");

    let listed = client.call_tool(CallToolRequestParams::new("chatbots_list")).await.expect("tools/call");
    assert_eq!(listed.is_error, Some(false));
    let items = listed.structured_content.expect("structured")["items"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(1));
    assert_eq!(items[0]["id"], chatbot.as_str());

    let arguments = json!({"chatbotId": chatbot, "type": "url", "url": "https://example.com/help"});
    let created = client
        .call_tool(
            CallToolRequestParams::new("knowledge_create")
                .with_arguments(arguments.as_object().cloned().expect("object")),
        )
        .await
        .expect("tools/call");
    assert_eq!(created.is_error, Some(false), "{created:?}");
    assert_eq!(created.structured_content.expect("structured")["knowledgeSource"]["url"], "https://example.com/help");

    let arguments = json!({"chatbotId": other});
    let refused = client
        .call_tool(
            CallToolRequestParams::new("chatbots_get").with_arguments(arguments.as_object().cloned().expect("object")),
        )
        .await
        .expect("a tool error is a result");
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(sitegpt_server::mcp::server::error_code(&refused), Some("NOT_FOUND"));

    client.cancel().await.expect("close");

    // Protocol 2026-07-28: no handshake, `server/discover`, then
    // self-contained requests.
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(secret.clone());
    let discover = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    let client =
        ().serve_with_lifecycle(StreamableHttpClientTransport::from_config(config), discover).await.expect("discovery");
    assert_eq!(client.peer_info().expect("server info").protocol_version, ProtocolVersion::V_2026_07_28);
    assert_eq!(client.list_all_tools().await.expect("tools/list").len(), expected.len());
    let listed = client.call_tool(CallToolRequestParams::new("chatbots_list")).await.expect("tools/call");
    assert_eq!(listed.structured_content.expect("structured")["items"][0]["id"], chatbot.as_str());
    client.cancel().await.expect("close");
    server.stop().await;
}
