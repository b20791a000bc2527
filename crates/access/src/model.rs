//! Small domain enums shared by the store, the server and the wire types.

use serde::{Deserialize, Serialize};

/// How a token came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreatedVia {
    Dashboard,
    Api,
    CliDevice,
    Admin,
    /// Issued through an OAuth grant (authorization code or refresh).
    #[serde(rename = "oauth")]
    OAuth,
}

impl CreatedVia {
    pub const fn as_str(self) -> &'static str {
        match self {
            CreatedVia::Dashboard => "dashboard",
            CreatedVia::Api => "api",
            CreatedVia::CliDevice => "cli-device",
            CreatedVia::Admin => "admin",
            CreatedVia::OAuth => "oauth",
        }
    }

    pub fn parse(s: &str) -> Option<CreatedVia> {
        [CreatedVia::Dashboard, CreatedVia::Api, CreatedVia::CliDevice, CreatedVia::Admin, CreatedVia::OAuth]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whether an account's subscription allows the resource API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Active,
    Inactive,
}

impl SubscriptionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        match s {
            "active" => Some(SubscriptionStatus::Active),
            "inactive" => Some(SubscriptionStatus::Inactive),
            _ => None,
        }
    }
}
