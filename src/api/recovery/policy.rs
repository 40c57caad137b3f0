//! A team's out-of-hours policy.

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager};
use crate::domain::recovery::Policy;
use crate::error::{AppResult, ErrorBody};
use crate::ops::policy::{PolicyChange, change_policy};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct PolicyBody {
    /// Local `HH:MM` in each responder's own zone.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub sleep_start: Option<String>,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub sleep_end: Option<String>,
    /// Minutes of weekend or holiday engagement that earn a recovery day.
    #[schema(minimum = 1, maximum = 1440)]
    pub day_threshold_minutes: Option<i32>,
}

#[utoipa::path(
    patch,
    path = "/teams/{team}/policy",
    tag = "recovery",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "The policy as it now stands", body = PolicyBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Not a time, or a threshold out of 1–1440", body = ErrorBody),
    )
)]
pub async fn update_policy(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> AppResult<Json<PolicyBody>> {
    let change = PolicyChange {
        sleep_start: body.sleep_start.as_deref(),
        sleep_end: body.sleep_end.as_deref(),
        day_threshold_minutes: body.day_threshold_minutes,
    };
    let mut tx = state.db.begin().await?;
    let p = change_policy(&mut tx, &m.team, m.user().id, change, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(describe(&p)))
}

fn describe(p: &Policy) -> PolicyBody {
    let hm = |t: NaiveTime| t.format("%H:%M").to_string();
    PolicyBody {
        sleep_start: Some(hm(p.sleep_start)),
        sleep_end: Some(hm(p.sleep_end)),
        day_threshold_minutes: Some(p.day_threshold.num_minutes() as i32),
    }
}
