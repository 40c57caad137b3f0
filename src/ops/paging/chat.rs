//! A page in the team's chat channel: one post when its escalation starts,
//! saying what fired and who is being paged, with a button to the page in
//! Rota, where whoever presses it signs in and acknowledges as themselves
//! (a person's signed acknowledge link would let every reader of the
//! channel acknowledge as them).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::send::Pager;
use crate::db;
use crate::db::chat::ClaimedPost;
use crate::domain::chat::{Button, ChatKind, Post, Tone, body};
use crate::domain::paging::Target;
use crate::error::AppResult;

/// Queues the page's post to its team's channel (if the team has one and
/// it has not posted yet): `people` are who step `step` (a `target`)
/// reached, none when nobody could be paged.
pub async fn announce(
    conn: &mut PgConnection,
    page_id: i64,
    step: i32,
    target: Target,
    people: &[i64],
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let mut users = db::users::by_ids(conn, people).await?;
    // In the order they were paged.
    users.sort_by_key(|u| people.iter().position(|p| *p == u.id));
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let paged = match names.as_slice() {
        [] => String::new(),
        [one] => format!("{one} ({})", target.as_str()),
        [rest @ .., last] => format!("{} and {last} ({})", rest.join(", "), target.as_str()),
    };
    Ok(db::chat::queue_page_post(conn, page_id, step, people.first().copied(), &paged, now).await?)
}

/// The post, in the channel's format: `None` for a kind this Rota does not
/// know (a newer one wrote it).
pub fn page_post(pager: &Pager, p: &ClaimedPost) -> Option<Value> {
    let kind = ChatKind::parse(&p.kind)?;
    // A drill says so first, and reads as news rather than an alarm.
    let (heading, tone) = match p.drill {
        true => ("Drill, a test page", Tone::Info),
        false => ("Page", Tone::Urgent),
    };
    let title = if p.paged.is_empty() {
        format!("Nobody could be paged for {}: see who was skipped and why", p.team_name)
    } else {
        format!("{} is paging {}", p.team_name, p.paged)
    };
    // Never a person's acknowledge link: the channel's readers (guests,
    // shared channels, its history) would all hold it. The page view asks
    // whoever presses to sign in, and records who acknowledged.
    let button = Button {
        label: "Acknowledge in Rota".into(),
        url: format!(
            "{}/teams/{}/pages/{}",
            pager.base_url.trim_end_matches('/'),
            p.team_slug,
            p.page_id
        ),
    };
    let post = Post {
        heading,
        title,
        text: p.summary.clone(),
        facts: vec![
            ("Fired".into(), p.fired_at.format("%Y-%m-%d %H:%M UTC").to_string()),
            ("Source".into(), p.source.clone()),
        ],
        button,
        tone,
    };
    Some(body(kind, &post))
}
