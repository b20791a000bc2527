//! SitePulse's MCP endpoint at `/mcp` (Streamable HTTP, the official Rust
//! SDK, stateless, answering JSON), whose tools are the API v1 routes:
//! `teams_list`, `sites_create`, `checks_run`, … generated from the route
//! table. A client authenticates with a token it got by signing in through
//! OAuth (bound to `/mcp`; it sees every tool, and a call beyond its scopes
//! is refused before it runs with `insufficient_scope`, so the client can
//! ask the person for more) or with a personal access token as bearer (the
//! scoped token fallback; it sees the tools of its scopes). Each tool call
//! is an in-process request to the API with that token, so a tool passes
//! the same decision order, validation and store code as its route and
//! both answer alike.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{self, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http_body_util::BodyExt;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use sitegpt_access::sitepulse::{PulseDenial, PulseResource, PulseScope, PulseScopes};
use tower::ServiceExt;

use crate::api::openapi::request_bodies;
use crate::api::{self, ApiRoute, AppState, ROUTES};

/// The largest JSON-RPC message accepted.
pub const MESSAGE_LIMIT: usize = 96 * 1024;

/// A tool and the route it calls.
#[derive(Debug, Clone)]
pub struct ToolRoute {
    pub route: &'static ApiRoute,
    pub tool: Tool,
}

/// `listSites` → `sites_list`, `runCheck` → `checks_run`: the resource the
/// route's scope names, and the action.
pub fn tool_name(route: &ApiRoute) -> String {
    let resource = route.rule.scope.as_str().split(':').next().unwrap_or_default();
    let verb: String = route.operation_id.chars().take_while(char::is_ascii_lowercase).collect();
    format!("{resource}_{verb}")
}

fn input_schema(route: &ApiRoute) -> JsonObject {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for name in route.path.split('/').filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}'))) {
        properties.insert(name.into(), json!({"type": "string", "description": format!("The {name}'s id.")}));
        required.push(Value::from(name));
    }
    if let Some(body) = route.body {
        let schema = request_bodies().remove(body).unwrap_or_default();
        if let Some(fields) = schema["properties"].as_object() {
            properties.extend(fields.clone());
        }
        if let Some(fields) = schema["required"].as_array() {
            required.extend(fields.iter().cloned());
        }
    }
    if route.operation_id == "listIssues" {
        properties.insert(
            "status".into(),
            json!({"type": "string", "enum": ["open", "all"], "description": "Only open issues, or all (the default)."}),
        );
    }
    let schema =
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
    schema.as_object().cloned().unwrap_or_default()
}

/// Every tool, by name.
pub fn catalog() -> &'static [ToolRoute] {
    static CATALOG: OnceLock<Vec<ToolRoute>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        ROUTES
            .iter()
            .map(|route| {
                let scope = route.rule.scope.as_str();
                let description = match route.rule.permission {
                    Some(p) => format!(
                        "{}. Needs the `{scope}` scope and the `{}` team permission.",
                        route.summary,
                        p.as_str()
                    ),
                    None => format!("{}. Needs the `{scope}` scope.", route.summary),
                };
                let mut annotations = ToolAnnotations::new();
                annotations.read_only_hint = Some(route.method == "GET");
                annotations.destructive_hint = Some(route.method == "DELETE");
                let tool =
                    Tool::new(tool_name(route), description, Arc::new(input_schema(route))).annotate(annotations);
                ToolRoute { route, tool }
            })
            .collect()
    })
}

fn find(name: &str) -> Option<&'static ToolRoute> {
    catalog().iter().find(|t| t.tool.name == name)
}

/// The in-process API request a tool call stands for.
pub fn api_request(
    tool: &ToolRoute,
    arguments: JsonObject,
    authorization: &HeaderValue,
) -> Result<http::Request<Body>, String> {
    let mut arguments = arguments;
    let mut path = String::new();
    for segment in tool.route.path.split('/').skip(1) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match arguments.remove(name) {
                Some(Value::String(value)) if !value.is_empty() => {
                    path.push_str(&url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
                }
                Some(_) => return Err(format!("`{name}` must be a non-empty string")),
                None => return Err(format!("`{name}` is required")),
            },
            None => path.push_str(segment),
        }
    }
    if tool.route.operation_id == "listIssues"
        && let Some(status) = arguments.remove("status")
    {
        let status = status.as_str().ok_or("`status` must be a string")?.to_owned();
        path.push_str(&format!(
            "?status={}",
            url::form_urlencoded::byte_serialize(status.as_bytes()).collect::<String>()
        ));
    }
    let body = match tool.route.body {
        Some(_) => Body::from(Value::Object(arguments).to_string()),
        None if arguments.is_empty() => Body::empty(),
        None => return Err(format!("unknown argument `{}`", arguments.keys().next().map_or("", String::as_str))),
    };
    http::Request::builder()
        .method(tool.route.method)
        .uri(path)
        .header(header::AUTHORIZATION, authorization.clone())
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .extension(api::ViaMcp)
        .body(body)
        .map_err(|e| format!("invalid request: {e}"))
}

/// The tool's result for the API's answer: its `data` as structured
/// content, or `isError` with the status and the API's message.
fn tool_result(status: StatusCode, body: &[u8]) -> CallToolResult {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if status.is_success() {
        let data = parsed.and_then(|mut v| v.get_mut("data").map(Value::take)).unwrap_or(Value::Null);
        let mut result = CallToolResult::success(vec![ContentBlock::text(data.to_string())]);
        result.structured_content = Some(match data {
            Value::Object(_) => data,
            other => json!({"data": other}),
        });
        return result;
    }
    let message = parsed.as_ref().and_then(|v| v["message"].as_str()).unwrap_or("The API refused the call.");
    let mut text = format!("HTTP {}: {message}", status.as_u16());
    if let Some(errors) = parsed.as_ref().and_then(|v| v.get("errors")) {
        text.push('\n');
        text.push_str(&errors.to_string());
    }
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// Serves MCP; cheap to clone.
#[derive(Debug, Clone)]
pub struct McpServer {
    api: Router,
}

/// The caller the guard admitted.
#[derive(Debug, Clone)]
struct McpCaller {
    authorization: HeaderValue,
    scopes: PulseScopes,
    /// Signed in through OAuth: may ask for more scopes, so sees every tool.
    can_step_up: bool,
}

fn caller(context: &RequestContext<RoleServer>) -> Result<&McpCaller, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<McpCaller>())
        .ok_or_else(|| ErrorData::internal_error("the request was not authenticated", None))
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("sitepulse", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "SitePulse's API v1 as tools: your teams (plan limits, monitoring defaults), their sites, check runs \
                 (queue one with checks_run) and issues. Ids come from the list tools.",
            )
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        find(name).map(|t| t.tool.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = caller(&context)?;
        let tools = catalog()
            .iter()
            .filter(|t| caller.can_step_up || caller.scopes.contains(t.route.rule.scope))
            .map(|t| t.tool.clone());
        let mut result = ListToolsResult::with_all_items(tools.collect());
        result.cache_scope = Some(CacheScope::Private);
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = find(&request.name) else {
            return Err(ErrorData::invalid_params(format!("There is no tool named `{}`.", request.name), None));
        };
        let caller = caller(&context)?;
        let result = match api_request(tool, request.arguments.unwrap_or_default(), &caller.authorization) {
            Err(message) => {
                CallToolResult::error(vec![ContentBlock::text(format!("HTTP 422: Invalid arguments: {message}."))])
            }
            Ok(api_request) => {
                let response = match self.api.clone().oneshot(api_request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let status = response.status();
                match response.into_body().collect().await {
                    Ok(body) => tool_result(status, &body.to_bytes()),
                    Err(_) => CallToolResult::error(vec![ContentBlock::text("The API's answer could not be read.")]),
                }
            }
        };
        let outcome = if result.is_error == Some(true) { "refused" } else { "ok" };
        tracing::info!(target: "sitepulse::mcp", tool = tool.tool.name.as_ref(), outcome, "tool call");
        Ok(result.into())
    }
}

/// The API's refusal, whose 401 also names this endpoint's resource
/// metadata (RFC 9728 §5.1), where an MCP client finds how to sign in.
fn unauthorized(state: &AppState, error: api::ApiError) -> Response {
    let mut response = error.into_response();
    if response.status() == StatusCode::UNAUTHORIZED {
        let error = match response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) {
            Some(challenge) if challenge.contains("invalid_token") => ", error=\"invalid_token\"",
            _ => "",
        };
        let challenge = format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"{error}",
            state.public_url
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// Admits a request with a live token of a verified owner (steps 1 and 2;
/// each tool's scope and team are the API's to check): otherwise the API's
/// 401, with `WWW-Authenticate: Bearer`.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let presented = match api::present(&parts, &state).await {
        Ok(presented) => presented,
        Err(error) => return unauthorized(&state, error),
    };
    let facts = match presented.authenticate(Utc::now()).map_err(api::ApiError::from).and_then(|facts| {
        presented.check_resource(PulseResource::Mcp)?;
        Ok(facts)
    }) {
        Ok(facts) => facts,
        Err(error) => return unauthorized(&state, error),
    };
    // A client that signed in through OAuth can ask the person for more
    // scopes: it sees every tool, and a call beyond its scopes is refused
    // before it runs with `insufficient_scope` and the scopes to ask for.
    // A personal access token cannot grow; its call gets the API's refusal.
    let can_step_up = matches!(&presented, api::Presented::Found(found) if found.token.audience.is_some());
    let body = if can_step_up && parts.method == http::Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, MESSAGE_LIMIT).await else {
            let message = format!("The message is larger than {} KiB.", MESSAGE_LIMIT / 1024);
            return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(json!({ "message": message }))).into_response();
        };
        let needed = sitegpt_server::mcp::called_tool(&bytes).and_then(|name| find(&name)).map(|t| t.route.rule.scope);
        if let Some(scope) = needed.filter(|scope| !facts.scopes.contains(*scope)) {
            return insufficient_scope(&state, scope, facts.scopes);
        }
        Body::from(bytes)
    } else {
        body
    };
    let authorization = parts.headers.get(header::AUTHORIZATION).cloned().unwrap_or(HeaderValue::from_static(""));
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(McpCaller { authorization, scopes: facts.scopes, can_step_up });
    next.run(request).await
}

/// 403 before a call whose tool needs `scope`, naming the scopes to ask
/// for (RFC 6750 §3.1), so the client can send the person back to consent.
fn insufficient_scope(state: &AppState, scope: PulseScope, granted: PulseScopes) -> Response {
    let mut wanted = granted;
    wanted.insert(scope);
    let challenge = format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        wanted.to_space_separated(),
        state.public_url
    );
    let mut response = api::ApiError::Denied(PulseDenial::InsufficientScope(scope)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `/mcp` with its guard.
pub fn routes(state: &AppState) -> Router<AppState> {
    let server = McpServer { api: api::router(state.clone()) };
    let service = sitegpt_server::mcp::stateless_service(server, MESSAGE_LIMIT);
    Router::new().route_service("/mcp", service).layer(middleware::from_fn_with_state(state.clone(), guard))
}
