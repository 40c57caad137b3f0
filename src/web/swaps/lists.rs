//! My requests, and the approvals waiting for a manager.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::RequestRow;
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::teams::TeamRole;
use crate::domain::swap::State as RequestState;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::{Layout, render};

/// How many requests a list reads; the closed ones past this drop off.
const MY_LIMIT: i64 = 200;
const EARLIER_SHOWN: usize = 30;

pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub rows: Vec<RequestRow>,
}

#[derive(Template)]
#[template(path = "swaps/list.html")]
struct RequestsPage {
    layout: Layout,
    heading: String,
    intro: String,
    /// Waiting for me (asked of me, or open covers I could take), still
    /// open for others, and closed; the empty ones left out.
    sections: Vec<Section>,
}

pub async fn my_requests(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let list = db::swaps::for_user(&mut conn, user.id, MY_LIMIT).await?;
    drop(conn);
    let (mut waiting, mut open, mut earlier) = (Vec::new(), Vec::new(), Vec::new());
    for r in &list {
        let s = r.state_at(now);
        let asked_of_me = r.counterpart_id == Some(user.id) || r.counterpart_id.is_none();
        if s == RequestState::Proposed && r.requester_id != user.id && asked_of_me {
            waiting.push(RequestRow::new(r, now));
        } else if s.is_open() {
            open.push(RequestRow::new(r, now));
        } else if earlier.len() < EARLIER_SHOWN {
            earlier.push(RequestRow::new(r, now));
        }
    }
    let sections = [
        ("waiting", format!("Waiting for you ({})", waiting.len()), waiting),
        ("open", format!("Open ({})", open.len()), open),
        ("earlier", "Earlier".to_owned(), earlier),
    ]
    .into_iter()
    .filter(|(_, _, rows)| !rows.is_empty())
    .map(|(id, title, rows)| Section { id, title, rows })
    .collect();
    let layout = Layout::new(&state, &session, "Requests", Some(&user)).await?;
    Ok(render(&RequestsPage {
        layout,
        heading: "Swap and cover requests".into(),
        intro: "Requests you made or were asked, and covers open in your teams.".into(),
        sections,
    }))
}

/// A team's requests, open ones first: what `GET /api/v1/teams/{team}/swaps` lists.
pub async fn team_requests(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let mut conn = state.db.acquire().await?;
    let list = db::swaps::for_team(&mut conn, team.id, MY_LIMIT).await?;
    drop(conn);
    let (open, decided): (Vec<_>, Vec<_>) = list.iter().partition(|r| r.state_at(now).is_open());
    let rows = |list: Vec<&db::swaps::Request>| list.into_iter().map(|r| RequestRow::new(r, now)).collect::<Vec<_>>();
    let sections = [
        ("open", format!("Open ({})", open.len()), rows(open)),
        ("decided", "Decided or expired".to_owned(), rows(decided)),
    ]
    .into_iter()
    .filter(|(_, _, rows)| !rows.is_empty())
    .map(|(id, title, rows)| Section { id, title, rows })
    .collect();
    let layout = Layout::new(&state, &session, format!("{} requests", team.name), Some(member.user())).await?;
    Ok(render(&RequestsPage {
        layout,
        heading: format!("{} requests", team.name),
        intro: format!(
            "Every swap and cover asked in {}, newest first. To ask for one, use “Swap or cover…” beside your shift on the rota.",
            team.name
        ),
        sections,
    }))
}

#[derive(Template)]
#[template(path = "swaps/approvals.html")]
struct ApprovalsPage {
    layout: Layout,
    /// Whether the reader manages a team (or is an admin).
    manages: bool,
    rows: Vec<RequestRow>,
}

pub async fn approvals(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let managed: Vec<i64> = db::teams::for_user(&mut conn, user.id, false)
        .await?
        .into_iter()
        .filter(|t| t.role == TeamRole::Manager)
        .map(|t| t.id)
        .collect();
    let manages = user.is_admin || !managed.is_empty();
    let rows = if manages {
        let teams = (!user.is_admin).then_some(managed.as_slice());
        db::swaps::awaiting_approval(&mut conn, teams, now)
            .await?
            .iter()
            // A party never decides their own request.
            .filter(|r| !r.is_party(user.id))
            .map(|r| RequestRow::new(r, now))
            .collect()
    } else {
        Vec::new()
    };
    drop(conn);
    let layout = Layout::new(&state, &session, "Approvals", Some(&user)).await?;
    Ok(render(&ApprovalsPage { layout, manages, rows }))
}
