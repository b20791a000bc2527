//! `GET /api/v2/account`: who is calling, in which account, with which token.
//! Served from the verified token alone: no database read, and the `data`
//! object is serialized once per cached token.

use axum::response::Response;
use serde_json::value::to_raw_value;
use sitegpt_access::Target;
use sitegpt_api_types::{AccountInfo, AccountSummary, CallerToken, UserInfo};

use super::ok_raw;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn show(caller: Caller) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let data = match caller.verified().account_data.get() {
        Some(data) => data,
        None => {
            let data = to_raw_value(&account_info(&caller)).map_err(|e| ApiError::Internal(e.to_string()))?;
            caller.verified().account_data.get_or_init(|| data)
        }
    };
    Ok(ok_raw(data))
}

fn account_info(caller: &Caller) -> AccountInfo {
    let auth = caller.auth();
    let token = &auth.token;
    AccountInfo {
        user: UserInfo {
            id: token.user_id.clone(),
            email: auth.user_email.clone(),
            email_verified: auth.email_verified,
        },
        account: AccountSummary {
            id: token.account_id.clone(),
            name: auth.account_name.clone(),
            subscription_status: auth.subscription,
        },
        role: caller.role(),
        token: CallerToken {
            id: token.id.clone(),
            name: token.name.clone(),
            scopes: token.scopes.to_vec(),
            chatbot_ids: token.chatbots.ids().to_vec(),
            expires_at: token.expires_at,
        },
    }
}
