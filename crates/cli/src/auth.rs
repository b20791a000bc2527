//! `sitegpt auth status|token|switch`: where every profile stands, the
//! selected profile's token for piping, and the default profile.

use chrono::Utc;
use serde_json::{Value, json};
use sitegpt_access::{AccessLevel, ScopeSet};
use sitegpt_api_types::AccountInfo;
use sitegpt_client::Client;

use crate::AuthCommand;
use crate::config::{self, Config, Profile};
use crate::context::Context;
use crate::error::{CliError, exit};
use crate::output::relative;

pub fn run(ctx: &mut Context, command: AuthCommand) -> Result<(), CliError> {
    match command {
        AuthCommand::Status => status(ctx),
        AuthCommand::Token => token(ctx),
        AuthCommand::Switch { profile } => switch(ctx, &profile),
    }
}

/// `Standard`, `Full` or `Custom`, as the dashboard names access.
fn access(scopes: ScopeSet) -> &'static str {
    if scopes == AccessLevel::Full.scopes() {
        "Full"
    } else if scopes == AccessLevel::Standard.scopes() {
        "Standard"
    } else {
        "Custom"
    }
}

/// One profile's standing: what the server says of its token now.
fn check(ctx: &Context, name: &str, profile: &Profile) -> Result<AccountInfo, CliError> {
    let token = profile.token.as_deref().ok_or_else(|| CliError::Usage("no token saved".into()))?;
    let relogin = config::relogin_command(name);
    Client::new(&profile.api_url)
        .with_debug(ctx.debug)
        .with_token(token)
        .account()
        .map_err(|e| CliError::from_client(e, &relogin))
}

fn describe(name: &str, selected: bool, profile: &Profile, answer: &Result<AccountInfo, CliError>) -> Value {
    let mut entry = json!({"profile": name, "selected": selected, "apiUrl": profile.api_url});
    match answer {
        Ok(info) => {
            let scopes: ScopeSet = info.token.scopes.iter().copied().collect();
            entry["works"] = json!(true);
            entry["user"] = json!(info.user);
            entry["account"] = json!(info.account);
            entry["role"] = json!(info.role);
            entry["access"] = json!(access(scopes));
            entry["scopes"] = json!(info.token.scopes);
            entry["chatbotIds"] = json!(info.token.chatbot_ids);
            entry["tokenId"] = json!(info.token.id);
            entry["expiresAt"] = json!(info.token.expires_at);
        }
        Err(error) => {
            entry["works"] = json!(false);
            entry["error"] = json!({"code": error.code(), "message": error.to_string()});
            if let Some(who) = &profile.who {
                entry["user"] = json!({"email": who.email, "id": who.user_id});
            }
        }
    }
    entry
}

fn status(ctx: &Context) -> Result<(), CliError> {
    let out = ctx.out;
    if ctx.config.profiles.is_empty() {
        return Err(CliError::NotLoggedIn { profile: ctx.profile.clone(), flag: String::new() });
    }
    let now = Utc::now();
    let mut entries = Vec::new();
    let mut selected_works = None;
    for (name, profile) in &ctx.config.profiles {
        let selected = *name == ctx.profile;
        let answer = check(ctx, name, profile);
        if selected {
            selected_works = Some(answer.is_ok());
        }
        if out.json {
            entries.push(describe(name, selected, profile, &answer));
            continue;
        }
        let marker = if selected { out.green(" (selected)") } else { String::new() };
        println!("{}{marker}  {}", out.bold(name), out.dim(&profile.api_url));
        match &answer {
            Ok(info) => {
                let scopes: ScopeSet = info.token.scopes.iter().copied().collect();
                let names = info.token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
                let chatbots =
                    if info.token.chatbot_ids.is_empty() { "all".into() } else { info.token.chatbot_ids.join(", ") };
                let rows = [
                    ("User", format!("{} ({})", info.user.email, info.role.as_str())),
                    ("Team", format!("{} {}", info.account.name, out.dim(&format!("[{}]", info.account.id)))),
                    ("Access", format!("{}: {names}", access(scopes))),
                    ("Chatbots", chatbots),
                    ("Expires", relative(info.token.expires_at, now)),
                    ("Token", out.green("works")),
                ];
                for (label, value) in rows {
                    println!("  {}  {value}", out.dim(&format!("{label:<9}")));
                }
            }
            Err(error) => {
                if let Some(who) = &profile.who {
                    println!("  {}  {} ({})", out.dim(&format!("{:<9}", "User")), who.email, who.role);
                }
                println!("  {}  {} {error}", out.dim(&format!("{:<9}", "Token")), out.red("does not work:"));
            }
        }
    }
    if out.json {
        out.json(&entries)?;
    }
    match selected_works {
        Some(true) => Ok(()),
        Some(false) => Err(CliError::Client {
            message: format!(
                "the selected profile's token does not work. Run `{}`.",
                config::relogin_command(&ctx.profile)
            ),
            code: "TOKEN_REJECTED".into(),
            exit: exit::API,
            details: None,
        }),
        None => Err(CliError::Usage(format!(
            "profile `{}` does not exist. Profiles: {}. Run `sitegpt auth switch PROFILE`.",
            ctx.profile,
            names(&ctx.config)
        ))),
    }
}

fn names(config: &Config) -> String {
    config.profiles.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// The one other place a plaintext token is printed: for piping.
fn token(ctx: &Context) -> Result<(), CliError> {
    let token = ctx.config.profiles.get(&ctx.profile).and_then(|p| p.token.clone()).ok_or_else(|| {
        CliError::NotLoggedIn { profile: ctx.profile.clone(), flag: format!(" --profile {}", ctx.profile) }
    })?;
    println!("{token}");
    Ok(())
}

fn switch(ctx: &mut Context, profile: &str) -> Result<(), CliError> {
    if !ctx.config.profiles.contains_key(profile) {
        return Err(CliError::Usage(format!(
            "there is no profile `{profile}`. Profiles: {}. Log it in with `sitegpt login --profile {profile}`.",
            names(&ctx.config)
        )));
    }
    let name = profile.to_owned();
    ctx.config = Config::update(&ctx.config_path, |config| config.default_profile = Some(name))?;
    if ctx.out.json {
        ctx.out.json(&json!({"defaultProfile": profile}))?;
    } else {
        println!("The default profile is now {}.", ctx.out.bold(profile));
    }
    Ok(())
}
