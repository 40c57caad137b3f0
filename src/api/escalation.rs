//! Paging through the API: a team's escalation policy, acknowledging,
//! resolving and escalating a page, and the page's notification timeline.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::db;
use crate::domain::paging::Policy;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops::paging::{self, Action};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct EscalationInfo {
    #[serde(flatten)]
    pub policy: Policy,
    /// False while the team follows the default from the role SLAs.
    pub custom: bool,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/escalation",
    tag = "paging",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 200, description = "The team's escalation policy (by default from the role SLAs)", body = EscalationInfo),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_escalation(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
) -> AppResult<Json<EscalationInfo>> {
    let mut conn = state.db.acquire().await?;
    let (policy, custom) = paging::policy_for(&mut conn, member.team.id, None).await?;
    Ok(Json(EscalationInfo { policy, custom }))
}

#[utoipa::path(
    put,
    path = "/teams/{team}/escalation",
    tag = "paging",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = Policy,
    responses(
        (status = 200, description = "Set; pages from now on follow it", body = EscalationInfo),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "No steps, steps out of order, or minutes out of range; nothing changed", body = ErrorBody),
    )
)]
pub async fn put_escalation(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    ApiJson(policy): ApiJson<Policy>,
) -> AppResult<Json<EscalationInfo>> {
    let mut tx = state.db.begin().await?;
    paging::set_policy(&mut tx, m.team.id, m.user().id, &policy, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(EscalationInfo { policy, custom: true }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PageResponse {
    pub id: i64,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The e-mail of who acknowledged through Rota.
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The e-mail of who resolved through Rota (none when the alerting
    /// tool resolved it).
    pub resolved_by: Option<String>,
}

async fn respond(state: &AppState, caller: &ApiUser, id: i64, action: Action) -> AppResult<Json<PageResponse>> {
    let mut tx = state.db.begin().await?;
    let page = db::paging::lock_page(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    if !paging::may_respond(&mut tx, &page, caller.0.id, caller.0.is_admin).await? {
        return Err(AppError::not_found("page"));
    }
    let after = paging::respond(&mut tx, id, caller.0.id, action, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(PageResponse {
        id: after.id,
        acknowledged_at: after.acknowledged_at,
        acknowledged_by: after.acknowledged_by_email,
        resolved_at: after.resolved_at,
        resolved_by: after.resolved_by_email,
    }))
}

#[utoipa::path(
    post,
    path = "/pages/{id}/acknowledge",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    responses(
        (status = 200, description = "Acknowledged (by the caller unless someone was first); its escalation ends", body = PageResponse),
        (status = 404, description = "No such page the caller may act on", body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
pub async fn acknowledge_page(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> AppResult<Json<PageResponse>> {
    respond(&state, &caller, id, Action::Acknowledge).await
}

#[utoipa::path(
    post,
    path = "/pages/{id}/resolve",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    responses(
        (status = 200, description = "Resolved; its escalation ends", body = PageResponse),
        (status = 404, description = "No such page the caller may act on", body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
pub async fn resolve_page(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> AppResult<Json<PageResponse>> {
    respond(&state, &caller, id, Action::Resolve).await
}

#[utoipa::path(
    post,
    path = "/pages/{id}/escalate",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    responses(
        (status = 200, description = "The next step is paged now (a page not escalating starts from the top)", body = PageResponse),
        (status = 404, description = "No such page the caller may act on", body = ErrorBody),
        (status = 409, description = "Already resolved or acknowledged", body = ErrorBody),
    )
)]
pub async fn escalate_page(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> AppResult<Json<PageResponse>> {
    respond(&state, &caller, id, Action::Escalate).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PageNotification {
    pub at: DateTime<Utc>,
    /// Who was paged (absent when nobody held the role).
    pub email: Option<String>,
    /// The escalation step, counted from 0 across repeats.
    pub step: Option<i32>,
    /// The contact method's kind; absent for a skip.
    pub kind: Option<String>,
    /// `sent`, `delivered`, `failed` or `skipped`.
    pub state: String,
    /// The provider's answer, or why the person was skipped.
    pub detail: String,
}

#[utoipa::path(
    get,
    path = "/pages/{id}/notifications",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The page's id")),
    responses(
        (status = 200, description = "Every notification and skip, oldest first", body = [PageNotification]),
        (status = 404, description = "No such page in the caller's teams", body = ErrorBody),
    )
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<PageNotification>>> {
    let mut conn = state.db.acquire().await?;
    let page = db::paging::read_page(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    if !paging::may_respond(&mut conn, &page, caller.0.id, caller.0.is_admin).await? {
        return Err(AppError::not_found("page"));
    }
    let events = db::paging::timeline(&mut conn, id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| PageNotification {
                at: e.at,
                email: e.email,
                step: e.step,
                kind: e.kind,
                state: e.state,
                detail: e.detail,
            })
            .collect(),
    ))
}
