//! The outgoing mail queue. Workers on several nodes claim with
//! `FOR UPDATE SKIP LOCKED`, so one message goes to one worker.

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

use super::sql::{Db, all, execute, missing_parent, pg, query, query_opt};
use crate::rows::{self, Cells, ms};
use crate::{MailLink, OutgoingMail, QueuedMail, StoreError, StoreResult};

pub(super) async fn insert_mail(tx: &impl GenericClient, mail: &OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    execute(
        tx,
        rows::INSERT_MAIL,
        &[
            &rows::new_mail_id(),
            &mail.to,
            &mail.subject,
            &mail.body,
            &mail.link.map(MailLink::as_str),
            &mail.user_id,
            &ms(now),
            &mail.html,
            &mail.unsubscribe,
        ],
    )
    .await
    .map_err(missing_parent)?;
    Ok(())
}

pub(super) async fn queue_mail(db: &Db, mail: OutgoingMail, now: DateTime<Utc>) -> StoreResult<()> {
    let client = db.client().await?;
    insert_mail(&client, &mail, now).await
}

pub(super) async fn claim_mail(
    db: &Db,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> StoreResult<Vec<QueuedMail>> {
    let client = db.client().await?;
    let claimed = query(
        &client,
        &rows::claim_mail_sql("FOR UPDATE SKIP LOCKED"),
        &[&ms(now), &ms(now + lease), &i64::from(limit)],
    )
    .await?;
    all(claimed, rows::queued_mail).map(rows::oldest_first)
}

pub(super) async fn mail_sent(db: &Db, mail_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
    execute(&client, "DELETE FROM mail_queue WHERE id = $1", &[&mail_id]).await.map_err(pg)?;
    Ok(())
}

pub(super) async fn mail_failed(
    db: &Db,
    mail_id: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let client = db.client().await?;
    let error = rows::mail_error(error);
    execute(&client, rows::MAIL_FAILED, &[&mail_id, &error, &retry_at.map(ms), &ms(now)]).await.map_err(pg)?;
    Ok(())
}

pub(super) async fn mail_counts(db: &Db) -> StoreResult<(u64, u64)> {
    let client = db.client().await?;
    let row = query_opt(&client, rows::MAIL_COUNTS, &[]).await?.ok_or(StoreError::NotFound)?;
    Ok((u64::try_from(row.int(0)?).unwrap_or(0), u64::try_from(row.int(1)?).unwrap_or(0)))
}
