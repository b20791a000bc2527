//! Errors of the CLI, each with its exit code and a message that says what
//! to do next.

use sitegpt_client::ClientError;

/// Documented exit codes (0 is success).
pub mod exit {
    /// The API refused, or the server could not be reached.
    pub const API: i32 = 1;
    /// The command line is wrong.
    pub const USAGE: i32 = 2;
    /// Not logged in, or the token was rejected.
    pub const AUTH: i32 = 3;
    /// Logged in, but not allowed.
    pub const PERMISSION: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("not logged in (profile `{profile}`). Run `sitegpt login{flag}`.")]
    NotLoggedIn { profile: String, flag: String },
    #[error("{0}")]
    Config(String),
    #[error("{message}")]
    Client { message: String, code: String, exit: i32, details: Option<Vec<serde_json::Value>> },
    #[error("{message}")]
    Device { message: String, code: String, exit: i32 },
}

/// A login that asks for `scope` (and, for a write or delete, its resource's
/// read scope) in a profile named for the resource.
fn login_with(scope: &str) -> String {
    match scope.split_once(':') {
        Some((resource, action)) if action != "read" => {
            format!("sitegpt login --profile {resource}-admin --scope {resource}:read --scope {scope}")
        }
        Some((resource, _)) => format!("sitegpt login --profile {resource}-reader --scope {scope}"),
        None => format!("sitegpt login --profile admin --scope {scope}"),
    }
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::NotLoggedIn { .. } => exit::AUTH,
            CliError::Config(_) => exit::API,
            CliError::Client { exit, .. } | CliError::Device { exit, .. } => *exit,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            CliError::Usage(_) => "USAGE",
            CliError::NotLoggedIn { .. } => "NOT_LOGGED_IN",
            CliError::Config(_) => "CONFIG",
            CliError::Client { code, .. } | CliError::Device { code, .. } => code,
        }
    }

    pub fn details(&self) -> Option<&Vec<serde_json::Value>> {
        match self {
            CliError::Client { details, .. } => details.as_ref(),
            _ => None,
        }
    }

    /// Turns a client error into advice; `relogin` is the command that
    /// logs this profile in again.
    pub fn from_client(e: ClientError, relogin: &str) -> CliError {
        match e {
            ClientError::Unreachable { url, reason } => CliError::Client {
                message: format!(
                    "could not reach the sitegpt server at {url} ({reason}). Check that it is running, or pass --api-url."
                ),
                code: "NETWORK_ERROR".into(),
                exit: exit::API,
                details: None,
            },
            ClientError::Api { status: 401, code, message, details, .. } => CliError::Client {
                message: format!("the server rejected the token: {message} Run `{relogin}`."),
                code,
                exit: exit::AUTH,
                details,
            },
            ClientError::Api { status: 403, code, message, details, missing_scope, .. } => {
                let message = match (code.as_str(), missing_scope) {
                    ("INSUFFICIENT_SCOPE", Some(scope)) => format!(
                        "the token lacks the `{scope}` scope. Log in a profile that has it: `{}`, or give this \
                         profile every scope: `{relogin} --full-access`.",
                        login_with(&scope)
                    ),
                    ("EMAIL_NOT_VERIFIED", _) => {
                        format!("{message} Open the link in the verification e-mail, then retry.")
                    }
                    _ => format!("permission denied: {message}"),
                };
                CliError::Client { message, code, exit: exit::PERMISSION, details }
            }
            ClientError::Api { status: 429, code, retry_after, .. } => CliError::Client {
                message: match retry_after {
                    Some(secs) => format!("the server is rate-limiting requests; retry in {secs} seconds."),
                    None => "the server is rate-limiting requests; retry in a minute.".into(),
                },
                code,
                exit: exit::API,
                details: None,
            },
            ClientError::Api { code, message, details, .. } => {
                CliError::Client { message, code, exit: exit::API, details }
            }
            ClientError::OAuth { error, description, .. } => CliError::Client {
                message: format!("{description} ({error})"),
                code: error.to_uppercase(),
                exit: exit::API,
                details: None,
            },
            ClientError::InvalidResponse { url, reason } => CliError::Client {
                message: format!("unexpected answer from {url}: {reason}. Is --api-url a sitegpt server?"),
                code: "INVALID_RESPONSE".into(),
                exit: exit::API,
                details: None,
            },
        }
    }
}
