//! Holidays imported from an iCalendar file.

use crate::auth::{ApiUser, TeamManager};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// How many dates the file held (each is now a holiday).
    pub dates: usize,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/holidays/import",
    tag = "recovery",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body(content = String, content_type = "text/calendar", description = "An .ics file"),
    responses(
        (status = 200, description = "Every dated event is now a holiday", body = Imported),
        (status = 400, description = "Not UTF-8", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 415, description = "Not sent as text/calendar", body = ErrorBody),
        (status = 422, description = "Not an iCalendar file, or no dates in it", body = ErrorBody),
    )
)]
pub async fn import_holidays(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<Imported>> {
    let is_ics = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/calendar"));
    if !is_ics {
        return Err(AppError::UnsupportedMediaType(
            "Send the .ics file with Content-Type: text/calendar".into(),
        ));
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("The file is not valid UTF-8".into()))?;
    let mut tx = state.db.begin().await?;
    let dates = crate::ops::recovery::import_holidays(&mut tx, &m.team, m.user().id, text, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(Imported { dates }))
}
