//! Notification e-mail over SMTP, sent from the notifications table by a
//! background job, so a slow or absent mail server never holds a request.
//! A message Rota cannot build (bad stored data) is marked failed with the
//! reason, shown on the admin page, and the queue moves on.

use chrono::{DateTime, Duration, Utc};
use lettre::Address;
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

    /// Sends one claimed message. `Unsendable` is for good: the stored
    /// data has to change first.
    async fn send(&self, mail: &db::notifications::Mail) -> Result<(), SendError> {
        let message = build_message(&self.from, &self.base_url, mail).map_err(SendError::Unsendable)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        Ok(())
    }
}

impl Mailer {
    /// Sends one message at once (pages and contact-method tests, which
    /// cannot wait for the notification queue): `Err` says why not.
    pub async fn send_now(&self, email: &str, name: &str, subject: &str, body: &str) -> Result<(), String> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient(name, email).map_err(|e| e.to_string())?)
            .subject(subject_of(subject))
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(drop).map_err(|e| e.to_string())
    }
}

enum SendError {
    Unsendable(Unsendable),
    /// The mail server could not be reached or refused it: tried again.
    Transport(String),
}

/// Why a notification cannot be put into an e-mail. Each message says what
/// to correct; it shows on the admin page.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsendable {
    #[error(
        "The recipient's name contains a line break or another control character, which cannot go in a mail header; correct their name and later notices are e-mailed"
    )]
    ControlCharacterInName,
    #[error(
        "The recipient's e-mail address is not one mail can be sent to ({0}); correct it and later notices are e-mailed"
    )]
    BadAddress(String),
    #[error("The e-mail could not be put together ({0})")]
    Build(String),
}

/// The mailbox for a person, refusing what lettre cannot put in a header
/// (see [`build_message`]).
fn recipient(name: &str, email: &str) -> Result<Mailbox, Unsendable> {
    if name.chars().any(char::is_control) {
        return Err(Unsendable::ControlCharacterInName);
    }
    let address: Address = email
        .parse()
        .map_err(|e: lettre::address::AddressError| Unsendable::BadAddress(e.to_string()))?;
    let name = name.trim();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address))
}

/// The subject: the notice's first 120 characters on one line.
fn subject_of(message: &str) -> String {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    line.trim().to_owned()
}

/// The e-mail for `mail`, built so that no stored text can make lettre
/// panic or add a header. lettre 0.11 panics on a CR or LF in a display
/// name: `Mailbox`'s `Display` returns `fmt::Error` for them and the `To`
/// header's `display()` calls `to_string()` on it ("a Display
/// implementation returned an error unexpectedly"), from
/// `MessageBuilder::to`. So a name with a control character is refused here,
/// before lettre sees it: it is the person's own and is not ours to
/// rewrite. The subject is Rota's summary of the notice, so a control
/// character there (a team or rotation name, say) becomes a space.
pub fn build_message(from: &Mailbox, base_url: &str, mail: &db::notifications::Mail) -> Result<Message, Unsendable> {
    let to = recipient(&mail.name, &mail.email)?;
    let body = format!(
        "{}\n\n{}{}\n\n-- \nRota. You get this because you are in a team on Rota; your inbox in Rota has every notice.\n",
        mail.message, base_url, mail.link
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject_of(&mail.message))
        .body(body)
        .map_err(|e| Unsendable::Build(e.to_string()))
}

/// How long a claimed message is one process's to send: well over the
/// SMTP timeout, so only a process that stopped mid-send lets it lapse.
pub const LEASE: Duration = Duration::minutes(2);

/// Sends the e-mail that is due, one message at a time: each is claimed
/// (committed), sent, and its outcome recorded (committed), so a run that
/// stops part-way (the process dies, the job panics) never sends again what
/// it already recorded; only the one message it was sending goes out again,
/// once its claim lapses. Several processes never claim one message at
/// once. A transport failure is retried with a growing wait; a message that
/// cannot be built is given up at once, with the reason. Returns how many
/// went out.
pub async fn send_due(pool: &PgPool, mailer: &Mailer, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let given_up = {
        let mut conn = pool.acquire().await?;
        db::notifications::give_up_interrupted(&mut conn, now, MAX_ATTEMPTS).await?
    };
    if given_up > 0 {
        tracing::error!(
            count = given_up,
            "gave up notification e-mail whose sending was interrupted every time"
        );
    }
    let mut sent = 0;
    loop {
        let claimed = {
            let mut conn = pool.acquire().await?;
            db::notifications::claim_mail(&mut conn, now, LEASE, MAX_ATTEMPTS).await?
        };
        let Some(mail) = claimed else {
            return Ok(sent);
        };
        let outcome = mailer.send(&mail).await;
        let mut conn = pool.acquire().await?;
        match outcome {
            Ok(()) => {
                db::notifications::mail_sent(&mut conn, &mail).await?;
                sent += 1;
            }
            Err(SendError::Unsendable(why)) => {
                tracing::error!(notification = mail.id, error = %why, "a notification e-mail cannot be built; given up");
                db::notifications::mail_failed(&mut conn, &mail, &why.to_string(), None).await?;
            }
            Err(SendError::Transport(e)) => {
                let attempts = mail.mail_attempts;
                let next = (attempts < MAX_ATTEMPTS).then(|| now + Duration::minutes(1 << attempts.min(10)));
                tracing::warn!(error = %e, attempts, "sending a notification e-mail failed");
                db::notifications::mail_failed(&mut conn, &mail, &e, next).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn mail(name: &str, email: &str, message: &str) -> db::notifications::Mail {
        db::notifications::Mail {
            id: 1,
            email: email.to_owned(),
            name: name.to_owned(),
            message: message.to_owned(),
            link: "/inbox".to_owned(),
            mail_attempts: 1,
        }
    }

    fn from() -> Mailbox {
        "Rota <rota@example.com>".parse().expect("an address")
    }

    /// The header section of a built message, one entry per header (folded
    /// lines joined).
    fn headers(message: &Message) -> Vec<String> {
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        let head = raw.split("\r\n\r\n").next().unwrap_or_default().to_owned();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match out.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => out.push(line.to_owned()),
            }
        }
        out
    }

    #[test]
    fn a_line_break_in_a_name_is_refused_not_a_panic() {
        for name in [
            "Lena\r\nBcc: x@evil.example",
            "Lena\nBcc: x@evil.example",
            "Lena\rX",
            "Le\tna",
            "Le\u{7f}na",
        ] {
            let built = build_message(
                &from(),
                "https://rota.example",
                &mail(name, "lena@example.com", "Hello"),
            );
            assert_eq!(built.err(), Some(Unsendable::ControlCharacterInName), "{name:?}");
        }
    }

    #[test]
    fn a_line_break_in_the_subject_becomes_a_space() {
        let built = build_message(
            &from(),
            "https://rota.example",
            &mail("Lena", "lena@example.com", "Handoff in Ops\r\nBcc: x@evil.example"),
        )
        .expect("built");
        let headers = headers(&built);
        assert!(
            headers.iter().all(|h| !h.to_ascii_lowercase().starts_with("bcc")),
            "{headers:?}"
        );
        assert!(
            headers.contains(&"Subject: Handoff in Ops  Bcc: x@evil.example".to_owned()),
            "{headers:?}"
        );
    }

    #[test]
    fn an_unusable_address_is_refused_with_the_reason() {
        let built = build_message(
            &from(),
            "https://rota.example",
            &mail("Lena", "not an address", "Hello"),
        );
        assert!(matches!(built, Err(Unsendable::BadAddress(_))), "{built:?}");
    }

    #[test]
    fn a_blank_name_sends_to_the_bare_address() {
        let built = build_message(
            &from(),
            "https://rota.example",
            &mail("  ", "lena@example.com", "Hello"),
        )
        .expect("built");
        assert!(headers(&built).contains(&"To: lena@example.com".to_owned()));
    }

    proptest! {
        /// Whatever is stored, building never panics, and a message that is
        /// built has only the headers Rota sets.
        #[test]
        fn building_never_panics_nor_adds_a_header(name in any::<String>(), email in any::<String>(), message in any::<String>(), local in "[a-z.+-]{1,12}") {
            for address in [email.clone(), format!("{local}@example.com")] {
                if let Ok(built) = build_message(&from(), "https://rota.example", &mail(&name, &address, &message)) {
                    let names: Vec<String> = headers(&built)
                        .iter()
                        .map(|h| h.split(':').next().unwrap_or_default().to_ascii_lowercase())
                        .collect();
                    for n in &names {
                        prop_assert!(
                            ["from", "to", "subject", "date", "content-type", "content-transfer-encoding", "mime-version"]
                                .contains(&n.as_str()),
                            "{names:?}"
                        );
                    }
                }
            }
        }
    }
}
