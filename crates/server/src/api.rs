//! The API v2 route table. Every route is declared once, in [`api_routes`]:
//! method, path, handler, the one scope it requires (and whether it needs an
//! active subscription), summary, query, schemas, example body and conflict.
//! The router, the API document, and the tests all walk this list.

use std::sync::LazyLock;

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};
use schemars::{Schema, SchemaGenerator};
use sitegpt_access::{RouteRule, Scope};
use sitegpt_api_types as api;

use crate::routes::items::{self, ItemKind};
use crate::routes::{account, audit, chatbots, conversations, settings, team, tokens};
use crate::state::AppState;

/// The HTTP methods API routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiMethod {
    Get,
    Post,
    Patch,
    Delete,
}

impl ApiMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiMethod::Get => "GET",
            ApiMethod::Post => "POST",
            ApiMethod::Patch => "PATCH",
            ApiMethod::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            ApiMethod::Get => MethodFilter::GET,
            ApiMethod::Post => MethodFilter::POST,
            ApiMethod::Patch => MethodFilter::PATCH,
            ApiMethod::Delete => MethodFilter::DELETE,
        }
    }
}

/// Produces the JSON Schema of a request or response body.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// A query parameter: name, JSON type, description.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
}

/// One API v2 route: what the router, the authorization check and the API
/// document need to know about it. [`API_ROUTES`] is the one list of them.
#[derive(Debug, Clone, Copy)]
pub struct ApiRoute {
    pub method: ApiMethod,
    pub path: &'static str,
    /// The handler, as a method router for `method` (the router adds the rule).
    pub handler: fn(MethodFilter) -> MethodRouter<AppState>,
    pub rule: RouteRule,
    pub summary: &'static str,
    pub query: &'static [QueryParam],
    /// The JSON body, if the route takes one.
    pub body: Option<SchemaFn>,
    /// The `data` of the success envelope.
    pub data: SchemaFn,
    pub status: u16,
    /// A valid body, as JSON: the document's example, and what the
    /// authorization matrix sends.
    pub example: Option<&'static str>,
    /// When the route answers 409 `CONFLICT`, if it can.
    pub conflict: Option<&'static str>,
}

const TOKEN_LIST: &[QueryParam] = &[
    QueryParam { name: "limit", kind: "integer", description: "Items per page, 1–200 (default 50)." },
    QueryParam { name: "cursor", kind: "string", description: "The `nextCursor` of the previous page." },
    QueryParam { name: "includeRevoked", kind: "boolean", description: "Include revoked tokens." },
    QueryParam {
        name: "owner",
        kind: "string",
        description: "`me` (default) or `all` (owners and admins: every token of the account).",
    },
];

const AUDIT_LIST: &[QueryParam] = &[
    QueryParam { name: "limit", kind: "integer", description: "Items per page, 1–200 (default 50)." },
    QueryParam { name: "cursor", kind: "string", description: "The `nextCursor` of the previous page." },
    QueryParam { name: "tokenId", kind: "string", description: "Only events about this token." },
    QueryParam { name: "userId", kind: "string", description: "Only events this person did or that concern them." },
    QueryParam {
        name: "action",
        kind: "string",
        description: "An action (`token.revoked`) or a family (`token`, `oauth_grant`, `user`, `member`, `subscription`).",
    },
    QueryParam {
        name: "since",
        kind: "string",
        description: "From this time (RFC 3339) or the start of this date (`2026-12-01`).",
    },
    QueryParam {
        name: "until",
        kind: "string",
        description: "Before this time (RFC 3339) or until the end of this date.",
    },
];

const LIST: &[QueryParam] = &[
    QueryParam { name: "limit", kind: "integer", description: "Items per page, 1–200 (default 50)." },
    QueryParam { name: "cursor", kind: "string", description: "The `nextCursor` of the previous page." },
];

// Paths that several methods share, written once.
const ACCOUNT: &str = "/api/v2/account";
const TOKENS: &str = "/api/v2/tokens";
const CHATBOTS: &str = "/api/v2/chatbots";
const CHATBOT: &str = "/api/v2/chatbots/{chatbotId}";
const SETTINGS: &str = "/api/v2/chatbots/{chatbotId}/settings";
const CONVERSATION: &str = "/api/v2/chatbots/{chatbotId}/conversations/{conversationId}";
const MEMBERS: &str = "/api/v2/members";
const MEMBER: &str = "/api/v2/members/{userId}";
const INTEGRATIONS: &str = "/api/v2/integrations";
const BILLING: &str = "/api/v2/billing";

use ApiMethod::{Delete, Get, Patch, Post};
use RouteRule as R;

/// The account, token and chatbot routes; [`api_routes`] adds the chatbot
/// content families.
const BASE_ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: Get,
        path: ACCOUNT,
        handler: |m| on(m, account::show),
        rule: R::exempt(Scope::AccountRead),
        summary: "Who is calling: user, account, role and the calling token",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::AccountInfo>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: "/api/v2/audit-events",
        handler: |m| on(m, audit::list),
        rule: R::exempt(Scope::AccountRead),
        summary: "The audit log: who created, rotated or revoked tokens, connected apps, signed in, changed \
                  members or the subscription, when and from where (owners and admins see everyone's events, \
                  others their own)",
        query: AUDIT_LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::audit::AuditEvent>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: TOKENS,
        handler: |m| on(m, tokens::list),
        rule: R::exempt(Scope::TokensRead),
        summary: "List API tokens (your own; owners and admins may ask for all)",
        query: TOKEN_LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::Token>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: TOKENS,
        handler: |m| on(m, tokens::create),
        rule: R::exempt(Scope::TokensWrite),
        summary: "Create an API token; the plaintext is returned once",
        query: &[],
        body: Some(|g| g.subschema_for::<api::CreateTokenRequest>()),
        data: |g| g.subschema_for::<api::IssuedToken>(),
        status: 201,
        example: Some(r#"{"name": "Docs agent", "scopes": ["account:read"]}"#),
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: "/api/v2/tokens/{id}",
        handler: |m| on(m, tokens::show),
        rule: R::exempt(Scope::TokensRead),
        summary: "Get an API token",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::TokenData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: "/api/v2/tokens/{id}/rotate",
        handler: |m| on(m, tokens::rotate),
        rule: R::exempt(Scope::TokensWrite),
        summary: "Give a token a new secret (same id); the plaintext is returned once",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::IssuedToken>(),
        status: 200,
        example: None,
        conflict: Some("the token is revoked"),
    },
    ApiRoute {
        method: Post,
        path: "/api/v2/tokens/{id}/revoke",
        handler: |m| on(m, tokens::revoke),
        rule: R::exempt(Scope::TokensWrite),
        summary: "Revoke a token; it stops working at once",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::TokenData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: CHATBOTS,
        handler: |m| on(m, chatbots::list),
        rule: R::new(Scope::ChatbotsRead),
        summary: "List chatbots (a chatbot-restricted token sees only its own)",
        query: LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::Chatbot>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: CHATBOTS,
        handler: |m| on(m, chatbots::create),
        rule: R::new(Scope::ChatbotsWrite),
        summary: "Create a chatbot",
        query: &[],
        body: Some(|g| g.subschema_for::<api::CreateChatbotRequest>()),
        data: |g| g.subschema_for::<api::ChatbotData>(),
        status: 201,
        example: Some(r#"{"name": "Sales bot"}"#),
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: CHATBOT,
        handler: |m| on(m, chatbots::show),
        rule: R::new(Scope::ChatbotsRead),
        summary: "Get a chatbot",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::ChatbotData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Patch,
        path: CHATBOT,
        handler: |m| on(m, chatbots::update),
        rule: R::new(Scope::ChatbotsWrite),
        summary: "Change a chatbot's name, description or appearance",
        query: &[],
        body: Some(|g| g.subschema_for::<api::UpdateChatbotRequest>()),
        data: |g| g.subschema_for::<api::ChatbotData>(),
        status: 200,
        example: Some(r#"{"description": "Answers questions about pricing"}"#),
        conflict: None,
    },
    ApiRoute {
        method: Delete,
        path: CHATBOT,
        handler: |m| on(m, chatbots::delete),
        rule: R::new(Scope::ChatbotsDelete),
        summary: "Delete a chatbot and everything under it",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::Deleted>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: SETTINGS,
        handler: |m| on(m, settings::show),
        rule: R::new(Scope::SettingsRead),
        summary: "Get the chatbot's settings (general, user data, chat mode, localization, advanced)",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::content::SettingsData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Patch,
        path: SETTINGS,
        handler: |m| on(m, settings::update),
        rule: R::new(Scope::SettingsWrite),
        summary: "Change any part of the chatbot's settings (a JSON merge patch)",
        query: &[],
        body: Some(|g| g.subschema_for::<api::content::ChatbotSettings>()),
        data: |g| g.subschema_for::<api::content::SettingsData>(),
        status: 200,
        example: Some(r#"{"general": {"responseLength": "short"}}"#),
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: "/api/v2/chatbots/{chatbotId}/conversations",
        handler: |m| on(m, conversations::list),
        rule: R::new(Scope::ConversationsRead),
        summary: "List the chatbot's conversations with their messages",
        query: CONVERSATION_LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::content::Conversation>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: CONVERSATION,
        handler: |m| on(m, conversations::show),
        rule: R::new(Scope::ConversationsRead),
        summary: "Get a conversation with its messages",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::content::ConversationData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Patch,
        path: CONVERSATION,
        handler: |m| on(m, conversations::update),
        rule: R::new(Scope::ConversationsWrite),
        summary: "Change a conversation's status",
        query: &[],
        body: Some(|g| g.subschema_for::<api::content::UpdateConversation>()),
        data: |g| g.subschema_for::<api::content::ConversationData>(),
        status: 200,
        example: Some(r#"{"status": "resolved"}"#),
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: "/api/v2/chatbots/{chatbotId}/conversations/{conversationId}/messages",
        handler: |m| on(m, conversations::reply),
        rule: R::new(Scope::ConversationsWrite),
        summary: "Reply in a conversation as a person on the team",
        query: &[],
        body: Some(|g| g.subschema_for::<api::content::AddMessage>()),
        data: |g| g.subschema_for::<api::content::MessageData>(),
        status: 201,
        example: Some(r#"{"content": "A person replies"}"#),
        conflict: None,
    },
    ApiRoute {
        method: Delete,
        path: CONVERSATION,
        handler: |m| on(m, conversations::delete),
        rule: R::new(Scope::ConversationsDelete),
        summary: "Delete a conversation and its messages",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::Deleted>(),
        status: 200,
        example: None,
        conflict: None,
    },
];

const TEAM_ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: Patch,
        path: ACCOUNT,
        handler: |m| on(m, team::update_account),
        rule: R::exempt(Scope::AccountWrite),
        summary: "Rename the account",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::UpdateAccount>()),
        data: |g| g.subschema_for::<api::team::AccountData>(),
        status: 200,
        example: Some(r#"{"name": "Acme Support"}"#),
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: MEMBERS,
        handler: |m| on(m, team::list_members),
        rule: R::new(Scope::MembersRead),
        summary: "List the account's members and their roles",
        query: LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::team::Member>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: MEMBERS,
        handler: |m| on(m, team::invite_member),
        rule: R::new(Scope::MembersWrite),
        summary: "Invite a person (by e-mail) with a role; they join when they accept",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::InviteMember>()),
        data: |g| g.subschema_for::<api::team::InvitationData>(),
        status: 202,
        example: Some(r#"{"email": "new.member@example.com", "role": "viewer"}"#),
        conflict: Some("already a member, or already invited"),
    },
    ApiRoute {
        method: Patch,
        path: MEMBER,
        handler: |m| on(m, team::update_member),
        rule: R::new(Scope::MembersWrite),
        summary: "Change a member's role (only owners make or demote owners)",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::UpdateMember>()),
        data: |g| g.subschema_for::<api::team::MemberData>(),
        status: 200,
        example: Some(r#"{"role": "member"}"#),
        conflict: Some("an account must keep at least one owner"),
    },
    ApiRoute {
        method: Delete,
        path: MEMBER,
        handler: |m| on(m, team::remove_member),
        rule: R::new(Scope::MembersDelete),
        summary: "Remove a member; their tokens in this account are revoked",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::Deleted>(),
        status: 200,
        example: None,
        conflict: Some("an account must keep at least one owner"),
    },
    ApiRoute {
        method: Get,
        path: INTEGRATIONS,
        handler: |m| on(m, team::list_integrations),
        rule: R::new(Scope::IntegrationsRead),
        summary: "List integrations (secrets are never returned, only their names)",
        query: LIST,
        body: None,
        data: |g| g.subschema_for::<api::Page<api::team::Integration>>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Post,
        path: INTEGRATIONS,
        handler: |m| on(m, team::create_integration),
        rule: R::new(Scope::IntegrationsWrite),
        summary: "Add an integration",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::CreateIntegration>()),
        data: |g| g.subschema_for::<api::team::IntegrationData>(),
        status: 201,
        example: Some(r##"{"type": "slack", "config": {"channel": "#support"}, "secrets": {"botToken": "xoxb-1"}}"##),
        conflict: None,
    },
    ApiRoute {
        method: Patch,
        path: "/api/v2/integrations/{integrationId}",
        handler: |m| on(m, team::update_integration),
        rule: R::new(Scope::IntegrationsWrite),
        summary: "Change an integration's config or set its secrets",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::UpdateIntegration>()),
        data: |g| g.subschema_for::<api::team::IntegrationData>(),
        status: 200,
        example: Some(r##"{"config": {"channel": "#sales"}}"##),
        conflict: None,
    },
    ApiRoute {
        method: Get,
        path: BILLING,
        handler: |m| on(m, team::billing),
        rule: R::exempt(Scope::BillingRead),
        summary: "The plan and subscription status",
        query: &[],
        body: None,
        data: |g| g.subschema_for::<api::team::BillingData>(),
        status: 200,
        example: None,
        conflict: None,
    },
    ApiRoute {
        method: Patch,
        path: BILLING,
        handler: |m| on(m, team::update_billing),
        rule: R::exempt(Scope::BillingWrite),
        summary: "Change the plan (owners only)",
        query: &[],
        body: Some(|g| g.subschema_for::<api::team::UpdateBilling>()),
        data: |g| g.subschema_for::<api::team::BillingData>(),
        status: 200,
        example: Some(r#"{"plan": "growth"}"#),
        conflict: None,
    },
];

const CONVERSATION_LIST: &[QueryParam] = &[
    QueryParam { name: "limit", kind: "integer", description: "Items per page, 1–200 (default 50)." },
    QueryParam { name: "cursor", kind: "string", description: "The `nextCursor` of the previous page." },
    QueryParam {
        name: "status",
        kind: "string",
        description: "Only conversations with this status: open, resolved or archived.",
    },
];

/// The five routes of a family of chatbot content.
fn item_routes<K: ItemKind>() -> [ApiRoute; 5] {
    let label = K::KIND;
    let summary = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    [
        ApiRoute {
            method: Get,
            path: K::COLLECTION,
            handler: |m| on(m, items::list::<K>),
            rule: R::new(K::READ),
            summary: summary(format!("List the chatbot's {label}")),
            query: LIST,
            body: None,
            data: |g| g.subschema_for::<api::Page<api::content::Item<K::Fields>>>(),
            status: 200,
            example: None,
            conflict: None,
        },
        ApiRoute {
            method: Post,
            path: K::COLLECTION,
            handler: |m| on(m, items::create::<K>),
            rule: R::new(K::WRITE),
            summary: summary(format!("Add to the chatbot's {label}")),
            query: &[],
            body: Some(|g| g.subschema_for::<K::Create>()),
            data: items::single_schema::<K>,
            status: 201,
            example: Some(K::EXAMPLE_CREATE),
            conflict: None,
        },
        ApiRoute {
            method: Get,
            path: K::ITEM,
            handler: |m| on(m, items::show::<K>),
            rule: R::new(K::READ),
            summary: summary(format!("Get one of the chatbot's {label}")),
            query: &[],
            body: None,
            data: items::single_schema::<K>,
            status: 200,
            example: None,
            conflict: None,
        },
        ApiRoute {
            method: Patch,
            path: K::ITEM,
            handler: |m| on(m, items::update::<K>),
            rule: R::new(K::WRITE),
            summary: summary(format!("Change one of the chatbot's {label}")),
            query: &[],
            body: Some(|g| g.subschema_for::<K::Update>()),
            data: items::single_schema::<K>,
            status: 200,
            example: Some(K::EXAMPLE_UPDATE),
            conflict: None,
        },
        ApiRoute {
            method: Delete,
            path: K::ITEM,
            handler: |m| on(m, items::delete::<K>),
            rule: R::new(K::DELETE),
            summary: summary(format!("Delete one of the chatbot's {label}")),
            query: &[],
            body: None,
            data: |g| g.subschema_for::<api::Deleted>(),
            status: 200,
            example: None,
            conflict: None,
        },
    ]
}

static API_ROUTES: LazyLock<Vec<ApiRoute>> = LazyLock::new(|| {
    let mut routes = BASE_ROUTES.to_vec();
    routes.extend_from_slice(TEAM_ROUTES);
    routes.extend(item_routes::<items::Knowledge>());
    routes.extend(item_routes::<items::Personas>());
    routes.extend(item_routes::<items::Instructions>());
    routes.extend(item_routes::<items::Starters>());
    routes.extend(item_routes::<items::Followups>());
    routes.extend(item_routes::<items::Leads>());
    routes
});

/// Every API v2 route, with its scope. The router refuses to wire a route
/// that is not here, and the API document is generated from this list.
pub fn api_routes() -> &'static [ApiRoute] {
    &API_ROUTES
}

/// `/api/v2`: each path of [`api_routes`] with its methods; registered with
/// full paths (no nested router on the hot path). A handler's [`Caller`]
/// finds its route's rule in [`crate::rules`], filled here.
///
/// [`Caller`]: crate::auth::Caller
pub fn router(mut router: Router<AppState>) -> Router<AppState> {
    crate::rules::install(api_routes().iter().map(|r| (r.method.as_str(), r.path, r.rule)));
    let mut paths: Vec<&'static str> = Vec::new();
    for route in api_routes() {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let methods = api_routes()
            .iter()
            .filter(|r| r.path == path)
            .fold(MethodRouter::new(), |methods, route| methods.merge((route.handler)(route.method.filter())));
        router = router.route(path, methods);
    }
    router
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;
    use crate::rules::rule_for;

    #[test]
    fn every_route_finds_its_own_rule_by_method_and_template() {
        let _ = router(Router::new());
        for route in api_routes() {
            let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
            assert_eq!(rule_for(&method, route.path), Some(route.rule), "{} {}", route.method.as_str(), route.path);
            if route.method == ApiMethod::Get {
                assert_eq!(rule_for(&Method::HEAD, route.path), Some(route.rule), "HEAD is GET's");
            }
        }
        assert_eq!(rule_for(&Method::GET, "/api/v2/nothing-here"), None);
        assert_eq!(rule_for(&Method::OPTIONS, "/api/v2/account"), None);
        // A template, not a path that matched it.
        assert!(rule_for(&Method::GET, "/api/v2/tokens/{id}").is_some());
        assert_eq!(rule_for(&Method::GET, "/api/v2/tokens/tok_123"), None);
    }
}
