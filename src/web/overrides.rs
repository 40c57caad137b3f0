//! A manager's override: someone holds a role over a span at once, with a
//! reason that goes in the team's history.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, TeamMember, WebUser};
use crate::db;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::ops::overrides::{Override, override_shift};
use crate::state::AppState;
use crate::web::forms::{Choice, input_value, local_instant, required_instant, shown_on_page};
use crate::web::layout::{Layout, flash, render_with};
use crate::web::swaps::span;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/teams/{team}/overrides/new",
        get(show_override_form).post(override_from_form),
    )
}

/// Where the form starts: a week and role from the rota (`rotation`,
/// `role`, `at`), or a shift from "Needs cover" (`shift`, with the part in
/// the leave as `at` and `until`). Times are local, in the team's zone.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OverrideQuery {
    rotation: String,
    role: String,
    at: String,
    until: String,
    shift: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OverrideForm {
    rotation: String,
    role: String,
    email: String,
    starts_at: String,
    ends_at: String,
    reason: String,
    /// A checkbox: present when ticked.
    despite_leave: Option<String>,
}

#[derive(Template)]
#[template(path = "team/override.html")]
struct OverridePage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    error: Option<String>,
    form: OverrideForm,
    rotations: Vec<Choice>,
    roles: Vec<Choice>,
    people: Vec<Choice>,
}

async fn override_page(
    state: &AppState,
    session: &Session,
    m: &TeamMember<WebUser>,
    form: OverrideForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.team;
    let rotations = state
        .rotations_of(team.id)
        .await?
        .into_iter()
        .map(|(r, _)| Choice {
            selected: r.slug == form.rotation,
            value: r.slug,
            label: r.name,
        })
        .collect();
    let roles = Role::BOTH
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().into(),
            label: r.as_str().into(),
            selected: form.role == r.as_str(),
        })
        .collect();
    let mut conn = state.db.acquire().await?;
    let members = db::teams::members(&mut conn, team.id).await?;
    // Names; the e-mail only to tell apart two people of the same name.
    let shared = |name: &str| members.iter().filter(|m| m.name == name).count() > 1;
    let people = members
        .iter()
        .map(|p| Choice {
            selected: p.email == form.email,
            label: if shared(&p.name) {
                format!("{} ({})", p.name, p.email)
            } else {
                p.name.clone()
            },
            value: p.email.clone(),
        })
        .collect();
    drop(conn);
    let layout = Layout::new(state, session, format!("Override in {}", team.name), Some(m.user())).await?;
    Ok(render_with(
        status,
        &OverridePage {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            zone: team.timezone.clone(),
            error,
            form,
            rotations,
            roles,
            people,
        },
    ))
}

/// The form's first values from the query.
async fn starting_values(state: &AppState, m: &TeamMember<WebUser>, q: &OverrideQuery) -> AppResult<OverrideForm> {
    let team = &m.team;
    let tz = team.tz();
    let at = local_instant("start", &q.at, tz)?;
    let until = local_instant("end", &q.until, tz)?;
    let mut form = OverrideForm {
        rotation: q.rotation.clone(),
        role: if q.role.is_empty() {
            Role::Primary.as_str().into()
        } else {
            q.role.clone()
        },
        ..OverrideForm::default()
    };
    if let Ok(id) = q.shift.trim().parse::<i64>() {
        let mut conn = state.db.acquire().await?;
        let shift = db::shifts::by_id(&mut conn, id)
            .await?
            .filter(|s| s.team_slug == team.slug)
            .ok_or_else(|| AppError::NotFound("That shift is no longer on the rota; start from the rota".into()))?;
        form.rotation = shift.rotation_slug;
        form.role = shift.role.as_str().to_owned();
        form.starts_at = input_value(at.unwrap_or(shift.starts_at), tz);
        form.ends_at = input_value(until.unwrap_or(shift.ends_at), tz);
        form.reason = format!("{} is on leave", shift.name);
        return Ok(form);
    }
    let Some(at) = at else { return Ok(form) };
    form.starts_at = input_value(at, tz);
    // Until the end of that week of that role, as the rota shows it.
    let rotation = state
        .rotations_of(team.id)
        .await?
        .into_iter()
        .find(|(r, _)| r.slug == form.rotation);
    if let Some((rotation, _)) = rotation {
        let shifts = state.shifts_between(team.id, at, at + Duration::weeks(1)).await?;
        let here = shifts.iter().find(|s| {
            s.rotation_id == rotation.id && s.role.as_str() == form.role && s.starts_at <= at && at < s.ends_at
        });
        let end: Option<DateTime<Utc>> = here.and_then(|h| {
            shifts
                .iter()
                .filter(|s| {
                    s.rotation_id == h.rotation_id && s.version_id == h.version_id && s.week_index == h.week_index
                })
                .map(|s| s.ends_at)
                .max()
        });
        form.ends_at = until.or(end).map(|e| input_value(e, tz)).unwrap_or_default();
    }
    Ok(form)
}

async fn show_override_form(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<OverrideQuery>,
    TeamManager(m): TeamManager<WebUser>,
) -> AppResult<Response> {
    let form = starting_values(&state, &m, &q).await?;
    override_page(&state, &session, &m, form, None, StatusCode::OK).await
}

async fn override_from_form(
    State(state): State<AppState>,
    session: Session,
    TeamManager(m): TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<OverrideForm>,
) -> AppResult<Response> {
    match apply(&state, &m, &form).await {
        Ok(done) => {
            flash(&session, done).await;
            Ok(Redirect::to(&format!("/teams/{}", m.team.slug)).into_response())
        }
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => override_page(&state, &session, &m, form, Some(msg), status).await,
            None => Err(e),
        },
    }
}

/// Applies the override; returns what to tell the manager.
async fn apply(state: &AppState, m: &TeamMember<WebUser>, form: &OverrideForm) -> AppResult<String> {
    let tz = m.team.tz();
    if form.email.trim().is_empty() {
        return Err(AppError::Unprocessable("Choose who takes the shift".into()));
    }
    let starts_at = required_instant("start", &form.starts_at, tz)?;
    let ends_at = required_instant("end", &form.ends_at, tz)?;
    let rotation_name = state
        .rotations_of(m.team.id)
        .await?
        .into_iter()
        .find(|(r, _)| r.slug == form.rotation)
        .map_or_else(|| form.rotation.clone(), |(r, _)| r.name);
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let change = override_shift(
        &mut tx,
        &ctx,
        &m.team,
        m.user(),
        &Override {
            rotation: &form.rotation,
            role: &form.role,
            email: &form.email,
            starts_at,
            ends_at,
            reason: &form.reason,
            despite_leave: form.despite_leave.is_some(),
        },
    )
    .await?;
    tx.commit().await?;
    let who = state
        .user_by_id(change.user_id)
        .await?
        .map_or_else(|| form.email.trim().to_owned(), |u| u.name);
    Ok(format!(
        "Override saved: {who} is {} in {rotation_name}, {}",
        change.role,
        span(change.starts_at, change.ends_at, tz)
    ))
}
