//! Writing, submitting and acknowledging a handoff, and the team's chat
//! webhook that submitted handoffs are posted to.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::Handoff;
use crate::db;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::domain::handoff::{Person, Writer};
use crate::domain::markdown::MAX_BYTES;
use crate::error::{AppError, AppResult};
use crate::ops::notify;
use crate::outgoing::Policy;

/// What a writer sends.
#[derive(Debug, Clone)]
pub struct Draft {
    pub body: String,
    pub submit: bool,
    /// The revision the writer started from, when known: a save on top of
    /// someone else's newer one is refused rather than lost.
    pub expected_revision: Option<i32>,
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// It was submitted by this save.
    pub submitted_now: bool,
    /// The version this save kept, once submitted.
    pub version: Option<i32>,
}

fn names(people: &[&Option<Person>]) -> String {
    let names: Vec<&str> = people
        .iter()
        .filter_map(|p| p.as_ref())
        .map(|p| p.name.as_str())
        .collect();
    match names.as_slice() {
        [] => "nobody".into(),
        [one] => (*one).to_owned(),
        many => many.join(" and "),
    }
}

/// Refuses a body over the limit, saying by how much, or one the database
/// cannot store.
pub fn check_size(body: &str) -> AppResult<()> {
    if body.contains('\0') {
        return Err(AppError::Unprocessable(
            "The handoff contains a NUL character, which cannot be stored; remove it (it is usually pasted by accident)".into(),
        ));
    }
    if body.len() > MAX_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "The handoff is {} KiB; it can hold at most {} KiB. Shorten it: link to long logs or dashboards instead of pasting them",
            body.len().div_ceil(1024),
            MAX_BYTES / 1024
        )));
    }
    Ok(())
}

/// Saves the handoff as a draft or submits it. The outgoing on-call and
/// the team's managers write; only the outgoing primary or a manager
/// submits. Once submitted, each change is kept as a version. Submitting
/// queues the chat post: it never waits for the chat server.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    conn: &mut PgConnection,
    team: &Team,
    h: &Handoff,
    user: &User,
    is_manager: bool,
    draft: &Draft,
    now: DateTime<Utc>,
    base_url: &str,
) -> AppResult<Saved> {
    let p = &h.people;
    let writer = p.writer(user.id, is_manager).ok_or_else(|| {
        AppError::forbidden(format!(
            "Only the outgoing on-call ({}) or a manager of {} can write this handoff",
            names(&[&p.outgoing_primary, &p.outgoing_secondary]),
            team.name
        ))
    })?;
    if draft.submit && !writer.may_submit() {
        return Err(AppError::forbidden(format!(
            "As the outgoing secondary you add to the handoff; {} submits it. Save your additions as a draft",
            p.outgoing_primary.as_ref().map_or_else(
                || "a manager".to_owned(),
                |o| format!("{} (the outgoing primary) or a manager", o.name)
            )
        )));
    }
    if now < h.timing.opens_at {
        return Err(AppError::Conflict(format!(
            "This handoff opens at {} ({}), a day before the handoff; write it then",
            notify::when_in_year(h.timing.opens_at, h.tz()),
            h.tz().name()
        )));
    }
    check_size(&draft.body)?;
    if draft.submit && draft.body.trim().is_empty() {
        return Err(AppError::Unprocessable(
            "Write the handoff before submitting it: the text is empty".into(),
        ));
    }
    let (stored, _) =
        db::handoffs::lock_or_create(conn, team.id, h.rotation_id, h.boundary.at, h.boundary.week_start, now).await?;
    if let Some(expected) = draft.expected_revision
        && expected != stored.revision
    {
        let who = stored.author_name.as_deref().unwrap_or("someone");
        return Err(AppError::Conflict(format!(
            "{who} saved this handoff at {} since you opened it. Your text is kept here: copy what you need, reload the page and merge it with theirs",
            notify::when(stored.updated_at, user.tz())
        )));
    }
    let was_submitted = stored.submitted_at.is_some();
    let changed = stored.body != draft.body || stored.revision == 0;
    if changed {
        db::handoffs::save(conn, stored.id, &draft.body, user.id, now).await?;
    }
    let submitted_now = draft.submit && !was_submitted;
    let mut version = None;
    if submitted_now || (was_submitted && changed) {
        version = Some(db::handoffs::add_version(conn, stored.id, &draft.body, user.id, now).await?);
    }
    if submitted_now {
        db::handoffs::mark_submitted(conn, stored.id, user.id, now).await?;
        if let Some(url) = db::handoff_webhooks::url(conn, team.id).await? {
            let post = chat_post(team, h, user, &draft.body, base_url);
            db::handoff_webhooks::enqueue(conn, team.id, stored.id, &url, &post, now).await?;
        }
    }
    if let Some(number) = version {
        let action = if submitted_now {
            "handoff.submit"
        } else {
            "handoff.edit"
        };
        let what = json!({
            "rotation": h.rotation_slug,
            "week_start": h.boundary.week_start,
            "version": number,
            "as": match writer {
                Writer::OutgoingPrimary => "outgoing primary",
                Writer::OutgoingSecondary => "outgoing secondary",
                Writer::Manager => "manager",
            },
        });
        db::audit::record(conn, team.id, Some(user.id), now, action, None, Some(what)).await?;
    }
    Ok(Saved { submitted_now, version })
}

/// Escapes what Slack's message format gives meaning to.
fn slack_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Most of the handoff a chat post quotes; the rest is a click away.
const CHAT_EXCERPT_CHARS: usize = 2_500;

/// The Slack-compatible post for a submitted handoff (`{"text": …}` also
/// suits Mattermost, Rocket.Chat and Discord's Slack endpoint).
pub fn chat_post(team: &Team, h: &Handoff, author: &User, body: &str, base_url: &str) -> Value {
    let link = format!("{}{}", base_url.trim_end_matches('/'), h.path(&team.slug));
    let mut excerpt: String = body.chars().take(CHAT_EXCERPT_CHARS).collect();
    if excerpt.len() < body.len() {
        excerpt.push_str("\n…");
    }
    let incoming = names(&[&h.people.incoming_primary, &h.people.incoming_secondary]);
    json!({
        "text": format!(
            "*{}* submitted the {} handoff for the week from {} ({}), for {}.\n<{link}|Read and acknowledge it in Rota>\n\n{}",
            slack_text(&author.name),
            slack_text(&h.rotation_name),
            notify::day(h.boundary.week_start),
            slack_text(&team.name),
            slack_text(&incoming),
            slack_text(&excerpt)
        )
    })
}

/// Records that one of the incoming on-call has read the handoff and had
/// their questions answered. The first acknowledgement's time stands.
pub async fn acknowledge(
    conn: &mut PgConnection,
    team: &Team,
    h: &Handoff,
    user: &User,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let p = &h.people;
    let role = p.incoming_role(user.id).ok_or_else(|| {
        AppError::forbidden(format!(
            "Only the incoming on-call ({}) acknowledge this handoff",
            names(&[&p.incoming_primary, &p.incoming_secondary])
        ))
    })?;
    let submitted = h.stored.as_ref().filter(|s| s.submitted_at.is_some());
    let Some(stored) = submitted else {
        return Err(AppError::Conflict(format!(
            "There is nothing to acknowledge yet: {} has not submitted the handoff",
            p.outgoing_primary
                .as_ref()
                .map_or("the outgoing on-call", |o| o.name.as_str())
        )));
    };
    let new = db::handoffs::acknowledge(conn, stored.id, user.id, role, now).await?;
    if new {
        db::audit::record(
            conn,
            team.id,
            Some(user.id),
            now,
            "handoff.acknowledge",
            None,
            Some(json!({"rotation": h.rotation_slug, "week_start": h.boundary.week_start, "role": role.as_str()})),
        )
        .await?;
    }
    Ok(new)
}

/// Most characters a webhook URL may have.
const MAX_URL: usize = 2_000;

/// Sets (or with an empty value, removes) where submitted handoffs are
/// posted. Only `http` and `https` addresses with a host are accepted, and
/// not one `outgoing` refuses on sight (an IP address or `localhost`);
/// names are checked again at each post, where it counts.
pub async fn set_webhook_url(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    url: Option<&str>,
    outgoing: &Policy,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = url {
        let parsed = reqwest::Url::parse(u)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some_and(|h| !h.is_empty()));
        let Some(parsed) = parsed.filter(|_| u.len() <= MAX_URL && !u.contains(char::is_control)) else {
            return Err(AppError::Unprocessable(format!(
                "\"{}\" is not a web address Rota can post to: use an http:// or https:// URL of at most {MAX_URL} characters, as your chat tool's incoming webhook settings show it",
                u.chars().take(100).collect::<String>()
            )));
        };
        if let Err(refusal) = outgoing.check_url(&parsed) {
            return Err(AppError::Unprocessable(format!(
                "Rota cannot post handoffs to this address. {refusal}"
            )));
        }
    }
    let before = db::handoff_webhooks::url(conn, team.id).await?;
    db::handoff_webhooks::set_url(conn, team.id, url).await?;
    if before.as_deref() != url {
        // The address may hold a secret token: the log says only that it changed.
        db::audit::record(
            conn,
            team.id,
            Some(actor_id),
            now,
            "team.handoff_webhook",
            Some(json!({"set": before.is_some()})),
            Some(json!({"set": url.is_some()})),
        )
        .await?;
    }
    Ok(url.map(str::to_owned))
}
