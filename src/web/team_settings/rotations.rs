//! The rotations section: the team's rotations, the form for a new one,
//! and each rotation's edit page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::rotation_form::{Position, RotationForm, RotationFormValues, positions};
use super::{Head, Section};
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::teams::Member;
use crate::domain::schedule::weekday_name;
use crate::error::{AppError, AppResult};
use crate::ops::rotations::{create_rotation, emails_in_order, update_rotation};
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render_with};

pub struct RotationSummary {
    pub slug: String,
    pub name: String,
    pub summary: String,
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[derive(Template)]
#[template(path = "team/settings/rotations.html")]
struct RotationsPage {
    layout: Layout,
    head: Head,
    rotations: Vec<RotationSummary>,
    /// Fewer than two members: no rotation can be made yet.
    too_few: bool,
    form: RotationFormValues,
    positions: Vec<Position>,
    weekdays: [&'static str; 7],
}

#[derive(Template)]
#[template(path = "team/settings/rotation.html")]
struct RotationPage {
    layout: Layout,
    head: Head,
    form: RotationFormValues,
    positions: Vec<Position>,
    weekdays: [&'static str; 7],
}

/// "Tuesday 10:00 (Europe/London), primary 5 min, secondary 30 min: Ana → Ben".
fn summary(v: &db::rotations::Version, members: &[Member]) -> String {
    let names: Vec<&str> = v
        .participants
        .iter()
        .filter_map(|id| members.iter().find(|m| m.user_id == *id).map(|m| m.name.as_str()))
        .collect();
    format!(
        "{} {} ({}), primary {} min, secondary {} min: {}",
        weekday_name(v.weekday()),
        v.handoff_time.format("%H:%M"),
        v.timezone,
        v.primary_sla_minutes,
        v.secondary_sla_minutes,
        names.join(" → ")
    )
}

/// The section, with the new-rotation form holding `typed` if a create
/// was refused.
pub async fn page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    typed: Option<RotationFormValues>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let members = db::teams::members(&mut conn, team.id).await?;
    let rotations = db::rotations::for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|(r, v)| RotationSummary {
            summary: summary(&v, &members),
            slug: r.slug,
            name: r.name,
        })
        .collect();
    drop(conn);
    let form = typed.unwrap_or_else(|| RotationFormValues {
        slug: String::new(),
        name: String::new(),
        timezone: team.timezone.clone(),
        weekday: "tuesday".into(),
        time: "10:00".into(),
        start_date: state.clock.now().with_timezone(&team.tz()).date_naive().to_string(),
        chosen: members.iter().map(|m| m.email.clone()).collect(),
        primary_sla: "5".into(),
        secondary_sla: "30".into(),
    });
    let layout = Layout::new(state, session, format!("{} rotations", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &RotationsPage {
            layout,
            head: Head::new(team, Section::Rotations, error),
            rotations,
            too_few: members.len() < 2,
            positions: positions(&members, &form.chosen),
            form,
            weekdays: WEEKDAYS,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, None, StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = RotationForm::from_pairs(pairs);
    let team = &m.0.team;
    let result = async {
        let mut tx = state.db.begin().await?;
        let members = db::teams::members(&mut tx, team.id).await?;
        let fields = form.fields(&members, &team.name)?;
        create_rotation(&mut tx, team, m.0.user().id, &form.slug, &fields, state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => {
            flash(&session, format!("Rotation {} created", form.name)).await;
            Ok(Redirect::to(&Section::Rotations.url(&team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => page(&state, &session, &m, Some(form.values()), Some(msg), status).await,
            None => Err(e),
        },
    }
}

/// A rotation's edit page, showing `typed` (and `error`) after a refused
/// save, else the rotation as it stands.
async fn edit_page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    rotation: &str,
    typed: Option<RotationFormValues>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let r = db::rotations::by_slug(&mut conn, team.id, rotation)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let members = db::teams::members(&mut conn, team.id).await?;
    let form = match typed {
        Some(mut values) => {
            values.slug = r.slug.clone();
            values
        }
        None => {
            let versions = db::rotations::versions(&mut conn, r.id).await?;
            let v = versions.last().ok_or_else(|| AppError::not_found("rotation"))?;
            RotationFormValues {
                slug: r.slug.clone(),
                name: r.name.clone(),
                timezone: v.timezone.clone(),
                weekday: weekday_name(v.weekday()).into(),
                time: v.handoff_time.format("%H:%M").to_string(),
                start_date: r.start_date.to_string(),
                chosen: emails_in_order(&mut conn, &v.participants).await?,
                primary_sla: v.primary_sla_minutes.to_string(),
                secondary_sla: v.secondary_sla_minutes.to_string(),
            }
        }
    };
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, format!("Edit {}", r.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &RotationPage {
            layout,
            head: Head::new(team, Section::Rotations, error),
            positions: positions(&members, &form.chosen),
            form,
            weekdays: WEEKDAYS,
        },
    ))
}

pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation)): Path<(String, String)>,
    m: TeamManager<WebUser>,
) -> AppResult<Response> {
    edit_page(&state, &session, &m, &rotation, None, None, StatusCode::OK).await
}

pub async fn update(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation)): Path<(String, String)>,
    m: TeamManager<WebUser>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = RotationForm::from_pairs(pairs);
    let team = &m.0.team;
    let result = async {
        let mut tx = state.db.begin().await?;
        let members = db::teams::members(&mut tx, team.id).await?;
        let fields = form.fields(&members, &team.name)?;
        let applied = update_rotation(&mut tx, team, &rotation, m.0.user().id, &fields, &state.clock).await?;
        tx.commit().await?;
        Ok::<_, AppError>(applied)
    }
    .await;
    match result {
        Ok(applied) => {
            let msg = match applied {
                Some(a) => format!(
                    "Saved. The schedule changes from {}; the current week stays as it is.",
                    crate::web::fmt::local_with_year(a.effective_from, team.tz())
                ),
                None => "Saved; the schedule did not need to change.".into(),
            };
            flash(&session, msg).await;
            Ok(Redirect::to(&Section::Rotations.url(&team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                edit_page(&state, &session, &m, &rotation, Some(form.values()), Some(msg), status).await
            }
            None => Err(e),
        },
    }
}
