//! `sitegpt auth status|token|switch` with a working, a revoked and an
//! expired profile.

use serde_json::{Value, json};

use crate::fixture::{Cli, Server};

/// Adds a profile to the config as an older login would have left it.
fn add_profile(cli: &Cli, name: &str, api_url: &str, token: &str) {
    let path = cli.config_file();
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("config")).expect("json");
    config["profiles"][name] = json!({"apiUrl": api_url, "token": token});
    std::fs::write(&path, config.to_string()).expect("write config");
}

#[test]
fn auth_status_shows_every_profile_and_whether_its_token_works() {
    let server = Server::start();
    let scopes = ["account:read", "tokens:read", "tokens:write", "chatbots:read"];
    let (user, token) = server.user_with_token("status@example.com", &scopes);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();

    // A second profile whose token is then revoked, and one whose token expired.
    let revoked =
        cli.run(&["tokens", "create", "--name", "Soon revoked", "--scope", "account:read", "--json"]).ok().json();
    let revoked_token = revoked["plaintextToken"].as_str().expect("token").to_owned();
    cli.run(&["login", "--profile", "old-laptop", "--token", &revoked_token]).ok();
    cli.run(&["tokens", "revoke", revoked["token"]["id"].as_str().expect("id")]).ok();
    add_profile(&cli, "expired", &server.base, &server.expired_token(&user));

    let human = cli.run(&["auth", "status"]).ok();
    let out = &human.stdout;
    assert!(out.contains("default (selected)"), "{out}");
    assert!(out.contains("status@example.com (owner)"), "{out}");
    assert!(out.contains("Custom: account:read tokens:read tokens:write chatbots:read"), "{out}");
    assert!(out.contains("Chatbots   all") && out.contains("works"), "{out}");
    let old = &out[out.find("old-laptop").expect("old-laptop")..];
    assert!(old.contains("does not work") && old.contains("revoked"), "{old}");
    assert!(old.contains("Run `sitegpt login --profile old-laptop`"), "{old}");
    let expired = &out[out.find("expired").expect("expired")..];
    assert!(expired.contains("does not work") && expired.contains("expired"), "{expired}");
    assert!(!out.contains(&token) && !human.stderr.contains(&token), "status never prints tokens");

    let json = cli.run(&["auth", "status", "--json"]).ok().json();
    let by_name =
        |name: &str| json.as_array().expect("array").iter().find(|p| p["profile"] == name).cloned().expect(name);
    let default = by_name("default");
    assert_eq!((default["selected"].clone(), default["works"].clone()), (json!(true), json!(true)));
    assert_eq!(default["access"], "Custom");
    assert_eq!(default["role"], "owner");
    assert_eq!(default["account"]["id"], user["accountId"]);
    assert!(default["expiresAt"].is_string());
    assert_eq!(by_name("old-laptop")["works"], false);
    assert_eq!(by_name("old-laptop")["error"]["code"], "TOKEN_REVOKED");
    assert_eq!(by_name("expired")["error"]["code"], "TOKEN_EXPIRED");

    // The token, for piping; switching the default; a broken selection exits 1.
    assert_eq!(cli.run(&["auth", "token"]).ok().stdout.trim(), token);
    assert_eq!(cli.run(&["--profile", "old-laptop", "auth", "token"]).ok().stdout.trim(), revoked_token);
    let switched = cli.run(&["auth", "switch", "old-laptop"]).ok();
    assert!(switched.stdout.contains("The default profile is now old-laptop"), "{}", switched.stdout);
    let broken = cli.run(&["auth", "status"]);
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    assert!(broken.stdout.contains("old-laptop (selected)"), "{}", broken.stdout);
    assert!(broken.stderr.contains("sitegpt login --profile old-laptop"), "{}", broken.stderr);
    cli.run(&["auth", "switch", "default"]).ok();
    cli.run(&["auth", "status"]).ok();

    let unknown = cli.run(&["auth", "switch", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("default, expired, old-laptop"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("sitegpt login --profile nope"), "{}", unknown.stderr);
}

#[test]
fn auth_status_without_profiles_says_how_to_log_in() {
    let server = Server::start();
    let cli = Cli::new(&server);
    let run = cli.run(&["auth", "status"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("sitegpt login"), "{}", run.stderr);
    assert_eq!(cli.run(&["auth", "token"]).code, 3);
}
