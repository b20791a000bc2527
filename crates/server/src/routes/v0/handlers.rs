//! The three v0 operations, once the request is authenticated and valid.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::{Value, json};
use sitegpt_access::{Role, v0_key};
use sitegpt_store::{Brand, BrandUser, StoreError, V0KeyOwner};

use super::envelope::{V0Error, success};
use super::input::NewBrandUser;
use super::operation::Operation;
use crate::state::AppState;

/// The brand, when the caller is an owner or admin of the whitelabel
/// account that owns it; 403 otherwise (also for a brand that does not
/// exist, so brands of others cannot be discovered).
pub(crate) async fn customer_brand(state: &AppState, op: &Operation, owner: &V0KeyOwner) -> Result<Brand, V0Error> {
    let V0KeyOwner::User(user_id) = owner else { return Err(V0Error::forbidden(op)) };
    let brand = state.store.brand(op.brand_id()).await.map_err(|e| V0Error::failed(op, &e))?;
    let Some(brand) = brand else { return Err(V0Error::forbidden(op)) };
    let memberships = state.store.memberships(user_id).await.map_err(|e| V0Error::failed(op, &e))?;
    let manages = memberships
        .iter()
        .any(|(account, role)| account.id == brand.account_id && matches!(role, Role::Owner | Role::Admin));
    if !manages {
        return Err(V0Error::forbidden(op));
    }
    let whitelabel = state.store.is_whitelabel(&brand.account_id).await.map_err(|e| V0Error::failed(op, &e))?;
    if whitelabel { Ok(brand) } else { Err(V0Error::forbidden(op)) }
}

pub(crate) async fn brand_user(state: &AppState, op: &Operation, brand: &Brand) -> Result<BrandUser, V0Error> {
    let user_id = op.user_id().unwrap_or_default();
    match state.store.brand_user(&brand.id, user_id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(V0Error::user_not_found(op)),
        Err(e) => Err(V0Error::failed(op, &e)),
    }
}

/// A new decimal id, like the v0 documentation's.
pub fn new_numeric_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // 18 digits: at least 10^17, below 10^18.
    (100_000_000_000_000_000 + u64::from_le_bytes(bytes) % 900_000_000_000_000_000).to_string()
}

pub(crate) fn user_data(user: &BrandUser) -> Value {
    json!({
        "userId": user.id,
        "userEmail": user.email,
        "name": user.name,
        "messageQuota": user.message_quota,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    })
}

pub(crate) async fn create_user(
    state: &AppState,
    op: &Operation,
    brand: &Brand,
    new: NewBrandUser,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let user = BrandUser {
        id: new_numeric_id(),
        brand_id: brand.id.clone(),
        email: new.email,
        name: new.name,
        message_quota: new.message_quota,
        created_at: now,
        updated_at: now,
    };
    match state.store.create_brand_user(user.clone()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(V0Error::new(
                op,
                StatusCode::CONFLICT,
                "CREATE_WHITELABEL_USER_ALREADY_EXISTS",
                "The brand already has a user with this email",
            ));
        }
        Err(e) => return Err(V0Error::failed(op, &e)),
    }
    tracing::info!(brand_id = %brand.id, brand_user_id = %user.id, "whitelabel user created");
    Ok(success(StatusCode::CREATED, "Created whitelabel user successfully", user_data(&user)))
}

pub(crate) async fn generate_key(
    state: &AppState,
    op: &Operation,
    user: &BrandUser,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let (key, hint) = v0_key::generate();
    state
        .store
        .replace_v0_key(V0KeyOwner::BrandUser(user.id.clone()), v0_key::hash(&key), hint, now)
        .await
        .map_err(|e| V0Error::failed(op, &e))?;
    tracing::info!(brand_id = %user.brand_id, brand_user_id = %user.id, "whitelabel user API key generated");
    let data = json!({"userId": user.id, "userEmail": user.email, "apiKey": key});
    // The key exists in plaintext only in this answer: never cached.
    Ok(crate::routes::oauth::no_store(success(
        StatusCode::OK,
        "Generated API key of the whitelabel user successfully",
        data,
    )))
}

pub(crate) async fn update_quota(
    state: &AppState,
    op: &Operation,
    user: &BrandUser,
    quota: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let updated = state
        .store
        .set_brand_user_quota(&user.brand_id, &user.id, quota, now)
        .await
        .map_err(|e| V0Error::failed(op, &e))?
        .ok_or_else(|| V0Error::user_not_found(op))?;
    tracing::info!(brand_id = %user.brand_id, brand_user_id = %user.id, "whitelabel user quota updated");
    Ok(success(StatusCode::OK, "Updated quota of the whitelabel user successfully", user_data(&updated)))
}
