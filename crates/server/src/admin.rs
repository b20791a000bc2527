//! `sitegpt-server admin …`: operator commands. They read the same settings
//! as `serve`, so they reach the same database (while a server runs, too),
//! and print one JSON object on stdout.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use serde_json::{Value, json};
use sitegpt_access::email::normalize_email;
use sitegpt_access::net::IpAllowlist;
use sitegpt_access::{ChatbotRestriction, CreatedVia, Role, Scope, ScopeSet, SubscriptionStatus, resolve_expiry};
use sitegpt_store::password::hash_password;
use sitegpt_store::{Account, NewMembership, NewUser, Store, User};

use crate::audit;
use crate::config::{Database, Settings};
use crate::issue::{self, TokenSpec, check_name};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user, with a new account they own or in an existing account.
    #[command(
        after_help = "Examples:\n  sitegpt-server admin create-user --email ada@example.com --password 'long secret' --verified\n  \
        sitegpt-server admin create-user --email bob@example.com --password 'another secret' --account-id acc_… --role viewer"
    )]
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Mark the e-mail address as verified.
        #[arg(long)]
        verified: bool,
        /// Name of the new account (default: "<email>'s team").
        #[arg(long, conflicts_with = "account_id")]
        account: Option<String>,
        /// Join this existing account instead of creating one.
        #[arg(long)]
        account_id: Option<String>,
        /// Role in the account (a new account's creator is always its owner).
        #[arg(long)]
        role: Option<Role>,
    },
    /// Create a chatbot in an account.
    CreateChatbot {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        name: String,
    },
    /// Create an API token for a user and print its plaintext (once).
    #[command(
        after_help = "Example:\n  sitegpt-server admin create-token --email ada@example.com --name 'Docs agent' \\\n    \
        --scope account:read --scope chatbots:read --expires-in-days 30"
    )]
    CreateToken {
        #[arg(long)]
        email: String,
        /// The account (needed when the user belongs to several).
        #[arg(long)]
        account_id: Option<String>,
        #[arg(long)]
        name: String,
        /// A scope to grant; repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Restrict the token to this chatbot; repeat for more.
        #[arg(long = "chatbot")]
        chatbots: Vec<String>,
        /// Lifetime in days, 1–365.
        #[arg(long, default_value_t = 90)]
        expires_in_days: i64,
        /// Allow use only from this address or CIDR block; repeat for more.
        #[arg(long = "allow-ip")]
        allowed_ips: Vec<String>,
    },
    /// Set an account's subscription status.
    SetSubscription {
        #[arg(long)]
        account_id: String,
        #[arg(long, value_parser = ["active", "inactive"])]
        status: String,
    },
    /// Change a member's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        role: Role,
    },
    /// Remove a member from an account; their tokens there stop working.
    RemoveMember {
        #[arg(long)]
        email: String,
        #[arg(long)]
        account_id: String,
    },
    /// Mark a user's e-mail address as verified.
    VerifyEmail {
        #[arg(long)]
        email: String,
    },
    /// Give an account whitelabel status (or take it away with --off), for
    /// the deprecated v0 API.
    #[command(after_help = "Example:\n  sitegpt-server admin set-whitelabel --account-id acc_…")]
    SetWhitelabel {
        #[arg(long)]
        account_id: String,
        /// Take whitelabel status away.
        #[arg(long)]
        off: bool,
    },
    /// Create a whitelabel brand in a whitelabel account (v0 API).
    #[command(after_help = "Example:\n  sitegpt-server admin create-brand --account-id acc_… --name 'Acme AI'")]
    CreateBrand {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        name: String,
    },
    /// Generate a user's own v0 API key and print it (once); their previous
    /// v0 key stops working.
    #[command(after_help = "Example:\n  sitegpt-server admin create-v0-key --email owner@example.com")]
    CreateV0Key {
        #[arg(long)]
        email: String,
    },
    /// Copy this installation's SQLite database into an empty PostgreSQL
    /// database (creating its schema), then point every node at it.
    #[command(after_help = "Stop the server first: the copy is the file as it was when the command started.\n\n\
        Examples:\n  \
        sitegpt-server admin migrate-to-postgres --to postgres://sitegpt@db.internal/sitegpt\n  \
        SITEGPT_DATABASE_URL=sqlite:///srv/old/sitegpt.db sitegpt-server admin migrate-to-postgres --to postgres://…\n\n\
        Then start the nodes with SITEGPT_DATABASE_URL set to the same PostgreSQL URL.")]
    MigrateToPostgres {
        /// The PostgreSQL database to fill; it must be empty.
        #[arg(long, value_name = "POSTGRES_URL")]
        to: String,
    },
}

async fn user(store: &dyn Store, email: &str) -> anyhow::Result<User> {
    let email = normalize_email(email)?;
    store.user_by_email(&email).await?.ok_or_else(|| anyhow!("no user with e-mail {email}"))
}

/// The user's account and role: the named one, or their only one.
async fn membership(store: &dyn Store, user: &User, account_id: Option<&str>) -> anyhow::Result<(Account, Role)> {
    let memberships = store.memberships(&user.id).await?;
    match account_id {
        Some(id) => memberships
            .into_iter()
            .find(|(account, _)| account.id == id)
            .ok_or_else(|| anyhow!("{} is not a member of account {id}", user.email)),
        None if memberships.len() == 1 => Ok(memberships.into_iter().next().expect("one")),
        None if memberships.is_empty() => bail!("{} is not a member of any account", user.email),
        None => bail!("{} belongs to several accounts; choose one with --account-id", user.email),
    }
}

/// `sitegpt-server admin …`: a command, and whether it may create the database.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// Create an empty SQLite database when there is none at the configured
    /// place (without it, a command run in the wrong folder is refused
    /// instead of silently working on a new, empty database).
    #[arg(long, global = true)]
    pub create_database: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Refuses to go on when the SQLite file is missing, unless asked to create
/// it; says on stderr which database the command works on.
fn check_database(settings: &Settings, create: bool) -> anyhow::Result<()> {
    match settings.database()? {
        Database::Sqlite(path) => {
            if !path.exists() && !create {
                bail!(
                    "there is no database at {}. Run the command with the server's data folder \
                     (--data-dir DIR or SITEGPT_DATA_DIR, or SITEGPT_DATABASE_URL), or start `sitegpt-server serve` \
                     once to create it; add --create-database to create an empty one here",
                    path.display()
                );
            }
            eprintln!("database: {} (SQLite)", path.display());
        }
        Database::Postgres(url) => eprintln!("database: {} (PostgreSQL)", redact_url(&url)),
    }
    Ok(())
}

pub async fn run(settings: &Settings, args: AdminArgs) -> anyhow::Result<Value> {
    let command = args.command;
    check_database(settings, args.create_database && !matches!(command, AdminCommand::MigrateToPostgres { .. }))?;
    if let AdminCommand::MigrateToPostgres { to } = &command {
        return migrate_to_postgres(settings, to).await;
    }
    let store: Arc<dyn Store> = settings.open_store().await?;
    let store = store.as_ref();
    let now = Utc::now();
    match command {
        AdminCommand::CreateUser { email, password, verified, account, account_id, role } => {
            let email = normalize_email(&email)?;
            sitegpt_store::password::check_password(&password).map_err(|why| anyhow!("--password: {why}"))?;
            let membership = match account_id {
                Some(account_id) => NewMembership::Existing { account_id, role: role.unwrap_or(Role::Member) },
                None => {
                    if role.is_some_and(|r| r != Role::Owner) {
                        bail!(
                            "a new account's first user is its owner; use --account-id to join an existing account with another role"
                        );
                    }
                    let name = account.unwrap_or_else(|| format!("{email}'s team"));
                    check_name(&name).map_err(|e| anyhow!("--account {e}"))?;
                    NewMembership::NewAccount { name, subscription: settings.default_subscription }
                }
            };
            let password_hash =
                tokio::task::spawn_blocking(move || hash_password(&password)).await.context("hashing the password")?;
            let (user, account) = store
                .create_user(NewUser { email, password_hash, email_verified: verified, membership, now })
                .await
                .map_err(|e| match e {
                    sitegpt_store::StoreError::NotFound => anyhow!("no such account"),
                    other => other.into(),
                })?;
            Ok(json!({"userId": user.id, "accountId": account.id}))
        }
        AdminCommand::CreateChatbot { account_id, name } => {
            check_name(&name).map_err(|e| anyhow!("--{e}"))?;
            let chatbot = store.create_chatbot(&account_id, &name, now).await.map_err(|e| match e {
                sitegpt_store::StoreError::NotFound => anyhow!("no account {account_id}"),
                other => other.into(),
            })?;
            Ok(json!({"chatbotId": chatbot.id}))
        }
        AdminCommand::CreateToken { email, account_id, name, scopes, chatbots, expires_in_days, allowed_ips } => {
            let user = user(store, &email).await?;
            let (account, role) = membership(store, &user, account_id.as_deref()).await?;
            check_name(&name).map_err(|e| anyhow!("--{e}"))?;
            let scopes = scopes
                .iter()
                .flat_map(|s| s.split([',', ' ']).filter(|s| !s.is_empty()))
                .map(|s| {
                    s.parse::<Scope>().map_err(|e| {
                        let valid: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                        anyhow!("{e}; valid scopes are: {}", valid.join(", "))
                    })
                })
                .collect::<anyhow::Result<ScopeSet>>()?;
            let expires_at = resolve_expiry(Some(expires_in_days), None, now).map_err(|e| anyhow!("--{e}"))?;
            let chatbots = ChatbotRestriction::from_ids(chatbots);
            issue::check_chatbots_exist(store, &account.id, &chatbots)
                .await
                .map_err(|_| anyhow!("some --chatbot ids are not chatbots of account {}", account.id))?;
            let beyond = scopes.difference(role.ceiling());
            if !beyond.is_empty() {
                eprintln!(
                    "warning: the {role} role does not permit {}; the token keeps these scopes but cannot use them unless the role changes",
                    beyond.to_space_separated()
                );
            }
            let allowed_ips = IpAllowlist::parse(&allowed_ips).map_err(|e| anyhow!("--allow-ip: {e}"))?;
            let spec = TokenSpec { name, scopes, chatbots, expires_at, expiry_field: None, allowed_ips };
            let (record, plain) =
                issue::issue(store, &account.id, &user.id, spec, CreatedVia::Admin, now, &audit::admin())
                    .await
                    .map_err(|e| anyhow!("could not create the token: {e}"))?;
            Ok(json!({"id": record.id, "plaintextToken": plain.expose()}))
        }
        AdminCommand::SetSubscription { account_id, status } => {
            let status = SubscriptionStatus::parse(&status).context("status must be active or inactive")?;
            store.set_subscription(&account_id, status, &audit::admin()).await.map_err(|e| match e {
                sitegpt_store::StoreError::NotFound => anyhow!("no account {account_id}"),
                other => other.into(),
            })?;
            Ok(json!({"accountId": account_id, "subscriptionStatus": status}))
        }
        AdminCommand::SetRole { email, account_id, role } => {
            let user = user(store, &email).await?;
            membership(store, &user, Some(&account_id)).await?;
            store.set_role(&account_id, &user.id, role, &audit::admin()).await?;
            Ok(json!({"userId": user.id, "accountId": account_id, "role": role}))
        }
        AdminCommand::RemoveMember { email, account_id } => {
            let user = user(store, &email).await?;
            membership(store, &user, Some(&account_id)).await?;
            store.remove_member(&account_id, &user.id, now, &audit::admin()).await?;
            Ok(json!({"userId": user.id, "accountId": account_id, "removed": true}))
        }
        AdminCommand::VerifyEmail { email } => {
            let user = user(store, &email).await?;
            store.verify_email(&user.id, now).await?;
            Ok(json!({"userId": user.id, "emailVerified": true}))
        }
        AdminCommand::SetWhitelabel { account_id, off } => {
            store.set_whitelabel(&account_id, !off, now).await.map_err(|e| match e {
                sitegpt_store::StoreError::NotFound => anyhow!("no account {account_id}"),
                other => other.into(),
            })?;
            Ok(json!({"accountId": account_id, "whitelabel": !off}))
        }
        AdminCommand::CreateBrand { account_id, name } => {
            check_name(&name).map_err(|e| anyhow!("--{e}"))?;
            if !store.is_whitelabel(&account_id).await? {
                bail!(
                    "account {account_id} is not a whitelabel account; run `admin set-whitelabel --account-id {account_id}` first"
                );
            }
            let brand = sitegpt_store::Brand {
                id: crate::routes::v0::new_numeric_id(),
                account_id: account_id.clone(),
                name,
                created_at: now,
            };
            store.create_brand(brand.clone()).await?;
            Ok(json!({"brandId": brand.id, "accountId": account_id}))
        }
        AdminCommand::CreateV0Key { email } => {
            let user = user(store, &email).await?;
            let (key, hint) = sitegpt_access::v0_key::generate();
            let owner = sitegpt_store::V0KeyOwner::User(user.id.clone());
            store.replace_v0_key(owner, sitegpt_access::v0_key::hash(&key), hint, now).await?;
            Ok(json!({"userId": user.id, "apiKey": key}))
        }
        AdminCommand::MigrateToPostgres { .. } => unreachable!("handled before the store opens"),
    }
}

async fn migrate_to_postgres(settings: &Settings, to: &str) -> anyhow::Result<Value> {
    let Database::Sqlite(from) = settings.database()? else {
        bail!("the configured database is PostgreSQL already; point SITEGPT_DATABASE_URL at the SQLite file to copy");
    };
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        bail!("--to must be a postgres:// URL");
    }
    let started = std::time::Instant::now();
    let copied = sitegpt_store::migrate::sqlite_to_postgres(&from, to)
        .await
        .with_context(|| format!("copying {} to PostgreSQL", from.display()))?;
    let tables: serde_json::Map<String, Value> =
        copied.iter().map(|(table, rows)| ((*table).into(), json!(rows))).collect();
    Ok(json!({
        "from": from.display().to_string(),
        "to": redact_url(to),
        "rows": copied.iter().map(|(_, rows)| rows).sum::<u64>(),
        "tables": tables,
        "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        "next": "start every node with SITEGPT_DATABASE_URL set to the PostgreSQL URL",
    }))
}

/// The URL without its password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_printed_without_passwords() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app@db:5432/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
    }
}
