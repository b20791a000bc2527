//! Where a token may be used from and where it was: IP allowlists on API v2
//! and MCP, the client address behind trusted proxies (and only behind
//! them), and the last use's address and user agent.

use serde_json::json;
use sitegpt_access::Scope;

use crate::helpers::TestApp;

/// Waits for the batched usage flush, then reads the token as the API shows it.
async fn token_after_use(app: &TestApp, manager: &str, id: &str) -> serde_json::Value {
    for _ in 0..100 {
        let token = app.get(&format!("/api/v2/tokens/{id}"), manager).await.assert_ok(200)["token"].clone();
        if !token["lastUsedIp"].is_null() {
            return token;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the use of {id} was never recorded");
}

#[tokio::test]
async fn an_allowlisted_token_works_only_from_its_addresses_over_ipv4_and_ipv6() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensRead, Scope::TokensWrite, Scope::AccountRead]).await;
    let body = json!({
        "name": "office only",
        "scopes": ["account:read", "tokens:write"],
        "allowedIps": ["203.0.113.0/24", "2001:db8:1::/48", "198.51.100.7"]
    });
    let created = app.post("/api/v2/tokens", &manager, body).await;
    let data = created.assert_ok(201).clone();
    assert_eq!(data["token"]["allowedIps"], json!(["203.0.113.0/24", "2001:db8:1::/48", "198.51.100.7/32"]));
    let secret = data["plaintextToken"].as_str().expect("secret").to_owned();
    let id = data["token"]["id"].as_str().expect("id").to_owned();

    for inside in ["203.0.113.9:5000", "[2001:db8:1:2::9]:443", "198.51.100.7:1", "[::ffff:203.0.113.10]:80"] {
        app.get_from("/api/v2/account", &secret, inside, &[]).await.assert_ok(200);
    }
    for outside in ["203.0.114.1:5000", "[2001:db8:2::1]:443", "198.51.100.8:1"] {
        let refused = app.get_from("/api/v2/account", &secret, outside, &[]).await;
        refused.assert_error(403, "IP_NOT_ALLOWED");
        let ip = outside.trim_start_matches('[').rsplit_once(':').expect("port").0.trim_end_matches(']');
        assert!(refused.body["error"]["message"].as_str().expect("message").contains(ip), "{}", refused.body);
    }
    // Without a known address (no TCP peer), a restricted token is refused too.
    app.get("/api/v2/account", &secret).await.assert_error(403, "IP_NOT_ALLOWED");
    // Rotation keeps the allowlist.
    let rotated = app.post_empty(&format!("/api/v2/tokens/{id}/rotate"), &manager).await;
    let rotated = rotated.assert_ok(200).clone();
    assert_eq!(rotated["token"]["allowedIps"], data["token"]["allowedIps"]);
    let new_secret = rotated["plaintextToken"].as_str().expect("secret");
    app.get_from("/api/v2/account", new_secret, "203.0.114.1:1", &[]).await.assert_error(403, "IP_NOT_ALLOWED");
    app.get_from("/api/v2/account", new_secret, "203.0.113.1:1", &[]).await.assert_ok(200);
    // The list shows it too; tokens without one say so with an empty list.
    let list = app.get("/api/v2/tokens", &manager).await.assert_ok(200).clone();
    let items = list["items"].as_array().expect("items");
    assert!(items.iter().any(|t| t["id"] == id.as_str() && t["allowedIps"].as_array().expect("ips").len() == 3));
    assert!(items.iter().any(|t| t["allowedIps"] == json!([])));
    // A revoked token is a 401 wherever it comes from: step 1 runs first.
    app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &manager).await.assert_ok(200);
    app.get_from("/api/v2/account", new_secret, "203.0.114.1:1", &[]).await.assert_error(401, "TOKEN_REVOKED");
}

#[tokio::test]
async fn bad_ranges_are_refused_with_their_field_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensWrite]).await;
    let before = app.count_tokens(&owner.account_id).await;
    let many: Vec<String> = (0..21).map(|i| format!("10.0.{i}.0/24")).collect();
    for (ranges, message) in [
        (json!(["10.0.0.0/33"]), "`10.0.0.0/33` is not an IPv4 or IPv6 address or CIDR block"),
        (json!(["example.com"]), "`example.com` is not"),
        (json!(many), "at most 20 address ranges (got 21)"),
    ] {
        let body = json!({"name": "x", "scopes": ["account:read"], "allowedIps": ranges});
        let refused = app.post("/api/v2/tokens", &manager, body).await;
        refused.assert_error(400, "VALIDATION_FAILED");
        let detail = &refused.body["error"]["details"][0];
        assert_eq!(detail["path"], json!(["allowedIps"]));
        assert!(detail["message"].as_str().expect("message").contains(message), "{detail}");
    }
    assert_eq!(app.count_tokens(&owner.account_id).await, before);
}

#[tokio::test]
async fn mcp_calls_are_held_to_the_allowlist_too() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensWrite, Scope::ChatbotsRead]).await;
    let body = json!({"name": "mcp", "scopes": ["chatbots:read"], "allowedIps": ["203.0.113.0/24"]});
    let secret = app.post("/api/v2/tokens", &manager, body).await.assert_ok(201)["plaintextToken"]
        .as_str()
        .expect("secret")
        .to_owned();
    let from_office = app.mcp_from(Some("203.0.113.4:1"), Some(&secret), "tools/list", json!({})).await;
    assert_eq!(from_office.status.as_u16(), 200, "{}", from_office.body);
    let refused = app.mcp_from(Some("198.51.100.4:1"), Some(&secret), "tools/list", json!({})).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "IP_NOT_ALLOWED");
}

#[tokio::test]
async fn behind_trusted_proxies_the_forwarded_client_counts_and_spoofed_headers_do_not() {
    let app = TestApp::behind_proxies("10.0.0.0/8, fd00::/8").await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensRead, Scope::TokensWrite, Scope::AccountRead]).await;
    let body = json!({"name": "office", "scopes": ["account:read"], "allowedIps": ["203.0.113.0/24"]});
    let data = app.post("/api/v2/tokens", &manager, body).await.assert_ok(201).clone();
    let secret = data["plaintextToken"].as_str().expect("secret");
    let id = data["token"]["id"].as_str().expect("id");

    // Through the proxy: the client it names.
    let via_proxy = [("x-forwarded-for", "203.0.113.50"), ("user-agent", "nightly-sync/2.1 (linux)")];
    app.get_from("/api/v2/account", secret, "10.0.0.2:4000", &via_proxy).await.assert_ok(200);
    // Two proxies, and a hop the client made up on the left: the right-most untrusted hop counts.
    let chain = [("x-forwarded-for", "203.0.113.99, 198.51.100.1, 10.1.1.1")];
    app.get_from("/api/v2/account", secret, "10.0.0.2:4000", &chain).await.assert_error(403, "IP_NOT_ALLOWED");
    // RFC 7239 `Forwarded`, over IPv6 from the proxy.
    let forwarded = [("forwarded", "for=\"203.0.113.77:5555\";proto=https")];
    app.get_from("/api/v2/account", secret, "[fd00::3]:4000", &forwarded).await.assert_ok(200);
    // From an untrusted peer the header is ignored: its own address counts.
    let spoofed = [("x-forwarded-for", "203.0.113.50")];
    let refused = app.get_from("/api/v2/account", secret, "198.51.100.9:4000", &spoofed).await;
    refused.assert_error(403, "IP_NOT_ALLOWED");
    assert!(refused.body["error"]["message"].as_str().expect("m").contains("198.51.100.9"));

    // Where it was last used: the forwarded client and its user agent.
    let token = token_after_use(&app, &manager, id).await;
    assert_eq!(token["lastUsedIp"], "203.0.113.50");
    assert_eq!(token["lastUsedUserAgent"], "nightly-sync/2.1 (linux)");
    assert!(token["lastUsedAt"].is_string());
}

#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored_and_the_peer_is_recorded() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensRead]).await;
    let (id, secret) = app.token(&owner, &[Scope::AccountRead]).await;
    let headers = [("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8"), ("user-agent", "curl/8.5.0")];
    app.get_from("/api/v2/account", &secret, "[2001:db8::5]:9000", &headers).await.assert_ok(200);
    let token = token_after_use(&app, &manager, &id).await;
    assert_eq!(token["lastUsedIp"], "2001:db8::5");
    assert_eq!(token["lastUsedUserAgent"], "curl/8.5.0");
}

#[tokio::test]
async fn a_token_limited_to_addresses_creates_only_tokens_limited_to_them() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::TokensWrite, Scope::AccountRead]).await;
    let body = json!({"name": "office", "scopes": ["tokens:write", "account:read"], "allowedIps": ["203.0.113.0/24"]});
    let office = app.post("/api/v2/tokens", &manager, body).await.assert_ok(201)["plaintextToken"]
        .as_str()
        .expect("secret")
        .to_owned();
    let create = |body: serde_json::Value| {
        let mut request = axum::http::Request::post("/api/v2/tokens")
            .header("authorization", format!("Bearer {office}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo("203.0.113.5:1".parse::<std::net::SocketAddr>().expect("a")));
        app.send(request)
    };
    // None asked for: the calling token's limit is passed on.
    let inherited = create(json!({"name": "child", "scopes": ["account:read"]})).await;
    assert_eq!(inherited.assert_ok(201)["token"]["allowedIps"], json!(["203.0.113.0/24"]));
    // Narrower is fine; wider or elsewhere is refused, and nothing is made.
    let narrower = create(json!({"name": "narrow", "scopes": ["account:read"], "allowedIps": ["203.0.113.9"]})).await;
    assert_eq!(narrower.assert_ok(201)["token"]["allowedIps"], json!(["203.0.113.9/32"]));
    let before = app.count_tokens(&owner.account_id).await;
    let wider = create(json!({"name": "wide", "scopes": ["account:read"], "allowedIps": ["0.0.0.0/0"]})).await;
    wider.assert_error(403, "FORBIDDEN");
    assert!(wider.body["error"]["message"].as_str().expect("m").contains("0.0.0.0/0"));
    assert_eq!(app.count_tokens(&owner.account_id).await, before);
}
