//! `sitegpt api`: any route with the profile's token, fields, input,
//! headers, pagination, and exit codes from the status.

use std::io::Write;
use std::process::Stdio;

use crate::fixture::{Cli, Server};

#[test]
fn api_sends_any_request_with_the_profiles_token() {
    let server = Server::start();
    let scopes = ["account:read", "chatbots:read", "chatbots:write", "knowledge:write", "settings:write"];
    let (user, token) = server.user_with_token("api@example.com", &scopes);
    let account = user["accountId"].as_str().expect("account");
    let cli = Cli::new(&server);

    // Not logged in: told how, before any request.
    let anonymous = cli.run(&["api", "account"]);
    assert_eq!(anonymous.code, 3, "{}", anonymous.stderr);
    assert!(anonymous.stderr.contains("sitegpt login"), "{}", anonymous.stderr);

    cli.run(&["login", "--token", &token]).ok();
    let me = cli.run(&["api", "account"]).ok().json();
    assert_eq!(me["ok"], true);
    assert_eq!(me["data"]["user"]["email"], "api@example.com");
    assert_eq!(cli.run(&["api", "/api/v2/account"]).ok().json()["data"]["account"]["id"], account);

    // Fields make a JSON body and POST; -X picks another method.
    let created = cli.run(&["api", "chatbots", "-f", "name=Sales bot"]).ok().json();
    assert_eq!(created["data"]["chatbot"]["name"], "Sales bot");
    let id = created["data"]["chatbot"]["id"].as_str().expect("id").to_owned();
    let patched = cli.run(&["api", "-X", "PATCH", &format!("chatbots/{id}"), "-f", "description=Pricing"]).ok().json();
    assert_eq!(patched["data"]["chatbot"]["description"], "Pricing");

    // Typed fields are JSON: sizeBytes is stored as a number.
    let knowledge = cli
        .run(&[
            "api",
            &format!("chatbots/{id}/knowledge"),
            "-f",
            "type=file",
            "-f",
            "fileName=guide.pdf",
            "-F",
            "sizeBytes=2048",
        ])
        .ok()
        .json();
    assert_eq!(knowledge["data"]["knowledgeSource"]["sizeBytes"], 2048);

    // --input - sends standard input as the body.
    let mut child = cli
        .command(&["api", "-X", "PATCH", &format!("chatbots/{id}/settings"), "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(br#"{"general": {"responseLength": "short"}}"#).expect("write");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let settings: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(settings["data"]["settings"]["general"]["responseLength"], "short", "{settings}");

    // -H adds a header: the server logs the request id it was given.
    cli.run(&["api", "account", "-H", "X-Request-Id: cli-trace-42"]).ok();
    assert!(server.logs().contains("cli-trace-42"));

    // --paginate follows nextCursor and prints one array.
    for n in 0..4 {
        server.admin(&["create-chatbot", "--account-id", account, "--name", &format!("Bot {n}")]);
    }
    let all = cli.run(&["api", "chatbots?limit=2", "--paginate"]).ok().json();
    assert_eq!(all.as_array().map(Vec::len), Some(5), "{all}");
    let first = cli.run(&["api", "chatbots?limit=2"]).ok().json();
    assert_eq!(first["data"]["items"].as_array().map(Vec::len), Some(2));

    // The exit code follows the status; the body is still printed.
    let missing = cli.run(&["api", "chatbots/cb_does_not_exist"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.json()["error"]["code"], "NOT_FOUND");
    assert!(missing.stderr.starts_with("error:") && missing.stderr.contains("HTTP 404"), "{}", missing.stderr);
    let denied = cli.run(&["api", "tokens"]);
    assert_eq!(denied.code, 4, "{}", denied.stderr);
    assert_eq!(denied.json()["error"]["code"], "INSUFFICIENT_SCOPE");
    let unknown = cli.run(&["api", "-X", "POST", "chatbots", "--input", "-"]);
    assert_eq!(unknown.code, 1, "an empty body is refused: {}", unknown.stderr);

    // One-off tokens work as they do for every command, and are never printed.
    let mut env_cli = Cli::new(&server);
    env_cli.env.insert("SITEGPT_API_TOKEN".into(), token.clone());
    let run = env_cli.run(&["api", "account"]).ok();
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
}

#[test]
fn api_refuses_bad_arguments_with_usage_errors() {
    let server = Server::start();
    let (_, token) = server.user_with_token("api-usage@example.com", &["account:read"]);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    for (args, expected) in [
        (vec!["api", "chatbots", "-f", "name"], "-f takes key=value"),
        (vec!["api", "chatbots", "-H", "nocolon"], "Name: value"),
        (vec!["api", "-X", "POST", "chatbots", "--paginate"], "needs GET"),
        (vec!["api", &format!("{}/api/v2/account", server.base)], "give the path only"),
    ] {
        let run = cli.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    let help = cli.run(&["api", "--help"]).ok();
    assert!(help.stdout.contains("Examples:") && help.stdout.contains("--paginate"), "{}", help.stdout);
}

#[test]
fn jq_filters_json_output_in_process() {
    let server = Server::start();
    let (user, token) = server.user_with_token("jq@example.com", &["account:read", "chatbots:read", "tokens:read"]);
    let account = user["accountId"].as_str().expect("account");
    for name in ["Alpha", "Beta", "Gamma"] {
        server.admin(&["create-chatbot", "--account-id", account, "--name", name]);
    }
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();

    // Strings print as they are, one per line; --jq implies --json.
    let email = cli.run(&["whoami", "--jq", ".user.email"]).ok();
    assert_eq!(email.stdout, "jq@example.com\n");
    let names = cli.run(&["api", "chatbots?limit=2", "--paginate", "--jq", ".[].name"]).ok();
    let mut names: Vec<&str> = names.stdout.lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    let count = cli.run(&["api", "chatbots", "--jq", ".data.items | length"]).ok();
    assert_eq!(count.stdout.trim(), "3");
    let object = cli.run(&["tokens", "list", "--jq", "{count: (.items | length)}"]).ok().json();
    assert_eq!(object["count"], 1);

    // A mistake in the expression is a usage error before any request; a
    // failure while filtering is an error too.
    let invalid = cli.run(&["whoami", "--jq", ".["]);
    assert_eq!(invalid.code, 2);
    assert!(invalid.stderr.contains("not a valid jq expression"), "{}", invalid.stderr);
    let failed = cli.run(&["whoami", "--jq", ".role.name"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("--jq `.role.name` failed"), "{}", failed.stderr);
}
