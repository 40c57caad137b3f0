//! A team's history: its audit log, newest first, as sentences with
//! people's names (`sentences`, `team_changes`), the names looked up once
//! per page (`names`).

mod names;
mod sentences;
mod team_changes;

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use self::names::Names;
use self::sentences::{Context, sentence};
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::audit::{Entry, Order};
use crate::db::rotations::{Rotation, Version};
use crate::domain::schedule::local_to_instant;
use crate::error::{AppResult, Given};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, render};

/// One page of history covers this many days.
const DAYS: i64 = 90;
const LIMIT: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/teams/{team}/history", get(show_history))
}

pub struct HistoryRow {
    pub at: String,
    /// What happened, with the names of who did it and to whom.
    pub sentence: String,
    /// Precise times, a reason; may be empty.
    pub detail: String,
    /// Where to read more.
    pub link: Option<Link>,
}

pub struct Link {
    pub href: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "team/history.html")]
struct HistoryPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    period: String,
    rows: Vec<HistoryRow>,
    /// The `before` of the next older page.
    older: String,
    /// The next newer page, when this is not the latest.
    newer: Option<String>,
}

#[derive(Deserialize)]
struct HistoryQuery {
    /// Entries before this day (YYYY-MM-DD, team zone); default now.
    before: Option<String>,
}

async fn show_history(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HistoryQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let tz = team.tz();
    let (to, newer) = match q.before.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let day = Given::Query.date(s)?;
            let at = local_to_instant(tz, day, NaiveTime::MIN);
            let later = day + Duration::days(DAYS);
            let newer = if local_to_instant(tz, later, NaiveTime::MIN) < now {
                format!("/teams/{}/history?before={}", team.slug, later.format("%Y-%m-%d"))
            } else {
                format!("/teams/{}/history", team.slug)
            };
            (at, (at < now).then_some(newer))
        }
        None => (now + Duration::seconds(1), None),
    };
    // Whole days, so the older page starts where this one ends.
    let day_start = |at: DateTime<Utc>| local_to_instant(tz, at.with_timezone(&tz).date_naive(), NaiveTime::MIN);
    let mut from = day_start(to - Duration::days(DAYS));
    let rotations = state.rotations_of(team.id).await?;
    let mut conn = state.db.acquire().await?;
    let entries = db::audit::for_team(&mut conn, team.id, (from, to), Order::NewestFirst, LIMIT).await?;
    let names = names_for(&mut conn, team.id, &rotations, &entries).await?;
    drop(conn);
    // A busy period shows its newest changes; the older page starts there.
    if entries.len() as i64 >= LIMIT
        && let Some(oldest) = entries.last()
    {
        from = day_start(oldest.at);
    }
    let cx = Context {
        names: &names,
        tz,
        team_slug: &team.slug,
    };
    let rows = entries.iter().map(|e| row(e, &cx)).collect();
    let layout = Layout::new(&state, &session, format!("{} history", team.name), Some(member.user())).await?;
    Ok(render(&HistoryPage {
        layout,
        team_name: team.name.clone(),
        team_slug: team.slug.clone(),
        zone: team.timezone.clone(),
        period: format!("{} to {}", fmt::local_date(from, tz), fmt::local_date(to.min(now), tz)),
        rows,
        older: from.with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string(),
        newer,
    }))
}

/// Gathers, in two queries, the names the page's sentences use.
async fn names_for(
    conn: &mut PgConnection,
    team_id: i64,
    rotations: &[(Rotation, Version)],
    entries: &[Entry],
) -> AppResult<Names> {
    let mut emails = BTreeSet::new();
    let mut weeks = BTreeSet::new();
    for e in entries {
        names::emails_in(&[e.before.as_ref(), e.after.as_ref()], &mut emails);
        weeks.extend(names::handoff_week(&e.action, e.after.as_ref()).map(|(_, w)| w));
    }
    let emails: Vec<String> = emails.into_iter().collect();
    let people = if emails.is_empty() {
        Vec::new()
    } else {
        db::users::by_emails(conn, &emails).await?
    };
    let weeks: Vec<NaiveDate> = weeks.into_iter().collect();
    let authors = if weeks.is_empty() {
        Vec::new()
    } else {
        db::handoffs::authors(conn, team_id, &weeks).await?
    };
    Ok(Names {
        people: people
            .into_iter()
            .map(|u| (u.email.clone(), u.display_name()))
            .collect(),
        rotations: rotations
            .iter()
            .map(|(r, _)| (r.slug.clone(), r.name.clone()))
            .collect(),
        rotation_ids: rotations
            .iter()
            .map(|(r, _)| (r.id, (r.slug.clone(), r.name.clone())))
            .collect(),
        authors: authors
            .into_iter()
            .map(|(slug, week, name, left)| ((slug, week), if left { format!("{name} (left)") } else { name }))
            .collect(),
        several_rotations: rotations.len() > 1,
    })
}

fn row(e: &Entry, cx: &Context) -> HistoryRow {
    let actor = match &e.actor_name {
        Some(name) if e.actor_left => format!("{name} (left)"),
        Some(name) => name.clone(),
        None => "Rota".into(),
    };
    let said = sentence(
        &sentences::Entry {
            actor: &actor,
            action: &e.action,
            before: e.before.as_ref(),
            after: e.after.as_ref(),
        },
        cx,
    );
    HistoryRow {
        at: fmt::local_with_year(e.at, cx.tz),
        sentence: said.text,
        detail: said.detail,
        link: said.link.map(|(href, text)| Link { href, text }),
    }
}

#[cfg(test)]
mod tests;
