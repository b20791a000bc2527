//! The config file: named profiles (API URL, token, token id, who) and the
//! default profile, at `$XDG_CONFIG_HOME/sitegpt/config.json` (else
//! `~/.config/sitegpt/config.json`). The folder is 0700 and the file 0600; it
//! is written whole to a temporary file and renamed over the old one, and a
//! file that cannot be parsed is reported, never overwritten.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

pub const DEFAULT_PROFILE: &str = "default";

/// The command that logs `profile` in again.
pub fn relogin_command(profile: &str) -> String {
    if profile == DEFAULT_PROFILE { "sitegpt login".to_owned() } else { format!("sitegpt login --profile {profile}") }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub api_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
    /// The chatbots the token is restricted to (empty: all), as at login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chatbot_ids: Vec<String>,
    /// Whether this CLI's device login made the token (so logging in again
    /// revokes it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub device_login: bool,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_id", &self.token_id)
            .field("who", &self.who)
            .field("chatbot_ids", &self.chatbot_ids)
            .field("device_login", &self.device_login)
            .finish()
    }
}

/// Who a profile's token belongs to, as the server said at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Who {
    pub email: String,
    pub user_id: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
}

/// Where the config lives.
pub fn path() -> Result<PathBuf, CliError> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| CliError::Config("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("sitegpt").join("config.json"))
}

impl Config {
    /// Reads the config; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, CliError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(CliError::Config(format!("cannot read {}: {e}", path.display()))),
        };
        serde_json::from_str(&text).map_err(|e| {
            CliError::Config(format!(
                "{} is not a valid sitegpt config ({e}); fix it, or move it away to start afresh",
                path.display()
            ))
        })
    }

    /// Re-reads the file under an exclusive lock, applies `change`, and
    /// writes the result, so that two commands saving different profiles at
    /// once both keep their change. Returns the config as written.
    pub fn update(path: &Path, change: impl FnOnce(&mut Config)) -> Result<Config, CliError> {
        let dir = path.parent().ok_or_else(|| CliError::Config(format!("{} has no folder", path.display())))?;
        fs::create_dir_all(dir).map_err(|e| CliError::Config(format!("cannot create {}: {e}", dir.display())))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| CliError::Config(format!("cannot protect {}: {e}", dir.display())))?;
        let lock_path = dir.join(".config.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| CliError::Config(format!("cannot open {}: {e}", lock_path.display())))?;
        lock.lock().map_err(|e| CliError::Config(format!("cannot lock {}: {e}", lock_path.display())))?;
        let mut config = Config::load(path)?;
        change(&mut config);
        config.save(path)?;
        Ok(config)
    }

    /// Writes the config atomically with owner-only permissions.
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let fail = |what: &str, e: std::io::Error| CliError::Config(format!("cannot {what} {}: {e}", path.display()));
        let dir = path.parent().ok_or_else(|| CliError::Config(format!("{} has no folder", path.display())))?;
        fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| fail("protect the folder of", e))?;
        let temp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
        let mut text = serde_json::to_string_pretty(self).map_err(|e| CliError::Config(e.to_string()))?;
        text.push('\n');
        let written = (|| {
            let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(fail("write", e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sitegpt").join("config.json");
        let mut config = Config::default();
        config.profiles.insert(
            "default".into(),
            Profile { api_url: "http://x".into(), token: Some("sgpt_x".into()), ..Profile::default() },
        );
        config.save(&path).expect("save");
        assert_eq!(Config::load(&path).expect("load"), config);
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        assert!(!format!("{:?}", config.profiles["default"]).contains("sgpt_x"));
    }

    #[test]
    fn a_missing_file_is_empty_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.json");
        assert_eq!(Config::load(&path).expect("missing"), Config::default());
        fs::write(&path, "{ not json").expect("write");
        let error = Config::load(&path).expect_err("broken");
        assert!(error.to_string().contains(&path.display().to_string()));
    }
}
