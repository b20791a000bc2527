//! The three v0 operations, as their paths name them, and v0's limits.

use axum::http::Method;

/// Bodies are small JSON objects.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;
/// Ids are decimal numbers, as in the v0 documentation.
pub(crate) const ID_MAX_DIGITS: usize = 20;

/// The v0 operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    CreateUser { brand_id: String },
    GenerateKey { brand_id: String, user_id: String },
    UpdateQuota { brand_id: String, user_id: String },
}

impl Operation {
    /// The operation a path names, if any.
    pub(crate) fn parse(path: &str) -> Option<Operation> {
        let rest = path.strip_prefix("/api/v0/w/brands/")?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [brand, "users"] => Some(Operation::CreateUser { brand_id: (*brand).to_owned() }),
            [brand, "users", user, "api-key"] => {
                Some(Operation::GenerateKey { brand_id: (*brand).to_owned(), user_id: (*user).to_owned() })
            }
            [brand, "users", user, "quota"] => {
                Some(Operation::UpdateQuota { brand_id: (*brand).to_owned(), user_id: (*user).to_owned() })
            }
            _ => None,
        }
    }

    pub(crate) fn method(&self) -> Method {
        match self {
            Operation::CreateUser { .. } => Method::POST,
            Operation::GenerateKey { .. } | Operation::UpdateQuota { .. } => Method::PATCH,
        }
    }

    /// The start of this operation's error codes.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "CREATE_WHITELABEL_USER",
            Operation::GenerateKey { .. } => "GENERATE_API_KEY",
            Operation::UpdateQuota { .. } => "UPDATE_WHITELABEL_USER_QUOTA",
        }
    }

    /// The envelope's `message` when the operation fails.
    pub(crate) fn failure(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "Failed to create the whitelabel user",
            Operation::GenerateKey { .. } => "Failed to generate API key of the whitelabel user",
            Operation::UpdateQuota { .. } => "Failed to update the quota of the whitelabel user",
        }
    }

    /// The 403 message.
    pub(crate) fn forbidden(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "You are not authorized to create users of this whitelabel brand",
            Operation::GenerateKey { .. } => "You are not authorized to generate API key of the whitelabel user",
            Operation::UpdateQuota { .. } => "You are not authorized to update the quota of the whitelabel user",
        }
    }

    pub(crate) fn brand_id(&self) -> &str {
        match self {
            Operation::CreateUser { brand_id }
            | Operation::GenerateKey { brand_id, .. }
            | Operation::UpdateQuota { brand_id, .. } => brand_id,
        }
    }

    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Operation::CreateUser { .. } => None,
            Operation::GenerateKey { user_id, .. } | Operation::UpdateQuota { user_id, .. } => Some(user_id),
        }
    }
}
