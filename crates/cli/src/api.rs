//! `sitegpt api PATH`: any API request with the profile's token and server,
//! as `gh api` does it. Fields build a JSON body (or the query, for `GET`
//! and `DELETE`), `--paginate` follows `nextCursor`, and the exit code
//! follows the status like every other command's.

use std::io::Read;

use serde_json::{Map, Value};
use sitegpt_client::{Client, RawResponse};

use crate::ApiArgs;
use crate::error::{CliError, exit};
use crate::output::Output;

/// The request the arguments describe.
#[derive(Debug, PartialEq)]
pub struct Planned {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// `chatbots` → `/api/v2/chatbots`; a path under `/api/` stays as it is.
fn api_path(path: &str) -> Result<String, CliError> {
    if path.contains("://") {
        return Err(CliError::Usage(format!(
            "`{path}` is a URL; give the path only (the server comes from the profile or --api-url)"
        )));
    }
    let path = path.trim();
    if path.starts_with("/api/") {
        Ok(path.to_owned())
    } else {
        Ok(format!("/api/v2/{}", path.trim_start_matches('/')))
    }
}

/// `key=value`, split at the first `=`.
pub(crate) fn pair(field: &str, flag: &str) -> Result<(String, String), CliError> {
    match field.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(CliError::Usage(format!("{flag} takes key=value (got `{field}`)"))),
    }
}

/// A `-F` value: `true`, `false`, `null` and numbers as JSON, `@FILE` as
/// the file's text, anything else a string.
pub(crate) fn typed(value: &str) -> Result<Value, CliError> {
    match value {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" => return Ok(Value::Null),
        _ => {}
    }
    if let Some(file) = value.strip_prefix('@') {
        return std::fs::read_to_string(file)
            .map(Value::String)
            .map_err(|e| CliError::Usage(format!("cannot read `{file}` for a field: {e}")));
    }
    if let Ok(number) = value.parse::<i64>() {
        return Ok(Value::from(number));
    }
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(Value::from(number)),
        _ => Ok(Value::String(value.to_owned())),
    }
}

fn read_input(input: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let read = if input == "-" {
        std::io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(input).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::Usage(format!("cannot read `{input}`: {e}")))?;
    Ok(bytes)
}

/// Turns the arguments into one request (before pagination).
pub fn plan(args: &ApiArgs) -> Result<Planned, CliError> {
    let mut fields = Map::new();
    for field in &args.raw_fields {
        let (key, value) = pair(field, "-f")?;
        fields.insert(key, Value::String(value));
    }
    for field in &args.fields {
        let (key, value) = pair(field, "-F")?;
        fields.insert(key, typed(&value)?);
    }
    if args.input.is_some() && !fields.is_empty() {
        return Err(CliError::Usage("use --input or fields (-f, -F), not both".into()));
    }
    let method = match &args.method {
        Some(method) => method.to_ascii_uppercase(),
        None if args.input.is_some() || !fields.is_empty() => "POST".into(),
        None => "GET".into(),
    };
    if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") {
        return Err(CliError::Usage(format!("-X takes an HTTP method such as GET or POST (got `{method}`)")));
    }
    let mut path = api_path(&args.path)?;
    let mut headers = Vec::new();
    for header in &args.headers {
        match header.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ => return Err(CliError::Usage(format!("-H takes `Name: value` (got `{header}`)"))),
        }
    }
    let body = if let Some(input) = &args.input {
        Some(read_input(input)?)
    } else if fields.is_empty() {
        None
    } else if matches!(method.as_str(), "GET" | "DELETE" | "HEAD") {
        // Without a body, fields are the query.
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &fields {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            query.append_pair(key, &text);
        }
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(&query.finish());
        None
    } else {
        Some(serde_json::to_vec(&Value::Object(fields)).expect("JSON"))
    };
    if args.paginate && method != "GET" {
        return Err(CliError::Usage("--paginate follows lists, so it needs GET".into()));
    }
    Ok(Planned { method, path, headers, body })
}

/// The exit code for an answer's status: 0, or as the other commands do.
fn status_exit(status: u16) -> i32 {
    match status {
        200..=299 => 0,
        401 => exit::AUTH,
        403 => exit::PERMISSION,
        _ => exit::API,
    }
}

/// What the answer says went wrong, for stderr.
fn failure(response: &RawResponse) -> CliError {
    let parsed: Option<Value> = serde_json::from_str(&response.body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str).unwrap_or("HTTP_ERROR").to_owned();
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("the server answered HTTP {}", response.status), str::to_owned);
    CliError::Client {
        message: format!("{message} (HTTP {})", response.status),
        code,
        exit: status_exit(response.status),
        details: None,
    }
}

/// Pretty JSON (or what `--jq` makes of it) when the body is JSON, else
/// the body as it came.
fn print_body(out: Output, body: &str) -> Result<(), CliError> {
    match serde_json::from_str::<Value>(body) {
        Ok(json) => out.json(&json)?,
        Err(_) if body.is_empty() => {}
        Err(_) => println!("{body}"),
    }
    Ok(())
}

/// Runs the request (every page of it with `--paginate`) and prints it.
pub fn run(
    client: &Client,
    out: Output,
    args: &ApiArgs,
    fail: impl Fn(sitegpt_client::ClientError) -> CliError,
) -> Result<(), CliError> {
    let planned = plan(args)?;
    if !args.paginate {
        let response = client
            .request_raw(&planned.method, &planned.path, &planned.headers, planned.body.as_deref())
            .map_err(fail)?;
        print_body(out, &response.body)?;
        return if (200..300).contains(&response.status) { Ok(()) } else { Err(failure(&response)) };
    }
    let mut items: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = planned.path.clone();
        if let Some(cursor) = &cursor {
            let query = form_urlencoded::Serializer::new(String::new()).append_pair("cursor", cursor).finish();
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&query);
        }
        let response = client.request_raw("GET", &path, &planned.headers, None).map_err(&fail)?;
        if !(200..300).contains(&response.status) {
            print_body(out, &response.body)?;
            return Err(failure(&response));
        }
        let page: Value = serde_json::from_str(&response.body)
            .map_err(|e| CliError::Usage(format!("--paginate needs a JSON list, and this answer is not JSON: {e}")))?;
        let data = &page["data"];
        let Some(page_items) = data["items"].as_array() else {
            return Err(CliError::Usage(format!("--paginate needs a list; {} has no `data.items`", planned.path)));
        };
        items.extend(page_items.iter().cloned());
        match data["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    out.json(&Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(path: &str, extra: impl FnOnce(&mut ApiArgs)) -> ApiArgs {
        let mut args = ApiArgs {
            path: path.into(),
            method: None,
            raw_fields: vec![],
            fields: vec![],
            headers: vec![],
            input: None,
            paginate: false,
        };
        extra(&mut args);
        args
    }

    #[test]
    fn paths_fields_and_methods() {
        let plain = plan(&args("chatbots", |_| {})).expect("plan");
        assert_eq!((plain.method.as_str(), plain.path.as_str(), plain.body), ("GET", "/api/v2/chatbots", None));
        assert_eq!(plan(&args("/api/v0/x", |_| {})).expect("plan").path, "/api/v0/x");
        assert_eq!(plan(&args("/chatbots", |_| {})).expect("plan").path, "/api/v2/chatbots");

        let post = plan(&args("chatbots", |a| {
            a.raw_fields = vec!["name=Sales bot".into(), "n=5".into()];
            a.fields = vec!["size=5".into(), "on=true".into(), "none=null".into(), "ratio=0.5".into()];
        }))
        .expect("plan");
        assert_eq!(post.method, "POST");
        let body: Value = serde_json::from_slice(&post.body.expect("body")).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"name": "Sales bot", "n": "5", "size": 5, "on": true, "none": null, "ratio": 0.5})
        );

        let query = plan(&args("tokens?limit=2", |a| {
            a.method = Some("get".into());
            a.fields = vec!["includeRevoked=true".into()];
            a.raw_fields = vec!["owner=all me".into()];
        }))
        .expect("plan");
        assert_eq!(query.path, "/api/v2/tokens?limit=2&includeRevoked=true&owner=all+me");
        assert_eq!(query.body, None);
    }

    #[test]
    fn bad_arguments_say_what_to_type() {
        let refused = |a: ApiArgs| plan(&a).expect_err("refused").to_string();
        assert!(refused(args("chatbots", |a| a.raw_fields = vec!["name".into()])).contains("-f takes key=value"));
        assert!(refused(args("chatbots", |a| a.headers = vec!["NoColon".into()])).contains("Name: value"));
        assert!(refused(args("http://x/api/v2/chatbots", |_| {})).contains("give the path only"));
        assert!(refused(args("chatbots", |a| a.method = Some("FETCH".into()))).contains("-X takes"));
        assert!(
            refused(args("chatbots", |a| {
                a.paginate = true;
                a.method = Some("POST".into());
            }))
            .contains("needs GET")
        );
        assert!(
            refused(args("chatbots", |a| {
                a.input = Some("-".into());
                a.raw_fields = vec!["a=b".into()];
            }))
            .contains("not both")
        );
    }
}
