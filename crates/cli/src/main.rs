//! `sitegpt`: the command-line client of the sitegpt API. It logs in with
//! the OAuth device flow (or a pasted token), keeps named profiles, and
//! manages API tokens. It talks to the server only through `sitegpt-client`.

mod api;
mod auth;
mod commands;
mod config;
mod context;
mod error;
mod jq;
mod output;
mod resources;
mod spinner;
mod team;

use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::output::Output;

const EXAMPLES: &str = "\
Examples:
  sitegpt login                                  # approve in the browser; Standard access
  sitegpt login --full-access
  sitegpt login --profile knowledge-bot --chatbot <chatbot-id> --scope knowledge:read --scope knowledge:write
  sitegpt login --profile knowledge-agent --token <sitegpt-api-token>
  sitegpt --profile knowledge-agent whoami
  sitegpt tokens list --include-revoked
  sitegpt tokens create --name \"Docs agent\" --scope account:read --scope chatbots:read
  sitegpt api chatbots --paginate --jq '.[].id'
  SITEGPT_API_TOKEN=<token> sitegpt whoami --json

Environment:
  SITEGPT_API_TOKEN  use this token for one command instead of the profile's
  SITEGPT_API_URL    the server (default: the profile's, else http://127.0.0.1:8080)
  SITEGPT_PROFILE    the profile to use
  NO_COLOR           turn colours off

Exit codes: 0 ok, 1 API or network error, 2 usage, 3 not logged in or token rejected, 4 permission denied.";

/// The sitegpt command-line client: log in, see who you are, manage API tokens, call the API.
#[derive(Debug, Parser)]
#[command(name = "sitegpt", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Print machine-readable JSON (the API's `data` object; errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// The profile to use (default: the config's default profile, else `default`).
    #[arg(long, global = true, env = "SITEGPT_PROFILE", add = clap_complete::ArgValueCompleter::new(profile_names))]
    pub profile: Option<String>,
    /// The server's URL (default: the profile's, else http://127.0.0.1:8080).
    #[arg(long, global = true, env = "SITEGPT_API_URL")]
    pub api_url: Option<String>,
    /// Log each request to stderr (the Authorization header redacted).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Filter the JSON output with a jq expression (implies --json), e.g. `.items[].id`.
    #[arg(long, global = true, value_name = "EXPR")]
    pub jq: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in: approve in the browser (OAuth device flow), or save a token.
    #[command(after_help = "Examples:
  sitegpt login
  sitegpt login --full-access
  sitegpt login --profile inventory --scope account:read --scope chatbots:read
  sitegpt login --profile support-agent --chatbot <chatbot-id> --scope conversations:read --scope conversations:write
  sitegpt login --profile knowledge-agent --token <sitegpt-api-token>
  sitegpt login --no-browser            # print the link instead of opening a browser")]
    Login(LoginArgs),
    /// Revoke the profile's token on the server and forget it.
    #[command(
        after_help = "Examples:\n  sitegpt logout\n  sitegpt logout --profile knowledge-agent\n  sitegpt logout --local    # forget it without contacting the server"
    )]
    Logout(LogoutArgs),
    /// Show who the current token belongs to and what it may do.
    #[command(after_help = "Examples:\n  sitegpt whoami\n  sitegpt --profile knowledge-agent whoami --json")]
    Whoami,
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// List, show, create, change and delete chatbots.
    #[command(subcommand)]
    Chatbots(ChatbotsCommand),
    /// A chatbot's knowledge sources: text, URLs and files it answers from.
    #[command(subcommand, after_help = ITEM_EXAMPLES)]
    Knowledge(ItemCommand),
    /// A chatbot's personas (a name and a prompt).
    #[command(subcommand)]
    Personas(ItemCommand),
    /// A chatbot's instructions.
    #[command(subcommand)]
    Instructions(ItemCommand),
    /// A chatbot's conversation starters.
    #[command(subcommand)]
    Starters(ItemCommand),
    /// A chatbot's follow-up suggestions.
    #[command(subcommand)]
    Followups(ItemCommand),
    /// The leads a chatbot collected.
    #[command(subcommand)]
    Leads(ItemCommand),
    /// A chatbot's settings: show them, or change some (a JSON merge patch).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// A chatbot's conversations: list, read, reply, delete.
    #[command(subcommand)]
    Conversations(ConversationsCommand),
    /// The team's members: list, invite, change roles, remove.
    #[command(subcommand)]
    Members(MembersCommand),
    /// The team's integrations (secrets are never shown, only their names).
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// The plan and subscription.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// The team's account: show it, rename it.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The audit log: who created, rotated or revoked tokens, connected apps, signed in or changed members.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// See every profile's standing, print the selected token, or pick the default profile.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Send any API request with the profile's token and print the answer.
    #[command(after_help = "A path without /api/ is taken under /api/v2. Fields make a JSON body (POST unless -X says
otherwise); with GET or DELETE they make the query. The exit code follows the status.

Examples:
  sitegpt api account
  sitegpt api chatbots --paginate
  sitegpt api chatbots -f name='Sales bot'                       # POST {\"name\": \"Sales bot\"}
  sitegpt api -X PATCH chatbots/<chatbot-id> -f description='Answers pricing questions'
  sitegpt api -X POST chatbots/<chatbot-id>/knowledge -f type=file -f fileName=guide.pdf -F sizeBytes=2048
  echo '{\"general\": {\"responseLength\": \"short\"}}' | sitegpt api -X PATCH chatbots/<chatbot-id>/settings --input -
  sitegpt api tokens -F includeRevoked=true -H 'X-Request-Id: my-trace-1'")]
    Api(ApiArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  sitegpt completions bash > ~/.local/share/bash-completion/completions/sitegpt\n  sitegpt completions zsh > ~/.zfunc/_sitegpt\n  sitegpt completions fish > ~/.config/fish/completions/sitegpt.fish\n\nTo complete profile names too, let the shell ask sitegpt as it completes:\n  echo 'source <(COMPLETE=bash sitegpt)' >> ~/.bashrc\n  echo 'source <(COMPLETE=zsh sitegpt)' >> ~/.zshrc\n  echo 'COMPLETE=fish sitegpt | source' >> ~/.config/fish/completions/sitegpt.fish"
    )]
    Completions {
        /// bash, zsh or fish (also elvish, powershell).
        shell: clap_complete::Shell,
    },
}

const ITEM_EXAMPLES: &str = "Examples:
  sitegpt knowledge list --chatbot <chatbot-id>
  sitegpt knowledge add --chatbot <chatbot-id> --url https://example.com/pricing
  sitegpt knowledge add --chatbot <chatbot-id> --text 'We open 9 to 5, Monday to Friday.'
  sitegpt knowledge add --chatbot <chatbot-id> --file ./guide.pdf
  sitegpt knowledge update <source-id> --chatbot <chatbot-id> --status ready
  sitegpt knowledge delete <source-id> --chatbot <chatbot-id> --yes
  sitegpt personas add --name Formal --prompt 'Be precise.'      # a token restricted to one chatbot needs no --chatbot
  sitegpt leads list --all --json";

/// `--limit`, `--cursor` and `--all` for lists.
#[derive(Debug, Args, Default)]
pub struct PageArgs {
    /// Items per page, 1–200 (default 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: Option<u32>,
    /// Start after this position (the `nextCursor` of the previous page).
    #[arg(long, value_name = "CURSOR", conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Follow `nextCursor` to the end.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChatbotsCommand {
    /// List chatbots (a chatbot-restricted token sees only its own).
    #[command(after_help = "Examples:\n  sitegpt chatbots list\n  sitegpt chatbots list --all --json")]
    List(PageArgs),
    /// Show a chatbot.
    Get {
        /// The chatbot's id.
        id: String,
    },
    /// Create a chatbot.
    #[command(
        after_help = "Example:\n  sitegpt chatbots create --name 'Sales bot' --description 'Answers pricing questions'"
    )]
    Create {
        /// 1–120 characters.
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Change a chatbot's name or description.
    Update {
        /// The chatbot's id.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a chatbot and everything under it (asks first on a terminal).
    Delete {
        /// The chatbot's id.
        id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// What `add` and `update` of a content family set; each family takes some.
#[derive(Debug, Args, Default)]
pub struct ItemFields {
    /// Text: a knowledge source's text, an instruction, a starter or a follow-up.
    #[arg(long)]
    pub text: Option<String>,
    /// A knowledge source's URL.
    #[arg(long)]
    pub url: Option<String>,
    /// A knowledge source's file (its name and size are sent).
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// A persona's or a lead's name.
    #[arg(long)]
    pub name: Option<String>,
    /// A persona's prompt.
    #[arg(long)]
    pub prompt: Option<String>,
    /// A lead's e-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// A knowledge source's training status (pending, ready, failed).
    #[arg(long)]
    pub status: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// List them.
    List {
        /// The chatbot (optional when the token is restricted to one).
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one.
    Get {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
    },
    /// Add one.
    Add {
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        #[command(flatten)]
        fields: ItemFields,
    },
    /// Change one.
    Update {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        #[command(flatten)]
        fields: ItemFields,
    },
    /// Delete one (asks first on a terminal).
    Delete {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the chatbot's settings.
    Get {
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
    },
    /// Change settings: dotted KEY=VALUE pairs, or a JSON merge patch from --input.
    #[command(after_help = "Examples:
  sitegpt settings set --chatbot <chatbot-id> general.responseLength=short advanced.showSources=true
  echo '{\"general\": {\"responseLength\": \"long\"}}' | sitegpt settings set --chatbot <chatbot-id> --input -")]
    Set {
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        /// KEY=VALUE, the key dotted into the settings (true, false, null and numbers are JSON).
        #[arg(value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        /// A JSON merge patch from a file or `-` (standard input).
        #[arg(long, value_name = "FILE")]
        input: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// List conversations with their messages.
    List {
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        /// Only open, resolved or archived ones.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a conversation.
    Get {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
    },
    /// Reply in a conversation as a person on the team.
    #[command(
        after_help = "Example:\n  sitegpt conversations reply <conversation-id> --chatbot <chatbot-id> --message 'We open at 9.'"
    )]
    Reply {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        #[arg(long)]
        message: String,
    },
    /// Delete a conversation and its messages (asks first on a terminal).
    Delete {
        id: String,
        #[arg(long, value_name = "CHATBOT_ID")]
        chatbot: Option<String>,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List members and their roles.
    List(PageArgs),
    /// Invite a person by e-mail; they join when they accept.
    #[command(after_help = "Example:\n  sitegpt members invite new.member@example.com --role viewer")]
    Invite {
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long)]
        role: String,
    },
    /// Change a member's role.
    SetRole {
        /// The member's user id.
        user: String,
        #[arg(long)]
        role: String,
    },
    /// Remove a member (asks first on a terminal); their tokens in this team are revoked.
    Remove {
        user: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List integrations.
    List(PageArgs),
    /// Add an integration.
    #[command(
        after_help = "Example:\n  sitegpt integrations create --type slack --config channel=#support --secret botToken=xoxb-…"
    )]
    Create {
        /// slack, zapier, webhook, …
        #[arg(long = "type")]
        kind: String,
        /// A config KEY=VALUE; repeat for more.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// A secret KEY=VALUE (stored, never shown again); repeat for more.
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
    },
    /// Change an integration's config or set its secrets.
    Update {
        id: String,
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// The plan and subscription status.
    Show,
    /// Change the plan (owners only).
    SetPlan {
        /// free, starter, growth or scale.
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// The team's account.
    Show,
    /// Rename the team's account.
    Rename { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Every profile: server, user, team, role, access, chatbots, expiry, and whether its token works.
    #[command(
        after_help = "Exits 1 when the selected profile's token does not work.\n\nExamples:\n  sitegpt auth status\n  sitegpt auth status --json"
    )]
    Status,
    /// Print the selected profile's token, for piping into another tool.
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(sitegpt auth token)\" http://127.0.0.1:8080/api/v2/account"
    )]
    Token,
    /// Make PROFILE the default profile.
    #[command(after_help = "Example:\n  sitegpt auth switch knowledge-bot")]
    Switch {
        /// A profile that is logged in.
        #[arg(add = clap_complete::ArgValueCompleter::new(profile_names))]
        profile: String,
    },
}

/// `--scope`: any text (the command checks it, with its own message and a
/// suggestion), offered to shell completion as the scope catalog.
#[derive(Debug, Clone, Copy)]
struct ScopeNames;

impl clap::builder::TypedValueParser for ScopeNames {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(sitegpt_access::Scope::ALL.iter().map(|s| clap::builder::PossibleValue::new(s.as_str()))))
    }
}

fn scope_names() -> ScopeNames {
    ScopeNames
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API path, such as `chatbots` or `/api/v2/chatbots?limit=10`.
    pub path: String,
    /// The HTTP method (default: GET, or POST with fields or --input).
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// A string field; repeat for more.
    #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
    pub raw_fields: Vec<String>,
    /// A typed field: true, false, null and numbers as JSON, @FILE as the file's text; repeat for more.
    #[arg(short = 'F', long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// An extra request header; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The JSON body, from a file or `-` (standard input).
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    /// Follow `nextCursor` to the end and print every page's items as one JSON array.
    #[arg(long)]
    pub paginate: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Ask for every scope (Full access).
    #[arg(long, conflicts_with_all = ["scopes", "token"])]
    pub full_access: bool,
    /// Ask for this scope (Custom access); repeat for more.
    #[arg(long = "scope", value_name = "SCOPE", conflicts_with = "token", value_parser = scope_names(), hide_possible_values = true)]
    pub scopes: Vec<String>,
    /// Restrict the token to this chatbot; repeat for more.
    #[arg(long = "chatbot", value_name = "CHATBOT_ID", conflicts_with = "token")]
    pub chatbots: Vec<String>,
    /// Save this token (made in the dashboard) instead of using the browser.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Do not open a browser; print the link only.
    #[arg(long)]
    pub no_browser: bool,
    /// Also print the new token (for tools that keep it themselves).
    #[arg(long)]
    pub show_token: bool,
    /// Revoke the token the profile had before (done anyway when this CLI's device login made it).
    #[arg(long, conflicts_with = "keep_old")]
    pub revoke_old: bool,
    /// Keep the token the profile had before working, even when the device login made it.
    #[arg(long)]
    pub keep_old: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Forget the token without revoking it on the server.
    #[arg(long)]
    pub local: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List your tokens.
    #[command(after_help = "Examples:\n  sitegpt tokens list\n  sitegpt tokens list --include-revoked --json")]
    List {
        /// Show revoked tokens too.
        #[arg(long)]
        include_revoked: bool,
    },
    /// Create a token; its plaintext is printed once. The CLI keeps using its own token.
    #[command(after_help = "Examples:
  sitegpt tokens create --name \"Docs agent\" --scope account:read --scope chatbots:read
  sitegpt tokens create --name \"Knowledge updater\" --chatbot <chatbot-id> --scope knowledge:read --scope knowledge:write
  sitegpt tokens create --name ci --scope account:read --expires-in-days 7
  sitegpt tokens create --name demo --scope account:read --expires-at 2027-01-31")]
    Create(CreateArgs),
    /// Give a token a new secret (same id); the new plaintext is printed once.
    #[command(after_help = "Example:\n  sitegpt tokens rotate tok_…")]
    Rotate {
        /// The token's id.
        id: String,
    },
    /// Revoke a token; it stops working at once.
    #[command(after_help = "Example:\n  sitegpt tokens revoke tok_…")]
    Revoke {
        /// The token's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first: owners and admins see everyone's, others their own.
    #[command(after_help = "Actions: token.created, token.rotated, token.revoked, token.leak_reported,
token.address_refused, oauth_grant.created, oauth_grant.revoked, oauth_grant.leak_reported,
user.signed_in, user.sign_in_failed, user.password_changed, user.password_reset, member.invited,
member.role_changed, member.removed, subscription.changed; or a family: token, oauth_grant, user,
member, subscription.

Examples:
  sitegpt audit list
  sitegpt audit list --action token.revoked --since 2026-12-01
  sitegpt audit list --token tok_… --json
  sitegpt audit list --user usr_… --action member --all
  sitegpt audit list --since 2026-12-01T09:00:00Z --until 2026-12-01T18:00:00Z")]
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Only events about this token.
    #[arg(long = "token", value_name = "TOKEN_ID")]
    pub token_id: Option<String>,
    /// Only events this person did or that concern them.
    #[arg(long = "user", value_name = "USER_ID")]
    pub user_id: Option<String>,
    /// An action (token.revoked) or a family (token).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// From this date (2026-12-01) or time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Until the end of this date, or before this time.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Token name, 1–120 characters.
    #[arg(long)]
    pub name: String,
    /// Scope to grant; repeat for more.
    #[arg(long = "scope", value_name = "SCOPE", required = true, value_parser = scope_names(), hide_possible_values = true)]
    pub scopes: Vec<String>,
    /// Restrict the token to this chatbot; repeat for more. Default: all accessible chatbots.
    #[arg(long = "chatbot", value_name = "CHATBOT_ID")]
    pub chatbots: Vec<String>,
    /// Relative expiration in days, 1–365. Default: 90.
    #[arg(long, value_name = "DAYS", conflicts_with = "expires_at")]
    pub expires_in_days: Option<i64>,
    /// Absolute expiration (2027-01-31 or 2027-01-31T12:00:00Z), within 365 days.
    #[arg(long, value_name = "ISO_DATE")]
    pub expires_at: Option<String>,
    /// Allow use only from this IPv4/IPv6 address or CIDR block; repeat for more (at most 20).
    #[arg(long = "allow-ip", value_name = "CIDR")]
    pub allowed_ips: Vec<String>,
}

/// The saved profiles whose names start with what was typed, for shells
/// that complete through `COMPLETE=$SHELL sitegpt`.
fn profile_names(typed: &std::ffi::OsStr) -> Vec<clap_complete::CompletionCandidate> {
    let typed = typed.to_string_lossy();
    let Ok(config) = config::path().and_then(|path| config::Config::load(&path)) else { return Vec::new() };
    config
        .profiles
        .keys()
        .filter(|name| name.starts_with(typed.as_ref()))
        .map(|name| clap_complete::CompletionCandidate::new(name.as_str()))
        .collect()
}

fn main() -> ExitCode {
    // `COMPLETE=bash sitegpt` prints the shell's completion code; the shell
    // then calls back here to complete profile names and the rest.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let cli = Cli::parse();
    let jq = match cli.jq.as_deref().map(jq::Filter::compile).transpose() {
        Ok(filter) => filter.map(|f| &*Box::leak(Box::new(f))),
        Err(error) => {
            Output::new(cli.json, None).error(&error);
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let out = Output::new(cli.json, jq);
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command(), "sitegpt", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    match commands::run(cli, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&error);
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}
