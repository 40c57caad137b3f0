//! The team's handoffs, newest first, and full-text search over all of them.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use super::{title, when};
use crate::auth::{TeamMember, WebUser};
use crate::domain::schedule::local_to_instant;
use crate::error::{AppResult, Given};
use crate::ops::handoffs::{self as ops, Handoff};
use crate::state::AppState;
use crate::web::layout::{Layout, render_with};

/// How many weeks one page of the history covers.
const WEEKS_PER_PAGE: i64 = 26;

pub struct HistoryRow {
    pub title: String,
    pub path: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub outgoing: String,
    pub submitted: String,
    pub acknowledged: String,
}

pub struct Match {
    pub title: String,
    pub path: String,
    pub status: &'static str,
    pub status_label: &'static str,
    /// Escaped text with the matches in `<mark>`.
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "team/handoffs.html")]
struct HandoffsPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    q: String,
    searching: bool,
    matches: Vec<Match>,
    rows: Vec<HistoryRow>,
    /// `before` for the next page back.
    earlier: String,
    showing_latest: bool,
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    q: Option<String>,
    /// YYYY-MM-DD: show the handoffs before this date.
    before: Option<String>,
}

fn row(h: &Handoff, now: DateTime<Utc>, tz: chrono_tz::Tz) -> HistoryRow {
    let status = h.status(now);
    HistoryRow {
        title: title(h),
        path: String::new(),
        status: status.as_str(),
        status_label: status.label(),
        outgoing: h
            .people
            .outgoing_primary
            .as_ref()
            .map_or_else(|| "—".to_owned(), |p| p.name.clone()),
        submitted: h.submitted_at().map_or_else(|| "—".to_owned(), |at| when(at, tz)),
        acknowledged: h.acknowledged_at().map_or_else(|| "—".to_owned(), |at| when(at, tz)),
    }
}

pub async fn show_handoffs(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<HistoryQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let user = member.user();
    let tz = user.tz();
    let team = &member.team;
    let q = query.q.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let before = query.before.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let to = match before {
        Some(d) => local_to_instant(team.tz(), Given::Query.date(d)?, NaiveTime::MIN),
        None => now + Duration::days(2),
    };
    let from = to - Duration::weeks(WEEKS_PER_PAGE);
    let mut conn = state.db.acquire().await?;
    let (matches, rows) = if q.is_empty() {
        let rows = ops::history(&mut conn, team, from, to, now)
            .await?
            .iter()
            .map(|h| HistoryRow {
                path: h.path(&team.slug),
                ..row(h, now, tz)
            })
            .collect();
        (Vec::new(), rows)
    } else {
        let matches = ops::search(&mut conn, team, &q, ops::SEARCH_LIMIT)
            .await?
            .into_iter()
            .map(|f| {
                let status = f.handoff.status(now);
                Match {
                    title: title(&f.handoff),
                    path: f.handoff.path(&team.slug),
                    status: status.as_str(),
                    status_label: status.label(),
                    snippet: f.snippet_html,
                }
            })
            .collect();
        (matches, Vec::new())
    };
    drop(conn);
    let layout = Layout::new(&state, &session, format!("{} handoffs", team.name), Some(user)).await?;
    Ok(render_with(
        StatusCode::OK,
        &HandoffsPage {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            zone: user.timezone.clone(),
            searching: !q.is_empty(),
            q,
            matches,
            rows,
            earlier: from.with_timezone(&team.tz()).date_naive().to_string(),
            showing_latest: before.is_none(),
        },
    ))
}
