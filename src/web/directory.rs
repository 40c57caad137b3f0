//! `/oncall`: who is on call in every team the reader may see, until when,
//! who is next, and how to reach them.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, WebUser};
use crate::error::AppResult;
use crate::ops::directory::{self, Holder};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oncall", get(show_directory))
        .route("/teams/{team}/visibility", post(set_visibility))
}

pub struct PersonCell {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// `tel:` link target: the number without spaces or brackets.
    pub phone_link: String,
    pub chat_handle: Option<String>,
    /// "until Tue 8 Dec 10:00".
    pub when: String,
    pub mine: bool,
}

pub struct RotationRow {
    pub team: String,
    pub team_slug: String,
    pub rotation: String,
    /// ("Primary", holder), ("Secondary", holder).
    pub cells: Vec<(&'static str, Option<PersonCell>)>,
    /// "Ravi, then Sam as secondary, from Tue 8 Dec 10:00".
    pub next: String,
}

#[derive(Template)]
#[template(path = "oncall.html")]
struct DirectoryPage {
    layout: Layout,
    q: String,
    rows: Vec<RotationRow>,
    teams_shown: usize,
}

#[derive(Deserialize)]
struct DirectoryQuery {
    #[serde(default)]
    q: String,
}

fn cell(h: Option<&Holder>, tz: Tz, me: &str) -> Option<PersonCell> {
    h.map(|h| PersonCell {
        name: h.person.name.clone(),
        email: h.person.email.clone(),
        phone_link: h
            .person
            .phone
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect(),
        phone: h.person.phone.clone(),
        chat_handle: h.person.chat_handle.clone(),
        when: format!("until {}", fmt::local(h.ends_at, tz)),
        mine: h.person.email == me,
    })
}

fn next_words(
    next_primary: Option<&Holder>,
    next_secondary: Option<&Holder>,
    starts: Option<DateTime<Utc>>,
    tz: Tz,
) -> String {
    let Some(starts) = starts else {
        return "nobody scheduled".into();
    };
    let who = match (next_primary, next_secondary) {
        (Some(p), Some(s)) => format!("{} (primary), {} (secondary)", p.person.name, s.person.name),
        (Some(p), None) => format!("{} (primary)", p.person.name),
        (None, Some(s)) => format!("{} (secondary)", s.person.name),
        (None, None) => return "nobody scheduled".into(),
    };
    format!("{who}, from {}", fmt::local(starts, tz))
}

async fn show_directory(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Query(query): Query<DirectoryQuery>,
) -> AppResult<Response> {
    let teams = state.directory(&user, state.clock.now()).await?;
    let teams = directory::filter(teams, &query.q);
    let tz = user.tz();
    let teams_shown = teams.len();
    let rows = teams
        .into_iter()
        .flat_map(|t| {
            let (team, team_slug) = (t.name, t.slug);
            let me = user.email.clone();
            t.rotations.into_iter().map(move |r| RotationRow {
                team: team.clone(),
                team_slug: team_slug.clone(),
                rotation: r.name.clone(),
                cells: vec![
                    ("Primary", cell(r.primary.as_ref(), tz, &me)),
                    ("Secondary", cell(r.secondary.as_ref(), tz, &me)),
                ],
                next: next_words(
                    r.next_primary.as_ref(),
                    r.next_secondary.as_ref(),
                    r.next_starts_at(),
                    tz,
                ),
            })
        })
        .collect();
    let layout = Layout::new(&state, &session, "Who is on call", Some(&user)).await?;
    Ok(render_with(
        StatusCode::OK,
        &DirectoryPage {
            layout,
            q: query.q.trim().to_owned(),
            rows,
            teams_shown,
        },
    ))
}

#[derive(Deserialize)]
struct VisibilityForm {
    private: bool,
}

/// A manager makes the team private in the directory, or public again.
async fn set_visibility(
    State(state): State<AppState>,
    session: Session,
    TeamManager(m): TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<VisibilityForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    crate::ops::teams::set_private(&mut tx, &m.team, m.user().id, form.private, state.clock.now()).await?;
    tx.commit().await?;
    let said = if form.private {
        "Private: only members see this team's on-call in the directory"
    } else {
        "Everyone signed in now sees this team's on-call in the directory"
    };
    flash(&session, said).await;
    let back = crate::web::team_settings::Section::Members.url(&m.team.slug);
    Ok(Redirect::to(&format!("{back}#visibility-h")).into_response())
}
