//! Outgoing mail (e-mail verification links). With `SITEGPT_SMTP_URL`
//! (`smtp://user:pass@host:587?tls=required`, `smtps://…:465`, or plain
//! `smtp://host:25` for a local relay) mail goes over SMTP; without it, each
//! message is written to `DATA_DIR/outbox/` and its link to the log, so a
//! self-hosted install works with no mail server at all.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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

/// One message; the body is plain text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        Ok(Mailer { delivery: Delivery::Outbox(dir), from: from.parse().context("the sender address is not valid")? })
    }

    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SITEGPT_SMTP_URL is not a valid smtp:// or smtps:// URL")?
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
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(&mail.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body.clone())
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
                let text = format!(
                    "From: {}\nTo: {to}\nSubject: {}\nDate: {}\nContent-Type: text/plain; charset=utf-8\n\n{}",
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
