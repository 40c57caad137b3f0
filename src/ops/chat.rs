//! A team's chat channel: one Slack, Mattermost or Microsoft Teams incoming
//! webhook, where submitted handoffs and pages are posted, each in the
//! service's own format (`domain::chat`). Its address goes through the
//! outgoing-URL checks when it is saved (and again at each post).

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db;
use crate::db::chat::Channel;
use crate::db::teams::Team;
use crate::domain::chat::ChatKind;
use crate::error::{AppError, AppResult};
use crate::outgoing::Policy;

/// Most characters a webhook address may have.
const MAX_URL: usize = 2_000;

/// The kind named, or a refusal listing the choices.
pub fn parse_kind(kind: &str) -> AppResult<ChatKind> {
    ChatKind::parse(kind.trim()).ok_or_else(|| {
        AppError::Unprocessable(format!(
            "kind is one of {}; \"{}\" is not. Pick the chat service whose incoming webhook this is",
            ChatKind::ALL.map(ChatKind::as_str).join(", "),
            kind.trim().chars().take(40).collect::<String>()
        ))
    })
}

/// The address, if Rota may post to it: `http` or `https` with a host,
/// and not one `outgoing` refuses on sight (Rota's own server, link-local
/// or metadata addresses, a private network unless allowed). Names are
/// checked again at each post, where it counts.
pub fn check_url(url: &str, outgoing: &Policy) -> AppResult<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some_and(|h| !h.is_empty()));
    let Some(parsed) = parsed.filter(|_| url.len() <= MAX_URL && !url.contains(char::is_control)) else {
        return Err(AppError::Unprocessable(format!(
            "\"{}\" is not a web address Rota can post to: use an http:// or https:// URL of at most {MAX_URL} characters, as your chat service's incoming webhook settings show it",
            url.chars().take(100).collect::<String>()
        )));
    };
    if let Err(refusal) = outgoing.check_url(&parsed) {
        return Err(AppError::Unprocessable(format!(
            "Rota cannot post to this address. {refusal}"
        )));
    }
    Ok(url.to_owned())
}

/// The team's channel, its kind known.
pub async fn channel(conn: &mut PgConnection, team_id: i64) -> AppResult<Option<(ChatKind, String)>> {
    Ok(db::chat::channel(conn, team_id)
        .await?
        .and_then(|c| Some((ChatKind::parse(&c.kind)?, c.url))))
}

/// Sets the team's channel (managers: the caller checked). Nothing is
/// stored when the kind or the address is refused.
pub async fn set_channel(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    kind: &str,
    url: &str,
    outgoing: &Policy,
    now: DateTime<Utc>,
) -> AppResult<(ChatKind, String)> {
    let kind = parse_kind(kind)?;
    if url.trim().is_empty() {
        return Err(AppError::Unprocessable(format!(
            "url is empty: paste the {} incoming webhook's address (to stop posting, remove the channel instead)",
            kind.name()
        )));
    }
    let url = check_url(url, outgoing)?;
    let new = Channel {
        kind: kind.as_str().to_owned(),
        url: url.clone(),
    };
    replace(conn, team, actor_id, Some(&new), now).await?;
    Ok((kind, url))
}

/// Removes the team's channel: nothing is posted any more. Whether there
/// was one.
pub async fn remove_channel(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    replace(conn, team, actor_id, None, now).await
}

/// Stores the channel and audits a change; whether there was one before.
async fn replace(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    new: Option<&Channel>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let before = db::chat::channel(conn, team.id).await?;
    db::chat::set_channel(conn, team.id, new).await?;
    if before.as_ref() != new {
        // The address may hold a secret token: the log says only what kind
        // of channel it is, and whether one is set.
        let said = |c: Option<&Channel>| json!({"set": c.is_some(), "kind": c.map(|c| c.kind.clone())});
        db::audit::record(
            conn,
            team.id,
            Some(actor_id),
            now,
            "team.chat",
            Some(said(before.as_ref())),
            Some(said(new)),
        )
        .await?;
    }
    Ok(before.is_some())
}
