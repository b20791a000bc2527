//! The API document matches the router: every route is documented with its
//! scope, every documented route is served and guarded, and every schema
//! reference resolves.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use sitegpt_server::router::api_routes;

use crate::helpers::TestApp;

fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                found.push(r);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_describes_every_route_and_only_those() {
    let app = TestApp::new().await;
    let response = app.request(Method::GET, "/api/v2/openapi.json", None, None).await;
    assert_eq!(response.status.as_u16(), 200);
    let doc = response.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "http://api.test");

    let mut documented = Vec::new();
    let mut v0 = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            if path.starts_with("/api/v0/") {
                assert_eq!(operation["deprecated"], true, "{method} {path}");
                assert!(operation["security"][0]["v0ApiKey"].is_array(), "{method} {path}");
                for status in ["400", "401", "403", "405", "500"] {
                    assert!(operation["responses"][status].is_object(), "{method} {path} {status}");
                }
                v0.push(format!("{} {path}", method.to_uppercase()));
                continue;
            }
            documented.push((method.to_uppercase(), path.clone()));
            let route = api_routes()
                .iter()
                .find(|r| r.method.as_str() == method.to_uppercase() && r.path == path)
                .unwrap_or_else(|| panic!("{method} {path} is documented but not a route"));
            assert_eq!(operation["x-required-scope"], route.rule.scope.as_str());
            assert_eq!(operation["security"][0]["bearer"][0], route.rule.scope.as_str());
            assert!(operation["responses"][route.status.to_string()].is_object(), "{method} {path}");
            assert!(operation["responses"]["401"].is_object() && operation["responses"]["403"].is_object());
        }
    }
    assert_eq!(documented.len(), api_routes().len(), "every route is documented once");
    v0.sort();
    assert_eq!(
        v0,
        [
            "PATCH /api/v0/w/brands/{brandId}/users/{userId}/api-key",
            "PATCH /api/v0/w/brands/{brandId}/users/{userId}/quota",
            "POST /api/v0/w/brands/{brandId}/users",
        ]
    );

    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("odd $ref {reference}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{reference} does not resolve");
    }
}

#[tokio::test]
async fn every_documented_route_is_served_and_guarded() {
    let app = TestApp::new().await;
    for route in api_routes() {
        let path = route
            .path
            .replace("{id}", "tok_someid")
            .replace("{chatbotId}", "cb_someid")
            .replace("{itemId}", "it_someid")
            .replace("{conversationId}", "cv_someid")
            .replace("{userId}", "usr_someid")
            .replace("{integrationId}", "int_someid");
        let request = Request::builder().method(route.method.as_str()).uri(&path).body(Body::empty()).expect("request");
        let response = app.send(request).await;
        assert_eq!(response.status.as_u16(), 401, "{} {path}: {}", route.method.as_str(), response.body);
        assert_eq!(response.code(), "UNAUTHENTICATED");
    }
}

/// Each route's scope follows from its path and method, and only account,
/// billing and token routes are usable without an active subscription.
#[test]
fn route_rules_follow_the_conventions() {
    use sitegpt_access::Subscription;
    for route in api_routes() {
        let segments: Vec<&str> = route
            .path
            .trim_start_matches("/api/v2/")
            .split('/')
            // Actions and sub-records belong to the resource before them.
            .filter(|s| !s.starts_with('{') && !matches!(*s, "rotate" | "revoke" | "messages"))
            .collect();
        // The audit log is the account's.
        let resource = match *segments.last().expect("a resource") {
            "audit-events" => "account",
            other => other,
        };
        let action = match route.method.as_str() {
            "GET" => "read",
            "DELETE" => "delete",
            _ => "write",
        };
        assert_eq!(
            route.rule.scope.as_str(),
            format!("{resource}:{action}"),
            "{} {}",
            route.method.as_str(),
            route.path
        );
        let exempt = matches!(segments[0], "account" | "audit-events" | "billing" | "tokens");
        let expected = if exempt { Subscription::Exempt } else { Subscription::Required };
        assert_eq!(route.rule.subscription, expected, "{}", route.path);
    }
}

/// Every body in the document comes with the route's declared example (the
/// body the authorization matrix sends), and every 409 a route declares is
/// documented.
#[tokio::test]
async fn bodies_carry_their_examples_and_conflicts_are_documented() {
    let app = TestApp::new().await;
    let doc = app.request(Method::GET, "/api/v2/openapi.json", None, None).await.body;
    for route in api_routes() {
        let operation = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        if route.body.is_some() {
            let example = &operation["requestBody"]["content"]["application/json"]["example"];
            let declared: Value = serde_json::from_str(route.example.expect("an example")).expect("JSON");
            assert_eq!(example, &declared, "{} {}", route.method.as_str(), route.path);
        } else {
            assert!(route.example.is_none(), "{} {} has no body to exemplify", route.method.as_str(), route.path);
        }
        assert_eq!(operation["responses"]["409"].is_object(), route.conflict.is_some(), "{}", route.path);
    }
}

#[tokio::test]
async fn operations_have_readable_ids_and_tags_and_the_reference_page_lists_them_all() {
    let app = TestApp::new().await;
    let doc = app.request(Method::GET, "/api/v2/openapi.json", None, None).await.body;
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let id = operation["operationId"].as_str().expect("operationId").to_owned();
            let tag = operation["tags"][0].as_str().unwrap_or_else(|| panic!("{method} {path} has no tag"));
            assert!(doc["tags"].as_array().expect("tags").iter().any(|t| t["name"] == tag), "{tag} is declared");
            if path.starts_with("/api/v2/") {
                assert!(id.chars().all(|c| c.is_ascii_alphabetic()) && id.starts_with(char::is_lowercase), "{id}");
            }
            ids.push(id);
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    for expected in [
        "getAccount",
        "updateAccount",
        "listAuditEvents",
        "listTokens",
        "createToken",
        "getToken",
        "rotateToken",
        "revokeToken",
        "listChatbots",
        "createChatbot",
        "getChatbot",
        "updateChatbot",
        "deleteChatbot",
        "listKnowledge",
        "createKnowledge",
        "deleteKnowledge",
        "listPersonas",
        "getSettings",
        "updateSettings",
        "replyToConversation",
        "inviteMember",
        "updateMember",
        "getBilling",
    ] {
        assert!(ids.iter().any(|id| id == expected), "{expected} in {ids:?}");
    }
    assert_eq!(doc["paths"]["/api/v2/chatbots"]["get"]["tags"][0], "Chatbots");
    assert_eq!(doc["paths"]["/api/v2/tokens/{id}/rotate"]["post"]["tags"][0], "API tokens");

    // The reference page: every operation with its scope and a curl example; the OAuth endpoints too.
    let (status, _, page) = app.send_text(Request::get("/docs").body(Body::empty()).expect("request")).await;
    assert_eq!(status.as_u16(), 200);
    for route in api_routes() {
        let id = sitegpt_server::openapi::operation_id(route);
        let article =
            page.split(&format!(r#"<article class="op" id="{id}">"#)).nth(1).unwrap_or_else(|| panic!("{id}"));
        let article = article.split("</article>").next().expect("article");
        assert!(article.contains(&format!("<code>{}</code>", route.rule.scope.as_str())), "{id} names its scope");
        assert!(article.contains("curl"), "{id} has a curl example");
        assert!(article.contains("Errors it can give"), "{id} lists its errors");
        if route.body.is_some() {
            assert!(article.contains("-d &#39;{") || article.contains("-d '{"), "{id} sends its example body");
        }
    }
    for endpoint in ["/oauth/device_authorization", "/oauth/token", "/oauth/register", "/oauth/authorize", "/mcp"] {
        assert!(page.contains(endpoint), "{endpoint}");
    }
}
