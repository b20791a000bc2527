//! What each command does.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use serde_json::json;
use sitegpt_access::{AccessLevel, Scope};
use sitegpt_api_types::{AccountInfo, CreateTokenRequest, IssuedToken, Token};
use sitegpt_client::{Client, Poll};

use crate::config::{Config, Profile};
use crate::context::Context;
use crate::error::{CliError, exit};
use crate::output::{Output, relative, table};
use crate::spinner::Spinner;
use crate::{Cli, Command, CreateArgs, LoginArgs, LogoutArgs, TokensCommand};
use crate::{resources, team};

pub fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    let mut ctx = Context::new(&cli, out)?;
    match cli.command {
        Command::Login(args) => login(&mut ctx, args),
        Command::Logout(args) => logout(&mut ctx, args),
        Command::Whoami => whoami(&ctx),
        Command::Tokens(TokensCommand::List { include_revoked }) => list(&ctx, include_revoked),
        Command::Tokens(TokensCommand::Create(args)) => create(&ctx, args),
        Command::Tokens(TokensCommand::Rotate { id }) => rotate(&ctx, &id),
        Command::Tokens(TokensCommand::Revoke { id }) => revoke(&ctx, &id),
        Command::Chatbots(command) => resources::chatbots(&ctx, command),
        Command::Knowledge(command) => resources::items(&ctx, resources::KNOWLEDGE, command),
        Command::Personas(command) => resources::items(&ctx, resources::PERSONAS, command),
        Command::Instructions(command) => resources::items(&ctx, resources::INSTRUCTIONS, command),
        Command::Starters(command) => resources::items(&ctx, resources::STARTERS, command),
        Command::Followups(command) => resources::items(&ctx, resources::FOLLOWUPS, command),
        Command::Leads(command) => resources::items(&ctx, resources::LEADS, command),
        Command::Settings(command) => team::settings(&ctx, command),
        Command::Conversations(command) => team::conversations(&ctx, command),
        Command::Members(command) => team::members(&ctx, command),
        Command::Audit(command) => team::audit(&ctx, command),
        Command::Integrations(command) => team::integrations(&ctx, command),
        Command::Billing(command) => team::billing(&ctx, command),
        Command::Account(command) => team::account(&ctx, command),
        Command::Auth(command) => crate::auth::run(&mut ctx, command),
        Command::Api(args) => crate::api::run(&ctx.authed()?, ctx.out, &args, |e| ctx.fail(e)),
        Command::Completions { .. } => Ok(()),
    }
}

fn catalog() -> String {
    Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Edits (insert, delete, replace) between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The scope a mistyped name most likely meant, if one is close.
fn closest_scope(name: &str) -> Option<Scope> {
    let name = name.trim().to_ascii_lowercase();
    Scope::ALL
        .iter()
        .copied()
        .map(|s| (distance(&name, s.as_str()), s))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

/// Checks scope names against the catalog before any request.
fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, CliError> {
    names
        .iter()
        .map(|name| {
            name.parse::<Scope>().map_err(|_| match closest_scope(name) {
                Some(scope) => CliError::Usage(format!("unknown scope `{name}`; did you mean `{scope}`?")),
                None => CliError::Usage(format!("unknown scope `{name}`. Valid scopes: {}", catalog())),
            })
        })
        .collect()
}

/// What became of the token a profile had before a new login.
fn replace_previous(ctx: &Context, previous: Option<Profile>, new_token: &str, args: &LoginArgs) -> Option<Value> {
    let previous = previous?;
    let old = previous.token.filter(|old| old != new_token)?;
    let revoke = args.revoke_old || (previous.device_login && !args.keep_old);
    let revoked = revoke && Client::new(&previous.api_url).with_debug(ctx.debug).revoke(&old).is_ok();
    let id = previous.token_id.unwrap_or_default();
    if !ctx.out.json {
        if revoked {
            println!("  The profile's previous token [{id}] was revoked.");
        } else if revoke {
            println!(
                "  The profile's previous token [{id}] could not be revoked; revoke it with `sitegpt tokens revoke {id}`."
            );
        } else {
            println!(
                "  The profile's previous token [{id}] still works until it expires. Revoke it with \
                 `sitegpt tokens revoke {id}`, or log in with --revoke-old next time."
            );
        }
    }
    Some(json!({"id": id, "revoked": revoked}))
}

fn login(ctx: &mut Context, args: LoginArgs) -> Result<(), CliError> {
    let out = ctx.out;
    let previous = ctx.config.profiles.get(&ctx.profile).cloned();
    let device = args.token.is_none();
    let (token, info) = match &args.token {
        Some(token) => {
            let token = token.trim().to_owned();
            let info = ctx.client().with_token(&token).account().map_err(|e| ctx.fail(e))?;
            (token, info)
        }
        None => device_login(ctx, &args)?,
    };
    ctx.save_login(token.clone(), &info, device)?;
    if out.json {
        let mut data = serde_json::to_value(&info).expect("serializable");
        data["profile"] = json!(ctx.profile);
        if let Some(previous) = replace_previous(ctx, previous, &token, &args) {
            data["previousToken"] = previous;
        }
        if args.show_token {
            data["plaintextToken"] = json!(token);
        }
        out.json(&data)?;
    } else {
        println!(
            "{} Logged in as {} ({}) in {}; saved to profile `{}`.",
            out.green("✓"),
            out.bold(&info.user.email),
            info.role.as_str(),
            info.account.name,
            ctx.profile
        );
        println!("  Server: {} (from {})", ctx.api_url, ctx.api_url_source);
        replace_previous(ctx, previous, &token, &args);
        if args.show_token {
            println!("Token: {token}");
        }
    }
    Ok(())
}

fn device_login(ctx: &Context, args: &LoginArgs) -> Result<(String, AccountInfo), CliError> {
    let out = ctx.out;
    let scope = if args.full_access {
        Some(AccessLevel::Full.scopes().to_space_separated())
    } else if args.scopes.is_empty() {
        None
    } else {
        Some(parse_scopes(&args.scopes)?.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
    };
    let client = ctx.client();
    let token_name = format!("sitegpt CLI ({})", ctx.profile);
    let device =
        client.start_device_login(scope.as_deref(), &args.chatbots, Some(&token_name)).map_err(|e| ctx.fail(e))?;
    if out.json {
        eprintln!(
            "{}",
            json!({
                "verificationUri": device.verification_uri,
                "verificationUriComplete": device.verification_uri_complete,
                "userCode": device.user_code,
                "expiresIn": device.expires_in,
            })
        );
    } else {
        eprintln!("To log in, open this page in a browser:\n\n    {}\n", device.verification_uri_complete);
        eprintln!("and check that it shows the code  {}\n", out.bold(&device.user_code));
        eprintln!("(or open {} and enter the code)\n", device.verification_uri);
    }
    if !args.no_browser {
        open_browser(&device.verification_uri_complete);
    }
    let deadline = Instant::now() + Duration::from_secs(u64::try_from(device.expires_in).unwrap_or(600));
    let mut interval = device.interval.max(1);
    let spinner = Spinner::start("Waiting for approval in the browser… (Ctrl-C to cancel)", !out.json);
    let token = loop {
        std::thread::sleep(Duration::from_secs(u64::try_from(interval).unwrap_or(5)));
        match client.poll_device_login(&device.device_code).map_err(|e| ctx.fail(e))? {
            Poll::Token(token) => break token,
            Poll::Pending => {}
            // RFC 8628 §3.5: without a new interval, add the standard step.
            Poll::SlowDown { interval: next } => {
                interval = next.unwrap_or(interval + sitegpt_access::device::SLOW_DOWN_STEP_SECS)
            }
            Poll::Denied => {
                spinner.stop();
                return Err(CliError::Device {
                    message: "the login was denied in the browser. Nothing was saved.".into(),
                    code: "ACCESS_DENIED".into(),
                    exit: exit::PERMISSION,
                });
            }
            Poll::Expired => break expired(spinner)?,
        }
        if Instant::now() > deadline {
            break expired(spinner)?;
        }
    };
    let info = client.clone().with_token(&token.access_token).account().map_err(|e| ctx.fail(e))?;
    Ok((token.access_token, info))
}

fn expired(spinner: Spinner) -> Result<sitegpt_api_types::OAuthTokenResponse, CliError> {
    spinner.stop();
    Err(CliError::Device {
        message: "the code expired before it was approved. Run `sitegpt login` again.".into(),
        code: "EXPIRED_TOKEN".into(),
        exit: exit::API,
    })
}

/// Opens `url` in the default browser when there is a display to show it on.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        "xdg-open"
    } else {
        return;
    };
    let _ = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

fn logout(ctx: &mut Context, args: LogoutArgs) -> Result<(), CliError> {
    let out = ctx.out;
    let profile_name = ctx.profile.clone();
    let Some(profile) = ctx.config.profiles.get(&profile_name).cloned() else {
        return Err(CliError::Usage(format!("there is no profile `{profile_name}` to log out of")));
    };
    let Some(token) = profile.token.clone() else {
        return Err(CliError::Usage(format!("profile `{profile_name}` is already logged out")));
    };
    if !args.local {
        ctx.client().revoke(&token).map_err(|e| match ctx.fail(e) {
            CliError::Client { message, code, exit, details } => CliError::Client {
                message: format!("{message} The token is still saved; retry, or use `sitegpt logout --local`."),
                code,
                exit,
                details,
            },
            other => other,
        })?;
    }
    let name = profile_name.clone();
    let api_url = profile.api_url.clone();
    ctx.config = Config::update(&ctx.config_path, |config| {
        config.profiles.insert(name, Profile { api_url, ..Profile::default() });
    })?;
    if out.json {
        out.json(&json!({"profile": profile_name, "tokenId": profile.token_id, "revoked": !args.local}))?;
    } else if args.local {
        println!("Forgot the token of profile `{profile_name}` (it was not revoked on the server).");
    } else {
        println!("{} Logged out of profile `{profile_name}`; its token was revoked.", out.green("✓"));
    }
    Ok(())
}

fn whoami(ctx: &Context) -> Result<(), CliError> {
    let out = ctx.out;
    let info = ctx.authed()?.account().map_err(|e| ctx.fail(e))?;
    if out.json {
        out.json(&info)?;
        return Ok(());
    }
    let now = Utc::now();
    let verified =
        if info.user.email_verified { String::new() } else { format!(" {}", out.yellow("(e-mail not verified)")) };
    println!("{} ({}){verified}", out.bold(&info.user.email), info.role.as_str());
    let rows = [
        ("Account", format!("{} {}", info.account.name, out.dim(&format!("[{}]", info.account.id)))),
        ("Subscription", info.account.subscription_status.as_str().to_owned()),
        (
            "Token",
            format!(
                "{} {}, expires {}",
                info.token.name,
                out.dim(&format!("[{}]", info.token.id)),
                relative(info.token.expires_at, now)
            ),
        ),
        ("Scopes", info.token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        ("Chatbots", if info.token.chatbot_ids.is_empty() { "all".into() } else { info.token.chatbot_ids.join(", ") }),
        ("Profile", format!("{} → {}", ctx.profile, ctx.api_url)),
    ];
    for (label, value) in rows {
        println!("  {}  {value}", out.dim(&format!("{label:<12}")));
    }
    Ok(())
}

fn status(out: &Output, token: &Token, now: DateTime<Utc>) -> String {
    if token.revoked_at.is_some() {
        out.red("revoked")
    } else if token.expires_at <= now {
        out.red("expired")
    } else if token.expires_at - now < chrono::Duration::days(7) {
        out.yellow("expiring")
    } else {
        out.green("active")
    }
}

fn list(ctx: &Context, include_revoked: bool) -> Result<(), CliError> {
    let out = ctx.out;
    let client = ctx.authed()?;
    let tokens = client.all_tokens(include_revoked).map_err(|e| ctx.fail(e))?;
    if out.json {
        out.json(&json!({"items": tokens, "nextCursor": null}))?;
        return Ok(());
    }
    if tokens.is_empty() {
        println!("No tokens. Create one with `sitegpt tokens create --name <name> --scope <scope>`.");
        return Ok(());
    }
    let now = Utc::now();
    let current = ctx.config.profiles.get(&ctx.profile).and_then(|p| p.token_id.clone());
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let scopes = match t.scopes.len() {
                0..=2 => t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
                n => format!("{n} scopes"),
            };
            let marker = if current.as_deref() == Some(t.id.as_str()) { " *" } else { "" };
            vec![
                format!("{}{marker}", t.id),
                t.name.clone(),
                scopes,
                if t.chatbot_ids.is_empty() { "all".into() } else { t.chatbot_ids.len().to_string() },
                match (t.last_used_at, &t.last_used_ip) {
                    (None, _) => "never".into(),
                    (Some(at), Some(ip)) => format!("{} from {ip}", relative(at, now)),
                    (Some(at), None) => relative(at, now),
                },
                if t.allowed_ips.is_empty() { "any".into() } else { t.allowed_ips.join(" ") },
                if t.expires_at <= now { "expired".into() } else { relative(t.expires_at, now) },
                status(&out, t, now),
            ]
        })
        .collect();
    table(&out, &["ID", "NAME", "SCOPES", "CHATBOTS", "LAST USED", "ALLOWED FROM", "EXPIRES", "STATUS"], &rows);
    if current.is_some() {
        println!("{}", out.dim("* the token this profile uses"));
    }
    Ok(())
}

/// `2027-01-31` (end of that day, UTC) or an RFC 3339 instant.
fn parse_expires_at(value: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|dt| dt.and_utc())
        .ok_or_else(|| {
            CliError::Usage(format!("--expires-at `{value}` is not a date like 2027-01-31 or 2027-01-31T12:00:00Z"))
        })
}

fn create(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    let name_len = args.name.chars().count();
    if name_len == 0 || args.name.trim().is_empty() || name_len > 120 {
        return Err(CliError::Usage("--name must be 1–120 characters".into()));
    }
    let scopes = parse_scopes(&args.scopes)?;
    if let Some(days) = args.expires_in_days
        && !(1..=365).contains(&days)
    {
        return Err(CliError::Usage(format!("--expires-in-days must be between 1 and 365 (got {days})")));
    }
    let expires_at = args.expires_at.as_deref().map(parse_expires_at).transpose()?;
    if let Some(at) = expires_at {
        let now = Utc::now();
        if at <= now {
            return Err(CliError::Usage("--expires-at must be in the future".into()));
        }
        if at > now + chrono::Duration::days(365) {
            return Err(CliError::Usage("--expires-at must be at most 365 days away".into()));
        }
    }
    if let Err(why) = sitegpt_access::net::IpAllowlist::parse(&args.allowed_ips) {
        return Err(CliError::Usage(format!("--allow-ip: {why}")));
    }
    let request = CreateTokenRequest {
        name: args.name,
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        chatbot_ids: (!args.chatbots.is_empty()).then_some(args.chatbots),
        expires_in_days: args.expires_in_days,
        expires_at,
        allowed_ips: (!args.allowed_ips.is_empty()).then_some(args.allowed_ips),
    };
    let issued = ctx.authed()?.create_token(&request).map_err(|e| ctx.fail(e))?;
    show_issued(ctx, &issued, "Created")
}

fn show_issued(ctx: &Context, issued: &IssuedToken, verb: &str) -> Result<(), CliError> {
    let out = ctx.out;
    if out.json {
        return out.json(issued);
    }
    let token = &issued.token;
    println!("{} {verb} token {} {}.", out.green("✓"), out.bold(&token.name), out.dim(&format!("[{}]", token.id)));
    println!("Copy it now; it will not be shown again:\n\n    {}\n", issued.plaintext_token);
    println!(
        "Expires {}. The CLI keeps using its current token; to use this one run `sitegpt login --token <token>` \
         or set SITEGPT_API_TOKEN for one command.",
        relative(token.expires_at, Utc::now())
    );
    if !token.allowed_ips.is_empty() {
        println!("It works only from {}.", token.allowed_ips.join(", "));
    }
    Ok(())
}

/// A token command's error; an unknown id says where the ids are.
fn token_error(ctx: &Context, e: sitegpt_client::ClientError, id: &str) -> CliError {
    match ctx.fail(e) {
        CliError::Client { code, exit, details, .. } if code == "NOT_FOUND" => CliError::Client {
            message: format!(
                "there is no token `{id}` that this profile can see. Run `sitegpt tokens list` for the ids \
                 (`--include-revoked` shows revoked ones too)."
            ),
            code,
            exit,
            details,
        },
        other => other,
    }
}

fn rotate(ctx: &Context, id: &str) -> Result<(), CliError> {
    let issued = ctx.authed()?.rotate_token(id).map_err(|e| token_error(ctx, e, id))?;
    show_issued(ctx, &issued, "Rotated")?;
    if !ctx.out.json && ctx.config.profiles.get(&ctx.profile).and_then(|p| p.token_id.as_deref()) == Some(id) {
        println!(
            "This was the profile's own token: its old secret no longer works. Run `sitegpt login --token <new token>`."
        );
    }
    Ok(())
}

fn revoke(ctx: &Context, id: &str) -> Result<(), CliError> {
    let token = ctx.authed()?.revoke_token(id).map_err(|e| token_error(ctx, e, id))?;
    if ctx.out.json {
        ctx.out.json(&json!({"token": token}))?;
        return Ok(());
    }
    println!(
        "{} Revoked token {} {}.",
        ctx.out.green("✓"),
        ctx.out.bold(&token.name),
        ctx.out.dim(&format!("[{}]", token.id))
    );
    if ctx.config.profiles.get(&ctx.profile).and_then(|p| p.token_id.as_deref()) == Some(id) {
        println!("That was the token of profile `{}`; run `sitegpt login` to get a new one.", ctx.profile);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_against_the_catalog() {
        assert!(parse_scopes(&["account:read".into()]).is_ok());
        let error = parse_scopes(&["account:read".into(), "everything".into()]).expect_err("unknown");
        assert!(error.to_string().contains("knowledge:write"), "lists valid scopes");
        assert_eq!(error.exit_code(), exit::USAGE);
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(parse_expires_at("2027-01-31").expect("date").to_rfc3339(), "2027-01-31T23:59:59+00:00");
        assert!(parse_expires_at("2027-01-31T12:00:00Z").is_ok());
        assert!(parse_expires_at("next week").is_err());
    }

    #[test]
    fn mistyped_scopes_get_a_suggestion() {
        assert_eq!(closest_scope("knowledge:raed"), Some(Scope::KnowledgeRead));
        assert_eq!(closest_scope("chatbot:write"), Some(Scope::ChatbotsWrite));
        assert_eq!(closest_scope("Tokens:Write"), Some(Scope::TokensWrite));
        assert_eq!(closest_scope("everything"), None);
        let error = parse_scopes(&["knowledge:raed".into()]).expect_err("unknown");
        assert_eq!(error.to_string(), "unknown scope `knowledge:raed`; did you mean `knowledge:read`?");
    }
}
