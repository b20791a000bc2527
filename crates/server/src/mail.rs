//! Outgoing mail. Requests never send mail themselves: they queue it in the
//! store, in the transaction of the change that causes it, and
//! [`MailQueue`] delivers it with retries and backoff, so a mail server
//! that is down fails no request and a restart loses no message.
//!
//! With `SITEGPT_SMTP_URL` (`smtp://user:pass@host:587?tls=required`,
//! `smtps://…:465`, or plain `smtp://host:25` for a local relay) mail goes
//! over SMTP; without it, each message is written to `DATA_DIR/outbox/` and
//! its link to the log, so a self-hosted install works with no mail server
//! at all.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sitegpt_store::{MailLink, QueuedMail, Store};
use tokio::sync::Notify;

use crate::secret::{hash_secret, random_secret};

#[derive(Debug, Clone)]
pub enum Delivery {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Debug, Clone)]
pub struct Mailer {
    delivery: Delivery,
    from: Mailbox,
}

/// One message: plain text, with an HTML part and a `List-Unsubscribe`
/// address for notices.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe` (RFC 2369): where a notice can be turned off.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

impl Mailer {
    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        Ok(Mailer { delivery: Delivery::Outbox(dir), from: from.parse().context("the sender address is not valid")? })
    }

    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SITEGPT_SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer {
            delivery: Delivery::Smtp(transport),
            from: from.parse().context("the sender address is not valid")?,
        })
    }

    pub fn outbox_dir(&self) -> Option<&PathBuf> {
        match &self.delivery {
            Delivery::Outbox(dir) => Some(dir),
            Delivery::Smtp(_) => None,
        }
    }

    /// Sends `mail`; `link` is the action it carries, logged when there is no
    /// SMTP server so an operator can find it.
    pub async fn send(&self, mail: Mail, link: &str) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.parse().context("the recipient address is not valid")?;
        match &self.delivery {
            Delivery::Smtp(transport) => {
                let mut builder = Message::builder().from(self.from.clone()).to(to).subject(&mail.subject);
                if let Some(address) = &mail.unsubscribe {
                    builder = builder.header(ListUnsubscribe(format!("<{address}>")));
                }
                let message = match &mail.html {
                    Some(html) => builder
                        .multipart(lettre::message::MultiPart::alternative_plain_html(mail.body.clone(), html.clone())),
                    None => builder.header(ContentType::TEXT_PLAIN).body(mail.body.clone()),
                }
                .context("building the message")?;
                transport.send(message).await.context("sending over SMTP")?;
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent over SMTP");
            }
            Delivery::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
                let safe_to: String = mail
                    .to
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || "@.-_".contains(c) { c } else { '_' })
                    .collect();
                let name = format!("{}-{safe_to}.eml", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
                let path = dir.join(name);
                // Written for people to read: headers and the body as is, not
                // transfer-encoded, so links can be copied straight out.
                let unsubscribe =
                    mail.unsubscribe.as_ref().map(|a| format!("List-Unsubscribe: <{a}>\n")).unwrap_or_default();
                let html = mail.html.as_ref().map(|h| format!("\n\n--- the HTML part ---\n{h}")).unwrap_or_default();
                let text = format!(
                    "From: {}\nTo: {to}\nSubject: {}\nDate: {}\n{unsubscribe}Content-Type: text/plain; charset=utf-8\n\n{}{html}",
                    self.from,
                    mail.subject,
                    Utc::now().to_rfc2822(),
                    mail.body
                );
                tokio::fs::write(&path, text).await.with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, link, outbox = %path.display(), "mail written to the outbox (no SMTP server configured)");
            }
        }
        Ok(())
    }
}

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claimed message is kept from other workers: longer than one
/// delivery can take, so only a worker that died leaves it to another.
const LEASE: Duration = Duration::from_secs(300);
/// Messages claimed at a time.
const BATCH: u32 = 16;
/// Attempts before a message is given up on (retries over about twelve hours).
pub const MAX_ATTEMPTS: u32 = 12;
/// How often the queue is looked at when nothing wakes the worker: for
/// retries, and for mail queued by other nodes or the admin commands.
const POLL: Duration = Duration::from_secs(2);
/// How long a verification link stays valid.
pub const VERIFICATION_HOURS: i64 = 24;
/// How long a password reset link stays valid.
pub const RESET_MINUTES: i64 = 60;

/// The wait after `attempts` failed attempts: 30 s, doubling, at most 4 h.
pub fn backoff(attempts: u32) -> Duration {
    let doubled = 30u64.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    Duration::from_secs(doubled.min(4 * 3600))
}

/// Delivers queued mail: claims due messages, makes their links, sends them,
/// and records the outcome. One runs in each server process; the store's
/// claims keep workers on several nodes from sending a message twice.
#[derive(Debug)]
pub struct MailQueue {
    store: Arc<dyn Store>,
    mailer: Mailer,
    public_url: Arc<str>,
    wake: Notify,
}

impl MailQueue {
    pub fn new(store: Arc<dyn Store>, mailer: Mailer, public_url: Arc<str>) -> MailQueue {
        MailQueue { store, mailer, public_url, wake: Notify::new() }
    }

    /// Tells the worker that mail was queued, so it need not wait for its
    /// next look.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        loop {
            // Whole batches in a row, then wait for a wake-up or the next look.
            while self.deliver_due().await >= BATCH as usize {}
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One pass over the due messages; returns how many were claimed.
    pub async fn deliver_due(&self) -> usize {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
        let claimed = match self.store.claim_mail(now, lease, BATCH).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the mail queue");
                return 0;
            }
        };
        let count = claimed.len();
        for queued in claimed {
            self.deliver(queued).await;
        }
        count
    }

    async fn deliver(&self, queued: QueuedMail) {
        let attempt = queued.attempts + 1;
        let outcome = match self.render(&queued).await {
            Ok((mail, logged)) => self.mailer.send(mail, &logged).await,
            Err(e) => Err(e),
        };
        let recorded = match outcome {
            Ok(()) => self.store.mail_sent(&queued.id).await,
            Err(e) => {
                let error = format!("{e:#}");
                let now = Utc::now();
                let retry_at = (attempt < MAX_ATTEMPTS)
                    .then(|| now + chrono::Duration::from_std(backoff(attempt)).unwrap_or(chrono::Duration::MAX));
                if retry_at.is_some() {
                    tracing::warn!(mail_id = %queued.id, attempt, error, "mail not sent; will retry");
                } else {
                    tracing::error!(mail_id = %queued.id, attempt, error, "mail not sent; giving up");
                }
                self.store.mail_failed(&queued.id, &error, retry_at, now).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(mail_id = %queued.id, error = %e, "could not record a delivery");
        }
    }

    /// The message as sent: `{link}` replaced by a fresh single-use link,
    /// whose hash is stored now (so a link is valid from when it is sent);
    /// and what the outbox may log of the link (never a reset link, which
    /// signs its holder in as the user).
    async fn render(&self, queued: &QueuedMail) -> anyhow::Result<(Mail, String)> {
        let link = match (queued.link, &queued.user_id) {
            (None, _) => String::new(),
            (Some(MailLink::ResetPassword), Some(user_id)) => {
                let secret = random_secret();
                let now = Utc::now();
                let expires = now + chrono::Duration::minutes(RESET_MINUTES);
                self.store
                    .create_password_reset(hash_secret(&secret), user_id, now, expires)
                    .await
                    .context("storing the password reset link")?;
                format!("{}/reset-password?token={secret}", self.public_url)
            }
            (Some(MailLink::VerifyEmail), Some(user_id)) => {
                let secret = random_secret();
                let now = Utc::now();
                let expires = now + chrono::Duration::hours(VERIFICATION_HOURS);
                self.store
                    .create_email_verification(hash_secret(&secret), user_id, now, expires)
                    .await
                    .context("storing the verification link")?;
                format!("{}/verify-email?token={secret}", self.public_url)
            }
            (Some(kind), None) => anyhow::bail!("a {} link needs a user", kind.as_str()),
        };
        let body = if link.is_empty() { queued.body.clone() } else { queued.body.replace("{link}", &link) };
        let logged =
            if queued.link == Some(MailLink::ResetPassword) { "(a password reset link)".to_owned() } else { link };
        let mail = Mail {
            to: queued.to.clone(),
            subject: queued.subject.clone(),
            body,
            html: queued.html.clone(),
            unsubscribe: queued.unsubscribe.clone(),
        };
        Ok((mail, logged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_four_hours() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(5), Duration::from_secs(480));
        assert_eq!(backoff(11), Duration::from_secs(4 * 3600));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(4 * 3600));
        let total: u64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).as_secs()).sum();
        assert!((12 * 3600..24 * 3600).contains(&total), "retries span about twelve hours: {total} s");
    }
}
