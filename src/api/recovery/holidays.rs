//! A team's holidays, one day at a time.

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager};
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody, Given};
use crate::ops::recovery::apply_holidays;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HolidayBody {
    /// One line: no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

#[utoipa::path(
    put,
    path = "/teams/{team}/holidays/{date}",
    tag = "recovery",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), ("date" = String, Path, description = "YYYY-MM-DD")),
    request_body = HolidayBody,
    responses(
        (status = 200, description = "Recorded; recovery days re-derived around it"),
        (status = 400, description = "Not a date", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn put_holiday(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    Path((_team, date)): Path<(String, String)>,
    ApiJson(body): ApiJson<HolidayBody>,
) -> AppResult<StatusCode> {
    let date = Given::Path.date(&date)?;
    let name = validate::line("The holiday's name", &body.name, 100)?;
    let name = name.as_str();
    let mut tx = state.db.begin().await?;
    apply_holidays(
        &mut tx,
        &m.team,
        m.user().id,
        &[(date, name.to_owned())],
        &[],
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/teams/{team}/holidays/{date}",
    tag = "recovery",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Not a date between 2000 and 2100 (YYYY-MM-DD)", body = ErrorBody),
        (status = 404, description = "No such holiday", body = ErrorBody),
    )
)]
pub async fn delete_holiday(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    Path((_team, date)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let date = Given::Path.date(&date)?;
    let mut tx = state.db.begin().await?;
    if !apply_holidays(&mut tx, &m.team, m.user().id, &[], &[date], state.clock.now()).await? {
        return Err(AppError::NotFound(format!(
            "{date} is not a holiday of {}",
            m.team.name
        )));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
