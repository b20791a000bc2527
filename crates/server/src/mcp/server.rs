//! The MCP server handler: `tools/list` from the catalog, and `tools/call`
//! run as an in-process request through the API v2 router, so a tool passes
//! the same authorization, validation and store code as its route and both
//! always answer alike.

use axum::Router;
use axum::body::Body;
use axum::http::{self, HeaderValue, header};
use http_body_util::BodyExt;
use rmcp::model::RequestId;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::tools::{BodyShape, ToolRoute, catalog};
use crate::auth::Preverified;
use crate::context::RequestContext as ApiContext;

/// Serves MCP requests; cheap to clone (the API router is shared).
#[derive(Debug, Clone)]
pub struct McpServer {
    api: Router,
}

impl McpServer {
    /// `api` answers API v2 requests (the route table's router, with state).
    pub fn new(api: Router) -> McpServer {
        McpServer { api }
    }
}

/// What the guard left for the handler: the verified caller and the
/// request's context (its id, for error envelopes and logs).
fn caller(context: &RequestContext<RoleServer>) -> Result<(&http::request::Parts, &Preverified), ErrorData> {
    let parts = context
        .extensions
        .get::<http::request::Parts>()
        .ok_or_else(|| ErrorData::internal_error("the request's parts are missing", None))?;
    let caller = parts
        .extensions
        .get::<Preverified>()
        .ok_or_else(|| ErrorData::internal_error("the request was not authenticated", None))?;
    Ok((parts, caller))
}

/// A refusal or failure as the API states it: `isError`, with the API's
/// code and message as text (`CODE: message`, then the details as JSON when
/// there are any). No structured content: clients hold that to the tool's
/// output schema, which describes success.
fn tool_error(code: &str, message: &str, details: Option<&Value>) -> CallToolResult {
    let mut text = format!("{code}: {message}");
    if let Some(details) = details {
        text.push('\n');
        text.push_str(&details.to_string());
    }
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// The API code of a tool error's text.
pub fn error_code(result: &CallToolResult) -> Option<&str> {
    let text = result.content.first()?.as_text()?.text.as_str();
    text.split_once(':').map(|(code, _)| code)
}

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The API request a tool call stands for, or why the arguments cannot make one.
pub fn api_request(tool: &ToolRoute, arguments: JsonObject) -> Result<http::Request<Body>, String> {
    let mut arguments = arguments;
    let mut path = String::with_capacity(tool.route.path.len() + 32);
    for segment in tool.route.path.split('/').skip(1) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match arguments.remove(name) {
                Some(Value::String(value)) if !value.is_empty() => path.push_str(&encode_segment(&value)),
                Some(_) => return Err(format!("`{name}` must be a non-empty string")),
                None => return Err(format!("`{name}` is required")),
            },
            None => path.push_str(segment),
        }
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut any_query = false;
    for param in tool.route.query {
        if let Some(value) = arguments.remove(param.name) {
            if value.is_null() {
                continue;
            }
            let text = scalar(&value).ok_or_else(|| format!("`{}` must be of type {}", param.name, param.kind))?;
            query.append_pair(param.name, &text);
            any_query = true;
        }
    }
    if any_query {
        path.push('?');
        path.push_str(&query.finish());
    }
    let body = match &tool.body {
        BodyShape::None => None,
        BodyShape::Nested => Some(arguments.remove("body").unwrap_or_else(|| json!({}))),
        // Unknown fields go to the API, which names them as it does for REST.
        BodyShape::Fields(_) => Some(Value::Object(std::mem::take(&mut arguments))),
    };
    if let Some(unknown) = arguments.keys().next() {
        return Err(format!("unknown argument `{unknown}`"));
    }
    let builder = http::Request::builder().method(tool.route.method.as_str()).uri(path);
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Body::from(serde_json::to_vec(&body).map_err(|e| e.to_string())?)),
        None => builder.body(Body::empty()),
    };
    request.map_err(|e| format!("the arguments make no valid request: {e}"))
}

/// The API's envelope, with `data` kept as the API wrote it.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    ok: bool,
    #[serde(borrow)]
    data: Option<&'a serde_json::value::RawValue>,
    error: Option<sitegpt_api_types::ErrorBody>,
}

/// A tool's answer: the route's `data` as the API wrote it, or a tool error.
#[derive(Debug)]
pub enum ToolAnswer {
    Data(Box<RawValue>),
    Failed(CallToolResult),
}

impl ToolAnswer {
    /// The result as the SDK's type: `data` as structured content and as text.
    pub fn into_result(self) -> CallToolResult {
        match self {
            ToolAnswer::Data(data) => {
                let structured = serde_json::from_str::<Value>(data.get()).unwrap_or(Value::Null);
                let mut result = CallToolResult::success(vec![ContentBlock::text(data.get())]);
                result.structured_content = Some(structured);
                result
            }
            ToolAnswer::Failed(result) => result,
        }
    }

    /// The JSON-RPC response to request `id` on a revision before 2026-07-28
    /// (no result type), as the SDK writes it; `data` is copied, not parsed.
    pub fn response_body(self, id: &RequestId) -> serde_json::Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Text<'a> {
            r#type: &'static str,
            text: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Success<'a> {
            content: [Text<'a>; 1],
            structured_content: &'a RawValue,
            is_error: bool,
        }
        #[derive(Serialize)]
        struct Response<'a, R> {
            jsonrpc: &'static str,
            id: &'a RequestId,
            result: R,
        }
        match self {
            ToolAnswer::Data(data) => {
                let result = Success {
                    content: [Text { r#type: "text", text: data.get() }],
                    structured_content: &data,
                    is_error: false,
                };
                serde_json::to_vec(&Response { jsonrpc: "2.0", id, result })
            }
            ToolAnswer::Failed(mut result) => {
                result.result_type = None;
                serde_json::to_vec(&Response { jsonrpc: "2.0", id, result })
            }
        }
    }

    fn outcome(&self) -> &str {
        match self {
            ToolAnswer::Data(_) => "ok",
            ToolAnswer::Failed(result) => error_code(result).unwrap_or("ERROR"),
        }
    }
}

/// The tool's answer for the API's.
fn tool_result(body: &[u8]) -> ToolAnswer {
    let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(body) else {
        return ToolAnswer::Failed(tool_error("INTERNAL", "The API answered with something that is not JSON.", None));
    };
    match (envelope.ok, envelope.data, envelope.error) {
        (true, Some(data), _) => ToolAnswer::Data(data.to_owned()),
        (_, _, Some(error)) => {
            ToolAnswer::Failed(tool_error(&error.code, &error.message, error.details.map(Value::from).as_ref()))
        }
        _ => ToolAnswer::Failed(tool_error("INTERNAL", "The API answered without data or an error.", None)),
    }
}

impl McpServer {
    /// Runs a tool for the caller the guard left in `parts`, and logs its
    /// name and outcome (never its arguments).
    pub async fn run(&self, tool: &ToolRoute, arguments: JsonObject, parts: &http::request::Parts) -> ToolAnswer {
        let api_context = parts.extensions.get::<ApiContext>().cloned().unwrap_or_else(ApiContext::current);
        let request_id = api_context.request_id.clone();
        let answer = api_context.scope(self.call(tool, arguments, parts)).await;
        let outcome = answer.outcome();
        tracing::info!(target: "sitegpt::mcp", request_id = %request_id, tool = tool.name(), outcome = %outcome, "tool call");
        answer
    }

    async fn call(&self, tool: &ToolRoute, arguments: JsonObject, parts: &http::request::Parts) -> ToolAnswer {
        let mut request = match api_request(tool, arguments) {
            Ok(request) => request,
            Err(message) => {
                return ToolAnswer::Failed(tool_error(
                    "VALIDATION_FAILED",
                    &format!("Invalid request: {message}"),
                    None,
                ));
            }
        };
        *request.extensions_mut() = parts.extensions.clone();
        // The API router names the route it matches (the route's rule is
        // found by it); the MCP endpoint's own must not stand in for it.
        request.extensions_mut().remove::<axum::extract::MatchedPath>();
        if let Some(agent) = parts.headers.get(header::USER_AGENT) {
            request.headers_mut().insert(header::USER_AGENT, agent.clone());
        }
        let response = match self.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        match response.into_body().collect().await {
            Ok(collected) => tool_result(&collected.to_bytes()),
            Err(_) => ToolAnswer::Failed(tool_error("INTERNAL", "The API's answer could not be read.", None)),
        }
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("sitegpt", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "SiteGPT's API v2 as tools: chatbots and their knowledge, personas, instructions, settings, \
                 starters, follow-ups, conversations and leads; members, integrations, billing and the account. \
                 Lists take `limit` and `cursor` (pass the `nextCursor` of the previous page).",
            )
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        catalog().get(name).map(|t| t.tool.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let (_, Preverified(verified)) = caller(&context)?;
        // An OAuth client can ask for more scopes; other tokens cannot.
        let can_step_up = verified.auth.token.grant_id.is_some();
        let scopes = verified.facts.scopes;
        let tools =
            catalog().iter().filter(|t| can_step_up || scopes.contains(t.scope())).map(|t| t.tool.clone()).collect();
        let mut result = ListToolsResult::with_all_items(tools);
        result.cache_scope = Some(CacheScope::Private);
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = catalog().get(&request.name) else {
            return Err(ErrorData::invalid_params(format!("There is no tool named `{}`.", request.name), None));
        };
        let (parts, _) = caller(&context)?;
        Ok(self.run(tool, request.arguments.unwrap_or_default(), parts).await.into_result().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> JsonObject {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn arguments_become_path_query_and_body() {
        let tool = catalog().get("knowledge_list").expect("tool");
        let request = api_request(tool, args(json!({"chatbotId": "cb 1/x", "limit": 5, "cursor": "a b"}))).expect("ok");
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().to_string(), "/api/v2/chatbots/cb%201%2Fx/knowledge?limit=5&cursor=a+b");

        let tool = catalog().get("chatbots_create").expect("tool");
        let request = api_request(tool, args(json!({"name": "Sales"}))).expect("ok");
        assert_eq!(request.uri().path(), "/api/v2/chatbots");
        assert_eq!(request.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn missing_and_unknown_arguments_are_refused() {
        let tool = catalog().get("chatbots_get").expect("tool");
        assert_eq!(api_request(tool, args(json!({}))).unwrap_err(), "`chatbotId` is required");
        assert_eq!(
            api_request(tool, args(json!({"chatbotId": 7}))).unwrap_err(),
            "`chatbotId` must be a non-empty string"
        );
        assert_eq!(
            api_request(tool, args(json!({"chatbotId": "x", "extra": 1}))).unwrap_err(),
            "unknown argument `extra`"
        );
        let list = catalog().get("chatbots_list").expect("tool");
        assert_eq!(api_request(list, args(json!({"limit": [1]}))).unwrap_err(), "`limit` must be of type integer");
    }

    #[test]
    fn answers_become_results_or_tool_errors() {
        let ok = tool_result(br#"{"ok":true,"data":{"items":[]},"meta":{"requestId":"r"}}"#).into_result();
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(ok.structured_content, Some(json!({"items": []})));
        let refused =
            tool_result(br#"{"ok":false,"error":{"code":"NOT_FOUND","message":"Not found."},"meta":{}}"#).into_result();
        assert_eq!(refused.is_error, Some(true));
        assert_eq!(refused.structured_content, None);
        assert_eq!(error_code(&refused), Some("NOT_FOUND"));
        let invalid = tool_result(
            br#"{"ok":false,"error":{"code":"VALIDATION_FAILED","message":"Invalid request: x","details":[{"path":["x"]}]},"meta":{}}"#,
        )
        .into_result();
        let text = invalid.content[0].as_text().expect("text").text.clone();
        assert_eq!(text, "VALIDATION_FAILED: Invalid request: x\n[{\"path\":[\"x\"]}]");
    }

    #[test]
    fn a_direct_answer_is_the_json_rpc_response_the_sdk_writes() {
        let body = br#"{"ok":true,"data":{"items":[{"name":"A \"quoted\" bot"}],"nextCursor":null},"meta":{}}"#;
        for id in [RequestId::Number(7), RequestId::String("call-1".into())] {
            let direct: Value =
                serde_json::from_slice(&tool_result(body).response_body(&id).expect("json")).expect("json");
            let mut result = tool_result(body).into_result();
            result.result_type = None;
            let sdk =
                rmcp::model::ServerJsonRpcMessage::response(rmcp::model::ServerResult::CallToolResult(result), id);
            assert_eq!(direct, serde_json::to_value(&sdk).expect("json"));
        }
    }
}
