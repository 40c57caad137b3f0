//! The caller's own leave.

use crate::api::json::ApiJson;
use crate::auth::ApiUser;
use crate::db;
use crate::error::{AppResult, ErrorBody, Given};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveBody {
    /// The last day of leave (inclusive).
    #[serde(deserialize_with = "crate::domain::validate::de_date")]
    pub end_date: NaiveDate,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeaveInfo {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl From<db::leave::Leave> for LeaveInfo {
    fn from(l: db::leave::Leave) -> Self {
        LeaveInfo {
            start_date: l.start_date,
            end_date: l.end_date,
            starts_at: l.starts_at,
            ends_at: l.ends_at,
        }
    }
}

#[utoipa::path(
    put,
    path = "/me/leave/{start_date}",
    tag = "swaps",
    security(("bearer" = [])),
    params(("start_date" = String, Path, description = "First day of leave, YYYY-MM-DD, in your zone")),
    request_body = LeaveBody,
    responses(
        (status = 200, description = "Recorded; shifts it collides with need cover", body = LeaveInfo),
        (status = 400, description = "Not a date", body = ErrorBody),
        (status = 409, description = "Overlaps other leave", body = ErrorBody),
        (status = 422, description = "Ends before it starts, or is over", body = ErrorBody),
    )
)]
pub async fn put_leave(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(start): Path<String>,
    ApiJson(b): ApiJson<LeaveBody>,
) -> AppResult<Json<LeaveInfo>> {
    let start = Given::Path.date(&start)?;
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let leave = crate::ops::leave::put(&mut tx, &ctx, &caller.0, start, b.end_date).await?;
    tx.commit().await?;
    Ok(Json(leave.into()))
}

#[utoipa::path(
    delete,
    path = "/me/leave/{start_date}",
    tag = "swaps",
    security(("bearer" = [])),
    params(("start_date" = String, Path, description = "First day of the leave to remove")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Not a date between 2000 and 2100 (YYYY-MM-DD)", body = ErrorBody),
        (status = 404, description = "No leave starts that day", body = ErrorBody),
    )
)]
pub async fn delete_leave(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(start): Path<String>,
) -> AppResult<StatusCode> {
    let start = Given::Path.date(&start)?;
    let mut conn = state.db.acquire().await?;
    crate::ops::leave::delete(&mut conn, &caller.0, start).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/me/leave",
    tag = "swaps",
    security(("bearer" = [])),
    responses((status = 200, description = "Your leave that is not over yet", body = [LeaveInfo]))
)]
pub async fn list_leave(State(state): State<AppState>, caller: ApiUser) -> AppResult<Json<Vec<LeaveInfo>>> {
    let mut conn = state.db.acquire().await?;
    let leave = db::leave::for_user(&mut conn, caller.0.id, state.clock.now()).await?;
    Ok(Json(leave.into_iter().map(LeaveInfo::from).collect()))
}
