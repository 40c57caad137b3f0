//! The caller's notifications.

use crate::auth::ApiUser;
use crate::db;
use crate::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationInfo {
    pub id: i64,
    pub message: String,
    /// A path in Rota's web pages.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

#[utoipa::path(
    get,
    path = "/me/notifications",
    tag = "swaps",
    security(("bearer" = [])),
    responses((status = 200, description = "Your latest notifications, newest first", body = [NotificationInfo]))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<NotificationInfo>>> {
    let mut conn = state.db.acquire().await?;
    let list = db::notifications::recent(&mut conn, caller.0.id, 100).await?;
    Ok(Json(
        list.into_iter()
            .map(|n| NotificationInfo {
                id: n.id,
                message: n.message,
                link: n.link,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/me/notifications/read",
    tag = "swaps",
    security(("bearer" = [])),
    responses((status = 204, description = "Every notification is marked read"))
)]
pub async fn read_notifications(State(state): State<AppState>, caller: ApiUser) -> AppResult<StatusCode> {
    let mut conn = state.db.acquire().await?;
    crate::ops::notifications::mark_all_read(&mut conn, caller.0.id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
