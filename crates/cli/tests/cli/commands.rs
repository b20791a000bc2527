//! Every command, in human and `--json` modes.

use crate::fixture::{Cli, Server};

const MANAGE: &[&str] = &["account:read", "tokens:read", "tokens:write"];

#[test]
fn login_with_a_token_then_whoami() {
    let server = Server::start();
    let (user, token) = server.user_with_token("ada@example.com", MANAGE);
    let cli = Cli::new(&server);

    let before = cli.run(&["whoami"]);
    assert_eq!(before.code, 3);
    assert!(before.stderr.contains("Run `sitegpt login`"), "{}", before.stderr);
    let before = cli.run(&["whoami", "--json"]);
    assert_eq!(before.code, 3);
    assert_eq!(before.error_json()["error"]["code"], "NOT_LOGGED_IN");

    let login = cli.run(&["login", "--token", &token]).ok();
    assert!(login.stdout.contains("Logged in as ada@example.com (owner)"), "{}", login.stdout);
    assert!(!login.stdout.contains(&token) && !login.stderr.contains(&token), "the token is not printed");

    let human = cli.run(&["whoami"]).ok();
    assert!(human.stdout.contains("ada@example.com (owner)"));
    assert!(human.stdout.contains("expires in 90 days"), "{}", human.stdout);
    assert!(human.stdout.contains("account:read tokens:read tokens:write"));
    assert!(!human.stdout.contains('\x1b'), "no colours when not a terminal");
    let json = cli.run(&["whoami", "--json"]).ok().json();
    assert_eq!(json["user"]["email"], "ada@example.com");
    assert_eq!(json["user"]["id"], user["userId"]);
    assert_eq!(json["account"]["id"], user["accountId"]);
    assert_eq!(json["role"], "owner");

    let relogin = cli.run(&["login", "--token", &token, "--json"]).ok().json();
    assert_eq!(relogin["profile"], "default");
    assert!(relogin.get("plaintextToken").is_none());
}

#[test]
fn a_rejected_token_is_not_saved() {
    let server = Server::start();
    let cli = Cli::new(&server);
    let bad = cli.run(&["login", "--token", "sgpt_not_a_real_token"]);
    assert_eq!(bad.code, 3, "{}", bad.stderr);
    assert!(bad.stderr.contains("sitegpt login"));
    assert!(!cli.config_file().exists(), "nothing saved");
}

#[test]
fn tokens_list_create_rotate_revoke() {
    let server = Server::start();
    let (_, token) = server.user_with_token("tok@example.com", MANAGE);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let own_id = cli.run(&["whoami", "--json"]).ok().json()["token"]["id"].as_str().expect("id").to_owned();

    let created = cli
        .run(&["tokens", "create", "--name", "Docs agent", "--scope", "account:read", "--scope", "tokens:read"])
        .ok();
    assert!(created.stdout.contains("Created token Docs agent"), "{}", created.stdout);
    assert!(created.stdout.contains("will not be shown again"));
    let plaintext =
        created.stdout.split_whitespace().find(|w| w.starts_with("sgpt_")).expect("plaintext shown once").to_owned();
    // Creating does not switch the CLI to the new token.
    assert_eq!(cli.run(&["whoami", "--json"]).ok().json()["token"]["id"], own_id.as_str());

    let json = cli
        .run(&["tokens", "create", "--name", "ci", "--scope", "account:read", "--expires-in-days", "7", "--json"])
        .ok()
        .json();
    let ci_id = json["token"]["id"].as_str().expect("id").to_owned();
    assert!(json["plaintextToken"].as_str().expect("plaintext").starts_with("sgpt_"));
    let dated = cli
        .run(&["tokens", "create", "--name", "dated", "--scope", "account:read", "--expires-at", &tomorrow(), "--json"])
        .ok()
        .json();
    assert!(dated["token"]["expiresAt"].as_str().expect("expiresAt").ends_with("23:59:59Z"));

    let limited = cli
        .run(&[
            "tokens",
            "create",
            "--name",
            "office",
            "--scope",
            "account:read",
            "--allow-ip",
            "203.0.113.0/24",
            "--allow-ip",
            "2001:db8::/32",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(limited["token"]["allowedIps"], serde_json::json!(["203.0.113.0/24", "2001:db8::/32"]));
    let table = cli.run(&["tokens", "list"]).ok();
    assert!(table.stdout.contains("203.0.113.0/24 2001:db8::/32"), "{}", table.stdout);
    for header in ["ID", "NAME", "SCOPES", "LAST USED", "ALLOWED FROM", "EXPIRES", "STATUS"] {
        assert!(table.stdout.contains(header), "{}", table.stdout);
    }
    assert!(table.stdout.contains("Docs agent") && table.stdout.contains("in 7 days"), "{}", table.stdout);
    assert!(table.stdout.contains(&format!("{own_id} *")), "marks the profile's token");
    assert!(!table.stdout.contains("sgpt_"), "lists never show secrets");

    let rotated = cli.run(&["tokens", "rotate", &ci_id, "--json"]).ok().json();
    assert_eq!(rotated["token"]["id"], ci_id.as_str());
    let revoked = cli.run(&["tokens", "revoke", &ci_id]).ok();
    assert!(revoked.stdout.contains("Revoked token ci"), "{}", revoked.stdout);
    let listed = cli.run(&["tokens", "list", "--json"]).ok().json();
    assert!(listed["items"].as_array().expect("items").iter().all(|t| t["id"] != ci_id.as_str()));
    let with_revoked = cli.run(&["tokens", "list", "--include-revoked", "--json"]).ok().json();
    assert!(with_revoked["items"].as_array().expect("items").iter().any(|t| t["id"] == ci_id.as_str()));
    let revoked_json = cli.run(&["tokens", "revoke", &ci_id, "--json"]).ok().json();
    assert!(revoked_json["token"]["revokedAt"].is_string());

    // The created token works with SITEGPT_API_TOKEN for one command.
    let mut env_cli = Cli::new(&server);
    env_cli.env.insert("SITEGPT_API_TOKEN".into(), plaintext);
    assert_eq!(env_cli.run(&["whoami", "--json"]).ok().json()["token"]["name"], "Docs agent");
}

fn tomorrow() -> String {
    (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string()
}

#[test]
fn bad_arguments_fail_before_any_request() {
    let server = Server::start();
    let (_, token) = server.user_with_token("args@example.com", MANAGE);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let count = || cli.run(&["tokens", "list", "--json"]).ok().json()["items"].as_array().expect("items").len();
    let before = count();
    let unknown = cli.run(&["tokens", "create", "--name", "x", "--scope", "everything"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("unknown scope `everything`") && unknown.stderr.contains("knowledge:write"));
    let json = cli.run(&["tokens", "create", "--name", "x", "--scope", "everything", "--json"]);
    assert_eq!(json.error_json()["error"]["code"], "USAGE");
    for args in [
        vec!["--expires-in-days", "0"],
        vec!["--expires-in-days", "366"],
        vec!["--expires-in-days", "5", "--expires-at", "2030-01-01"],
        vec!["--expires-at", "2001-01-01"],
        vec!["--expires-at", "in a while"],
        vec!["--allow-ip", "10.0.0.0/33"],
        vec!["--allow-ip", "office"],
    ] {
        let mut full = vec!["tokens", "create", "--name", "x", "--scope", "account:read"];
        full.extend(args.iter());
        assert_eq!(cli.run(&full).code, 2, "{args:?}");
    }
    assert_eq!(cli.run(&["tokens", "create", "--name", "", "--scope", "account:read"]).code, 2);
    assert_eq!(cli.run(&["tokens", "create", "--scope", "account:read"]).code, 2, "--name is required");
    assert_eq!(cli.run(&["login", "--full-access", "--scope", "account:read"]).code, 2);
    assert_eq!(cli.run(&["login", "--scope", "nope"]).code, 2);
    assert_eq!(count(), before, "nothing was created");
}

#[test]
fn permission_and_scope_errors_say_what_is_missing() {
    let server = Server::start();
    let (_, token) = server.user_with_token("perm@example.com", &["account:read", "tokens:write"]);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let list = cli.run(&["tokens", "list"]);
    assert_eq!(list.code, 4);
    assert!(list.stderr.contains("lacks the `tokens:read` scope"), "{}", list.stderr);
    let unknown = cli.run(&["tokens", "revoke", "tok_doesnotexist"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.starts_with("error: there is no token `tok_doesnotexist`"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("Run `sitegpt tokens list`"), "{}", unknown.stderr);
    assert!(list.stderr.contains("`sitegpt login --profile tokens-reader --scope tokens:read`"), "{}", list.stderr);
    assert!(list.stderr.contains("`sitegpt login --full-access`"), "{}", list.stderr);

    // The advice for a missing write scope is a command that runs as printed
    // (here against an address where nothing listens: it gets as far as the
    // network, so its arguments are right).
    let (_, reader) = server.user_with_token("reader@example.com", &["account:read", "tokens:read"]);
    let reader_cli = Cli::new(&server);
    reader_cli.run(&["login", "--token", &reader]).ok();
    let create = reader_cli.run(&["tokens", "create", "--name", "x", "--scope", "account:read"]);
    assert_eq!(create.code, 4);
    let advice = create.stderr.split('`').find(|part| part.starts_with("sitegpt login --profile")).expect("advice");
    assert_eq!(advice, "sitegpt login --profile tokens-admin --scope tokens:read --scope tokens:write");
    let mut args: Vec<&str> = advice.split(' ').skip(1).collect();
    args.extend(["--no-browser", "--api-url", "http://127.0.0.1:1"]);
    let attempt = reader_cli.run(&args);
    assert_eq!(attempt.code, 1, "parsed, then failed on the network: {}", attempt.stderr);
    assert!(attempt.stderr.contains("could not reach"), "{}", attempt.stderr);
    let escalate = cli.run(&["tokens", "create", "--name", "x", "--scope", "billing:write", "--json"]);
    assert_eq!(escalate.code, 4);
    assert_eq!(escalate.error_json()["error"]["code"], "FORBIDDEN");
    assert!(escalate.error_json()["error"]["details"][0]["scope"] == "billing:write");
}

#[test]
fn logout_revokes_the_token_and_forgets_it() {
    let server = Server::start();
    let (_, token) = server.user_with_token("bye@example.com", MANAGE);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let out = cli.run(&["logout"]).ok();
    assert!(out.stdout.contains("its token was revoked"), "{}", out.stdout);
    assert!(!std::fs::read_to_string(cli.config_file()).expect("config").contains("sgpt_"));
    assert_eq!(cli.run(&["whoami"]).code, 3);
    let mut reuse = Cli::new(&server);
    reuse.env.insert("SITEGPT_API_TOKEN".into(), token);
    let rejected = reuse.run(&["whoami", "--json"]);
    assert_eq!(rejected.code, 3);
    assert_eq!(rejected.error_json()["error"]["code"], "TOKEN_REVOKED");
    assert_eq!(cli.run(&["logout"]).code, 2, "already logged out");
}

#[test]
fn an_unreachable_server_names_the_url() {
    let server = Server::start();
    let (_, token) = server.user_with_token("down@example.com", MANAGE);
    let mut cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    cli.env.insert("SITEGPT_API_URL".into(), "http://127.0.0.1:9".into());
    let down = cli.run(&["whoami"]);
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("http://127.0.0.1:9/api/v2/account"), "{}", down.stderr);
    let json = cli.run(&["tokens", "list", "--json"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.error_json()["error"]["code"], "NETWORK_ERROR");
    let logout = cli.run(&["logout"]);
    assert_eq!(logout.code, 1);
    assert!(logout.stderr.contains("--local"), "{}", logout.stderr);
    assert!(std::fs::read_to_string(cli.config_file()).expect("config").contains("sgpt_"), "the token is kept");
    cli.run(&["logout", "--local"]).ok();
}

#[test]
fn debug_logs_requests_without_the_token() {
    let server = Server::start();
    let (_, token) = server.user_with_token("dbg@example.com", MANAGE);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let run = cli.run(&["--debug", "whoami"]).ok();
    assert!(run.stderr.contains("GET") && run.stderr.contains("/api/v2/account"), "{}", run.stderr);
    assert!(run.stderr.contains("Authorization: Bearer <redacted>"));
    assert!(!run.stderr.contains(&token[5..]) && !run.stdout.contains(&token[5..]));
    assert!(!server.logs().contains(&token[5..40]), "nor in the server log");
}

#[test]
fn help_completions_and_version() {
    let server = Server::start();
    let cli = Cli::new(&server);
    for args in [
        vec!["--help"],
        vec!["login", "--help"],
        vec!["logout", "--help"],
        vec!["whoami", "--help"],
        vec!["tokens", "list", "--help"],
        vec!["tokens", "create", "--help"],
        vec!["tokens", "rotate", "--help"],
        vec!["tokens", "revoke", "--help"],
        vec!["completions", "--help"],
    ] {
        let help = cli.run(&args).ok();
        assert!(help.stdout.contains("Example"), "{args:?}:\n{}", help.stdout);
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = cli.run(&["completions", shell]).ok();
        assert!(script.stdout.contains("sitegpt") && script.stdout.contains("tokens"), "{shell}");
    }
    assert!(cli.run(&["--version"]).ok().stdout.starts_with("sitegpt "));
    assert_eq!(cli.run(&["frobnicate"]).code, 2);
}

#[test]
fn mistyped_scopes_get_a_suggestion_and_shells_complete_them() {
    let server = Server::start();
    let cli = Cli::new(&server);
    let mistyped = cli.run(&["login", "--no-browser", "--scope", "knowledge:raed"]);
    assert_eq!(mistyped.code, 2);
    assert!(mistyped.stderr.contains("did you mean `knowledge:read`?"), "{}", mistyped.stderr);
    for shell in ["bash", "zsh", "fish"] {
        // zsh escapes the colon in a value.
        let script = cli.run(&["completions", shell]).ok().stdout.replace("\\:", ":");
        for word in ["knowledge:write", "conversations:read", "chatbots", "knowledge", "auth"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}
