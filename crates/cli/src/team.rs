//! Commands for a chatbot's settings and conversations, and for the team:
//! account, billing, members and integrations.

use serde_json::{Map, Value, json};

use crate::api::{pair, typed};
use crate::context::Context;
use crate::error::CliError;
use crate::resources::{chatbot, clip, confirm, encode, list, show, text};
use crate::{
    AccountCommand, AuditCommand, BillingCommand, ConversationsCommand, IntegrationsCommand, MembersCommand,
    SettingsCommand,
};

/// `general.responseLength=short` → `{"general": {"responseLength": "short"}}`,
/// values typed as `api -F` types them.
pub fn merge_patch(pairs: &[String]) -> Result<Value, CliError> {
    let mut patch = Map::new();
    for entry in pairs {
        let (key, value) = pair(entry, "set")?;
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut object = &mut patch;
        for part in parts {
            let next = object.entry(part.to_owned()).or_insert_with(|| json!({}));
            object = next
                .as_object_mut()
                .ok_or_else(|| CliError::Usage(format!("`{key}` sets inside `{part}`, which is already a value")))?;
        }
        object.insert(last.to_owned(), typed(&value)?);
    }
    Ok(Value::Object(patch))
}

fn read_json(input: &str) -> Result<Value, CliError> {
    let text = if input == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(input) }
        .map_err(|e| CliError::Usage(format!("cannot read `{input}`: {e}")))?;
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("`{input}` is not JSON: {e}")))
}

pub fn settings(ctx: &Context, command: SettingsCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let none = |_: &Value| Vec::new();
    let data = match command {
        SettingsCommand::Get { chatbot: given } => {
            let id = chatbot(ctx, &client, given.as_ref())?;
            client.data("GET", &format!("/api/v2/chatbots/{}/settings", encode(&id)), None).map_err(|e| ctx.fail(e))?
        }
        SettingsCommand::Set { chatbot: given, pairs, input } => {
            let patch = match (input, pairs.is_empty()) {
                (Some(_), false) => return Err(CliError::Usage("use KEY=VALUE pairs or --input, not both".into())),
                (Some(input), true) => read_json(&input)?,
                (None, false) => merge_patch(&pairs)?,
                (None, true) => {
                    return Err(CliError::Usage(
                        "nothing to set: pass KEY=VALUE pairs (general.responseLength=short) or --input FILE|-".into(),
                    ));
                }
            };
            let id = chatbot(ctx, &client, given.as_ref())?;
            let path = format!("/api/v2/chatbots/{}/settings", encode(&id));
            client.data("PATCH", &path, Some(&patch)).map_err(|e| ctx.fail(e))?
        }
    };
    show(ctx, &data, none, &[])
}

pub fn conversations(ctx: &Context, command: ConversationsCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let collection = |id: &str| format!("/api/v2/chatbots/{}/conversations", encode(id));
    let rows = |c: &Value| {
        let messages = c["messages"].as_array().map_or(0, Vec::len);
        let last = c["messages"].as_array().and_then(|m| m.last()).map(|m| text(m, "content")).unwrap_or_default();
        vec![text(c, "id"), text(c, "status"), text(c, "visitor"), messages.to_string(), clip(&last, 40)]
    };
    let headers = ["ID", "STATUS", "VISITOR", "MESSAGES", "LAST"];
    let fail = |e| ctx.fail(e);
    let data = match command {
        ConversationsCommand::List { chatbot: given, status, page } => {
            let id = chatbot(ctx, &client, given.as_ref())?;
            let path = match status {
                Some(status) => format!("{}?status={}", collection(&id), encode(&status)),
                None => collection(&id),
            };
            list(ctx, &client, &path, &page)?
        }
        ConversationsCommand::Get { id, chatbot: given } => {
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            client.data("GET", &format!("{}/{}", collection(&chatbot_id), encode(&id)), None).map_err(fail)?
        }
        ConversationsCommand::Reply { id, chatbot: given, message } => {
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            let path = format!("{}/{}/messages", collection(&chatbot_id), encode(&id));
            client.data("POST", &path, Some(&json!({"content": message}))).map_err(fail)?
        }
        ConversationsCommand::Delete { id, chatbot: given, yes } => {
            let chatbot_id = chatbot(ctx, &client, given.as_ref())?;
            confirm(&format!("conversation {id} and its messages"), yes)?;
            client.data("DELETE", &format!("{}/{}", collection(&chatbot_id), encode(&id)), None).map_err(fail)?
        }
    };
    show(ctx, &data, rows, &headers)
}

pub fn members(ctx: &Context, command: MembersCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let rows = |m: &Value| vec![text(m, "userId"), text(m, "email"), text(m, "role"), text(m, "joinedAt")];
    let headers = ["USER", "EMAIL", "ROLE", "JOINED"];
    let fail = |e| ctx.fail(e);
    let member = |user: &str| format!("/api/v2/members/{}", encode(user));
    let data = match command {
        MembersCommand::List(page) => list(ctx, &client, "/api/v2/members", &page)?,
        MembersCommand::Invite { email, role } => {
            client.data("POST", "/api/v2/members", Some(&json!({"email": email, "role": role}))).map_err(fail)?
        }
        MembersCommand::SetRole { user, role } => {
            client.data("PATCH", &member(&user), Some(&json!({"role": role}))).map_err(fail)?
        }
        MembersCommand::Remove { user, yes } => {
            confirm(&format!("member {user} from the team (their tokens here are revoked)"), yes)?;
            client.data("DELETE", &member(&user), None).map_err(fail)?
        }
    };
    show(ctx, &data, rows, &headers)
}

pub fn audit(ctx: &Context, command: AuditCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let AuditCommand::List(args) = command;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("tokenId", &args.token_id),
        ("userId", &args.user_id),
        ("action", &args.action),
        ("since", &args.since),
        ("until", &args.until),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    let data = list(ctx, &client, &format!("/api/v2/audit-events?{}", query.finish()), &args.page)?;
    let rows = |e: &Value| {
        let when = text(e, "occurredAt").replacen('T', " ", 1).chars().take(19).collect::<String>();
        let actor = &e["actor"];
        let who = [text(actor, "email"), text(actor, "service"), text(actor, "userId")]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into());
        let about = [text(e, "tokenId"), text(e, "userEmail"), text(e, "targetId")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        vec![when, text(e, "action"), who, about, text(e, "ip")]
    };
    show(ctx, &data, rows, &["WHEN (UTC)", "ACTION", "WHO", "ABOUT", "FROM"])
}

/// `--config`/`--secret` pairs as an object (config values typed).
fn object(pairs: &[String], flag: &str, typed_values: bool) -> Result<Option<Value>, CliError> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut object = Map::new();
    for entry in pairs {
        let (key, value) = pair(entry, flag)?;
        object.insert(key, if typed_values { typed(&value)? } else { Value::String(value) });
    }
    Ok(Some(Value::Object(object)))
}

pub fn integrations(ctx: &Context, command: IntegrationsCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let rows = |i: &Value| {
        let secrets = i["secretFields"]
            .as_array()
            .map_or_else(String::new, |s| s.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
        vec![text(i, "id"), text(i, "type"), i["config"].to_string(), secrets]
    };
    let headers = ["ID", "TYPE", "CONFIG", "SECRETS SET"];
    let fail = |e| ctx.fail(e);
    let data = match command {
        IntegrationsCommand::List(page) => list(ctx, &client, "/api/v2/integrations", &page)?,
        IntegrationsCommand::Create { kind, config, secrets } => {
            let mut body = json!({"type": kind, "config": {}, "secrets": {}});
            if let Some(config) = object(&config, "--config", true)? {
                body["config"] = config;
            }
            if let Some(secrets) = object(&secrets, "--secret", false)? {
                body["secrets"] = secrets;
            }
            client.data("POST", "/api/v2/integrations", Some(&body)).map_err(fail)?
        }
        IntegrationsCommand::Update { id, config, secrets } => {
            let mut body = Map::new();
            if let Some(config) = object(&config, "--config", true)? {
                body.insert("config".into(), config);
            }
            if let Some(secrets) = object(&secrets, "--secret", false)? {
                body.insert("secrets".into(), secrets);
            }
            if body.is_empty() {
                return Err(CliError::Usage("nothing to change: pass --config KEY=VALUE or --secret KEY=VALUE".into()));
            }
            let path = format!("/api/v2/integrations/{}", encode(&id));
            client.data("PATCH", &path, Some(&Value::Object(body))).map_err(fail)?
        }
    };
    show(ctx, &data, rows, &headers)
}

pub fn billing(ctx: &Context, command: BillingCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let data = match command {
        BillingCommand::Show => client.data("GET", "/api/v2/billing", None),
        BillingCommand::SetPlan { plan } => client.data("PATCH", "/api/v2/billing", Some(&json!({"plan": plan}))),
    }
    .map_err(|e| ctx.fail(e))?;
    show(ctx, &data, |_| Vec::new(), &[])
}

pub fn account(ctx: &Context, command: AccountCommand) -> Result<(), CliError> {
    let client = ctx.authed()?;
    let data = match command {
        AccountCommand::Show => {
            let info = client.account().map_err(|e| ctx.fail(e))?;
            json!({"account": info.account})
        }
        AccountCommand::Rename { name } => {
            client.data("PATCH", "/api/v2/account", Some(&json!({"name": name}))).map_err(|e| ctx.fail(e))?
        }
    };
    show(ctx, &data, |_| Vec::new(), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_pairs_make_a_merge_patch() {
        let patch = merge_patch(&[
            "general.responseLength=short".into(),
            "general.temperature=0.2".into(),
            "advanced.showSources=true".into(),
        ])
        .expect("patch");
        assert_eq!(
            patch,
            json!({"general": {"responseLength": "short", "temperature": 0.2}, "advanced": {"showSources": true}})
        );
        let clash = merge_patch(&["a=1".into(), "a.b=2".into()]).expect_err("clash");
        assert!(clash.to_string().contains("already a value"), "{clash}");
        assert!(merge_patch(&["novalue".into()]).is_err());
    }
}
