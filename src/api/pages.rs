//! Pages through the API: report, list, correct, remove.

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawPathParams, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::api::drills::run_drill;
use crate::api::json::{ApiJson, ApiQuery, ToolJson};
use crate::auth::{ApiUser, IntegrationCaller, TeamMember};
use crate::cache::Wrote;
use crate::db;
use crate::db::pages::{Page, Report};
use crate::db::teams::Team;
use crate::domain::paging::DrillTo;
use crate::domain::recovery::OutOfHours;
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody};
pub use crate::ops::classify::{Classifier, PageInfo};
use crate::ops::ingest::Recorded;
use crate::ops::pages::{
    Correction, Derive, QUEUED_WRITES, WRITES, correct, delete, may_change, named_rotation, only_rotation, record,
    record_new,
};
use crate::state::AppState;

/// Whoever reports a page for `{team}`: its integration token, or a member.
pub enum Reporter {
    Integration(IntegrationCaller),
    Member(TeamMember<ApiUser>),
}

impl FromRequestParts<AppState> for Reporter {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(i) = IntegrationCaller::find(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        {
            let params = RawPathParams::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let slug = params
                .iter()
                .find(|(k, _)| *k == "team")
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default();
            if i.team.slug != slug {
                return Err(
                    AppError::forbidden("This integration token reports pages for another team").into_response(),
                );
            }
            return Ok(Reporter::Integration(i));
        }
        TeamMember::<ApiUser>::from_request_parts(parts, state)
            .await
            .map(Reporter::Member)
    }
}

/// The source of pages people log by hand.
const MANUAL_SOURCE: &str = "manual";

/// A page to record; or, with `drill`, a drill to run (then only
/// `summary`, `rotation` and `to` apply).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPage {
    /// The same key twice is the same page. Required, but for a drill
    /// (every drill is a new page).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub dedup_key: Option<String>,
    /// Required, but for a drill (which says "Test page …" without one).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub summary: Option<String>,
    /// Free text naming the tool; `api` when absent.
    pub source: Option<String>,
    /// Required, but for a drill (which fires now).
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub fired_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When work ended, if after the resolve.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub worked_until: Option<DateTime<Utc>>,
    /// Who responded; a member logging a page by default responds themself.
    pub responder_email: Option<String>,
    /// The rotation's slug, when the team has several.
    pub rotation: Option<String>,
    pub link: Option<String>,
    pub severity: Option<String>,
    /// Page the on-call: a new, firing page starts its team's escalation.
    #[serde(default)]
    pub notify: bool,
    /// Run a drill ("Send a test page"): a page marked as a drill fires now
    /// and is paged at once (its messages say it is a drill). It grants no
    /// recovery day and counts in no metric.
    #[serde(default)]
    pub drill: bool,
    /// Whom a drill pages: the rotation's current `primary` (then the
    /// team's escalation, as for a real page; the default), or only `me`,
    /// the caller, by their own notification rules (a person's token only).
    pub to: Option<DrillTo>,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/pages",
    tag = "pages",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewPage,
    responses(
        (status = 201, description = "Recorded (a repeat of a known dedup_key updates that page); or the drill, started", body = PageInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "An integration token of another team", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "A missing field, invalid times, an unknown responder or rotation; a drill with the fields of a page (times, key, responder), or one to \"me\" from an integration token", body = ErrorBody),
    )
)]
pub async fn create_page(
    State(state): State<AppState>,
    reporter: Reporter,
    ToolJson(body): ToolJson<NewPage>,
) -> AppResult<(StatusCode, Wrote, Json<PageInfo>)> {
    if body.drill {
        return run_drill(&state, &reporter, &body).await;
    }
    if body.to.is_some() {
        return Err(AppError::Unprocessable(
            "\"to\" is for drills: add \"drill\": true, or leave \"to\" out".into(),
        ));
    }
    let Some(fired_at) = body.fired_at else {
        return Err(AppError::Unprocessable(
            "fired_at is required: when the alert fired, in RFC 3339 (or send \"drill\": true to run a drill)".into(),
        ));
    };
    let (team, bound_rotation, caller) = match &reporter {
        Reporter::Integration(i) => (&i.team, i.integration.rotation_id, None),
        Reporter::Member(m) => (&m.team, None, Some(m)),
    };
    // A member logs their own pages; naming someone else is for managers.
    if let (Some(m), Some(email)) = (caller, body.responder_email.as_deref())
        && !m.is_manager()
        && !email.trim().eq_ignore_ascii_case(&m.user().email)
    {
        return Err(AppError::forbidden(
            "Log your own pages; a manager can log one for someone else",
        ));
    }
    let (dedup_key, summary) = (
        body.dedup_key.as_deref().unwrap_or(""),
        body.summary.as_deref().unwrap_or(""),
    );
    for (name, value, max) in [("dedup_key", dedup_key, 200), ("summary", summary, 500)] {
        if value.trim().is_empty() || value.chars().count() > max {
            return Err(AppError::Unprocessable(format!("{name} needs 1 to {max} characters")));
        }
    }
    // `manual` is the source of the pages people log; a tool's token that
    // claimed it could rewrite them, and with them recovery days and pay.
    // `drill` is the drills', which count nowhere.
    let claimed = body
        .source
        .as_deref()
        .map(|s| s.chars().filter(|c| !c.is_control()).collect::<String>());
    let claimed = claimed.as_deref().map(str::trim);
    if caller.is_none() && claimed.is_some_and(|s| s.eq_ignore_ascii_case(MANUAL_SOURCE)) {
        return Err(AppError::Unprocessable(
            "The source \"manual\" is kept for pages people log themselves; name your tool instead (e.g. \"nagios\")"
                .into(),
        ));
    }
    if caller.is_none() && claimed.is_some_and(|s| s.eq_ignore_ascii_case(db::drills::SOURCE)) {
        return Err(AppError::Unprocessable(
            "The source \"drill\" is kept for drills; send \"drill\": true to run one, or name your tool".into(),
        ));
    }
    // Before the transaction: a cache miss takes a connection of its own.
    let rotations = state.rotations_of(team.id).await?;
    let rotation_id = match (&body.rotation, bound_rotation) {
        (Some(slug), _) => Some(named_rotation(&team.name, &rotations, slug)?),
        (None, Some(r)) => Some(r),
        (None, None) => only_rotation(&team.name, &rotations)?,
    };
    let responder = match body
        .responder_email
        .as_deref()
        .or(caller.map(|m| m.user().email.as_str()))
    {
        Some(email) => Some(member_id(&mut *state.db.acquire().await?, team, email).await?),
        None => None,
    };
    let report = Report {
        team_id: team.id,
        rotation_id,
        // A person's reports are their own: they cannot merge into (and so
        // rewrite) a tool's page or someone else's by reusing its key.
        source: match caller {
            Some(_) => MANUAL_SOURCE.into(),
            None => body
                .source
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "api".into()),
        },
        dedup_key: match caller {
            Some(m) => format!("{}:{}", m.user().id, dedup_key.trim()),
            None => dedup_key.trim().into(),
        },
        summary: summary.trim().into(),
        link: body.link.clone(),
        severity: body.severity.clone(),
        fired_at,
        acknowledged_at: body.acknowledged_at,
        resolved_at: body.resolved_at,
        worked_until: body.worked_until,
        page: body.notify,
    };
    let now = state.clock.now();
    // A tool's report of a new page: one statement, no transaction, its
    // recovery days queued. Anything else merges in a transaction.
    let fresh = match (caller, responder) {
        (None, None) => record_new(&state.ingest, &report, now).await?,
        _ => None,
    };
    if let Some(Recorded { page, rules }) = fresh {
        let info = Classifier::with_rules(team, rules).info(&page);
        return Ok((StatusCode::CREATED, Wrote(QUEUED_WRITES), Json(info)));
    }
    // A person logging a page sees its recovery day at once; a tool's
    // pages are derived by the recovery job, per person.
    let derive = if caller.is_some() { Derive::Now } else { Derive::Queued };
    let mut tx = state.db.begin().await?;
    let id = record(&mut tx, &report, responder, derive, now)
        .await?
        .ok_or_else(|| AppError::Conflict("A page with that dedup_key was deleted; report it with a new key".into()))?;
    let page = db::pages::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    let info = Classifier::for_team(&mut tx, team).await?.info(&page);
    tx.commit().await?;
    let wrote = if caller.is_some() { WRITES } else { QUEUED_WRITES };
    Ok((StatusCode::CREATED, Wrote(wrote), Json(info)))
}

async fn member_id(conn: &mut sqlx::PgConnection, team: &Team, email: &str) -> AppResult<i64> {
    let id = db::teams::member_id_by_email(conn, team.id, email.trim()).await?;
    id.ok_or_else(|| AppError::Unprocessable(format!("{} is not a member of {}", email.trim(), team.name)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagesQuery {
    /// RFC 3339; 28 days before `to` when absent.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; now when absent.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub to: Option<DateTime<Utc>>,
    /// Only this responder's pages (e-mail).
    pub person: Option<String>,
    /// Only pages out of hours (sleep, weekend or holiday).
    pub out_of_hours: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/pages",
    tag = "pages",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), PagesQuery),
    responses(
        (status = 200, description = "Pages fired in [from, to), newest first", body = [PageInfo]),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "A window that ends before it starts or is over 800 days, or a person who is not a member", body = ErrorBody),
    )
)]
pub async fn list_pages(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> AppResult<Json<Vec<PageInfo>>> {
    let to = q.to.unwrap_or_else(|| state.clock.now() + Duration::seconds(1));
    let from = q.from.unwrap_or(to - Duration::days(28));
    if to <= from || to - from > Duration::days(800) {
        return Err(AppError::Unprocessable(
            "Use a window with from before to, at most 800 days long".into(),
        ));
    }
    let mut conn = state.db.acquire().await?;
    let person = match q.person.as_deref() {
        Some(email) => Some(member_id(&mut conn, &member.team, email).await?),
        None => None,
    };
    let pages = db::pages::for_team(&mut conn, member.team.id, from, to, person).await?;
    let c = Classifier::for_team(&mut conn, &member.team).await?;
    let list = pages
        .iter()
        .map(|p| c.info(p))
        .filter(|p| !q.out_of_hours.unwrap_or(false) || p.out_of_hours != OutOfHours::Working)
        .collect();
    Ok(Json(list))
}

async fn changeable(conn: &mut sqlx::PgConnection, id: i64, caller: &ApiUser) -> AppResult<Page> {
    let page = db::pages::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    if !may_change(conn, &page, caller.0.id, caller.0.is_admin).await? {
        return Err(AppError::not_found("page"));
    }
    Ok(page)
}

#[utoipa::path(
    patch,
    path = "/pages/{id}",
    tag = "pages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    request_body = Correction,
    responses(
        (status = 200, description = "Corrected; recovery days re-derived", body = PageInfo),
        (status = 403, description = "Neither its responder nor a manager", body = ErrorBody),
        (status = 404, description = "No such page in the caller's teams", body = ErrorBody),
        (status = 422, description = "Times out of order", body = ErrorBody),
    )
)]
pub async fn correct_page(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<Correction>,
) -> AppResult<Json<PageInfo>> {
    let mut tx = state.db.begin().await?;
    let page = changeable(&mut tx, id, &caller).await?;
    let after = correct(&mut tx, page.id, &c, caller.0.id, state.clock.now()).await?;
    let team = db::teams::by_id(&mut tx, after.team_id)
        .await?
        .ok_or_else(|| AppError::not_found("team"))?;
    let info = Classifier::for_team(&mut tx, &team).await?.info(&after);
    tx.commit().await?;
    Ok(Json(info))
}

#[utoipa::path(
    delete,
    path = "/pages/{id}",
    tag = "pages",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    responses(
        (status = 204, description = "Removed; recovery days re-derived"),
        (status = 403, description = "Neither its responder nor a manager", body = ErrorBody),
        (status = 404, description = "No such page in the caller's teams", body = ErrorBody),
    )
)]
pub async fn delete_page(State(state): State<AppState>, caller: ApiUser, Path(id): Path<i64>) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let page = changeable(&mut tx, id, &caller).await?;
    delete(&mut tx, page.id, caller.0.id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
