//! Settings, conversations, members, integrations, billing and the account,
//! against the real server, human and `--json`.

use std::io::Write;
use std::process::Stdio;

use crate::fixture::{Cli, Server};

const SCOPES: &[&str] = &[
    "account:read",
    "account:write",
    "chatbots:read",
    "settings:read",
    "settings:write",
    "conversations:read",
    "conversations:write",
    "conversations:delete",
    "members:read",
    "members:write",
    "members:delete",
    "integrations:read",
    "integrations:write",
    "billing:read",
    "billing:write",
];

#[test]
fn settings_round_trip_and_conversations_get_replies() {
    let server = Server::start();
    let (user, token) = server.user_with_token("settings@example.com", SCOPES);
    let account = user["accountId"].as_str().expect("account");
    let chatbot = server.chatbot(account, "Support");
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();

    let set =
        cli.run(&["settings", "set", "--chatbot", &chatbot, "general.responseLength=short", "--json"]).ok().json();
    assert_eq!(set["settings"]["general"]["responseLength"], "short", "{set}");
    let got = cli.run(&["settings", "get", "--chatbot", &chatbot, "--json"]).ok().json();
    assert_eq!(got["settings"]["general"]["responseLength"], "short");
    let mut child = cli
        .command(&["settings", "set", "--chatbot", &chatbot, "--input", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(br#"{"general": {"responseLength": "long"}}"#).expect("write");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let after: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(after["settings"]["general"]["responseLength"], "long");
    assert!(cli.run(&["settings", "get", "--chatbot", &chatbot]).ok().stdout.contains("general"));
    let nothing = cli.run(&["settings", "set", "--chatbot", &chatbot]);
    assert_eq!(nothing.code, 2);
    assert!(nothing.stderr.contains("general.responseLength=short"), "{}", nothing.stderr);

    let conversation = server.conversation(account, &chatbot);
    let listed = cli.run(&["conversations", "list", "--chatbot", &chatbot]).ok();
    assert!(listed.stdout.contains(&conversation) && listed.stdout.contains("When do you open?"), "{}", listed.stdout);
    let open = cli.run(&["conversations", "list", "--chatbot", &chatbot, "--status", "open", "--json"]).ok().json();
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1));
    let closed =
        cli.run(&["conversations", "list", "--chatbot", &chatbot, "--status", "resolved", "--json"]).ok().json();
    assert_eq!(closed["items"].as_array().map(Vec::len), Some(0));
    let reply = cli
        .run(&["conversations", "reply", &conversation, "--chatbot", &chatbot, "--message", "We open at 9.", "--json"])
        .ok()
        .json();
    assert_eq!(reply["message"]["content"], "We open at 9.", "{reply}");
    let read = cli.run(&["conversations", "get", &conversation, "--chatbot", &chatbot, "--json"]).ok().json();
    assert_eq!(read["conversation"]["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(cli.run(&["conversations", "delete", &conversation, "--chatbot", &chatbot]).code, 2, "needs --yes");
    cli.run(&["conversations", "delete", &conversation, "--chatbot", &chatbot, "--yes"]).ok();
    assert_eq!(cli.run(&["conversations", "get", &conversation, "--chatbot", &chatbot]).code, 1);
}

#[test]
fn the_team_account_billing_members_and_integrations() {
    let server = Server::start();
    let (user, token) = server.user_with_token("team@example.com", SCOPES);
    let account = user["accountId"].as_str().expect("account");
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();

    let shown = cli.run(&["account", "show", "--json"]).ok().json();
    assert_eq!(shown["account"]["id"], account);
    let renamed = cli.run(&["account", "rename", "Acme Support", "--json"]).ok().json();
    assert_eq!(renamed["account"]["name"], "Acme Support", "{renamed}");
    assert!(cli.run(&["account", "show"]).ok().stdout.contains("Acme Support"));

    let billing = cli.run(&["billing", "show", "--json"]).ok().json();
    assert!(billing["billing"]["plan"].is_string(), "{billing}");
    let growth = cli.run(&["billing", "set-plan", "growth", "--json"]).ok().json();
    assert_eq!(growth["billing"]["plan"], "growth");
    let human = cli.run(&["billing", "show"]).ok();
    assert!(human.stdout.contains("plan") && human.stdout.contains("growth"), "{}", human.stdout);
    let leads = cli.run(&["members", "list", "--json"]).ok().json();
    assert!(leads["items"].as_array().is_some_and(|m| !m.is_empty()));

    let invited = cli.run(&["members", "invite", "new.member@example.com", "--role", "viewer", "--json"]).ok().json();
    assert_eq!(invited["invitation"]["email"], "new.member@example.com", "{invited}");
    let viewer = server.admin(&[
        "create-user",
        "--email",
        "viewer@example.com",
        "--password",
        "correct horse battery",
        "--verified",
        "--account-id",
        account,
        "--role",
        "viewer",
    ]);
    let viewer_id = viewer["userId"].as_str().expect("user").to_owned();
    let members = cli.run(&["members", "list"]).ok();
    assert!(members.stdout.contains("viewer@example.com") && members.stdout.contains("viewer"), "{}", members.stdout);
    let promoted = cli.run(&["members", "set-role", &viewer_id, "--role", "member", "--json"]).ok().json();
    assert_eq!(promoted["member"]["role"], "member");
    assert_eq!(cli.run(&["members", "remove", &viewer_id]).code, 2, "needs --yes");
    cli.run(&["members", "remove", &viewer_id, "--yes"]).ok();
    assert!(!cli.run(&["members", "list"]).ok().stdout.contains("viewer@example.com"));

    let created = cli
        .run(&[
            "integrations",
            "create",
            "--type",
            "slack",
            "--config",
            "channel=#support",
            "--secret",
            "botToken=xoxb-1",
            "--json",
        ])
        .ok()
        .json();
    let id = created["integration"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["integration"]["config"]["channel"], "#support");
    let listed = cli.run(&["integrations", "list"]).ok();
    assert!(listed.stdout.contains(&id) && listed.stdout.contains("botToken"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("xoxb-1"), "secrets are never shown");
    let updated = cli.run(&["integrations", "update", &id, "--config", "channel=#sales", "--json"]).ok().json();
    assert_eq!(updated["integration"]["config"]["channel"], "#sales");
}

#[test]
fn the_audit_log_lists_events_with_filters_human_and_json() {
    let server = Server::start();
    let (_, token) = server.user_with_token("audit@example.com", &["account:read", "tokens:read", "tokens:write"]);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let made = cli.run(&["tokens", "create", "--name", "nightly", "--scope", "account:read", "--json"]).ok().json();
    let id = made["token"]["id"].as_str().expect("id").to_owned();
    cli.run(&["tokens", "revoke", &id]).ok();

    let all = cli.run(&["audit", "list", "--json"]).ok().json();
    let actions: Vec<&str> =
        all["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().expect("a")).collect();
    // Newest first: the revocation, the CLI's creation, the fixture token made by `admin`.
    assert_eq!(actions, ["token.revoked", "token.created", "token.created"], "{all}");
    assert_eq!(all["items"][2]["actor"]["service"], "admin");
    assert_eq!(all["items"][1]["details"]["via"], "api");
    assert!(all["items"][0]["userAgent"].as_str().expect("agent").starts_with("sitegpt-cli/"), "{all}");

    let human = cli.run(&["audit", "list"]).ok().stdout;
    for text in ["WHEN (UTC)", "ACTION", "WHO", "token.revoked", "audit@example.com", &id, "admin"] {
        assert!(human.contains(text), "{text} in:\n{human}");
    }
    let revoked = cli.run(&["audit", "list", "--action", "token.revoked", "--json"]).ok().json();
    assert_eq!(revoked["items"].as_array().map(Vec::len), Some(1));
    let of_token = cli.run(&["audit", "list", "--token", &id, "--json"]).ok().json();
    assert_eq!(of_token["items"].as_array().map(Vec::len), Some(2));
    // Whole days, `--until`'s included, taken from the events (they may straddle midnight).
    let day = |e: &serde_json::Value| e["occurredAt"].as_str().expect("time")[..10].to_owned();
    let (first_day, last_day) = (day(&all["items"][2]), day(&all["items"][0]));
    let dated =
        cli.run(&["audit", "list", "--since", &first_day, "--until", &last_day, "--action", "token", "--json"]).ok();
    assert_eq!(dated.json()["items"].as_array().map(Vec::len), Some(3));
    let paged = cli.run(&["audit", "list", "--limit", "1"]).ok().stdout;
    assert!(paged.contains("More: --cursor"), "{paged}");
    let every = cli.run(&["audit", "list", "--limit", "1", "--all", "--json"]).ok().json();
    assert_eq!(every["items"].as_array().map(Vec::len), Some(3));

    let bad = cli.run(&["audit", "list", "--action", "token.exploded"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("action must be one of"), "{}", bad.stderr);
    let help = cli.run(&["audit", "list", "--help"]).ok().stdout;
    assert!(help.contains("Examples:") && help.contains("--action token.revoked"), "{help}");
}
