//! Team settings for managers: members, rotations, the team calendar link.
//! The out-of-hours policy, holidays and integration tokens are handled in
//! `team_alerting`, on the same page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::teams::{Member, TeamRole};
use crate::domain::schedule::weekday_name;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::members::{remove_member, set_member};
use crate::ops::rotations::{RotationFields, create_rotation, emails_in_order, update_rotation};
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render_with};
use crate::web::team_alerting::{self, Alerting, NewToken};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/settings", get(show_settings))
        .route("/teams/{team}/members", post(add_member))
        .route("/teams/{team}/members/remove", post(remove_member_form))
        .route("/teams/{team}/rotations", post(create_rotation_form))
        .route(
            "/teams/{team}/rotations/{rotation}",
            get(show_rotation_form).post(update_rotation_form),
        )
        .route("/teams/{team}/calendar/reset", post(reset_team_calendar))
}

pub struct RotationSummary {
    pub slug: String,
    pub name: String,
    pub summary: String,
}

/// The values a rotation form shows.
pub struct RotationFormValues {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub weekday: String,
    pub time: String,
    pub start_date: String,
    pub participants: String,
    pub primary_sla: String,
    pub secondary_sla: String,
}

#[derive(Template)]
#[template(path = "team/settings.html")]
struct SettingsPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    /// Shown in the on-call directory only to its members.
    team_private: bool,
    error: Option<String>,
    members: Vec<Member>,
    /// "Ravi cannot be paged", when members have no confirmed contact method.
    unpageable: Option<String>,
    rotations: Vec<RotationSummary>,
    new_rotation: RotationFormValues,
    weekdays: [&'static str; 7],
    alerting: Alerting,
    handoff_webhook: crate::web::handoffs::WebhookSettings,
    invitations: crate::web::accounts::InvitationsPanel,
}

/// What the settings page shows besides the team as it stands: a form's
/// error, the values typed into the new-rotation form, a token shown once.
#[derive(Default)]
pub struct Shown {
    pub error: Option<String>,
    pub new_rotation: Option<RotationFormValues>,
    pub new_token: Option<NewToken>,
}

impl Shown {
    pub fn error(message: String) -> Self {
        Shown {
            error: Some(message),
            ..Shown::default()
        }
    }
}

#[derive(Template)]
#[template(path = "team/rotation.html")]
struct RotationPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    error: Option<String>,
    form: RotationFormValues,
    weekdays: [&'static str; 7],
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

pub async fn settings_page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    shown: Shown,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let members = db::teams::members(&mut conn, team.id).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    let silent = db::contact_methods::unpageable(&mut conn, &ids).await?;
    let names: Vec<&str> = members
        .iter()
        .filter(|m| silent.contains(&m.user_id))
        .map(|m| m.name.as_str())
        .collect();
    let unpageable = crate::web::fmt::and_list(&names).map(|n| format!("{n} cannot be paged"));
    let rotations = db::rotations::for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|(r, v)| {
            let names: Vec<String> = v
                .participants
                .iter()
                .filter_map(|id| members.iter().find(|m| m.user_id == *id).map(|m| m.name.clone()))
                .collect();
            RotationSummary {
                slug: r.slug,
                name: r.name,
                summary: format!(
                    "{} {} ({}), primary {} min, secondary {} min: {}",
                    weekday_name(v.weekday()),
                    v.handoff_time.format("%H:%M"),
                    v.timezone,
                    v.primary_sla_minutes,
                    v.secondary_sla_minutes,
                    names.join(" → ")
                ),
            }
        })
        .collect();
    let alerting = team_alerting::load(&mut conn, team, &state.settings.base_url, shown.new_token).await?;
    let handoff_webhook = crate::web::handoffs::webhook_settings(&mut conn, team, m.0.user().tz()).await?;
    let pending = ops::invitations::pending_in_team(&mut conn, team, state.clock.now()).await?;
    let invitations =
        crate::web::accounts::InvitationsPanel::for_team(pending, team, m.0.user().is_admin, m.0.user().tz());
    let new_rotation = shown.new_rotation.unwrap_or_else(|| RotationFormValues {
        slug: String::new(),
        name: String::new(),
        timezone: team.timezone.clone(),
        weekday: "tuesday".into(),
        time: "10:00".into(),
        start_date: state.clock.now().with_timezone(&team.tz()).date_naive().to_string(),
        participants: members.iter().map(|m| m.email.clone()).collect::<Vec<_>>().join("\n"),
        primary_sla: "5".into(),
        secondary_sla: "30".into(),
    });
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, format!("{} settings", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &SettingsPage {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            team_private: team.private,
            error: shown.error,
            members,
            unpageable,
            rotations,
            new_rotation,
            weekdays: WEEKDAYS,
            alerting,
            handoff_webhook,
            invitations,
        },
    ))
}

async fn show_settings(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
) -> AppResult<Response> {
    settings_page(&state, &session, &m, Shown::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct MemberForm {
    email: String,
    role: String,
}

async fn add_member(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> AppResult<Response> {
    let role = TeamRole::parse(&form.role).ok_or_else(|| AppError::BadRequest("Choose member or manager".into()))?;
    let mut tx = state.db.begin().await?;
    match set_member(&mut tx, &m.0.team, m.0.user().id, &form.email, role, state.clock.now()).await {
        Ok(()) => {
            tx.commit().await?;
            flash(
                &session,
                format!("{} is now a {} of {}", form.email.trim(), role.as_str(), m.0.team.name),
            )
            .await;
            Ok(Redirect::to(&format!("/teams/{}/settings", m.0.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => settings_page(&state, &session, &m, Shown::error(msg), status).await,
            None => Err(e),
        },
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    email: String,
}

async fn remove_member_form(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    match remove_member(&mut tx, &m.0.team, m.0.user().id, &form.email, &state.clock).await {
        Ok(()) => {
            tx.commit().await?;
            flash(&session, format!("{} was removed from {}", form.email, m.0.team.name)).await;
            Ok(Redirect::to(&format!("/teams/{}/settings", m.0.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => settings_page(&state, &session, &m, Shown::error(msg), status).await,
            None => Err(e),
        },
    }
}

#[derive(Deserialize)]
struct RotationForm {
    slug: Option<String>,
    name: String,
    timezone: String,
    handoff_weekday: String,
    handoff_time: String,
    start_date: String,
    participants: String,
    primary_sla: String,
    secondary_sla: String,
}

impl RotationForm {
    fn values(&self) -> RotationFormValues {
        RotationFormValues {
            slug: self.slug.clone().unwrap_or_default(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            weekday: self.handoff_weekday.clone(),
            time: self.handoff_time.clone(),
            start_date: self.start_date.clone(),
            participants: self.participants.clone(),
            primary_sla: self.primary_sla.clone(),
            secondary_sla: self.secondary_sla.clone(),
        }
    }

    fn fields(&self) -> Result<RotationFields, AppError> {
        let minutes = |label: &str, v: &str| {
            v.trim()
                .parse::<i32>()
                .map_err(|_| AppError::Unprocessable(format!("The {label} SLA \"{v}\" is not a number of minutes")))
        };
        Ok(RotationFields {
            name: Some(self.name.clone()),
            timezone: Some(self.timezone.clone()),
            handoff_weekday: Some(self.handoff_weekday.clone()),
            handoff_time: Some(self.handoff_time.clone()),
            start_date: Some(self.start_date.clone()),
            participants: Some(
                self.participants
                    .lines()
                    .map(str::to_owned)
                    .filter(|l| !l.trim().is_empty())
                    .collect(),
            ),
            primary_sla_minutes: Some(minutes("primary", &self.primary_sla)?),
            secondary_sla_minutes: Some(minutes("secondary", &self.secondary_sla)?),
        })
    }
}

async fn create_rotation_form(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RotationForm>,
) -> AppResult<Response> {
    let slug = form.slug.clone().unwrap_or_default();
    let result = async {
        let fields = form.fields()?;
        let mut tx = state.db.begin().await?;
        create_rotation(&mut tx, &m.0.team, m.0.user().id, &slug, &fields, state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => {
            flash(&session, format!("Rotation {} created", form.name)).await;
            Ok(Redirect::to(&format!("/teams/{}", m.0.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                let shown = Shown {
                    error: Some(msg),
                    new_rotation: Some(form.values()),
                    new_token: None,
                };
                settings_page(&state, &session, &m, shown, status).await
            }
            None => Err(e),
        },
    }
}

async fn show_rotation_form(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation)): Path<(String, String)>,
    m: TeamManager<WebUser>,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let r = db::rotations::by_slug(&mut conn, team.id, &rotation)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let versions = db::rotations::versions(&mut conn, r.id).await?;
    let v = versions.last().ok_or_else(|| AppError::not_found("rotation"))?;
    let emails = emails_in_order(&mut conn, &v.participants).await?;
    let form = RotationFormValues {
        slug: r.slug.clone(),
        name: r.name.clone(),
        timezone: v.timezone.clone(),
        weekday: weekday_name(v.weekday()).into(),
        time: v.handoff_time.format("%H:%M").to_string(),
        start_date: r.start_date.to_string(),
        participants: emails.join("\n"),
        primary_sla: v.primary_sla_minutes.to_string(),
        secondary_sla: v.secondary_sla_minutes.to_string(),
    };
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(&state, &session, format!("Edit {}", r.name), Some(m.0.user())).await?;
    Ok(render_with(
        StatusCode::OK,
        &RotationPage {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            error: None,
            form,
            weekdays: WEEKDAYS,
        },
    ))
}

async fn update_rotation_form(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation)): Path<(String, String)>,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RotationForm>,
) -> AppResult<Response> {
    let team = &m.0.team;
    let result = async {
        let fields = form.fields()?;
        let mut tx = state.db.begin().await?;
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
            Ok(Redirect::to(&format!("/teams/{}", team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                let mut values = form.values();
                values.slug = rotation.clone();
                let layout = Layout::new(&state, &session, "Edit rotation", Some(m.0.user())).await?;
                Ok(render_with(
                    status,
                    &RotationPage {
                        layout,
                        team_name: team.name.clone(),
                        team_slug: team.slug.clone(),
                        error: Some(msg),
                        form: values,
                        weekdays: WEEKDAYS,
                    },
                ))
            }
            None => Err(e),
        },
    }
}

async fn reset_team_calendar(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    ops::teams::reset_calendar(&mut tx, &m.0.team, m.0.user().id, state.clock.now()).await?;
    tx.commit().await?;
    flash(
        &session,
        "The team calendar link was reset; the old link no longer works.",
    )
    .await;
    Ok(Redirect::to(&format!("/teams/{}", m.0.team.slug)).into_response())
}
