//! `sitepulse-server admin …`: operator commands on the store, beside a
//! running server or without one. Each prints one JSON object.

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use serde_json::{Value, json};
use sitegpt_access::sitepulse::{Permission, PulseAccessToken, PulseScope, PulseScopes, TeamRole, token_expiry};
use sitegpt_store::password::hash_password;
use sitegpt_store::pulse::{
    MonitoringDefaults, NewPulseToken, NewPulseUser, NewTeam, PlanLimits, PulseStore, PulseUser,
};

use crate::server::Settings;

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Shown in the dashboard (default: the address's local part).
        #[arg(long)]
        name: Option<String>,
        /// At least 8 characters.
        #[arg(long)]
        password: String,
        /// Mark the address verified (API v1 needs it).
        #[arg(long)]
        verified: bool,
    },
    /// Mark a user's address verified.
    VerifyEmail {
        #[arg(long)]
        email: String,
    },
    /// Create a team owned by a user.
    CreateTeam {
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "starter")]
        plan: String,
        #[arg(long, default_value_t = 10)]
        max_sites: u32,
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86_400))]
        min_cadence_seconds: u32,
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86_400))]
        cadence_seconds: u32,
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        failure_threshold: u32,
        /// Without an active plan (the API answers 402 for it).
        #[arg(long)]
        inactive: bool,
    },
    /// Add a user to a team.
    AddMember {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
        /// A permission the role gives that this member does not get
        /// (createSite, updateSite, deleteSite, runChecks, deleteChecks, updateTeam).
        #[arg(long = "without")]
        without: Vec<String>,
    },
    /// Turn a team's plan on or off.
    SetSubscription {
        #[arg(long)]
        team: String,
        /// active or inactive.
        #[arg(long)]
        status: String,
    },
    /// Create a personal access token; prints its plaintext once.
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// A scope (repeat for several), e.g. --scope sites:read --scope checks:read.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke a user's token.
    RevokeToken {
        #[arg(long)]
        email: String,
        #[arg(long)]
        token_id: String,
    },
}

async fn user(store: &dyn PulseStore, email: &str) -> anyhow::Result<PulseUser> {
    store.user_by_email(email).await?.ok_or_else(|| {
        anyhow!("no user has the address {email}; create one with: sitepulse-server admin create-user --email {email} --password '…'")
    })
}

fn scopes(names: &[String]) -> anyhow::Result<PulseScopes> {
    names
        .iter()
        .flat_map(|n| n.split([' ', ',']))
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse::<PulseScope>().map_err(|_| {
                let valid: Vec<&str> = PulseScope::ALL.iter().map(|s| s.as_str()).collect();
                anyhow!("--scope {n}: unknown scope; valid scopes are {}", valid.join(", "))
            })
        })
        .collect()
}

/// Runs one admin command; its JSON output.
pub async fn run(settings: &Settings, args: AdminArgs) -> anyhow::Result<String> {
    let store = settings.open_store(false).await.context("cannot open the store")?;
    let store = &*store;
    let now = Utc::now();
    let output: Value = match args.command {
        AdminCommand::CreateUser { email, name, password, verified } => {
            if password.chars().count() < 8 {
                bail!("--password: Use at least 8 characters.");
            }
            let email = email.trim().to_owned();
            if !email.contains('@') || email.chars().any(char::is_whitespace) {
                bail!("--email: `{email}` is not an e-mail address");
            }
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            let new = NewPulseUser { email, name, password_hash: hash_password(&password), verified, created_at: now };
            let user = store.create_user(new).await?;
            json!({"user": {"id": user.id, "email": user.email, "name": user.name, "email_verified": verified}})
        }
        AdminCommand::VerifyEmail { email } => {
            let user = user(store, &email).await?;
            store.verify_email(&user.id, now).await?;
            json!({"user": {"id": user.id, "email": user.email, "email_verified": true}})
        }
        AdminCommand::CreateTeam {
            owner_email,
            name,
            plan,
            max_sites,
            min_cadence_seconds,
            cadence_seconds,
            failure_threshold,
            inactive,
        } => {
            let owner = user(store, &owner_email).await?;
            if cadence_seconds < min_cadence_seconds {
                bail!("--cadence-seconds must be at least --min-cadence-seconds ({min_cadence_seconds})");
            }
            let new = NewTeam {
                name,
                limits: PlanLimits { plan, max_sites, min_cadence_seconds },
                subscription_active: !inactive,
                defaults: MonitoringDefaults { cadence_seconds, failure_threshold, escalation_minutes: None },
                created_at: now,
            };
            let team = store.create_team(new, &owner.id).await?;
            json!({"team": {"id": team.id, "name": team.name, "subscription_active": team.subscription_active}})
        }
        AdminCommand::AddMember { team, email, role, without } => {
            let user = user(store, &email).await?;
            let role =
                TeamRole::parse(&role).ok_or_else(|| anyhow!("--role {role}: use owner, admin, member or viewer"))?;
            let mut permissions = role.default_permissions();
            for name in &without {
                let permission = Permission::parse(name).ok_or_else(|| {
                    let valid: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
                    anyhow!("--without {name}: unknown permission; permissions are {}", valid.join(", "))
                })?;
                permissions = permissions.without(permission);
            }
            let member =
                store.add_member(&team, &user.id, role, Some(permissions), now).await.map_err(|e| match e {
                    sitegpt_store::StoreError::NotFound => anyhow!("no team has the id {team}"),
                    other => other.into(),
                })?;
            let permissions: Vec<&str> = member.permissions.iter().map(Permission::as_str).collect();
            json!({"member": {"team_id": member.team_id, "user_id": member.user_id, "role": member.role.as_str(), "permissions": permissions}})
        }
        AdminCommand::SetSubscription { team, status } => {
            let active = match status.as_str() {
                "active" => true,
                "inactive" => false,
                _ => bail!("--status {status}: use active or inactive"),
            };
            store.set_subscription(&team, active).await.map_err(|e| match e {
                sitegpt_store::StoreError::NotFound => anyhow!("no team has the id {team}"),
                other => other.into(),
            })?;
            json!({"team": {"id": team, "subscription_active": active}})
        }
        AdminCommand::CreateToken { email, name, scopes: names } => {
            let user = user(store, &email).await?;
            let scopes = scopes(&names)?;
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                bail!("--name: give the token a name of 1 to 100 characters, e.g. --name 'CI Pipeline'");
            }
            let plain = PulseAccessToken::generate();
            let new = NewPulseToken {
                user_id: user.id.clone(),
                name,
                hash: plain.hash(),
                hint: plain.hint(),
                scopes,
                created_at: now,
                expires_at: token_expiry(now),
            };
            let token = store.create_token(new).await?;
            let scopes: Vec<&str> = token.scopes.iter().map(PulseScope::as_str).collect();
            json!({
                "token": {"id": token.id, "name": token.name, "scopes": scopes, "expires_at": token.expires_at},
                "plaintext_token": plain.expose(),
            })
        }
        AdminCommand::RevokeToken { email, token_id } => {
            let user = user(store, &email).await?;
            let token = store.revoke_token(&user.id, &token_id, now).await.map_err(|e| match e {
                sitegpt_store::StoreError::NotFound => anyhow!("{email} has no token with the id {token_id}"),
                other => other.into(),
            })?;
            json!({"token": {"id": token.id, "revoked_at": token.revoked_at}})
        }
    };
    Ok(output.to_string())
}
