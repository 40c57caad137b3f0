//! Recovery days: listing them and choosing when to take one.

use crate::api::json::{ApiJson, ApiQuery};
use crate::auth::{ApiUser, TeamMember};
use crate::db;
use crate::db::recovery::RecoveryDay;
use crate::error::{AppResult, ErrorBody};
use crate::ops::recovery::choose;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryInfo {
    pub id: i64,
    pub email: String,
    pub date: NaiveDate,
    /// `day_off`, `home` or `late_start`.
    pub form: String,
    pub worked_anyway: bool,
    pub reason: String,
    /// `granted`, or `flagged` when its page was corrected away after the day.
    pub state: String,
}

impl From<RecoveryDay> for RecoveryInfo {
    fn from(r: RecoveryDay) -> Self {
        RecoveryInfo {
            id: r.id,
            email: r.email,
            date: r.day,
            form: r.form,
            worked_anyway: r.worked_anyway,
            reason: r.reason,
            state: r.state,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// First date (YYYY-MM-DD); 90 days ago when absent.
    #[serde(default, deserialize_with = "crate::domain::validate::de_opt_date")]
    pub from: Option<NaiveDate>,
    /// Day after the last (YYYY-MM-DD); a year on when absent.
    #[serde(default, deserialize_with = "crate::domain::validate::de_opt_date")]
    pub to: Option<NaiveDate>,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/recovery-days",
    tag = "recovery",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), DateRange),
    responses(
        (status = 200, description = "Recovery days in [from, to), by date", body = [RecoveryInfo]),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "`from` or `to` is a date outside the years 2000 to 2100", body = ErrorBody),
    )
)]
pub async fn list_recovery_days(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<DateRange>,
) -> AppResult<Json<Vec<RecoveryInfo>>> {
    let today = state.clock.now().with_timezone(&member.team.tz()).date_naive();
    let from = q.from.unwrap_or(today - Duration::days(90));
    let to = q.to.unwrap_or(today + Duration::days(365));
    let mut conn = state.db.acquire().await?;
    let days = db::recovery::for_team(&mut conn, member.team.id, from, to).await?;
    Ok(Json(days.into_iter().map(RecoveryInfo::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RecoveryChoice {
    /// `day_off`, `home` or `late_start`.
    #[schema(pattern = "^(day_off|home|late_start)$")]
    pub form: Option<String>,
    pub worked_anyway: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/recovery-days/{id}",
    tag = "recovery",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The recovery day's id")),
    request_body = RecoveryChoice,
    responses(
        (status = 200, description = "The choice is recorded", body = RecoveryInfo),
        (status = 403, description = "Someone else's recovery day", body = ErrorBody),
        (status = 404, description = "No such recovery day", body = ErrorBody),
        (status = 422, description = "An unknown form", body = ErrorBody),
    )
)]
pub async fn choose_recovery(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<RecoveryChoice>,
) -> AppResult<Json<RecoveryInfo>> {
    let mut tx = state.db.begin().await?;
    let day = choose(&mut tx, id, &caller.0, c.form.as_deref(), c.worked_anyway).await?;
    tx.commit().await?;
    Ok(Json(day.into()))
}
