//! Resource commands: `sitegpt chatbots …` and the chatbot content families
//! (`knowledge`, `personas`, `instructions`, `starters`, `followups`,
//! `leads`), each a list, get, add, update and delete through the client.
//! Human tables by default, the API's `data` with `--json`.

use std::io::IsTerminal;

use serde_json::{Map, Value, json};
use sitegpt_client::Client;

use crate::context::Context;
use crate::error::CliError;
use crate::output::table;
use crate::{ChatbotsCommand, ItemCommand, ItemFields, PageArgs};

/// A content family: its path segment, its table heading, and the flags
/// its `add` and `update` take.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    pub path: &'static str,
    pub heading: &'static str,
    /// The flags that apply, for messages.
    pub flags: &'static str,
}

pub const KNOWLEDGE: Family =
    Family { path: "knowledge", heading: "SOURCE", flags: "--text, --url, --file (add); --status (update)" };
pub const PERSONAS: Family = Family { path: "personas", heading: "PERSONA", flags: "--name, --prompt" };
pub const INSTRUCTIONS: Family = Family { path: "instructions", heading: "INSTRUCTION", flags: "--text" };
pub const STARTERS: Family = Family { path: "starters", heading: "STARTER", flags: "--text" };
pub const FOLLOWUPS: Family = Family { path: "followups", heading: "FOLLOW-UP", flags: "--text" };
pub const LEADS: Family = Family { path: "leads", heading: "LEAD", flags: "--name, --email" };

fn put(body: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), json!(value));
    }
}

/// The body `add` (`creating`) or `update` sends for `fields`.
pub fn body(family: Family, fields: &ItemFields, creating: bool) -> Result<Value, CliError> {
    let mut body = Map::new();
    let given = |flag: &str, value: bool| value.then(|| flag.to_owned());
    let mut unused: Vec<String> = Vec::new();
    match family.path {
        "knowledge" => {
            let sources = [fields.text.is_some(), fields.url.is_some(), fields.file.is_some()];
            if creating && sources.iter().filter(|s| **s).count() != 1 {
                return Err(CliError::Usage(
                    "knowledge add takes one source: --text TEXT, --url URL or --file PATH".into(),
                ));
            }
            if let Some(text) = &fields.text {
                if creating {
                    body.insert("type".into(), json!("text"));
                }
                body.insert("content".into(), json!(text));
            }
            if let Some(url) = &fields.url {
                if creating {
                    body.insert("type".into(), json!("url"));
                }
                body.insert("url".into(), json!(url));
            }
            if let Some(path) = &fields.file {
                let meta = std::fs::metadata(path)
                    .map_err(|e| CliError::Usage(format!("cannot read --file `{path}`: {e}")))?;
                let name = std::path::Path::new(path)
                    .file_name()
                    .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
                if creating {
                    body.insert("type".into(), json!("file"));
                }
                body.insert("fileName".into(), json!(name));
                body.insert("sizeBytes".into(), json!(meta.len()));
            }
            if creating {
                unused.extend(given("--status", fields.status.is_some()));
            } else {
                put(&mut body, "status", fields.status.as_ref());
            }
            unused.extend(given("--name", fields.name.is_some()));
            unused.extend(given("--prompt", fields.prompt.is_some()));
            unused.extend(given("--email", fields.email.is_some()));
        }
        "personas" => {
            put(&mut body, "name", fields.name.as_ref());
            put(&mut body, "prompt", fields.prompt.as_ref());
            unused.extend(given("--text", fields.text.is_some()));
            unused.extend(given("--email", fields.email.is_some()));
        }
        "instructions" => {
            put(&mut body, "content", fields.text.as_ref());
            unused.extend(given("--name", fields.name.is_some()));
            unused.extend(given("--email", fields.email.is_some()));
        }
        "leads" => {
            put(&mut body, "name", fields.name.as_ref());
            put(&mut body, "email", fields.email.as_ref());
            unused.extend(given("--text", fields.text.is_some()));
        }
        _ => {
            put(&mut body, "text", fields.text.as_ref());
            unused.extend(given("--name", fields.name.is_some()));
            unused.extend(given("--email", fields.email.is_some()));
        }
    }
    if family.path != "knowledge" {
        unused.extend(given("--url", fields.url.is_some()));
        unused.extend(given("--file", fields.file.is_some()));
        unused.extend(given("--status", fields.status.is_some()));
        unused.extend(given("--prompt", fields.prompt.is_some() && family.path != "personas"));
    }
    if let Some(flag) = unused.first() {
        return Err(CliError::Usage(format!("{} does not take {flag}; it takes {}", family.path, family.flags)));
    }
    if body.is_empty() {
        return Err(CliError::Usage(format!("nothing to send: {} takes {}", family.path, family.flags)));
    }
    Ok(Value::Object(body))
}

pub(crate) fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// `--chatbot`, else the one chatbot the profile's token is restricted to.
pub(crate) fn chatbot(ctx: &Context, client: &Client, given: Option<&String>) -> Result<String, CliError> {
    if let Some(id) = given {
        return Ok(id.clone());
    }
    // The profile remembers its token's chatbots; a token from the
    // environment, or a profile saved before it remembered, is asked.
    let from_environment = std::env::var("SITEGPT_API_TOKEN").is_ok_and(|t| !t.trim().is_empty());
    let saved = match ctx.config.profiles.get(&ctx.profile) {
        Some(profile) if !from_environment => profile.chatbot_ids.clone(),
        _ => Vec::new(),
    };
    let restricted =
        if saved.is_empty() { client.account().map(|info| info.token.chatbot_ids).unwrap_or_default() } else { saved };
    if let [only] = restricted.as_slice() {
        return Ok(only.clone());
    }
    let reachable = client
        .data("GET", "/api/v2/chatbots?limit=20", None)
        .ok()
        .and_then(|data| data["items"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| format!("{} ({})", c["id"].as_str().unwrap_or(""), c["name"].as_str().unwrap_or("")))
        .collect::<Vec<_>>();
    let listed =
        if reachable.is_empty() { String::new() } else { format!(" The token reaches: {}.", reachable.join(", ")) };
    Err(CliError::Usage(format!("which chatbot? Pass --chatbot ID.{listed}")))
}

/// Asks before a delete on a terminal; without one, `--yes` is required.
pub(crate) fn confirm(what: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!("deleting {what} needs confirmation: add --yes")));
    }
    eprint!("Delete {what}? This cannot be undone. Type yes to confirm: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| CliError::Usage(format!("no answer: {e}")))?;
    if answer.trim().eq_ignore_ascii_case("yes") || answer.trim().eq_ignore_ascii_case("y") {
        Ok(())
    } else {
        Err(CliError::Usage("not deleted".into()))
    }
}

/// A page, or every page with `--all` (a progress line on a terminal).
pub(crate) fn list(ctx: &Context, client: &Client, path: &str, page: &PageArgs) -> Result<Value, CliError> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(limit) = page.limit {
        query.append_pair("limit", &limit.to_string());
    }
    if !page.all
        && let Some(cursor) = &page.cursor
    {
        query.append_pair("cursor", cursor);
    }
    let joiner = if path.contains('?') { '&' } else { '?' };
    let base = format!("{path}{joiner}{}", query.finish());
    if !page.all {
        return client.data("GET", &base, None).map_err(|e| ctx.fail(e));
    }
    let progress = std::io::stderr().is_terminal();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}&cursor={}", encode(c)),
            None => base.clone(),
        };
        let data = client.data("GET", &url, None).map_err(|e| ctx.fail(e))?;
        items.extend(data["items"].as_array().cloned().unwrap_or_default());
        if progress {
            eprint!("\rFetched {} items…", items.len());
        }
        match data["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    if progress {
        eprintln!();
    }
    Ok(json!({"items": items, "nextCursor": null}))
}

pub(crate) fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or("").to_owned()
}

pub(crate) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(width - 1).collect::<String>())
    }
}

/// The column that says what an item is.
fn summary(family: Family, item: &Value) -> String {
    match family.path {
        "knowledge" => {
            let source = [text(item, "url"), text(item, "fileName"), text(item, "content")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            format!("{} {} [{}]", text(item, "type"), clip(&source, 48), text(item, "status"))
        }
        "personas" => format!("{}: {}", text(item, "name"), clip(&text(item, "prompt"), 48)),
        "instructions" => clip(&text(item, "content"), 64),
        "leads" => format!("{} <{}>", text(item, "name"), text(item, "email")),
        _ => clip(&text(item, "text"), 64),
    }
}

/// Prints `data`: JSON, or a table of `items`, or one record's fields.
pub(crate) fn show(
    ctx: &Context,
    data: &Value,
    rows: impl Fn(&Value) -> Vec<String>,
    headers: &[&str],
) -> Result<(), CliError> {
    let out = ctx.out;
    if out.json {
        return out.json(data);
    }
    if let Some(items) = data["items"].as_array() {
        if items.is_empty() {
            println!("Nothing here yet.");
        } else {
            table(&out, headers, &items.iter().map(&rows).collect::<Vec<_>>());
        }
        if let Some(next) = data["nextCursor"].as_str() {
            println!("{}", out.dim(&format!("More: --cursor {next} (or --all)")));
        }
        return Ok(());
    }
    let record = data.as_object().and_then(|o| o.values().next()).unwrap_or(data);
    if let Some(fields) = record.as_object() {
        // The id first, then the rest by name.
        let mut ordered: Vec<(&String, &Value)> = fields.iter().collect();
        ordered.sort_by_key(|(key, _)| *key != "id");
        for (key, value) in ordered {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("  {}  {shown}", out.dim(&format!("{key:<12}")));
        }
    }
    Ok(())
}

pub fn chatbots(ctx: &Context, command: ChatbotsCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let rows = |c: &Value| vec![text(c, "id"), text(c, "name"), clip(&text(c, "description"), 48)];
    let headers = ["ID", "NAME", "DESCRIPTION"];
    let fail = |e| ctx.fail(e);
    let data = match command {
        ChatbotsCommand::List(page) => list(ctx, &client, "/api/v2/chatbots", &page)?,
        ChatbotsCommand::Get { id } => {
            client.data("GET", &format!("/api/v2/chatbots/{}", encode(&id)), None).map_err(fail)?
        }
        ChatbotsCommand::Create { name, description } => {
            let mut body = json!({"name": name});
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            client.data("POST", "/api/v2/chatbots", Some(&body)).map_err(fail)?
        }
        ChatbotsCommand::Update { id, name, description } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if let Some(description) = description {
                body.insert("description".into(), json!(description));
            }
            if body.is_empty() {
                return Err(CliError::Usage("nothing to change: pass --name or --description".into()));
            }
            let path = format!("/api/v2/chatbots/{}", encode(&id));
            client.data("PATCH", &path, Some(&Value::Object(body))).map_err(fail)?
        }
        ChatbotsCommand::Delete { id, yes } => {
            confirm(&format!("chatbot {id} and everything under it"), yes)?;
            client.data("DELETE", &format!("/api/v2/chatbots/{}", encode(&id)), None).map_err(fail)?
        }
    };
    show(ctx, &data, rows, &headers)
}

pub fn items(ctx: &Context, family: Family, command: ItemCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let fail = |e| ctx.fail(e);
    let collection = |chatbot_id: &str| format!("/api/v2/chatbots/{}/{}", encode(chatbot_id), family.path);
    let rows = |item: &Value| vec![text(item, "id"), summary(family, item)];
    let headers = ["ID", family.heading];
    let data = match command {
        ItemCommand::List { chatbot: given, page } => {
            let id = chatbot(ctx, &client, given.as_ref())?;
            list(ctx, &client, &collection(&id), &page)?
        }
        ItemCommand::Get { id, chatbot: given } => {
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            client.data("GET", &format!("{}/{}", collection(&chatbot_id), encode(&id)), None).map_err(fail)?
        }
        ItemCommand::Add { chatbot: given, fields } => {
            let body = body(family, &fields, true)?;
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            client.data("POST", &collection(&chatbot_id), Some(&body)).map_err(fail)?
        }
        ItemCommand::Update { id, chatbot: given, fields } => {
            let body = body(family, &fields, false)?;
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            let path = format!("{}/{}", collection(&chatbot_id), encode(&id));
            client.data("PATCH", &path, Some(&body)).map_err(fail)?
        }
        ItemCommand::Delete { id, chatbot: given, yes } => {
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            confirm(&format!("{} item {id}", family.path), yes)?;
            client.data("DELETE", &format!("{}/{}", collection(&chatbot_id), encode(&id)), None).map_err(fail)?
        }
    };
    show(ctx, &data, rows, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(set: impl FnOnce(&mut ItemFields)) -> ItemFields {
        let mut fields = ItemFields::default();
        set(&mut fields);
        fields
    }

    #[test]
    fn each_family_takes_its_own_flags() {
        let text = fields(|f| f.text = Some("Open 9 to 5".into()));
        assert_eq!(body(KNOWLEDGE, &text, true).expect("body"), json!({"type": "text", "content": "Open 9 to 5"}));
        assert_eq!(body(INSTRUCTIONS, &text, true).expect("body"), json!({"content": "Open 9 to 5"}));
        assert_eq!(body(STARTERS, &text, true).expect("body"), json!({"text": "Open 9 to 5"}));
        let url = fields(|f| f.url = Some("https://example.com".into()));
        assert_eq!(body(KNOWLEDGE, &url, true).expect("body"), json!({"type": "url", "url": "https://example.com"}));
        let lead = fields(|f| {
            f.name = Some("Ada".into());
            f.email = Some("ada@example.com".into());
        });
        assert_eq!(body(LEADS, &lead, true).expect("body"), json!({"name": "Ada", "email": "ada@example.com"}));
        let status = fields(|f| f.status = Some("ready".into()));
        assert_eq!(body(KNOWLEDGE, &status, false).expect("body"), json!({"status": "ready"}));

        let both = fields(|f| {
            f.text = Some("x".into());
            f.url = Some("https://example.com".into());
        });
        assert!(body(KNOWLEDGE, &both, true).expect_err("two sources").to_string().contains("one source"));
        assert!(body(STARTERS, &url, true).expect_err("no url").to_string().contains("does not take --url"));
        assert!(
            body(PERSONAS, &ItemFields::default(), false).expect_err("empty").to_string().contains("nothing to send")
        );
    }
}
