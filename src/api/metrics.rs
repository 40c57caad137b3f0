//! The metrics page's figures through the API, the pay report, and
//! turning a rebalancing suggestion into a swap request.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::json::{ApiJson, ApiQuery};
use crate::api::swaps::SwapInfo;
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::db::teams::Team;
use crate::domain::metrics::period::DEFAULT_WEEKS;
use crate::domain::metrics::{PayRow, Period};
use crate::domain::validate;
use crate::error::{AppResult, ErrorBody};
use crate::ops::metrics::{Report, pay_report, team_report};
use crate::ops::rebalance::propose;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// RFC 3339; with `to`, the period `[from, to)`.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub to: Option<DateTime<Utc>>,
    /// Without `from` and `to`: this many weeks ending today in the team's
    /// zone (default 12).
    pub weeks: Option<u32>,
}

/// The period a query names, in the team's zone.
pub fn period_of(q: &MetricsQuery, team: &Team, now: DateTime<Utc>) -> AppResult<Period> {
    let tz = team.tz();
    Ok(match (q.from, q.to) {
        (Some(from), Some(to)) => Period::between(from, to, tz)?,
        (Some(from), None) => Period::between(from, now, tz)?,
        (None, Some(to)) => Period::between(to - chrono::Duration::weeks(i64::from(DEFAULT_WEEKS)), to, tz)?,
        (None, None) => Period::weeks_to(
            now.with_timezone(&tz).date_naive(),
            q.weeks.unwrap_or(DEFAULT_WEEKS),
            tz,
        ),
    })
}

#[utoipa::path(
    get,
    path = "/teams/{team}/metrics",
    tag = "metrics",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), MetricsQuery),
    responses(
        (status = 200, description = "The period's figures, the previous period's, and rebalancing suggestions", body = Report),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "A period that ends before it starts, or is longer than 800 days", body = ErrorBody),
    )
)]
pub async fn show_metrics(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> AppResult<Json<Report>> {
    let now = state.clock.now();
    let period = period_of(&q, &member.team, now)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(
        team_report(&mut conn, &state.caches, &member.team, &period, now).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/teams/{team}/metrics/pay",
    tag = "metrics",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), MetricsQuery),
    responses(
        (status = 200, description = "Per person per calendar month: hours on call by role, out-of-hours pages, recovery days", body = [PayRow]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "A period that ends before it starts, or is longer than 800 days", body = ErrorBody),
    )
)]
pub async fn show_pay_report(
    State(state): State<AppState>,
    TeamManager(member): TeamManager<ApiUser>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> AppResult<Json<Vec<PayRow>>> {
    let now = state.clock.now();
    let period = period_of(&q, &member.team, now)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(pay_report(&mut conn, &member.team, &period, now).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Rebalance {
    /// The overloaded person's shift (a suggestion's `shift_id`).
    pub shift_id: i64,
    /// The least loaded person's shift (its `counterpart_shift_id`).
    pub counterpart_shift_id: i64,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/rebalance",
    tag = "metrics",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = Rebalance,
    responses(
        (status = 201, description = "A swap request on behalf of the first shift's holder, waiting for the counterpart", body = SwapInfo),
        (status = 403, description = "Not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team or shift", body = ErrorBody),
        (status = 409, description = "A week has started, or someone is on leave", body = ErrorBody),
        (status = 422, description = "The exchange would break a rule", body = ErrorBody),
    )
)]
pub async fn create_rebalance(
    State(state): State<AppState>,
    TeamManager(member): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<Rebalance>,
) -> AppResult<(StatusCode, Json<SwapInfo>)> {
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let request = propose(
        &mut tx,
        &ctx,
        &member.team,
        member.user(),
        body.shift_id,
        body.counterpart_shift_id,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(SwapInfo::of(request, ctx.clock.now()))))
}
