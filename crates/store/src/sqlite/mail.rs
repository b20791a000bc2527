//! The outgoing mail queue.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};

use super::pool::{Pool, backend};
use super::sql::numbered;
use crate::rows::{self, ms, oldest_first};
use crate::{MailLink, OutgoingMail, QueuedMail, StoreResult};

pub(super) fn insert_mail(tx: &Connection, mail: &OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    tx.prepare_cached(&numbered(rows::INSERT_MAIL))
        .and_then(|mut stmt| {
            stmt.execute(params![
                rows::new_mail_id(),
                mail.to,
                mail.subject,
                mail.body,
                mail.link.map(MailLink::as_str),
                mail.user_id,
                ms(now),
                mail.html,
                mail.unsubscribe
            ])
        })
        .map_err(backend)?;
    Ok(())
}

pub(super) async fn queue_mail(pool: &Arc<Pool>, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    pool.write(move |tx| insert_mail(tx, &mail, now)).await
}

pub(super) async fn claim_mail(
    pool: &Arc<Pool>,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> StoreResult<Vec<QueuedMail>> {
    // Workers look every few seconds and mostly find nothing: ask a
    // reader first, so an empty queue never takes the one writer.
    let due = pool
        .read(move |conn| {
            conn.prepare_cached(rows::ANY_MAIL_DUE).and_then(|mut stmt| stmt.exists([ms(now)])).map_err(backend)
        })
        .await?;
    if !due {
        return Ok(Vec::new());
    }
    pool.write(move |tx| {
        let mut stmt = tx.prepare_cached(&numbered(&rows::claim_mail_sql(""))).map_err(backend)?;
        let claimed = stmt
            .query_map(params![ms(now), ms(now + lease), limit], |r| rows::queued_mail(r))
            .map_err(backend)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?;
        Ok(claimed)
    })
    .await
    .map(oldest_first)
}

pub(super) async fn mail_sent(pool: &Arc<Pool>, mail_id: &str) -> StoreResult<()> {
    let mail_id = mail_id.to_owned();
    pool.write(move |tx| {
        tx.execute("DELETE FROM mail_queue WHERE id = ?1", [mail_id]).map_err(backend)?;
        Ok(())
    })
    .await
}

pub(super) async fn mail_failed(
    pool: &Arc<Pool>,
    mail_id: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (mail_id, error) = (mail_id.to_owned(), rows::mail_error(error));
    pool.write(move |tx| {
        tx.execute(&numbered(rows::MAIL_FAILED), params![mail_id, error, retry_at.map(ms), ms(now)])
            .map_err(backend)?;
        Ok(())
    })
    .await
}

pub(super) async fn mail_counts(pool: &Arc<Pool>) -> StoreResult<(u64, u64)> {
    pool.read(|conn| {
        conn.query_row(rows::MAIL_COUNTS, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map(|(due, failed)| (u64::try_from(due).unwrap_or(0), u64::try_from(failed).unwrap_or(0)))
            .map_err(backend)
    })
    .await
}
