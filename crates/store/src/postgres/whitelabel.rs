//! The deprecated v0 API's data: whitelabel state, brands, brand users and
//! v0 keys.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::sql::{Db, constraint, execute, missing_parent, pg, query_opt};
use crate::rows::{self, BRAND_COLUMNS, BRAND_USER_COLUMNS, V0_KEY_COLUMNS, ms};
use crate::{Brand, BrandUser, StoreError, StoreResult, V0Key, V0KeyOwner};

pub(super) async fn set_whitelabel(db: &Db, account_id: &str, on: bool, now: DateTime<Utc>) -> StoreResult<()> {
    let client = db.client().await?;
    let sql = if on {
        "INSERT INTO whitelabel_accounts (account_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM whitelabel_accounts WHERE account_id = $1 AND $2::BIGINT IS NOT NULL"
    };
    execute(&client, sql, &[&account_id, &ms(now)]).await.map_err(missing_parent)?;
    let exists = query_opt(&client, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id]).await?;
    if exists.is_some() { Ok(()) } else { Err(StoreError::NotFound) }
}

pub(super) async fn is_whitelabel(db: &Db, account_id: &str) -> StoreResult<bool> {
    let client = db.client().await?;
    Ok(query_opt(&client, "SELECT 1 FROM whitelabel_accounts WHERE account_id = $1", &[&account_id]).await?.is_some())
}

pub(super) async fn create_brand(db: &Db, brand: Brand) -> StoreResult<()> {
    let client = db.client().await?;
    execute(
        &client,
        "INSERT INTO brands (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)",
        &[&brand.id, &brand.account_id, &brand.name, &ms(brand.created_at)],
    )
    .await
    .map_err(constraint("a brand with this id already exists"))?;
    Ok(())
}

pub(super) async fn brand(db: &Db, brand_id: &str) -> StoreResult<Option<Brand>> {
    let client = db.client().await?;
    query_opt(&client, &format!("SELECT {BRAND_COLUMNS} FROM brands WHERE id = $1"), &[&brand_id])
        .await?
        .map(|r| rows::brand(&r))
        .transpose()
}

pub(super) async fn create_brand_user(db: &Db, user: BrandUser) -> StoreResult<()> {
    let client = db.client().await?;
    execute(
        &client,
        "INSERT INTO brand_users (id, brand_id, email, name, message_quota, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &user.id,
            &user.brand_id,
            &user.email,
            &user.name,
            &user.message_quota,
            &ms(user.created_at),
            &ms(user.updated_at),
        ],
    )
    .await
    .map_err(constraint("the brand already has a user with this e-mail"))?;
    Ok(())
}

pub(super) async fn brand_user(db: &Db, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
    let client = db.client().await?;
    query_opt(
        &client,
        &format!("SELECT {BRAND_USER_COLUMNS} FROM brand_users WHERE id = $2 AND brand_id = $1"),
        &[&brand_id, &user_id],
    )
    .await?
    .map(|r| rows::brand_user(&r))
    .transpose()
}

pub(super) async fn set_brand_user_quota(
    db: &Db,
    brand_id: &str,
    user_id: &str,
    quota: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<Option<BrandUser>> {
    let client = db.client().await?;
    query_opt(
        &client,
        &format!(
            "UPDATE brand_users SET message_quota = $3, updated_at = $4 WHERE id = $2 AND brand_id = $1 \
             RETURNING {BRAND_USER_COLUMNS}"
        ),
        &[&brand_id, &user_id, &quota, &ms(now)],
    )
    .await?
    .map(|r| rows::brand_user(&r))
    .transpose()
}

pub(super) async fn replace_v0_key(
    db: &Db,
    owner: V0KeyOwner,
    hash: [u8; 32],
    hint: String,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let (user_id, brand_user_id) = rows::v0_owner_columns(&owner);
    execute(&tx, "DELETE FROM v0_api_keys WHERE user_id = $1 OR brand_user_id = $2", &[&user_id, &brand_user_id])
        .await
        .map_err(pg)?;
    execute(
        &tx,
        "INSERT INTO v0_api_keys (key_hash, hint, user_id, brand_user_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&&hash[..], &hint, &user_id, &brand_user_id, &ms(now)],
    )
    .await
    .map_err(constraint("this key already exists"))?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn v0_key(db: &Db, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
    let client = db.client().await?;
    query_opt(&client, &format!("SELECT {V0_KEY_COLUMNS} FROM v0_api_keys WHERE key_hash = $1"), &[&&hash[..]])
        .await?
        .map(|r| rows::v0_key(&r))
        .transpose()
}
