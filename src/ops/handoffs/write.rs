//! Writing, submitting and acknowledging a handoff, and the team's chat
//! webhook that submitted handoffs are posted to.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::Handoff;
use crate::db;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::domain::chat::{Button, ChatKind, Post, Tone, body as chat_body};
use crate::domain::handoff::{Person, Writer};
use crate::domain::markdown::MAX_BYTES;
use crate::error::{AppError, AppResult};
use crate::ops::{chat, notify};
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
        if let Some((kind, url)) = chat::channel(conn, team.id).await? {
            let post = chat_body(kind, &chat_post(team, h, user, &draft.body, base_url));
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

/// The chat post for a submitted handoff, in plain words; `domain::chat`
/// writes it in the channel's format.
pub fn chat_post(team: &Team, h: &Handoff, author: &User, body: &str, base_url: &str) -> Post {
    let link = format!("{}{}", base_url.trim_end_matches('/'), h.path(&team.slug));
    let incoming = names(&[&h.people.incoming_primary, &h.people.incoming_secondary]);
    Post {
        heading: "Handoff",
        title: format!(
            "{} submitted the {} handoff for the week from {} ({}), for {}.",
            author.name,
            h.rotation_name,
            notify::day(h.boundary.week_start),
            team.name,
            incoming
        ),
        text: body.to_owned(),
        facts: Vec::new(),
        button: Button {
            label: "Read and acknowledge it in Rota".into(),
            url: link,
        },
        tone: Tone::Info,
    }
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

/// Sets (or with an empty value, removes) the team's chat channel by its
/// address alone, as `…/handoff-webhook` always has: a channel keeps its
/// kind, and a new one is Slack's (whose `text` Mattermost also reads).
pub async fn set_webhook_url(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    url: Option<&str>,
    outgoing: &Policy,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => {
            chat::remove_channel(conn, team, actor_id, now).await?;
            Ok(None)
        }
        Some(u) => {
            let kind = chat::channel(conn, team.id).await?.map_or(ChatKind::Slack, |(k, _)| k);
            let (_, url) = chat::set_channel(conn, team, actor_id, kind.as_str(), u, outgoing, now).await?;
            Ok(Some(url))
        }
    }
}
