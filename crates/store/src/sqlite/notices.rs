//! Notices about tokens, claimed once each, and the user's choice to get them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::mail::insert_mail;
use super::pool::{Pool, backend};
use super::sql::numbered;
use crate::rows::{self, ms};
use crate::{ExpiryNotice, NoticeKind, NoticeMail, StoreError, StoreResult};

pub(super) async fn claim_expiry_notices(pool: &Arc<Pool>, now: DateTime<Utc>, mail: NoticeMail) -> StoreResult<usize> {
    pool.write(move |tx| {
        let mut claimed = 0;
        for kind in NoticeKind::ALL {
            let (after, by) = kind.window();
            let due: Vec<ExpiryNotice> = tx
                .prepare_cached(&numbered(rows::DUE_NOTICES))
                .and_then(|mut stmt| {
                    stmt.query_map(params![ms(now + after), ms(now + by), by.num_milliseconds(), kind.as_str()], |r| {
                        rows::due_notice(r, kind)
                    })?
                    .collect()
                })
                .map_err(backend)?;
            for notice in due {
                let changed = tx
                    .execute(&numbered(rows::CLAIM_NOTICE), params![notice.token_id, kind.as_str(), ms(now)])
                    .map_err(backend)?;
                if changed == 1 {
                    insert_mail(tx, &mail(&notice), now)?;
                    claimed += 1;
                }
            }
        }
        Ok(claimed)
    })
    .await
}

pub(super) async fn expiry_notices(pool: &Arc<Pool>, user_id: &str) -> StoreResult<bool> {
    let user_id = user_id.to_owned();
    pool.read(move |conn| {
        conn.query_row("SELECT expiry_notices FROM users WHERE id = ?1", [&user_id], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(backend)?
            .map(|on| on == 1)
            .ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn set_expiry_notices(pool: &Arc<Pool>, user_id: &str, on: bool) -> StoreResult<()> {
    let user_id = user_id.to_owned();
    pool.write(move |tx| {
        let changed = tx
            .execute("UPDATE users SET expiry_notices = ?2 WHERE id = ?1", params![user_id, i64::from(on)])
            .map_err(backend)?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    })
    .await
}
