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
