//! The decision table over every API route: each route × {no token, garbage
//! token, expired, revoked, lacking the scope, unverified e-mail, another
//! account's resource, a chatbot outside the restriction, inactive
//! subscription, role too low, valid}, asserting the status, the error code,
//! and that nothing stored changed after a refusal.

use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::{Role, Scope, ScopeSet, SubscriptionStatus};
use sitegpt_server::mcp::tools::{BodyShape, ToolRoute, catalog};
use sitegpt_server::router::{ApiRoute, api_routes};

use crate::helpers::{TestApp, TestResponse, TestUser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    NoToken,
    Garbage,
    Expired,
    Revoked,
    LacksScope,
    Unverified,
    OtherAccount,
    OutsideRestriction,
    InactiveSubscription,
    RoleTooLow,
    Valid,
}

const CASES: [Case; 11] = [
    Case::NoToken,
    Case::Garbage,
    Case::Expired,
    Case::Revoked,
    Case::LacksScope,
    Case::Unverified,
    Case::OtherAccount,
    Case::OutsideRestriction,
    Case::InactiveSubscription,
    Case::RoleTooLow,
    Case::Valid,
];

/// Two accounts with chatbots and tokens, fresh for each case.
struct World {
    app: TestApp,
    owner: TestUser,
    other: TestUser,
    chatbot: String,
    second_chatbot: String,
    other_chatbot: String,
    own_token_id: String,
    other_token_id: String,
    /// Per content kind: an item under `chatbot`, `second_chatbot` and `other_chatbot`.
    items: std::collections::BTreeMap<&'static str, [String; 3]>,
    /// A conversation under `chatbot`, `second_chatbot` and `other_chatbot`.
    conversations: [String; 3],
    /// A viewer of the owner's account.
    viewer: TestUser,
    /// An integration of each account.
    integrations: [String; 2],
}

/// The content kinds, each with a valid stored record (their create and
/// update bodies are the routes' declared examples).
const KINDS: &[(&str, &str)] = &[
    ("knowledge", r#"{"type":"url","url":"https://example.com/docs","status":"pending"}"#),
    ("personas", r#"{"name":"Friendly","prompt":"Be kind."}"#),
    ("instructions", r#"{"content":"Never share prices."}"#),
    ("starters", r#"{"text":"How do I sign up?"}"#),
    ("followups", r#"{"text":"Anything else?"}"#),
    ("leads", r#"{"name":"Ada","email":"ada@example.com"}"#),
];

fn kind_of(route: &ApiRoute) -> Option<&'static (&'static str, &'static str)> {
    KINDS.iter().find(|(kind, ..)| route.path.contains(&format!("/{kind}")))
}

impl World {
    async fn new() -> World {
        let app = TestApp::new().await;
        let owner = app.owner().await;
        let other = app.owner().await;
        let chatbot = app.chatbot(&owner.account_id).await;
        let second_chatbot = app.chatbot(&owner.account_id).await;
        let other_chatbot = app.chatbot(&other.account_id).await;
        let (own_token_id, _) = app.token(&owner, &[Scope::AccountRead]).await;
        let (other_token_id, _) = app.token(&other, &[Scope::AccountRead]).await;
        let mut items = std::collections::BTreeMap::new();
        for (kind, stored) in KINDS {
            let mut ids = Vec::new();
            for (account, chatbot) in [
                (&owner.account_id, &chatbot),
                (&owner.account_id, &second_chatbot),
                (&other.account_id, &other_chatbot),
            ] {
                let item = sitegpt_store::ChatbotItem {
                    id: sitegpt_access::id::new_prefixed_id("it_"),
                    account_id: account.clone(),
                    chatbot_id: chatbot.clone(),
                    kind: (*kind).into(),
                    data: (*stored).into(),
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                };
                ids.push(app.store().insert_item(item).await.expect("item").id);
            }
            items.insert(*kind, [ids[0].clone(), ids[1].clone(), ids[2].clone()]);
        }
        let mut conversations = Vec::new();
        for (account, chatbot) in
            [(&owner.account_id, &chatbot), (&owner.account_id, &second_chatbot), (&other.account_id, &other_chatbot)]
        {
            let id = sitegpt_access::id::new_id(sitegpt_access::id::IdKind::Conversation);
            let conversation = sitegpt_store::Conversation {
                id: id.clone(),
                account_id: account.clone(),
                chatbot_id: chatbot.clone(),
                status: "open".into(),
                visitor: "visitor@example.com".into(),
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            let message = sitegpt_store::Message {
                id: sitegpt_access::id::new_id(sitegpt_access::id::IdKind::Message),
                conversation_id: id.clone(),
                role: "visitor".into(),
                content: "Hello?".into(),
                created_at: Utc::now(),
            };
            app.store().insert_conversation(conversation, vec![message]).await.expect("conversation");
            conversations.push(id);
        }
        let conversations = [conversations[0].clone(), conversations[1].clone(), conversations[2].clone()];
        let viewer = app.member(&owner.account_id, Role::Viewer).await;
        let mut integrations = Vec::new();
        for account in [&owner.account_id, &other.account_id] {
            let id = sitegpt_access::id::new_prefixed_id("int_");
            let record = sitegpt_store::IntegrationRecord {
                id: id.clone(),
                account_id: account.clone(),
                kind: "webhook".into(),
                config: r#"{"url":"https://hooks.example.com/1"}"#.into(),
                secrets: r#"{"signingKey":"whsec_1"}"#.into(),
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            app.store().insert_integration(record).await.expect("integration");
            integrations.push(id);
        }
        let integrations = [integrations[0].clone(), integrations[1].clone()];
        World {
            app,
            owner,
            other,
            chatbot,
            second_chatbot,
            other_chatbot,
            own_token_id,
            other_token_id,
            items,
            conversations,
            viewer,
            integrations,
        }
    }

    async fn token(&self, user: &TestUser, scopes: ScopeSet, chatbots: &[&str], expired: bool) -> String {
        let expires = if expired { Utc::now() - Duration::seconds(1) } else { Utc::now() + Duration::days(1) };
        self.app.raw_token(user, scopes, chatbots, expires).await.1
    }

    fn path(&self, route: &ApiRoute, foreign: bool, outside: bool) -> String {
        let chatbot = if foreign {
            &self.other_chatbot
        } else if outside {
            &self.second_chatbot
        } else {
            &self.chatbot
        };
        let token = if foreign { &self.other_token_id } else { &self.own_token_id };
        let item = kind_of(route).map_or(String::new(), |(kind, ..)| {
            let [own, second, other] = &self.items[kind];
            if foreign {
                other.clone()
            } else if outside {
                second.clone()
            } else {
                own.clone()
            }
        });
        let [own, second, other] = &self.conversations;
        let conversation = if foreign {
            other
        } else if outside {
            second
        } else {
            own
        };
        route
            .path
            .replace("{chatbotId}", chatbot)
            .replace("{id}", token)
            .replace("{itemId}", &item)
            .replace("{conversationId}", conversation)
            .replace("{userId}", if foreign { &self.other.id } else { &self.viewer.id })
            .replace("{integrationId}", if foreign { &self.integrations[1] } else { &self.integrations[0] })
    }

    /// Everything stored, as text, except when tokens were last used.
    async fn snapshot(&self) -> String {
        self.app.dump(&["last_used_at"]).await
    }
}

/// A valid body for each route that takes one: the route's declared example.
fn body(route: &ApiRoute) -> Option<Value> {
    route.body?;
    let example = route
        .example
        .unwrap_or_else(|| panic!("{} {} takes a body but declares no example", route.method.as_str(), route.path));
    Some(serde_json::from_str(example).expect("the example is JSON"))
}

/// The least role whose ceiling lacks the route's scope, if any.
fn role_without(scope: Scope) -> Option<Role> {
    [Role::Viewer, Role::Member, Role::Admin].into_iter().find(|r| !r.ceiling().contains(scope))
}

fn has_params(route: &ApiRoute) -> bool {
    route.path.contains('{')
}

fn chatbot_scoped(route: &ApiRoute) -> bool {
    route.path.contains("{chatbotId}")
}

/// What the case must answer, or `None` when it does not apply to the route.
fn expected(route: &ApiRoute, case: Case) -> Option<(u16, &'static str)> {
    let subscription_required = route.rule.subscription == sitegpt_access::Subscription::Required;
    Some(match case {
        Case::NoToken | Case::Garbage => (401, "UNAUTHENTICATED"),
        Case::Expired => (401, "TOKEN_EXPIRED"),
        Case::Revoked => (401, "TOKEN_REVOKED"),
        Case::LacksScope => (403, "INSUFFICIENT_SCOPE"),
        Case::Unverified => (403, "EMAIL_NOT_VERIFIED"),
        Case::OtherAccount if has_params(route) => (404, "NOT_FOUND"),
        Case::OutsideRestriction if chatbot_scoped(route) => (404, "NOT_FOUND"),
        Case::InactiveSubscription if subscription_required => (402, "SUBSCRIPTION_REQUIRED"),
        Case::InactiveSubscription => (route.status, ""),
        Case::RoleTooLow if role_without(route.rule.scope).is_some() => (403, "FORBIDDEN"),
        Case::Valid => (route.status, ""),
        _ => return None,
    })
}

/// A world set up for the case, with the token and path to send.
async fn setup(route: &ApiRoute, case: Case) -> (World, Option<String>, String) {
    let world = World::new().await;
    let full = ScopeSet::all();
    let owner = &world.owner;
    let (token, path) = match case {
        Case::NoToken => (None, world.path(route, false, false)),
        Case::Garbage => (Some("sgpt_garbage".to_owned()), world.path(route, false, false)),
        Case::Expired => (Some(world.token(owner, full, &[], true).await), world.path(route, false, false)),
        Case::Revoked => {
            let (id, token) = world.app.raw_token(owner, full, &[], Utc::now() + Duration::days(1)).await;
            world.app.store().revoke_token(&id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
            (Some(token), world.path(route, false, false))
        }
        Case::LacksScope => (
            Some(world.token(owner, full.without(route.rule.scope), &[], false).await),
            world.path(route, false, false),
        ),
        Case::Unverified => {
            let user = world.app.new_user(Some((&owner.account_id, Role::Owner)), false).await;
            (Some(world.token(&user, full, &[], false).await), world.path(route, false, false))
        }
        Case::OtherAccount => (Some(world.token(owner, full, &[], false).await), world.path(route, true, false)),
        Case::OutsideRestriction => {
            (Some(world.token(owner, full, &[&world.chatbot], false).await), world.path(route, false, true))
        }
        Case::InactiveSubscription => {
            world
                .app
                .store()
                .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
                .await
                .expect("sub");
            (Some(world.token(owner, full, &[], false).await), world.path(route, false, false))
        }
        Case::RoleTooLow => {
            let role = role_without(route.rule.scope).expect("applies");
            let user = world.app.member(&owner.account_id, role).await;
            (Some(world.token(&user, full, &[], false).await), world.path(route, false, false))
        }
        Case::Valid => (Some(world.token(owner, full, &[], false).await), world.path(route, false, false)),
    };
    (world, token, path)
}

async fn run(route: &ApiRoute, case: Case) -> Option<(TestResponse, bool)> {
    let (status, code) = expected(route, case)?;
    let (world, token, path) = setup(route, case).await;
    let before = world.snapshot().await;
    let mut request = Request::builder().method(route.method.as_str()).uri(&path);
    if let Some(token) = &token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body(route) {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = world.app.send(request.body(body).expect("request")).await;
    assert_eq!(
        response.status.as_u16(),
        status,
        "{} {} [{case:?}]: {}",
        route.method.as_str(),
        route.path,
        response.body
    );
    if !code.is_empty() {
        assert_eq!(response.code(), code, "{} {} [{case:?}]", route.method.as_str(), route.path);
        assert_eq!(
            before,
            world.snapshot().await,
            "{} {} [{case:?}] changed the store",
            route.method.as_str(),
            route.path
        );
    }
    Some((response, true))
}

#[tokio::test]
async fn every_route_answers_every_case_of_the_decision_table() {
    let mut checked = 0;
    for route in api_routes() {
        // The cases of a route run side by side, each in a world of its own.
        let answers = futures_util::future::join_all(CASES.into_iter().map(|case| run(route, case))).await;
        checked += answers.iter().filter(|answer| answer.is_some()).count();
    }
    // At least the five cases that apply to every route, for every route.
    assert!(checked >= api_routes().len() * 7, "{checked} checks");
}

#[tokio::test]
async fn valid_requests_succeed_with_the_documented_status() {
    for route in api_routes() {
        let (response, _) = run(route, Case::Valid).await.expect("valid applies everywhere");
        assert_eq!(response.body["ok"], true, "{} {}", route.method.as_str(), route.path);
    }
}

/// The tool call that stands for a request to `path` with the route's
/// example body: path parameters, then the body's fields (or `body`).
fn tool_arguments(tool: &ToolRoute, path: &str) -> Value {
    let mut arguments = serde_json::Map::new();
    for (template, value) in tool.route.path.split('/').zip(path.split('/')) {
        if let Some(name) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            arguments.insert(name.into(), json!(value));
        }
    }
    match (&tool.body, body(tool.route)) {
        (BodyShape::Fields(_), Some(Value::Object(fields))) => arguments.extend(fields),
        (BodyShape::Nested, Some(body)) => {
            arguments.insert("body".into(), body);
        }
        _ => {}
    }
    Value::Object(arguments)
}

/// The case through MCP: refusals before the call are the same HTTP answer,
/// later ones the route's code as a tool error; success is the route's data.
async fn run_tool(tool: &ToolRoute, case: Case) -> Option<()> {
    let route = tool.route;
    let (status, code) = expected(route, case)?;
    let (world, token, path) = setup(route, case).await;
    let before = world.snapshot().await;
    let what = format!("{} [{case:?}]", tool.name());
    let arguments = tool_arguments(tool, &path);
    let response =
        world.app.mcp(token.as_deref(), "tools/call", json!({"name": tool.name(), "arguments": arguments})).await;
    if status == 401 || code == "INSUFFICIENT_SCOPE" {
        response.assert_error(status, code);
    } else {
        assert_eq!(response.status.as_u16(), 200, "{what}: {}", response.body);
        let result = &response.body["result"];
        if code.is_empty() {
            assert_eq!(result["isError"], false, "{what}: {result}");
            // The same route in a world of its own answers with data of the same shape.
            let (rest, _) = run(route, Case::Valid).await.expect("valid applies");
            let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
            assert_eq!(keys(&result["structuredContent"]), keys(&rest.body["data"]), "{what}");
        } else {
            assert_eq!(result["isError"], true, "{what}: {result}");
            let text = result["content"][0]["text"].as_str().unwrap_or("");
            assert!(text.starts_with(&format!("{code}: ")), "{what}: {result}");
        }
    }
    if !code.is_empty() {
        assert_eq!(before, world.snapshot().await, "{what} changed the store");
    }
    Some(())
}

#[tokio::test]
async fn every_tool_answers_every_case_as_its_route_does() {
    let mut checked = 0;
    for tool in catalog().iter() {
        let answers = futures_util::future::join_all(CASES.into_iter().map(|case| run_tool(tool, case))).await;
        checked += answers.iter().filter(|answer| answer.is_some()).count();
    }
    assert!(checked >= catalog().iter().count() * 7, "{checked} checks");
}

/// A random variation of a JSON value: other types, missing or extra keys,
/// long or odd strings, big numbers.
fn mutate(value: &Value, rng: &mut rand::rngs::StdRng, depth: usize) -> Value {
    use rand::Rng;
    let odd = || -> Vec<Value> {
        vec![
            Value::Null,
            json!(true),
            json!(-1),
            json!(1e300),
            json!(18_446_744_073_709_551_615u64),
            json!(""),
            json!(" "),
            json!("x".repeat(5_000)),
            json!("\u{0}\u{202e}💥"),
            json!([]),
            json!({}),
            json!([1, "two", null]),
        ]
    };
    match value {
        Value::Object(map) if depth < 3 => {
            let mut map = map.clone();
            let keys: Vec<String> = map.keys().cloned().collect();
            match rng.gen_range(0..4) {
                0 if !keys.is_empty() => {
                    map.remove(&keys[rng.gen_range(0..keys.len())]);
                }
                1 => {
                    map.insert("unexpected".into(), json!(1));
                }
                _ if !keys.is_empty() => {
                    let key = &keys[rng.gen_range(0..keys.len())];
                    let inner = map[key].clone();
                    map.insert(key.clone(), mutate(&inner, rng, depth + 1));
                }
                _ => {}
            }
            Value::Object(map)
        }
        _ => {
            let choices = odd();
            choices[rng.gen_range(0..choices.len())].clone()
        }
    }
}

/// Property: whatever the body, a route never answers 5xx, and a refused
/// request leaves the store as it was.
#[tokio::test]
async fn random_bodies_never_cause_server_errors_or_partial_writes() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5173_6770);
    for route in api_routes().iter().filter(|r| r.body.is_some()) {
        let world = World::new().await;
        let token = world.token(&world.owner, ScopeSet::all(), &[], false).await;
        let path = world.path(route, false, false);
        let valid = body(route).expect("a body");
        for _ in 0..25 {
            let mutated = mutate(&valid, &mut rng, 0);
            let before = world.snapshot().await;
            let request = Request::builder()
                .method(route.method.as_str())
                .uri(&path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(mutated.to_string()))
                .expect("request");
            let response = world.app.send(request).await;
            let status = response.status.as_u16();
            assert!(status < 500, "{} {} with {mutated}: {}", route.method.as_str(), route.path, response.body);
            if status >= 400 {
                assert_eq!(response.body["ok"], false);
                assert_eq!(
                    before,
                    world.snapshot().await,
                    "{} {} refused {mutated} but changed the store",
                    route.method.as_str(),
                    route.path
                );
            }
        }
    }
}
