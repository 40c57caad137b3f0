//! A person's contact methods (each confirmed by a code from a test
//! message) and notification rules.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::db;
use crate::db::contact_methods::{Method, NewMethod, Rule};
use crate::domain::paging::{MethodKind, is_e164, split_ntfy};
use crate::domain::twilio::spell_digits;
use crate::error::{AppError, AppResult};
use crate::ops::paging::send::{Message, Pager, Sent, To};
use crate::outgoing::Policy;

/// How long a confirmation code works.
const CODE_LIFETIME: Duration = Duration::hours(1);
/// Wrong codes before a method needs a new test message.
const MAX_CODE_ATTEMPTS: i32 = 5;
const MAX_URL: usize = 2_000;
/// Most rules a person keeps.
const MAX_RULES: usize = 20;

/// What a person asks for.
pub struct NewContact<'a> {
    pub kind: &'a str,
    pub label: Option<&'a str>,
    pub target: &'a str,
    /// An ntfy access token, for a protected topic.
    pub token: Option<&'a str>,
}

/// A method just added: the code its test message carries, and the
/// webhook's signing secret (shown this once).
pub struct Added {
    pub method: Method,
    pub code: String,
    pub secret: Option<String>,
}

fn unprocessable(m: impl Into<String>) -> AppError {
    AppError::Unprocessable(m.into())
}

/// Checks the target for its kind; the stored form of it.
fn check_target(kind: MethodKind, target: &str, outgoing: &Policy, mail: bool) -> AppResult<String> {
    let target = target.trim();
    let wrong = || {
        unprocessable(format!(
            "\"{}\" is not {}",
            target.chars().take(100).collect::<String>(),
            kind.describe_target()
        ))
    };
    if target.is_empty() || target.contains(char::is_control) || target.len() > MAX_URL {
        return Err(wrong());
    }
    match kind {
        MethodKind::Email => {
            if !mail {
                return Err(unprocessable(
                    "This Rota sends no e-mail (an administrator sets ROTA_SMTP_URL); add push through ntfy or a webhook instead",
                ));
            }
            target.parse::<lettre::Address>().map_err(|_| wrong())?;
        }
        MethodKind::Sms | MethodKind::Voice => {
            if !is_e164(target) {
                return Err(wrong());
            }
        }
        MethodKind::Ntfy | MethodKind::Webhook => {
            let url = url::Url::parse(target)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
                .ok_or_else(wrong)?;
            if kind == MethodKind::Ntfy && split_ntfy(&url).is_none() {
                return Err(wrong());
            }
            if let Err(refusal) = outgoing.check_url(&url) {
                return Err(unprocessable(format!("Rota cannot send to this address. {refusal}")));
            }
        }
    }
    Ok(target.to_owned())
}

fn code_hash(id: i64, code: &str) -> Vec<u8> {
    Sha256::digest(format!("{id}:{code}").as_bytes()).to_vec()
}

/// Adds a method awaiting confirmation; nothing is stored when the input
/// is refused.
pub async fn add(
    conn: &mut PgConnection,
    user_id: i64,
    new: &NewContact<'_>,
    (outgoing, mail): (&Policy, bool),
    now: DateTime<Utc>,
) -> AppResult<Added> {
    let kind = MethodKind::parse(new.kind.trim()).ok_or_else(|| {
        unprocessable(format!(
            "kind is one of {}; \"{}\" is not",
            MethodKind::ALL.map(MethodKind::as_str).join(", "),
            new.kind.chars().take(40).collect::<String>()
        ))
    })?;
    let target = check_target(kind, new.target, outgoing, mail)?;
    let label = new
        .label
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(kind.as_str());
    if label.chars().count() > 100 || label.contains(char::is_control) {
        return Err(unprocessable("label is one line of at most 100 characters"));
    }
    let token = new.token.map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = token {
        if kind != MethodKind::Ntfy {
            return Err(unprocessable("token is for ntfy topics only; leave it out"));
        }
        if t.len() > 200 || !t.chars().all(|c| c.is_ascii_graphic()) {
            return Err(unprocessable(
                "token is an ntfy access token such as tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2",
            ));
        }
    }
    let secret = match kind {
        MethodKind::Webhook => Some(crate::secrets::random_secret()),
        _ => token.map(str::to_owned),
    };
    let method = db::contact_methods::insert(
        conn,
        NewMethod {
            user_id,
            kind: kind.as_str(),
            label,
            target: &target,
            secret: secret.as_deref(),
            now,
        },
    )
    .await?
    .ok_or_else(|| {
        AppError::Conflict("You already have this contact method; remove it first to add it again".into())
    })?;
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    db::contact_methods::set_code(conn, method.id, &code_hash(method.id, &code), now + CODE_LIFETIME).await?;
    Ok(Added {
        secret: (kind == MethodKind::Webhook).then_some(secret).flatten(),
        method,
        code,
    })
}

/// Sends the test message that carries the code.
pub async fn send_test(pager: &Pager, added: &Added, email: &str, name: &str) -> Sent {
    let m = &added.method;
    let Some(kind) = MethodKind::parse(&m.kind) else {
        return Err("unknown kind".into());
    };
    let message = Message {
        event: "test",
        title: "Rota: confirm this contact method".into(),
        body: format!(
            "Your confirmation code for \"{}\" is {}. Enter it in Rota within an hour; then Rota can page you here.",
            m.label, added.code
        ),
        priority: 3,
        click: Some(format!("{}/profile", pager.base_url.trim_end_matches('/'))),
        ack_token: None,
        page: None,
        drill: false,
        idempotency_key: None,
        spoken: format!(
            "This is Rota. Your confirmation code for {} is {}. Again, the code is {}.",
            m.label,
            spell_digits(&added.code),
            spell_digits(&added.code)
        ),
        callbacks: None,
    };
    let to = To {
        kind,
        target: &m.target,
        secret: m.secret.as_deref(),
        email,
        name,
    };
    pager.send(&to, &message).await
}

/// What checking a code found.
pub enum Verified {
    Yes(Method),
    /// A wrong code, counted (commit it), with what to do.
    Wrong(String),
}

pub async fn verify(
    conn: &mut PgConnection,
    user_id: i64,
    id: i64,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Verified> {
    let found = db::contact_methods::lock_code(conn, user_id, id).await?;
    let c = found.ok_or_else(|| AppError::not_found("contact method"))?;
    if c.verified_at.is_none() {
        if c.code_attempts >= MAX_CODE_ATTEMPTS {
            return Err(unprocessable(
                "Too many wrong codes: remove this contact method and add it again for a new test message",
            ));
        }
        if c.code_expires_at.is_none_or(|e| e <= now) || c.code_hash.is_none() {
            return Err(unprocessable(
                "The code has expired: remove this contact method and add it again for a new test message",
            ));
        }
        let given = code_hash(id, code.trim());
        if !c
            .code_hash
            .is_some_and(|h| crate::secrets::constant_time_eq(&h, &given))
        {
            db::contact_methods::count_attempt(conn, id).await?;
            return Ok(Verified::Wrong(
                "That code does not match; enter the six digits from the latest test message".into(),
            ));
        }
        db::contact_methods::mark_verified(conn, id, now).await?;
    }
    let method = db::contact_methods::of_user(conn, user_id, id).await?;
    Ok(Verified::Yes(
        method.ok_or_else(|| AppError::not_found("contact method"))?,
    ))
}

/// Replaces the person's rules; nothing changes when one is refused.
pub async fn set_rules(conn: &mut PgConnection, user_id: i64, rules: &[Rule]) -> AppResult<Vec<Rule>> {
    if rules.len() > MAX_RULES {
        return Err(unprocessable(format!("Keep at most {MAX_RULES} rules")));
    }
    let methods = db::contact_methods::for_user(conn, user_id).await?;
    for r in rules {
        if !(0..=1440).contains(&r.after_minutes) {
            return Err(unprocessable(format!(
                "after_minutes is between 0 and 1440 (a day); {} is not",
                r.after_minutes
            )));
        }
        match methods.iter().find(|m| m.id == r.contact_method_id) {
            None => {
                return Err(unprocessable(format!(
                    "You have no contact method {}; GET /api/v1/me/contact-methods lists yours",
                    r.contact_method_id
                )));
            }
            Some(m) if m.verified_at.is_none() => {
                return Err(unprocessable(format!(
                    "Confirm \"{}\" with the code from its test message before paging through it",
                    m.label
                )));
            }
            Some(_) => {}
        }
    }
    db::contact_methods::replace_rules(conn, user_id, rules).await?;
    Ok(db::contact_methods::rules(conn, user_id).await?)
}
