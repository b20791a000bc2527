//! What every command needs: the resolved profile, server and token.

use sitegpt_api_types::AccountInfo;
use sitegpt_client::Client;

use crate::Cli;
use crate::config::{self, Config, DEFAULT_PROFILE, Profile, Who};
use crate::error::CliError;
use crate::output::Output;

const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";

/// What every command needs: the resolved profile, server and token.
pub struct Context {
    pub out: Output,
    pub config_path: std::path::PathBuf,
    pub config: Config,
    pub profile: String,
    pub api_url: String,
    /// Where `api_url` came from, for people.
    pub api_url_source: String,
    pub debug: bool,
}

impl Context {
    pub fn new(cli: &Cli, out: Output) -> Result<Context, CliError> {
        let config_path = config::path()?;
        let config = Config::load(&config_path)?;
        let profile = cli
            .profile
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| config.default_profile.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        // The server: asked for, else the profile's, else (for a new
        // profile) the default profile's, else the built-in default.
        let default_profile = config.default_profile.as_ref().and_then(|name| Some((name, config.profiles.get(name)?)));
        let (api_url, api_url_source) =
            match (cli.api_url.clone().filter(|u| !u.is_empty()), config.profiles.get(&profile)) {
                (Some(url), _) => (url, "--api-url or SITEGPT_API_URL".to_owned()),
                (None, Some(own)) => (own.api_url.clone(), format!("profile `{profile}`")),
                (None, None) => match default_profile {
                    Some((name, other)) => (other.api_url.clone(), format!("the default profile `{name}`")),
                    None => (DEFAULT_API_URL.to_owned(), "the built-in default".to_owned()),
                },
            };
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(CliError::Usage(format!("--api-url must start with http:// or https:// (got `{api_url}`)")));
        }
        let trimmed = api_url.trim_end_matches('/');
        if let Some(base) = trimmed.strip_suffix("/api/v2").or_else(|| trimmed.strip_suffix("/api")) {
            return Err(CliError::Usage(format!(
                "--api-url is the server's address without the API path: use `--api-url {base}` (got `{api_url}`)"
            )));
        }
        Ok(Context { out, config_path, config, profile, api_url, api_url_source, debug: cli.debug })
    }

    pub fn client(&self) -> Client {
        Client::new(&self.api_url).with_debug(self.debug)
    }

    /// `SITEGPT_API_TOKEN` for this command, else the profile's token.
    pub fn token(&self) -> Result<String, CliError> {
        if let Some(token) = std::env::var("SITEGPT_API_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(token.trim().to_owned());
        }
        self.config.profiles.get(&self.profile).and_then(|p| p.token.clone()).ok_or_else(|| CliError::NotLoggedIn {
            profile: self.profile.clone(),
            flag: if self.profile == DEFAULT_PROFILE { String::new() } else { format!(" --profile {}", self.profile) },
        })
    }

    pub fn authed(&self) -> Result<Client, CliError> {
        Ok(self.client().with_token(&self.token()?))
    }

    pub fn fail(&self, e: sitegpt_client::ClientError) -> CliError {
        CliError::from_client(e, &config::relogin_command(&self.profile))
    }

    pub fn save_login(&mut self, token: String, info: &AccountInfo, device_login: bool) -> Result<(), CliError> {
        let profile = Profile {
            api_url: self.api_url.clone(),
            token: Some(token),
            token_id: Some(info.token.id.clone()),
            who: Some(Who {
                email: info.user.email.clone(),
                user_id: info.user.id.clone(),
                account_id: info.account.id.clone(),
                account_name: info.account.name.clone(),
                role: info.role.as_str().to_owned(),
            }),
            chatbot_ids: info.token.chatbot_ids.clone(),
            device_login,
        };
        let name = self.profile.clone();
        self.config = Config::update(&self.config_path, |config| {
            config.profiles.insert(name.clone(), profile);
            if config.default_profile.is_none() {
                config.default_profile = Some(name);
            }
        })?;
        Ok(())
    }
}
