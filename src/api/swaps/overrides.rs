//! Overrides: a manager putting someone else on a shift.

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager};
use crate::domain::validate;
use crate::error::{AppResult, ErrorBody};
use crate::ops::overrides::{Override, override_shift};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    pub rotation: String,
    /// `primary` or `secondary`.
    #[schema(pattern = "^(primary|secondary)$")]
    pub role: String,
    pub email: String,
    /// A start in the past changes only the time from now on.
    #[serde(deserialize_with = "validate::de_instant")]
    pub starts_at: DateTime<Utc>,
    #[serde(deserialize_with = "validate::de_instant")]
    pub ends_at: DateTime<Utc>,
    /// Why; kept in the audit log.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
    /// Assign the person even though they are on leave then.
    #[serde(default)]
    pub despite_leave: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OverrideInfo {
    pub id: i64,
    pub rotation: String,
    pub role: String,
    pub email: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/overrides",
    tag = "swaps",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewOverride,
    responses(
        (status = 201, description = "Applied at once", body = OverrideInfo),
        (status = 403, description = "Not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team or rotation", body = ErrorBody),
        (status = 409, description = "The person is on leave or holds the other role then", body = ErrorBody),
        (status = 422, description = "In the past, beyond the schedule, or without a reason", body = ErrorBody),
    )
)]
pub async fn create_override(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    ApiJson(b): ApiJson<NewOverride>,
) -> AppResult<(StatusCode, Json<OverrideInfo>)> {
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let change = override_shift(
        &mut tx,
        &ctx,
        &manager.team,
        manager.user(),
        &Override {
            rotation: &b.rotation,
            role: &b.role,
            email: &b.email,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            reason: &b.reason,
            despite_leave: b.despite_leave,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(OverrideInfo {
            id: change.id,
            rotation: b.rotation,
            role: change.role.as_str().into(),
            email: b.email.trim().to_lowercase(),
            starts_at: change.starts_at,
            ends_at: change.ends_at,
        }),
    ))
}
