//! Resource commands against the real server: chatbots and the chatbot
//! content families, human and `--json`, pages, the default chatbot of a
//! restricted profile, and deletes that ask first.

use crate::fixture::{Cli, Server, Terminal};

const CONTENT: &[&str] = &[
    "account:read",
    "chatbots:read",
    "chatbots:write",
    "chatbots:delete",
    "knowledge:read",
    "knowledge:write",
    "knowledge:delete",
    "personas:read",
    "personas:write",
    "instructions:read",
    "instructions:write",
    "starters:read",
    "starters:write",
    "followups:read",
    "followups:write",
    "leads:read",
    "leads:write",
];

#[test]
fn chatbots_are_listed_created_changed_and_deleted() {
    let server = Server::start();
    let (_, token) = server.user_with_token("bots@example.com", CONTENT);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();

    let created =
        cli.run(&["chatbots", "create", "--name", "Sales bot", "--description", "Pricing", "--json"]).ok().json();
    let id = created["chatbot"]["id"].as_str().expect("id").to_owned();
    let human = cli.run(&["chatbots", "create", "--name", "Docs bot"]).ok();
    assert!(human.stdout.contains("Docs bot") && human.stdout.contains("name"), "{}", human.stdout);

    let table = cli.run(&["chatbots", "list"]).ok();
    let header = table.stdout.lines().next().expect("header");
    assert!(header.starts_with("ID") && header.contains("NAME") && header.contains("DESCRIPTION"), "{header}");
    assert!(table.stdout.contains(&id) && table.stdout.contains("Sales bot") && table.stdout.contains("Pricing"));
    let first = cli.run(&["chatbots", "list", "--limit", "1", "--json"]).ok().json();
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let cursor = first["nextCursor"].as_str().expect("a second page").to_owned();
    let second = cli.run(&["chatbots", "list", "--limit", "1", "--cursor", &cursor, "--json"]).ok().json();
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
    let all = cli.run(&["chatbots", "list", "--limit", "1", "--all", "--json"]).ok().json();
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    assert!(cli.run(&["chatbots", "list", "--limit", "1"]).ok().stdout.contains("More: --cursor"));

    let updated = cli.run(&["chatbots", "update", &id, "--name", "Sales", "--json"]).ok().json();
    assert_eq!(updated["chatbot"]["name"], "Sales");
    assert_eq!(cli.run(&["chatbots", "get", &id, "--json"]).ok().json()["chatbot"]["description"], "Pricing");
    let nothing = cli.run(&["chatbots", "update", &id]);
    assert_eq!(nothing.code, 2);

    // Without a terminal, a delete needs --yes.
    let refused = cli.run(&["chatbots", "delete", &id]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("add --yes"), "{}", refused.stderr);
    cli.run(&["chatbots", "get", &id]).ok();
    cli.run(&["chatbots", "delete", &id, "--yes"]).ok();
    let gone = cli.run(&["chatbots", "get", &id]);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("Not found"), "{}", gone.stderr);
}

#[test]
fn content_families_take_their_own_fields() {
    let server = Server::start();
    let (user, token) = server.user_with_token("content@example.com", CONTENT);
    let account = user["accountId"].as_str().expect("account");
    let chatbot = server.chatbot(account, "Support");
    server.admin(&["create-chatbot", "--account-id", account, "--name", "Other"]);
    let cli = Cli::new(&server);
    cli.run(&["login", "--token", &token]).ok();
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--chatbot", chatbot.as_str()]);
        all.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let run = |args: Vec<String>| cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // Knowledge from each source.
    let text = run(with(&["knowledge", "add", "--text", "We open 9 to 5.", "--json"])).ok().json();
    assert_eq!(text["knowledgeSource"]["type"], "text");
    let url = run(with(&["knowledge", "add", "--url", "https://example.com/pricing", "--json"])).ok().json();
    assert_eq!(url["knowledgeSource"]["url"], "https://example.com/pricing");
    let file = cli.config.path().join("guide.pdf");
    std::fs::write(&file, vec![0u8; 1234]).expect("file");
    let path = file.to_string_lossy().into_owned();
    let from_file = run(with(&["knowledge", "add", "--file", &path, "--json"])).ok().json();
    assert_eq!(from_file["knowledgeSource"]["fileName"], "guide.pdf");
    assert_eq!(from_file["knowledgeSource"]["sizeBytes"], 1234);
    let id = url["knowledgeSource"]["id"].as_str().expect("id").to_owned();
    let ready = run(with(&["knowledge", "update", &id, "--status", "ready", "--json"])).ok().json();
    assert_eq!(ready["knowledgeSource"]["status"], "ready");
    let listed = run(with(&["knowledge", "list"])).ok();
    assert!(listed.stdout.lines().next().expect("header").contains("SOURCE"), "{}", listed.stdout);
    assert!(listed.stdout.contains("url https://example.com/pricing [ready]"), "{}", listed.stdout);
    assert!(listed.stdout.contains("file guide.pdf"), "{}", listed.stdout);
    assert_eq!(run(with(&["knowledge", "get", &id, "--json"])).ok().json()["knowledgeSource"]["id"], id.as_str());
    let two = run(with(&["knowledge", "add", "--text", "x", "--url", "https://example.com"]));
    assert_eq!(two.code, 2);
    assert!(two.stderr.contains("one source"), "{}", two.stderr);
    run(with(&["knowledge", "delete", &id, "--yes"])).ok();
    assert_eq!(run(with(&["knowledge", "list", "--json"])).ok().json()["items"].as_array().map(Vec::len), Some(2));

    // The other families.
    let persona = run(with(&["personas", "add", "--name", "Formal", "--prompt", "Be precise.", "--json"])).ok().json();
    assert_eq!(persona["persona"]["name"], "Formal");
    run(with(&["instructions", "add", "--text", "Answer in English."])).ok();
    run(with(&["starters", "add", "--text", "What does it cost?"])).ok();
    run(with(&["followups", "add", "--text", "Anything else?"])).ok();
    run(with(&["leads", "add", "--name", "Ada", "--email", "ada@example.com"])).ok();
    assert!(run(with(&["instructions", "list"])).ok().stdout.contains("Answer in English."));
    assert!(run(with(&["starters", "list"])).ok().stdout.contains("What does it cost?"));
    assert!(run(with(&["followups", "list"])).ok().stdout.contains("Anything else?"));
    assert!(run(with(&["leads", "list"])).ok().stdout.contains("Ada <ada@example.com>"));
    assert!(run(with(&["personas", "list"])).ok().stdout.contains("Formal: Be precise."));
    let wrong = run(with(&["starters", "add", "--url", "https://example.com"]));
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("starters does not take --url; it takes --text"), "{}", wrong.stderr);

    // Without --chatbot, an unrestricted token is asked which, with the choices.
    let which = cli.run(&["knowledge", "list"]);
    assert_eq!(which.code, 2);
    assert!(
        which.stderr.contains("Pass --chatbot ID")
            && which.stderr.contains("Support")
            && which.stderr.contains("Other")
    );

    // A profile restricted to one chatbot needs no --chatbot.
    let restricted = server.token(
        "content@example.com",
        "knowledge-bot",
        &["account:read", "knowledge:read", "knowledge:write"],
        &[&chatbot],
    );
    cli.run(&["login", "--profile", "knowledge-bot", "--token", &restricted]).ok();
    let own = cli.run(&["--profile", "knowledge-bot", "knowledge", "list", "--json"]).ok().json();
    assert_eq!(own["items"].as_array().map(Vec::len), Some(2));
    cli.run(&["--profile", "knowledge-bot", "knowledge", "add", "--text", "Restricted and fine."]).ok();
}

#[test]
fn a_delete_on_a_terminal_asks_first() {
    let server = Server::start();
    let (user, token) = server.user_with_token("ask@example.com", CONTENT);
    let account = user["accountId"].as_str().expect("account");
    let chatbot = server.chatbot(account, "Keep me");
    let cli = Cli::new(&server);
    let command = |tag: &str| {
        format!(
            "env XDG_CONFIG_HOME='{}' SITEGPT_API_URL='{}' SITEGPT_API_TOKEN='{token}' '{}' chatbots delete {chatbot}; \
             echo EXIT-{tag}=$?; sleep 60",
            cli.config.path().display(),
            server.base,
            crate::fixture::CLI
        )
    };
    let declined = Terminal::start("decline", &command("declined"));
    declined.wait_for("Type yes to confirm");
    declined.type_line("no");
    assert!(declined.wait_for("EXIT-declined=").contains("EXIT-declined=2"), "{}", declined.screen());
    let mut check = Cli::new(&server);
    check.env.insert("SITEGPT_API_TOKEN".into(), token.clone());
    check.run(&["chatbots", "get", &chatbot]).ok();

    let confirmed = Terminal::start("confirm", &command("confirmed"));
    assert!(confirmed.wait_for("Type yes to confirm").contains(&format!("Delete chatbot {chatbot}")));
    confirmed.type_line("yes");
    assert!(confirmed.wait_for("EXIT-confirmed=").contains("EXIT-confirmed=0"), "{}", confirmed.screen());
    assert_eq!(check.run(&["chatbots", "get", &chatbot]).code, 1, "deleted");
}

#[test]
fn all_pages_show_progress_on_a_terminal() {
    let server = Server::start();
    let (user, token) = server.user_with_token("progress@example.com", CONTENT);
    let account = user["accountId"].as_str().expect("account");
    for name in ["One", "Two", "Three"] {
        server.admin(&["create-chatbot", "--account-id", account, "--name", name]);
    }
    let cli = Cli::new(&server);
    let command = format!(
        "env XDG_CONFIG_HOME='{}' SITEGPT_API_URL='{}' SITEGPT_API_TOKEN='{token}' '{}' chatbots list --limit 1 --all; \
         echo EXIT=$?; sleep 60",
        cli.config.path().display(),
        server.base,
        crate::fixture::CLI
    );
    let terminal = Terminal::start("progress", &command);
    let screen = terminal.wait_for("EXIT=");
    assert!(screen.contains("Fetched 3 items…"), "{screen}");
    assert!(screen.contains("EXIT=0") && screen.contains("Three"), "{screen}");
    // Without a terminal there is no progress line.
    let mut piped = Cli::new(&server);
    piped.env.insert("SITEGPT_API_TOKEN".into(), token);
    let run = piped.run(&["chatbots", "list", "--limit", "1", "--all"]).ok();
    assert!(!run.stderr.contains("Fetched"), "{}", run.stderr);
}

#[test]
fn a_one_off_restricted_token_needs_no_chatbot_either() {
    let server = Server::start();
    let (user, _) = server.user_with_token("oneoff@example.com", &["account:read"]);
    let account = user["accountId"].as_str().expect("account");
    let chatbot = server.chatbot(account, "Only");
    server.admin(&["create-chatbot", "--account-id", account, "--name", "Other"]);
    let token = server.token(
        "oneoff@example.com",
        "one-off",
        &["account:read", "knowledge:read", "knowledge:write"],
        &[&chatbot],
    );
    let mut cli = Cli::new(&server);
    cli.env.insert("SITEGPT_API_TOKEN".into(), token);
    let added = cli.run(&["knowledge", "add", "--text", "From CI.", "--json"]).ok().json();
    assert_eq!(added["knowledgeSource"]["chatbotId"], chatbot.as_str());
}
