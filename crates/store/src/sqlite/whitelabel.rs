//! The deprecated v0 API's data: whitelabel state, brands, brand users and
//! v0 keys.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::pool::{Pool, backend};
use super::sql::constraint;
use super::teams::load_account;
use crate::rows::{self, BRAND_COLUMNS, BRAND_USER_COLUMNS, V0_KEY_COLUMNS, ms};
use crate::{Brand, BrandUser, StoreError, StoreResult, V0Key, V0KeyOwner};

pub(super) fn load_brand_user(conn: &Connection, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
    conn.prepare_cached(&format!("SELECT {BRAND_USER_COLUMNS} FROM brand_users WHERE id = ?2 AND brand_id = ?1"))
        .and_then(|mut stmt| stmt.query_row([brand_id, user_id], |r| rows::brand_user(r)).optional())
        .map_err(backend)
}

pub(super) async fn set_whitelabel(
    pool: &Arc<Pool>,
    account_id: &str,
    on: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let account_id = account_id.to_owned();
    pool.write(move |tx| {
        if load_account(tx, &account_id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let sql = if on {
            "INSERT INTO whitelabel_accounts (account_id, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM whitelabel_accounts WHERE account_id = ?1 AND ?2 IS NOT NULL"
        };
        tx.execute(sql, params![account_id, ms(now)]).map_err(backend)?;
        Ok(())
    })
    .await
}

pub(super) async fn is_whitelabel(pool: &Arc<Pool>, account_id: &str) -> StoreResult<bool> {
    let account_id = account_id.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM whitelabel_accounts WHERE account_id = ?1)")
            .and_then(|mut stmt| stmt.query_row([account_id], |r| r.get(0)))
            .map_err(backend)
    })
    .await
}

pub(super) async fn create_brand(pool: &Arc<Pool>, brand: Brand) -> StoreResult<()> {
    pool.write(move |tx| {
        tx.execute(
            "INSERT INTO brands (id, account_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![brand.id, brand.account_id, brand.name, ms(brand.created_at)],
        )
        .map_err(constraint("a brand with this id already exists"))?;
        Ok(())
    })
    .await
}

pub(super) async fn brand(pool: &Arc<Pool>, brand_id: &str) -> StoreResult<Option<Brand>> {
    let brand_id = brand_id.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {BRAND_COLUMNS} FROM brands WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row([brand_id], |r| rows::brand(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn create_brand_user(pool: &Arc<Pool>, user: BrandUser) -> StoreResult<()> {
    pool.write(move |tx| {
        tx.execute(
            "INSERT INTO brand_users (id, brand_id, email, name, message_quota, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                user.id,
                user.brand_id,
                user.email,
                user.name,
                user.message_quota,
                ms(user.created_at),
                ms(user.updated_at)
            ],
        )
        .map_err(constraint("the brand already has a user with this e-mail"))?;
        Ok(())
    })
    .await
}

pub(super) async fn brand_user(pool: &Arc<Pool>, brand_id: &str, user_id: &str) -> StoreResult<Option<BrandUser>> {
    let (brand_id, user_id) = (brand_id.to_owned(), user_id.to_owned());
    pool.read(move |conn| load_brand_user(conn, &brand_id, &user_id)).await
}

pub(super) async fn set_brand_user_quota(
    pool: &Arc<Pool>,
    brand_id: &str,
    user_id: &str,
    quota: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<Option<BrandUser>> {
    let (brand_id, user_id) = (brand_id.to_owned(), user_id.to_owned());
    pool.write(move |tx| {
        tx.execute(
            "UPDATE brand_users SET message_quota = ?3, updated_at = ?4 WHERE id = ?2 AND brand_id = ?1",
            params![brand_id, user_id, quota, ms(now)],
        )
        .map_err(backend)?;
        load_brand_user(tx, &brand_id, &user_id)
    })
    .await
}

pub(super) async fn replace_v0_key(
    pool: &Arc<Pool>,
    owner: V0KeyOwner,
    hash: [u8; 32],
    hint: String,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    pool.write(move |tx| {
        let (user_id, brand_user_id) = rows::v0_owner_columns(&owner);
        tx.execute("DELETE FROM v0_api_keys WHERE user_id = ?1 OR brand_user_id = ?2", params![user_id, brand_user_id])
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO v0_api_keys (key_hash, hint, user_id, brand_user_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&hash[..], hint, user_id, brand_user_id, ms(now)],
        )
        .map_err(constraint("this key already exists"))?;
        Ok(())
    })
    .await
}

pub(super) async fn v0_key(pool: &Arc<Pool>, hash: [u8; 32]) -> StoreResult<Option<V0Key>> {
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {V0_KEY_COLUMNS} FROM v0_api_keys WHERE key_hash = ?1"))
            .and_then(|mut stmt| stmt.query_row([&hash[..]], |r| rows::v0_key(r)).optional())
            .map_err(backend)
    })
    .await
}
