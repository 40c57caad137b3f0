//! The schedule as it stands: who is on call, and the shifts of a window.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::api::json::ApiQuery;
use crate::auth::{ApiUser, TeamMember};
use crate::db;
use crate::db::shifts::ShiftView;
use crate::domain::role::Role;
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;

/// The window `GET …/shifts` covers when `to` is not given.
const DEFAULT_WINDOW: Duration = Duration::days(28);
/// The widest window one request may ask for.
const MAX_WINDOW: Duration = Duration::days(400);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnCallQuery {
    /// RFC 3339 instant, e.g. `2026-03-03T10:00:00Z`; now when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OnCall {
    pub at: DateTime<Utc>,
    /// Every rotation of the team, by name, whether or not anyone is on call.
    pub rotations: Vec<RotationOnCall>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RotationOnCall {
    /// The rotation's slug.
    pub rotation: String,
    pub name: String,
    /// `null` when nobody holds the role at that instant.
    #[schema(required = true)]
    pub primary: Option<OnCallPerson>,
    #[schema(required = true)]
    pub secondary: Option<OnCallPerson>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OnCallPerson {
    pub email: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Minutes within which this role should acknowledge a page.
    pub sla_minutes: i32,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShiftsQuery {
    /// RFC 3339 instant; now when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339 instant, after `from` and at most 400 days on; `from` + 28 days when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Only this rotation (its slug).
    pub rotation: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ShiftInfo {
    pub id: i64,
    /// The rotation's slug.
    pub rotation: String,
    /// `primary` or `secondary`.
    pub role: String,
    pub email: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// An RFC 3339 instant from the query string, checked as everywhere.
fn parse_instant(field: &str, value: Option<&str>) -> AppResult<Option<DateTime<Utc>>> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    validate::instant(raw).map(Some).map_err(|e| {
        let message = format!("{field}: {}", e.0);
        if e.0.contains(validate::OUT_OF_RANGE) {
            AppError::Unprocessable(message)
        } else {
            AppError::BadRequest(message)
        }
    })
}

fn on_call_person(shift: &ShiftView) -> OnCallPerson {
    OnCallPerson {
        email: shift.email.clone(),
        name: shift.name.clone(),
        starts_at: shift.starts_at,
        ends_at: shift.ends_at,
        sla_minutes: shift.sla_minutes,
    }
}

#[utoipa::path(
    get,
    path = "/teams/{team}/oncall",
    tag = "schedule",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), OnCallQuery),
    responses(
        (status = 200, description = "Primary and secondary of each rotation at the instant", body = OnCall),
        (status = 400, description = "`at` is not an RFC 3339 instant", body = ErrorBody),
        (status = 422, description = "`at` is outside the years 2000 to 2100", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_oncall(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(query): ApiQuery<OnCallQuery>,
) -> AppResult<Json<OnCall>> {
    let at = parse_instant("at", query.at.as_deref())?.unwrap_or_else(|| state.clock.now());
    let rotations = state.rotations_of(member.team.id).await?;
    let shifts = state.on_call(member.team.id, at).await?;
    let holder = |rotation_id: i64, role: Role| {
        shifts
            .iter()
            .find(|s| s.rotation_id == rotation_id && s.role == role)
            .map(on_call_person)
    };
    let rotations = rotations
        .into_iter()
        .map(|(r, _)| RotationOnCall {
            primary: holder(r.id, Role::Primary),
            secondary: holder(r.id, Role::Secondary),
            rotation: r.slug,
            name: r.name,
        })
        .collect();
    Ok(Json(OnCall { at, rotations }))
}

#[utoipa::path(
    get,
    path = "/teams/{team}/shifts",
    tag = "schedule",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), ShiftsQuery),
    responses(
        (status = 200, description = "Shifts overlapping [from, to), by start, swaps and overrides applied", body = [ShiftInfo]),
        (status = 400, description = "`from` or `to` is not an RFC 3339 instant", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team or rotation, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "`to` is not after `from`, or the window is over 400 days", body = ErrorBody),
    )
)]
pub async fn list_shifts(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(query): ApiQuery<ShiftsQuery>,
) -> AppResult<Json<Vec<ShiftInfo>>> {
    let from = parse_instant("from", query.from.as_deref())?.unwrap_or_else(|| state.clock.now());
    let to = parse_instant("to", query.to.as_deref())?.unwrap_or(from + DEFAULT_WINDOW);
    if to <= from {
        return Err(AppError::Unprocessable(
            "`to` must be after `from`; the window is [from, to)".into(),
        ));
    }
    if to - from > MAX_WINDOW {
        return Err(AppError::Unprocessable(
            "Ask for at most 400 days at once; split the window".into(),
        ));
    }
    let rotation = query.rotation.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let mut conn = state.db.acquire().await?;
    if let Some(slug) = rotation {
        // An unknown slug is a mistake worth naming, not an empty list.
        db::rotations::by_slug(&mut conn, member.team.id, slug)
            .await?
            .ok_or_else(|| AppError::not_found("rotation"))?;
    }
    let shifts = db::shifts::for_team(&mut conn, member.team.id, from, to, rotation).await?;
    Ok(Json(
        shifts
            .into_iter()
            .map(|s| ShiftInfo {
                id: s.id,
                rotation: s.rotation_slug,
                role: s.role.as_str().into(),
                email: s.email,
                name: s.name,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
            })
            .collect(),
    ))
}
