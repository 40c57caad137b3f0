//! Notification e-mail over SMTP, sent from the notifications table by a
//! background job, so a slow or absent mail server never holds a request.

use chrono::{DateTime, Duration, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;

use crate::config::Settings;
use crate::db;

/// Attempts before a message is given up.
const MAX_ATTEMPTS: i32 = 6;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    base_url: String,
}

impl Mailer {
    /// The mailer `ROTA_SMTP_URL` describes, or `None` when it is unset.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Mailer>> {
        let Some(url) = &settings.smtp_url else { return Ok(None) };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                anyhow::anyhow!(
                    "ROTA_SMTP_URL is not a valid SMTP URL ({e}); e.g. smtp://mail.example.com:587?tls=required"
                )
            })?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("ROTA_MAIL_FROM={} is not an address ({e})", settings.mail_from))?;
        Ok(Some(Mailer {
            transport,
            from,
            base_url: settings.base_url.clone(),
        }))
    }

    async fn send(&self, to: &db::notifications::Mail) -> anyhow::Result<()> {
        let to_box = Mailbox::new(Some(to.name.clone()), to.email.parse()?);
        let subject: String = to.message.chars().take(120).collect();
        let body = format!(
            "{}\n\n{}{}\n\n-- \nRota. You get this because you are in a team on Rota; your inbox in Rota has every notice.\n",
            to.message, self.base_url, to.link
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject)
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// Sends the e-mail that is due; a failure is retried with a growing wait.
/// Rows are locked with SKIP LOCKED, so several processes never send one
/// message twice. Returns how many went out.
pub async fn send_due(pool: &PgPool, mailer: &Mailer, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let mut tx = pool.begin().await?;
        let due = db::notifications::due_mail(&mut tx, now, 20).await?;
        if due.is_empty() {
            return Ok(sent);
        }
        for mail in &due {
            match mailer.send(mail).await {
                Ok(()) => {
                    db::notifications::mail_sent(&mut tx, mail.id).await?;
                    sent += 1;
                }
                Err(e) => {
                    let attempts = mail.mail_attempts + 1;
                    let next = (attempts < MAX_ATTEMPTS).then(|| now + Duration::minutes(1 << attempts.min(10)));
                    tracing::warn!(error = %e, attempts, "sending a notification e-mail failed");
                    db::notifications::mail_failed(&mut tx, mail.id, &e.to_string(), next).await?;
                }
            }
        }
        tx.commit().await?;
    }
}
