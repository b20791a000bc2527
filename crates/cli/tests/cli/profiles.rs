//! Profiles, the environment overrides, and the config file.

use std::os::unix::fs::PermissionsExt;

use crate::fixture::{Cli, Server};

#[test]
fn profiles_switch_and_the_environment_overrides() {
    let server = Server::start();
    let (_, ada) = server.user_with_token("ada@example.com", &["account:read"]);
    let (_, bob) = server.user_with_token("bob@example.com", &["account:read"]);
    let (_, eve) = server.user_with_token("eve@example.com", &["account:read"]);
    let mut cli = Cli::new(&server);
    cli.run(&["login", "--token", &ada]).ok();
    cli.run(&["login", "--profile", "knowledge-agent", "--token", &bob]).ok();
    let email = |run: crate::fixture::Run| run.ok().json()["user"]["email"].as_str().expect("email").to_owned();
    assert_eq!(email(cli.run(&["whoami", "--json"])), "ada@example.com", "the first profile stays the default");
    assert_eq!(email(cli.run(&["--profile", "knowledge-agent", "whoami", "--json"])), "bob@example.com");
    cli.env.insert("SITEGPT_PROFILE".into(), "knowledge-agent".into());
    assert_eq!(email(cli.run(&["whoami", "--json"])), "bob@example.com");
    cli.env.insert("SITEGPT_API_TOKEN".into(), eve.clone());
    assert_eq!(email(cli.run(&["whoami", "--json"])), "eve@example.com", "the token override wins for one command");
    let config = std::fs::read_to_string(cli.config_file()).expect("config");
    assert!(!config.contains(&eve), "the override is never saved");
    let parsed: serde_json::Value = serde_json::from_str(&config).expect("json");
    assert_eq!(parsed["defaultProfile"], "default");
    assert_eq!(parsed["profiles"]["knowledge-agent"]["who"]["email"], "bob@example.com");
    assert_eq!(parsed["profiles"]["knowledge-agent"]["apiUrl"], server.base.as_str());
    assert!(parsed["profiles"]["default"]["tokenId"].as_str().expect("id").starts_with("tok_"));
    cli.env.remove("SITEGPT_API_TOKEN");
    cli.env.remove("SITEGPT_PROFILE");
    let unknown = cli.run(&["--profile", "nobody", "whoami"]);
    assert_eq!(unknown.code, 3);
    assert!(unknown.stderr.contains("sitegpt login --profile nobody"), "{}", unknown.stderr);
}

#[test]
fn a_profile_remembers_its_server() {
    let server = Server::start();
    let (_, token) = server.user_with_token("url@example.com", &["account:read"]);
    let mut cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    cli.env.remove("SITEGPT_API_URL");
    cli.run(&["whoami"]).ok();
    cli.env.insert("SITEGPT_API_URL".into(), "ftp://nowhere".into());
    assert_eq!(cli.run(&["whoami"]).code, 2);

    // A new profile takes the default profile's server, and says so.
    cli.env.remove("SITEGPT_API_URL");
    let (_, other) = server.user_with_token("second@example.com", &["account:read"]);
    let login = cli.run(&["login", "--profile", "second", "--token", &other]).ok();
    let expected = format!("Server: {} (from the default profile `default`)", server.base);
    assert!(login.stdout.contains(&expected), "{}", login.stdout);
    cli.run(&["--profile", "second", "whoami"]).ok();

    // The API path in --api-url is a mistake that says what to type.
    let with_path = cli.run(&["--api-url", &format!("{}/api/v2", server.base), "whoami"]);
    assert_eq!(with_path.code, 2);
    assert!(with_path.stderr.contains(&format!("use `--api-url {}`", server.base)), "{}", with_path.stderr);

    // https to a plain HTTP server says which scheme to use.
    let https = server.base.replacen("http://", "https://", 1);
    let wrong_scheme = cli.run(&["--api-url", &https, "whoami"]);
    assert_eq!(wrong_scheme.code, 1);
    let authority = server.base.trim_start_matches("http://");
    assert!(wrong_scheme.stderr.contains(&format!("use --api-url http://{authority}")), "{}", wrong_scheme.stderr);
}

#[test]
fn the_config_is_private_and_written_atomically() {
    let server = Server::start();
    let cli = Cli::new(&server);
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(server.user_with_token(&format!("p{i}@example.com"), &["account:read"]).1);
    }
    // Eight logins to eight profiles at once: every one of them is kept.
    let children: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            cli.command(&["login", "--profile", &format!("p{i}"), "--token", token])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let path = cli.config_file();
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("config")).expect("json");
    assert_eq!(parsed["profiles"].as_object().expect("profiles").len(), 8);
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_corrupted_config_is_reported_and_left_alone() {
    let server = Server::start();
    let (_, token) = server.user_with_token("broken@example.com", &["account:read"]);
    let cli = Cli::new(&server);
    let path = cli.config_file();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, "{ \"profiles\": oops").expect("write");
    for args in [vec!["whoami"], vec!["login", "--token", token.as_str()]] {
        let run = cli.run(&args);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains(&path.display().to_string()), "names the file: {}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(&path).expect("config"), "{ \"profiles\": oops", "never overwritten");
}

#[test]
fn logging_in_over_a_profile_says_what_became_of_its_token() {
    let server = Server::start();
    let (_, first) = server.user_with_token("over@example.com", &["account:read"]);
    let another = |name: &str| server.token("over@example.com", name, &["account:read"], &[]);
    let (second, third) = (another("second"), another("third"));
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &first]).ok();
    let works = |token: &str| {
        let mut one_off = Cli::new(&server);
        one_off.env.insert("SITEGPT_API_TOKEN".into(), token.to_owned());
        one_off.run(&["whoami"]).code
    };

    // A pasted token was not made by this CLI: it is kept, and the output says so.
    let replaced = cli.run(&["login", "--token", &second]).ok();
    assert!(
        replaced.stdout.contains("previous token") && replaced.stdout.contains("still works"),
        "{}",
        replaced.stdout
    );
    assert!(replaced.stdout.contains("sitegpt tokens revoke tok_"), "{}", replaced.stdout);
    assert_eq!(works(&first), 0);

    // --revoke-old revokes it.
    let revoked = cli.run(&["login", "--token", &third, "--revoke-old", "--json"]).ok().json();
    assert_eq!(revoked["previousToken"]["revoked"], true, "{revoked}");
    assert_eq!(works(&second), 3);
    assert_eq!(works(&third), 0);
    // The same token again replaces nothing.
    assert!(cli.run(&["login", "--token", &third, "--json"]).ok().json().get("previousToken").is_none());
}

#[test]
fn shells_complete_profile_names_from_the_config() {
    let server = Server::start();
    let (_, ada) = server.user_with_token("complete@example.com", &["account:read"]);
    let cli = Cli::new(&server);
    for profile in ["default", "knowledge-bot", "kitchen"] {
        cli.run(&["login", "--profile", profile, "--token", &ada]).ok();
    }
    let complete = |index: &str, words: &[&str]| {
        let mut args = vec!["--", "sitegpt"];
        args.extend_from_slice(words);
        let output = cli
            .command(&args)
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", index)
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "true")
            .env("_CLAP_IFS", "\n")
            .output()
            .expect("complete");
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(complete("2", &["--profile", "k"]), ["kitchen", "knowledge-bot"]);
    let switch = complete("3", &["auth", "switch", ""]);
    assert!(["default", "kitchen", "knowledge-bot"].iter().all(|p| switch.contains(&p.to_string())), "{switch:?}");
    // The shell's side: `source <(COMPLETE=bash sitegpt)`.
    let script = cli.command(&[]).env("COMPLETE", "bash").output().expect("script");
    assert!(String::from_utf8_lossy(&script.stdout).contains("_clap_complete_sitegpt"));
}
