//! Teams and their members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::api::me::TeamMembership;
use crate::auth::{Admin, ApiUser, TeamManager, TeamMember};
use crate::calendar::feed_url;
use crate::db;
use crate::db::teams::TeamRole;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    /// Short name used in URLs: lowercase letters, digits and hyphens.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: String,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// IANA zone, e.g. `Europe/London`.
    pub timezone: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamInfo {
    pub slug: String,
    pub name: String,
    pub timezone: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamDetail {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    /// The team's whole rota as an iCalendar feed.
    pub calendar_url: String,
    /// The caller's role in this team.
    pub role: TeamRole,
    pub members: Vec<MemberInfo>,
    /// Slugs of the team's rotations.
    pub rotations: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberInfo {
    pub email: String,
    pub name: String,
    pub role: TeamRole,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetRole {
    pub role: TeamRole,
}

#[utoipa::path(
    post,
    path = "/teams",
    tag = "teams",
    security(("bearer" = [])),
    request_body = NewTeam,
    responses(
        (status = 201, description = "The team was created", body = TeamInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an instance admin", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_team(
    State(state): State<AppState>,
    _admin: Admin<ApiUser>,
    ApiJson(body): ApiJson<NewTeam>,
) -> AppResult<(StatusCode, Json<TeamInfo>)> {
    let mut tx = state.db.begin().await?;
    let team = ops::teams::create_team(&mut tx, &body.slug, &body.name, &body.timezone).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamInfo {
            slug: team.slug,
            name: team.name,
            timezone: team.timezone,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/teams",
    tag = "teams",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The teams the caller can see, by name", body = [TeamMembership]),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list_teams(State(state): State<AppState>, ApiUser(user): ApiUser) -> AppResult<Json<Vec<TeamMembership>>> {
    let mut conn = state.db.acquire().await?;
    let teams = db::teams::for_user(&mut conn, user.id, user.is_admin).await?;
    Ok(Json(teams.into_iter().map(TeamMembership::from).collect()))
}

#[utoipa::path(
    get,
    path = "/teams/{team}",
    tag = "teams",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 200, description = "The team, its members and rotations", body = TeamDetail),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_team(State(state): State<AppState>, member: TeamMember<ApiUser>) -> AppResult<Json<TeamDetail>> {
    let mut conn = state.db.acquire().await?;
    let team = member.team;
    let members = db::teams::members(&mut conn, team.id).await?;
    let rotations = db::rotations::for_team(&mut conn, team.id).await?;
    Ok(Json(TeamDetail {
        calendar_url: feed_url(&state.settings.base_url, &team.calendar_secret),
        slug: team.slug,
        name: team.name,
        timezone: team.timezone,
        role: member.role,
        members: members
            .into_iter()
            .map(|m| MemberInfo {
                role: m.role,
                email: m.email,
                name: m.name,
            })
            .collect(),
        rotations: rotations.into_iter().map(|(r, _)| r.slug).collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/teams/{team}/members/{email}",
    tag = "teams",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("email" = String, Path, description = "The person's e-mail; they need an account"),
    ),
    request_body = SetRole,
    responses(
        (status = 200, description = "The person is a member with that role", body = MemberInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "No account with that e-mail, or the role is not valid", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn set_member(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    Path((_team, email)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetRole>,
) -> AppResult<Json<MemberInfo>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    ops::members::set_member(&mut tx, &manager.team, manager.user().id, &email, body.role, now).await?;
    let user = db::users::by_email(&mut tx, &email)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("member vanished after being set")))?;
    tx.commit().await?;
    Ok(Json(MemberInfo {
        email: user.email,
        name: user.name,
        role: body.role,
    }))
}

#[utoipa::path(
    delete,
    path = "/teams/{team}/members/{email}",
    tag = "teams",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("email" = String, Path, description = "The member's e-mail"),
    ),
    responses(
        (status = 204, description = "Removed; their future weeks were handed to the others"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team, or that person is not a member", body = ErrorBody),
        (status = 409, description = "They are on call now, or weeks still need cover (named in the message)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn remove_member(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    Path((_team, email)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    ops::members::remove_member(&mut tx, &manager.team, manager.user().id, &email, &state.clock).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
