//! `sitegpt login` with the device flow, end to end: the CLI polls while a
//! person approves over the server's HTTP sign-in and approval forms.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fixture::{Cli, Server, tmux};

const PASSWORD: &str = "correct horse battery";

/// A person in a browser, reduced to forms and cookies.
struct Person {
    base: String,
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

impl Person {
    fn new(server: &Server) -> Person {
        Person {
            base: server.base.clone(),
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            cookies: BTreeMap::new(),
        }
    }

    fn remember(&mut self, response: &ureq::Response) {
        for header in response.all("set-cookie") {
            if let Some((name, value)) = header.split(';').next().and_then(|pair| pair.split_once('=')) {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> (u16, String) {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = self.agent.request(method, &format!("{}{path}", self.base)).set("Cookie", &cookie);
        let result = match form {
            Some(form) => request.send_form(form),
            None => request.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        self.remember(&response);
        let status = response.status();
        let mut body = String::new();
        response.into_reader().read_to_string(&mut body).expect("body");
        (status, body)
    }

    fn field(body: &str, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} in:\n{body}")) + marker.len();
        body[start..].split('"').next().expect("value").to_owned()
    }

    fn sign_in(&mut self, email: &str) {
        let (_, page) = self.request("GET", "/login", None);
        let csrf = Person::field(&page, "csrf");
        let (status, body) =
            self.request("POST", "/login", Some(&[("csrf", &csrf), ("email", email), ("password", PASSWORD)]));
        assert_eq!(status, 303, "{body}");
    }

    fn decide(&mut self, user_code: &str, decision: &str) {
        let (status, page) = self.request("GET", &format!("/device?user_code={user_code}"), None);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Allow SiteGPT CLI to access SiteGPT?"));
        let csrf = Person::field(&page, "csrf");
        let account_id = Person::field(&page, "account_id");
        let form =
            [("csrf", csrf.as_str()), ("user_code", user_code), ("account_id", &account_id), ("decision", decision)];
        let (status, body) = self.request("POST", "/device", Some(&form));
        assert_eq!(status, 200, "{body}");
    }
}

fn person_for(server: &Server, email: &str) -> Person {
    server.admin(&["create-user", "--email", email, "--password", PASSWORD, "--verified"]);
    let mut person = Person::new(server);
    person.sign_in(email);
    person
}

/// Starts `sitegpt login --json …` and returns it with the code it shows.
fn start_login(cli: &Cli, extra: &[&str]) -> (std::process::Child, String) {
    let mut args = vec!["login", "--no-browser", "--json"];
    args.extend_from_slice(extra);
    let mut child = cli.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn login");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first line");
    let shown: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    let code = shown["userCode"].as_str().expect("userCode").to_owned();
    assert!(shown["verificationUri"].as_str().expect("uri").ends_with("/device"));
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, code)
}

#[test]
fn device_login_approved_in_the_browser() {
    let server = Server::start();
    let mut person = person_for(&server, "dev@example.com");
    let cli = Cli::new(&server);
    let (child, code) = start_login(&cli, &["--scope", "account:read", "--scope", "tokens:read"]);
    person.decide(&code, "approve");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let data: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(data["user"]["email"], "dev@example.com");
    assert_eq!(data["token"]["scopes"], serde_json::json!(["account:read", "tokens:read"]));
    let tokens = cli.run(&["tokens", "list", "--json"]).ok().json();
    assert_eq!(tokens["items"][0]["createdVia"], "cli-device");
    assert_eq!(tokens["items"][0]["name"], "sitegpt CLI (default)");
}

#[test]
fn a_denied_login_exits_non_zero_and_saves_nothing() {
    let server = Server::start();
    let mut person = person_for(&server, "no@example.com");
    let cli = Cli::new(&server);
    let (child, code) = start_login(&cli, &[]);
    person.decide(&code, "deny");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(4));
    assert!(!cli.config_file().exists());
}

/// The user code as a person reads it off the screen.
fn code_on(screen: &str) -> Option<String> {
    screen.split_whitespace().find_map(|word| {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-');
        let shaped = word.len() == 9
            && word
                .chars()
                .enumerate()
                .all(|(i, c)| if i == 4 { c == '-' } else { "BCDFGHJKLMNPQRSTVWXZ".contains(c) });
        shaped.then(|| word.to_owned())
    })
}

#[test]
fn interactive_login_in_a_terminal() {
    let server = Server::start();
    let mut person = person_for(&server, "tty@example.com");
    let cli = Cli::new(&server);
    let socket = format!("sitegpt-test-{}", std::process::id());
    let command = format!(
        "env XDG_CONFIG_HOME='{}' SITEGPT_API_URL='{}' '{}' login --no-browser; echo EXIT=$?; sleep 60",
        cli.config.path().display(),
        server.base,
        crate::fixture::CLI
    );
    let started = tmux(&socket, &["new-session", "-d", "-s", "login", "-x", "160", "-y", "40", &command]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let screen = || String::from_utf8_lossy(&tmux(&socket, &["capture-pane", "-p", "-t", "login"]).stdout).into_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(code) = code_on(&screen()) {
            break code;
        }
        assert!(Instant::now() < deadline, "no code on screen:\n{}", screen());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(screen().contains("Waiting for approval"), "a spinner while polling:\n{}", screen());
    person.decide(&code, "approve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = screen();
        if text.contains("EXIT=") {
            assert!(text.contains("Logged in as tty@example.com"), "{text}");
            assert!(text.contains("EXIT=0"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "login did not finish:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
    tmux(&socket, &["kill-server"]);
}

#[test]
fn full_access_restricted_to_a_chatbot() {
    let server = Server::start();
    let owner = server.admin(&["create-user", "--email", "full@example.com", "--password", PASSWORD, "--verified"]);
    let chatbot = server.admin(&[
        "create-chatbot",
        "--account-id",
        owner["accountId"].as_str().expect("id"),
        "--name",
        "Support",
    ]);
    let chatbot_id = chatbot["chatbotId"].as_str().expect("chatbot").to_owned();
    let mut person = Person::new(&server);
    person.sign_in("full@example.com");
    let cli = Cli::new(&server);
    let (child, code) = start_login(&cli, &["--full-access", "--chatbot", &chatbot_id, "--profile", "full"]);
    person.decide(&code, "approve");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success());
    let data: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(data["token"]["scopes"].as_array().expect("scopes").len(), 37);
    assert_eq!(data["token"]["chatbotIds"], serde_json::json!([chatbot_id]));
    assert_eq!(data["profile"], "full");
}

#[test]
fn logging_in_again_revokes_the_previous_device_token() {
    let server = Server::start();
    let mut person = person_for(&server, "again@example.com");
    let cli = Cli::new(&server);
    let saved_token = || -> String {
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cli.config_file()).expect("config")).expect("json");
        config["profiles"]["default"]["token"].as_str().expect("token").to_owned()
    };
    let (child, code) = start_login(&cli, &[]);
    person.decide(&code, "approve");
    assert!(child.wait_with_output().expect("wait").status.success());
    let first = saved_token();

    let (child, code) = start_login(&cli, &[]);
    person.decide(&code, "approve");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(answer["previousToken"]["revoked"], true, "{answer}");
    assert_ne!(saved_token(), first);
    let mut old = Cli::new(&server);
    old.env.insert("SITEGPT_API_TOKEN".into(), first);
    assert_eq!(old.run(&["whoami"]).code, 3, "the previous device token no longer works");

    // --keep-old keeps it.
    let second = saved_token();
    let (child, code) = start_login(&cli, &["--keep-old"]);
    person.decide(&code, "approve");
    let answer: serde_json::Value =
        serde_json::from_slice(&child.wait_with_output().expect("wait").stdout).expect("json");
    assert_eq!(answer["previousToken"]["revoked"], false);
    let mut kept = Cli::new(&server);
    kept.env.insert("SITEGPT_API_TOKEN".into(), second);
    kept.run(&["whoami"]).ok();
}
