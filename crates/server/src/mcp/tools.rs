//! The MCP tools, generated from the API v2 route table: one tool per
//! operation except token creation and rotation (no plaintext secret passes
//! through MCP). A tool's input is its route's path parameters, query
//! parameters and body fields side by side; its output is the route's `data`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use sitegpt_access::Scope;

use crate::api::{ApiMethod, ApiRoute, api_routes};

/// Operations that are not one of list, get, create, update and delete
/// take their action from here; `None` leaves the route out of MCP.
const OTHER_ACTIONS: &[(&str, ApiMethod, Option<&str>)] = &[
    ("/api/v2/tokens", ApiMethod::Post, None),
    ("/api/v2/tokens/{id}/rotate", ApiMethod::Post, None),
    ("/api/v2/tokens/{id}/revoke", ApiMethod::Post, Some("revoke")),
    ("/api/v2/members", ApiMethod::Post, Some("invite")),
    ("/api/v2/chatbots/{chatbotId}/conversations/{conversationId}/messages", ApiMethod::Post, Some("reply")),
];

/// How a tool's arguments become the route's JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyShape {
    /// The route takes no body.
    None,
    /// The body's fields are arguments of their own; these are their names.
    Fields(Vec<String>),
    /// The body is the `body` argument (its schema is not a plain object).
    Nested,
}

/// One tool and the route it runs.
#[derive(Debug)]
pub struct ToolRoute {
    pub tool: Tool,
    pub route: &'static ApiRoute,
    pub path_params: Vec<&'static str>,
    pub body: BodyShape,
}

impl ToolRoute {
    pub fn scope(&self) -> Scope {
        self.route.rule.scope
    }

    pub fn name(&self) -> &str {
        &self.tool.name
    }
}

/// Every tool, in route-table order, with an index by name.
#[derive(Debug)]
pub struct Catalog {
    tools: Vec<ToolRoute>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&ToolRoute> {
        self.by_name.get(name).map(|&i| &self.tools[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ToolRoute> {
        self.tools.iter()
    }
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let tools: Vec<ToolRoute> = api_routes().iter().filter_map(tool_route).collect();
    let by_name = tools.iter().enumerate().map(|(i, t)| (t.tool.name.to_string(), i)).collect::<HashMap<_, _>>();
    assert_eq!(by_name.len(), tools.len(), "two API routes make tools of the same name");
    Catalog { tools, by_name }
});

pub fn catalog() -> &'static Catalog {
    &CATALOG
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// `{family}_{action}`, or `None` for routes MCP leaves out.
pub fn tool_name(route: &ApiRoute) -> Option<String> {
    let segments: Vec<&str> = route.path.trim_start_matches("/api/v2/").split('/').collect();
    // Chatbot content is named for its family, not for `chatbots`.
    let family_segments = match segments.as_slice() {
        ["chatbots", id, rest @ ..] if is_param(id) && !rest.is_empty() => rest,
        all => all,
    };
    let family = family_segments.first()?;
    let action = match OTHER_ACTIONS.iter().find(|(path, method, _)| *path == route.path && *method == route.method) {
        Some((_, _, action)) => (*action)?,
        None => match route.method {
            ApiMethod::Get if route.query.iter().any(|q| q.name == "cursor") => "list",
            ApiMethod::Get => "get",
            ApiMethod::Post => "create",
            ApiMethod::Patch => "update",
            ApiMethod::Delete => "delete",
        },
    };
    Some(format!("{}_{action}", family.replace('-', "_")))
}

fn path_params(route: &ApiRoute) -> Vec<&'static str> {
    route.path.split('/').filter(|s| is_param(s)).map(|s| &s[1..s.len() - 1]).collect()
}

fn param_description(name: &str) -> String {
    match name {
        "chatbotId" => "The chatbot's id (see `chatbots_list`).".into(),
        "conversationId" => "The conversation's id (see `conversations_list`).".into(),
        "userId" => "The member's user id (see `members_list`).".into(),
        "integrationId" => "The integration's id (see `integrations_list`).".into(),
        "id" => "The id (see the family's `_list` tool).".into(),
        other => format!("The `{other}` of the path."),
    }
}

/// The formats of JSON Schema itself; validators warn about others (such as
/// the `uint64` and `double` that Rust types carry).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Drops `format`s that are not JSON Schema's own, everywhere in `schema`.
fn standard_formats(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.get("format").and_then(Value::as_str).is_some_and(|f| !STANDARD_FORMATS.contains(&f)) {
                object.remove("format");
            }
            object.values_mut().for_each(standard_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(standard_formats),
        _ => {}
    }
}

/// A schema with its definitions attached, and the `$ref` at its top
/// resolved, so that it stands alone.
fn standalone(schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema) -> Map<String, Value> {
    let mut generator = SchemaSettings::draft2020_12().with(|s| s.meta_schema = None).into_generator();
    let mut schema = schema(&mut generator).to_value();
    standard_formats(&mut schema);
    let mut defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    defs.values_mut().for_each(standard_formats);
    let mut object = match schema {
        Value::Object(object) => object,
        other => Map::from_iter([("const".to_owned(), other)]),
    };
    if let Some(Value::String(reference)) = object.get("$ref")
        && let Some(Value::Object(target)) = reference.strip_prefix("#/$defs/").and_then(|name| defs.get(name))
        && object.len() == 1
    {
        object = target.clone();
    }
    if !defs.is_empty() {
        object.insert("$defs".into(), Value::Object(defs));
    }
    object
}

fn is_plain_object(schema: &Map<String, Value>) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("properties").is_some_and(Value::is_object)
        && !["oneOf", "anyOf", "allOf", "$ref"].iter().any(|k| schema.contains_key(*k))
}

fn tool_route(route: &'static ApiRoute) -> Option<ToolRoute> {
    let name = tool_name(route)?;
    let path_params = path_params(route);
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for param in &path_params {
        properties.insert((*param).into(), json!({"type": "string", "description": param_description(param)}));
        required.push(json!(param));
    }
    for q in route.query {
        let mut schema = json!({"type": q.kind, "description": q.description});
        if q.name == "limit" {
            schema["minimum"] = json!(1);
            schema["maximum"] = json!(200);
        }
        properties.insert(q.name.into(), schema);
    }
    let mut input = Map::new();
    let body = match route.body {
        None => BodyShape::None,
        Some(body) => {
            let mut schema = standalone(body);
            let defs = schema.remove("$defs");
            let clashes = schema
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|fields| fields.keys().any(|k| properties.contains_key(k)));
            let shape = if is_plain_object(&schema) && !clashes {
                let fields = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
                let names = fields.keys().cloned().collect();
                properties.extend(fields);
                if let Some(Value::Array(body_required)) = schema.get("required") {
                    required.extend(body_required.iter().cloned());
                }
                if let Some(additional) = schema.get("additionalProperties") {
                    input.insert("additionalProperties".into(), additional.clone());
                }
                BodyShape::Fields(names)
            } else {
                properties.insert("body".into(), Value::Object(schema));
                required.push(json!("body"));
                BodyShape::Nested
            };
            if let Some(defs) = defs {
                input.insert("$defs".into(), defs);
            }
            shape
        }
    };
    if matches!(body, BodyShape::None) {
        input.insert("additionalProperties".into(), json!(false));
    }
    input.insert("type".into(), json!("object"));
    input.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        input.insert("required".into(), Value::Array(required));
    }
    let output = standalone(route.data);
    let scope = route.rule.scope;
    let description =
        format!("{}. Needs the `{scope}` scope. Runs `{} {}`.", route.summary, route.method.as_str(), route.path);
    let annotations = ToolAnnotations::new()
        .read_only(route.method == ApiMethod::Get)
        .destructive(route.method == ApiMethod::Delete || name == "tokens_revoke");
    let mut tool = Tool::new(name, description, Arc::new(input)).with_annotations(annotations);
    if output.get("type").and_then(Value::as_str) == Some("object") {
        tool = tool.with_raw_output_schema(Arc::new(output as JsonObject));
    }
    Some(ToolRoute { tool, route, path_params, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_but_token_creation_and_rotation_is_a_tool() {
        let names: Vec<&str> = catalog().iter().map(ToolRoute::name).collect();
        for expected in [
            "account_get",
            "account_update",
            "billing_get",
            "billing_update",
            "tokens_list",
            "tokens_get",
            "tokens_revoke",
            "chatbots_list",
            "chatbots_get",
            "chatbots_create",
            "chatbots_update",
            "chatbots_delete",
            "knowledge_list",
            "knowledge_create",
            "knowledge_get",
            "knowledge_update",
            "knowledge_delete",
            "settings_get",
            "settings_update",
            "conversations_list",
            "conversations_get",
            "conversations_update",
            "conversations_reply",
            "conversations_delete",
            "members_list",
            "members_invite",
            "members_update",
            "members_delete",
            "integrations_list",
            "integrations_create",
            "integrations_update",
            "leads_list",
            "personas_create",
            "instructions_delete",
            "starters_update",
            "followups_get",
        ] {
            assert!(names.contains(&expected), "{expected} is missing from {names:?}");
        }
        assert!(!names.iter().any(|n| n.starts_with("tokens_create") || n.starts_with("tokens_rotate")));
        assert_eq!(names.len(), api_routes().len() - 2, "{names:?}");
    }

    #[test]
    fn schemas_stand_alone_and_annotations_follow_the_method() {
        for tool in catalog().iter() {
            let input = serde_json::to_string(&*tool.tool.input_schema).expect("json");
            for reference in input.split("\"$ref\":\"").skip(1) {
                let target = reference.split('"').next().expect("ref");
                let name = target.strip_prefix("#/$defs/").expect("local ref");
                assert!(tool.tool.input_schema["$defs"].get(name).is_some(), "{}: {target}", tool.name());
            }
            assert!(tool.tool.output_schema.is_some(), "{} has an output schema", tool.name());
            let output = serde_json::to_string(&tool.tool.output_schema).expect("json");
            for schema in [&input, &output] {
                assert!(!schema.contains("\"format\":\"uint") && !schema.contains("\"format\":\"int"), "{schema}");
            }
            let annotations = tool.tool.annotations.as_ref().expect("annotations");
            assert_eq!(annotations.read_only_hint, Some(tool.route.method == ApiMethod::Get), "{}", tool.name());
        }
        let create = catalog().get("chatbots_create").expect("tool");
        let BodyShape::Fields(fields) = &create.body else {
            panic!("chatbots_create takes its body's fields: {create:?}")
        };
        assert!(fields.contains(&"name".to_owned()), "{fields:?}");
        let knowledge = catalog().get("knowledge_create").expect("tool");
        assert!(knowledge.tool.input_schema["required"].as_array().expect("required").contains(&json!("chatbotId")));
        let delete = catalog().get("chatbots_delete").expect("tool");
        assert_eq!(delete.tool.annotations.as_ref().and_then(|a| a.destructive_hint), Some(true));
    }
}
