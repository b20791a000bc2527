//! Notices about tokens, claimed once each, and the user's choice to get them.

use chrono::{DateTime, Utc};

use super::mail::insert_mail;
use super::sql::{Db, execute, pg, query, query_opt};
use crate::rows::{self, Cells, ms};
use crate::{NoticeKind, NoticeMail, StoreError, StoreResult};

/// Two nodes may run this at once: the second's claim of a notice waits for
/// the first's transaction and then changes nothing, so it queues no mail.
pub(super) async fn claim_expiry_notices(db: &Db, now: DateTime<Utc>, mail: NoticeMail) -> StoreResult<usize> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let mut claimed = 0;
    for kind in NoticeKind::ALL {
        let (after, by) = kind.window();
        let rows =
            query(&tx, rows::DUE_NOTICES, &[&ms(now + after), &ms(now + by), &by.num_milliseconds(), &kind.as_str()])
                .await?;
        for row in rows {
            let notice = rows::due_notice(&row, kind)?;
            let changed =
                execute(&tx, rows::CLAIM_NOTICE, &[&notice.token_id, &kind.as_str(), &ms(now)]).await.map_err(pg)?;
            if changed == 1 {
                insert_mail(&tx, &mail(&notice), now).await?;
                claimed += 1;
            }
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(claimed)
}

pub(super) async fn expiry_notices(db: &Db, user_id: &str) -> StoreResult<bool> {
    let client = db.client().await?;
    let row = query_opt(&client, "SELECT expiry_notices FROM users WHERE id = $1", &[&user_id])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(row.int(0)? == 1)
}

pub(super) async fn set_expiry_notices(db: &Db, user_id: &str, on: bool) -> StoreResult<()> {
    let client = db.client().await?;
    let changed = execute(&client, "UPDATE users SET expiry_notices = $2 WHERE id = $1", &[&user_id, &i64::from(on)])
        .await
        .map_err(pg)?;
    if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
