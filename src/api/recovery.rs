//! Recovery days, the holiday calendar, the out-of-hours policy and
//! integration tokens, through the API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::api::json::{ApiJson, ApiQuery};
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::db;
use crate::db::recovery::RecoveryDay;
use crate::domain::recovery::Policy;
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody, Given};
use crate::ops::recovery::{apply_holidays, choose};
use crate::state::AppState;

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
    pub from: Option<NaiveDate>,
    /// Day after the last (YYYY-MM-DD); a year on when absent.
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
    responses((status = 204, description = "Removed"), (status = 404, description = "No such holiday", body = ErrorBody))
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
    let mut tx = state.db.begin().await?;
    let p = db::holidays::policy(&mut tx, m.team.id).await?.changed(
        body.sleep_start.as_deref(),
        body.sleep_end.as_deref(),
        body.day_threshold_minutes,
    )?;
    db::holidays::set_policy(&mut tx, m.team.id, &p).await?;
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

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewIntegration {
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub label: String,
    /// Bind it to one rotation (its slug); needed when the team has several.
    pub rotation: Option<String>,
    /// PagerDuty's signing secret: signatures are then checked.
    pub signing_secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IntegrationInfo {
    pub id: i64,
    pub label: String,
    pub rotation: Option<String>,
    pub signed: bool,
    /// Shown this once, when created; only its hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/integration-tokens",
    tag = "pages",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewIntegration,
    responses(
        (status = 201, description = "Created; the token is in this response only", body = IntegrationInfo),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "No label, or an unknown rotation", body = ErrorBody),
    )
)]
pub async fn create_integration(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<NewIntegration>,
) -> AppResult<(StatusCode, Json<IntegrationInfo>)> {
    let mut tx = state.db.begin().await?;
    let created = crate::ops::integrations::create(
        &mut tx,
        &m.team,
        &body.label,
        body.rotation.as_deref(),
        body.signing_secret.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IntegrationInfo {
            id: created.integration.id,
            label: created.integration.label,
            rotation: created.rotation.map(|r| r.slug),
            signed: created.integration.signing_secret.is_some(),
            token: Some(created.token),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/teams/{team}/integration-tokens/{id}",
    tag = "pages",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), ("id" = i64, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such live token", body = ErrorBody))
)]
pub async fn revoke_integration(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    Path((_team, id)): Path<(String, i64)>,
) -> AppResult<StatusCode> {
    let mut conn = state.db.acquire().await?;
    if db::integrations::revoke(&mut conn, m.team.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(
            "No live integration token of this team has that id".into(),
        ))
    }
}

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
