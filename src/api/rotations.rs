//! A team's rotations: their settings and participants in order.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::db;
use crate::db::rotations::{Rotation, Version};
use crate::db::teams::Team;
use crate::db::users::User;
use crate::domain::schedule::weekday_name;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops::rotations::{self as ops, RotationFields};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewRotation {
    /// Short name used in URLs, unique within the team.
    pub slug: String,
    /// `start_date` and `participants` are required; `name` defaults to the slug.
    #[serde(flatten)]
    pub fields: RotationFields,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RotationInfo {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    /// Lowercase English weekday, e.g. `tuesday`.
    pub handoff_weekday: String,
    /// Local `HH:MM` in the rotation's zone.
    pub handoff_time: String,
    pub start_date: NaiveDate,
    /// In rotation order.
    pub participants: Vec<Participant>,
    pub primary_sla_minutes: i32,
    pub secondary_sla_minutes: i32,
    /// When these (the newest) settings take effect; later than now when
    /// a change is waiting for the next handoff.
    pub effective_from: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Participant {
    pub email: String,
    pub name: String,
}

/// The rotation's newest settings with its participants' names, from
/// `people` (which holds at least every participant).
fn rotation_info(rotation: Rotation, version: &Version, people: &[User]) -> RotationInfo {
    let participants = version
        .participants
        .iter()
        .filter_map(|id| people.iter().find(|u| u.id == *id))
        .map(|u| Participant {
            email: u.email.clone(),
            name: u.name.clone(),
        })
        .collect();
    RotationInfo {
        slug: rotation.slug,
        name: rotation.name,
        timezone: version.timezone.clone(),
        handoff_weekday: weekday_name(version.weekday()).to_owned(),
        handoff_time: version.handoff_time.format("%H:%M").to_string(),
        start_date: rotation.start_date,
        participants,
        primary_sla_minutes: version.primary_sla_minutes,
        secondary_sla_minutes: version.secondary_sla_minutes,
        effective_from: version.effective_from,
    }
}

/// Loads one rotation of the team as the API shows it; 404 when missing.
async fn load(conn: &mut PgConnection, team: &Team, slug: &str) -> AppResult<RotationInfo> {
    let rotation = db::rotations::by_slug(conn, team.id, slug)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let versions = db::rotations::versions(conn, rotation.id).await?;
    let latest = versions
        .last()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("rotation without settings")))?;
    let people = db::users::by_ids(conn, &latest.participants).await?;
    Ok(rotation_info(rotation, latest, &people))
}

#[utoipa::path(
    get,
    path = "/teams/{team}/rotations",
    tag = "rotations",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 200, description = "The team's rotations, by name", body = [RotationInfo]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn list_rotations(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
) -> AppResult<Json<Vec<RotationInfo>>> {
    let mut conn = state.db.acquire().await?;
    let rotations = db::rotations::for_team(&mut conn, member.team.id).await?;
    let mut ids: Vec<i64> = rotations
        .iter()
        .flat_map(|(_, v)| v.participants.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let people = db::users::by_ids(&mut conn, &ids).await?;
    Ok(Json(
        rotations
            .into_iter()
            .map(|(r, v)| rotation_info(r, &v, &people))
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/teams/{team}/rotations",
    tag = "rotations",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewRotation,
    responses(
        (status = 201, description = "The rotation was created with its shifts", body = RotationInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "The team already has a rotation with that slug", body = ErrorBody),
        (status = 422, description = "A setting is not valid (the message says which)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_rotation(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<NewRotation>,
) -> AppResult<(StatusCode, Json<RotationInfo>)> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rotation =
        ops::create_rotation(&mut tx, &manager.team, manager.user().id, &body.slug, &body.fields, now).await?;
    let info = load(&mut tx, &manager.team, &rotation.slug).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(info)))
}

#[utoipa::path(
    get,
    path = "/teams/{team}/rotations/{rotation}",
    tag = "rotations",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
    ),
    responses(
        (status = 200, description = "The rotation's newest settings", body = RotationInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team or rotation, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_rotation(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    Path((_team, slug)): Path<(String, String)>,
) -> AppResult<Json<RotationInfo>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&mut conn, &member.team, &slug).await?))
}

#[utoipa::path(
    patch,
    path = "/teams/{team}/rotations/{rotation}",
    tag = "rotations",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
    ),
    request_body(content = RotationFields, description = "Only the settings to change; weeks from the next handoff on follow them"),
    responses(
        (status = 200, description = "The rotation with its newest settings", body = RotationInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team or rotation, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "The change conflicts with the schedule (e.g. moving the start of a begun rotation)", body = ErrorBody),
        (status = 422, description = "A setting is not valid (the message says which)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn update_rotation(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    Path((_team, slug)): Path<(String, String)>,
    ApiJson(fields): ApiJson<RotationFields>,
) -> AppResult<Json<RotationInfo>> {
    let mut tx = state.db.begin().await?;
    ops::update_rotation(&mut tx, &manager.team, &slug, manager.user().id, &fields, &state.clock).await?;
    let info = load(&mut tx, &manager.team, &slug).await?;
    tx.commit().await?;
    Ok(Json(info))
}
