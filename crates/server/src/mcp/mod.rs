//! The remote MCP server at `{public}/mcp`: Streamable HTTP (the official
//! Rust SDK, stateless, answering JSON), whose tools are the API v2 routes.
//!
//! A guard in front of the transport does what must be decided before the
//! protocol runs: the `Origin` check (DNS rebinding), step 1 of the decision
//! for the MCP resource (401 with a challenge that points at the resource's
//! metadata), and, for a `tools/call`, step 3 for the tool's scope (403
//! `insufficient_scope` naming the scopes to ask for, so a client can step
//! up). Every later refusal is the tool's own answer.
//!
//! The guard also answers the one message that dominates traffic itself: a
//! plain `tools/call` on a revision before per-request metadata (see
//! [`direct_call`]), with the SDK's types and exactly the SDK's answer, but
//! without the SDK's per-request tasks and channels, which cost more than the
//! API call the tool makes (`bench/mcp.sh`). Anything else goes to the SDK.

pub mod server;
pub mod tools;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use sitegpt_access::policy::{authenticate, check_address, check_audience, check_email, check_scope};
use sitegpt_access::{AccessLevel, Denial, Resource, RouteRule, Scope, ScopeSet};

use crate::auth::{Preverified, present};
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::request::BODY_LIMIT;
use crate::state::AppState;
pub use server::McpServer;

/// The largest JSON-RPC message accepted: an API body and its envelope.
pub const MESSAGE_LIMIT: usize = BODY_LIMIT + 16 * 1024;

/// Streamable HTTP without sessions, answering JSON, for any product's MCP
/// handler: each request stands alone (the guard in front of it has
/// authenticated it), so any node serves any request. Hosts are not checked
/// here: bearer tokens are no ambient credential, and the guard checks
/// `Origin`, which is what a rebinding browser sends.
pub fn stateless_service<H>(handler: H, limit: usize) -> StreamableHttpService<H, NeverSessionManager>
where
    H: rmcp::ServerHandler + Clone + Send + Sync + 'static,
{
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts()
        .with_max_request_body_bytes(limit);
    StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(NeverSessionManager::default()), config)
}

/// `/mcp`, with its guard and CORS for browser clients.
pub fn routes(state: &AppState, api: Router) -> Router<AppState> {
    let server = McpServer::new(api);
    let guarded = Guarded { state: state.clone(), server: server.clone() };
    let service = stateless_service(server, MESSAGE_LIMIT);
    Router::new()
        .route_service("/mcp", service)
        .layer(middleware::from_fn_with_state(guarded, guard))
        .layer(axum::middleware::from_fn_with_state(crate::cors::GET_POST_DELETE, crate::cors::bearer))
}

/// What the guard needs: the app, and the server for calls it answers itself.
#[derive(Debug, Clone)]
struct Guarded {
    state: AppState,
    server: McpServer,
}

/// A `tools/call` exactly as the guard answers it itself: nothing but
/// `jsonrpc`, `id`, `method` and `params` with `name` and `arguments`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectCall {
    jsonrpc: String,
    id: rmcp::model::RequestId,
    method: String,
    params: DirectParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectParams {
    name: String,
    #[serde(default)]
    arguments: Option<rmcp::model::JsonObject>,
}

/// The revisions whose stateless `tools/call` needs nothing but the message
/// (no per-request metadata, no standard headers).
const DIRECT_REVISIONS: [&str; 2] = ["2025-06-18", "2025-11-25"];

/// The call the guard may answer itself, when the SDK would answer it the
/// same way: `Accept` naming exactly JSON and event streams, `Content-Type`
/// JSON, a revision of [`DIRECT_REVISIONS`] and no standard headers, and a
/// plain call of a known tool. `None` sends the request on to the SDK.
fn direct_call(parts: &axum::http::request::Parts, body: &[u8]) -> Option<DirectCall> {
    let headers = &parts.headers;
    let one = |name| {
        let mut values = headers.get_all(name).iter();
        let value = values.next()?.to_str().ok()?;
        values.next().is_none().then_some(value)
    };
    let version = one("mcp-protocol-version")?;
    if !DIRECT_REVISIONS.contains(&version) || headers.contains_key("mcp-method") || headers.contains_key("mcp-name") {
        return None;
    }
    let mut accepted: Vec<&str> = one(header::ACCEPT.as_str())?.split(',').map(str::trim).collect();
    accepted.sort_unstable();
    if accepted != ["application/json", "text/event-stream"] {
        return None;
    }
    let content_type = one(header::CONTENT_TYPE.as_str())?;
    if !content_type.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json")) {
        return None;
    }
    let call: DirectCall = serde_json::from_slice(body).ok()?;
    (call.jsonrpc == "2.0" && call.method == "tools/call" && tools::catalog().get(&call.params.name).is_some())
        .then_some(call)
}

/// Answers a [`direct_call`] as the SDK would: a JSON-RPC response in JSON.
async fn answer_directly(server: &McpServer, call: DirectCall, parts: &axum::http::request::Parts) -> Response {
    let Some(tool) = tools::catalog().get(&call.params.name) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let answer = server.run(tool, call.params.arguments.unwrap_or_default(), parts).await;
    match answer.response_body(&call.id) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => ApiError::Internal("a tool result could not be serialized".into()).into_response(),
    }
}

/// The `Origin`s a browser may call from: the public URL's.
fn origin_allowed(origin: &HeaderValue, public_url: &str) -> bool {
    let (Ok(origin), Ok(public)) = (origin.to_str(), url::Url::parse(public_url)) else { return false };
    url::Url::parse(origin).is_ok_and(|origin| origin.origin() == public.origin())
}

/// `WWW-Authenticate` for a refusal at `/mcp`.
fn challenge(state: &AppState, denial: &Denial, scopes: ScopeSet) -> String {
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", state.public_url);
    let scope = scopes.to_space_separated();
    match denial {
        Denial::Unauthenticated(sitegpt_access::UnauthenticatedReason::Missing) => {
            format!("Bearer realm=\"sitegpt\", resource_metadata=\"{metadata}\", scope=\"{scope}\"")
        }
        Denial::InsufficientScope(_) => format!(
            "Bearer realm=\"sitegpt\", error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{metadata}\""
        ),
        other => format!(
            "Bearer realm=\"sitegpt\", error=\"invalid_token\", error_description=\"{}\", \
             resource_metadata=\"{metadata}\", scope=\"{scope}\"",
            other.message().replace('"', "'")
        ),
    }
}

fn refuse(state: &AppState, denial: Denial, scopes: ScopeSet) -> Response {
    let header = challenge(state, &denial, scopes);
    let mut response = ApiError::Denied(denial).into_response();
    if let Ok(value) = HeaderValue::from_str(&header) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Just enough of a JSON-RPC message to see which tool it calls.
#[derive(Deserialize)]
struct Peek {
    method: Option<String>,
    params: Option<PeekParams>,
}

#[derive(Deserialize)]
struct PeekParams {
    name: Option<String>,
}

/// The tool a JSON-RPC message calls, if it is a `tools/call` (for any
/// product's guard to check the tool's scope before the call runs).
pub fn called_tool(body: &[u8]) -> Option<String> {
    let peek: Peek = serde_json::from_slice(body).ok()?;
    if peek.method.as_deref() != Some("tools/call") {
        return None;
    }
    peek.params?.name
}

/// The scope a message needs before it may run: a `tools/call`'s tool's.
fn needed_scope(body: &[u8]) -> Option<Scope> {
    let tool = tools::catalog().get(&called_tool(body)?)?;
    Some(tool.scope())
}

async fn guard(State(Guarded { state, server }): State<Guarded>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN)
        && !origin_allowed(origin, &state.public_url)
    {
        tracing::info!(target: "sitegpt::mcp", "refused a foreign Origin");
        return (StatusCode::FORBIDDEN, "Forbidden: this Origin may not call the MCP endpoint.").into_response();
    }
    let (mut parts, body) = request.into_parts();
    let clock = crate::clock::read();
    let now = clock.at;
    let presented = match present(&parts, &state, clock.unix_nanos).await {
        Ok(presented) => presented,
        Err(error) => return error.into_response(),
    };
    let rule = RouteRule::exempt(Scope::AccountRead).on(Resource::Mcp);
    let standard = AccessLevel::Standard.scopes();
    let client = crate::conn::client_ip(&parts.extensions);
    let step_one = authenticate(presented.credential(), now)
        .and_then(|facts| check_audience(facts, rule).and_then(|()| check_address(facts, client)));
    if let Err(denial) = step_one {
        if let (Denial::AddressNotAllowed(_), crate::auth::Presented::Found(verified)) = (&denial, &presented) {
            state.refusals.note(&state.store, &verified.auth.token);
        }
        return refuse(&state, denial, standard);
    }
    let crate::auth::Presented::Found(verified) = presented else {
        return refuse(&state, Denial::Unauthenticated(sitegpt_access::UnauthenticatedReason::Unknown), standard);
    };
    // The caller goes on to the handler, and counts as a use of the token.
    let admit = |parts: &mut axum::http::request::Parts, verified: Arc<crate::auth::Verified>| {
        state.usage.record(&verified, now, || client, || parts.headers.get(axum::http::header::USER_AGENT));
        parts.extensions.insert(Preverified(verified));
        parts.extensions.insert(RequestContext::current());
    };
    if parts.method != Method::POST {
        admit(&mut parts, verified);
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok(bytes) = axum::body::to_bytes(body, MESSAGE_LIMIT).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let direct = direct_call(&parts, &bytes);
    // Step 3 before the call runs, after step 2 (an unverified e-mail
    // is the tool's answer, as it is the route's).
    let scope = match &direct {
        Some(call) => tools::catalog().get(&call.params.name).map(tools::ToolRoute::scope),
        None => needed_scope(&bytes),
    };
    if let Some(scope) = scope {
        let rule = RouteRule::exempt(scope).on(Resource::Mcp);
        if check_email(&verified.facts).is_ok() && check_scope(&verified.facts, rule).is_err() {
            return refuse(&state, Denial::InsufficientScope(scope), verified.facts.scopes.with(scope));
        }
    }
    admit(&mut parts, verified);
    if let Some(call) = direct {
        return answer_directly(&server, call, &parts).await;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_public_origin_passes() {
        let public = "https://sitegpt.example.com";
        let allowed = |o: &'static str| origin_allowed(&HeaderValue::from_static(o), public);
        assert!(allowed("https://sitegpt.example.com"));
        assert!(allowed("https://SiteGPT.example.com:443"));
        assert!(!allowed("http://sitegpt.example.com"));
        assert!(!allowed("https://evil.example.com"));
        assert!(!allowed("null"));
    }

    #[test]
    fn only_tool_calls_name_a_scope() {
        let call =
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatbots_create","arguments":{}}}"#;
        assert_eq!(needed_scope(call), Some(Scope::ChatbotsWrite));
        assert_eq!(needed_scope(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), None);
        assert_eq!(needed_scope(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#), None);
        assert_eq!(needed_scope(b"not json"), None);
    }

    fn parts(headers: &[(&'static str, &'static str)]) -> axum::http::request::Parts {
        let mut builder = axum::http::Request::builder().method("POST").uri("/mcp");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn only_plain_calls_on_older_revisions_are_answered_directly() {
        let usual = [
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("mcp-protocol-version", "2025-06-18"),
        ];
        let call =
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"chatbots_list","arguments":{}}}"#;
        assert!(direct_call(&parts(&usual), call).is_some());
        let newer = [usual[0], usual[1], ("mcp-protocol-version", "2026-07-28")];
        assert!(direct_call(&parts(&newer), call).is_none());
        assert!(direct_call(&parts(&usual[..2]), call).is_none(), "no revision named");
        let broad = [("accept", "*/*, application/json, text/event-stream"), usual[1], usual[2]];
        assert!(direct_call(&parts(&broad), call).is_none());
        let headers = [usual[0], usual[1], usual[2], ("mcp-method", "tools/call")];
        assert!(direct_call(&parts(&headers), call).is_none());
        let meta = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"chatbots_list","_meta":{}}}"#;
        assert!(direct_call(&parts(&usual), meta).is_none());
        let unknown = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"tokens_create"}}"#;
        assert!(direct_call(&parts(&usual), unknown).is_none());
        let list = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        assert!(direct_call(&parts(&usual), list).is_none());
    }
}
