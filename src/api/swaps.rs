//! Swap and cover requests, overrides, leave and the audit log, through the API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::api::json::{ApiJson, ApiQuery, MaybeJson};
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::db;
use crate::db::swaps::Request;
use crate::domain::swap::{Action, State as RequestState};
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody, Given};
use crate::ops::changes::{Override, override_shift};
use crate::ops::swaps::{Ask, act, ask, visible};
use crate::ops::undo::undo;
use crate::state::AppState;

/// One side of a request: a role over a span.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SwapSide {
    pub shift_id: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SwapInfo {
    pub id: i64,
    pub team: String,
    pub rotation: String,
    /// `swap` or `cover`.
    pub kind: String,
    /// `proposed`, `accepted`, `applied`, `declined`, `rejected`, `cancelled` or `expired`.
    pub state: String,
    /// The requester's shift (for a cover, the part handed over).
    pub requester: SwapSide,
    /// Who takes it; for a swap, with the shift they give in exchange. No
    /// email while a cover is open to the team.
    pub counterpart: SwapSide,
    pub note: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SwapInfo {
    pub fn of(r: Request, now: DateTime<Utc>) -> Self {
        SwapInfo {
            id: r.id,
            state: r.state_at(now).as_str().to_owned(),
            team: r.team_slug,
            rotation: r.rotation_slug,
            kind: r.kind,
            requester: SwapSide {
                shift_id: Some(r.shift_id),
                email: Some(r.requester_email),
                name: Some(r.requester_name),
                role: Some(r.role),
                starts_at: Some(r.starts_at),
                ends_at: Some(r.ends_at),
            },
            counterpart: SwapSide {
                shift_id: r.counterpart_shift_id,
                email: r.counterpart_email,
                name: r.counterpart_name,
                role: r.counterpart_role,
                starts_at: r.counterpart_starts_at,
                ends_at: r.counterpart_ends_at,
            },
            note: r.note,
            decided_by: r.decided_by_email,
            reason: r.reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSwap {
    /// Your shift (an id from `GET /teams/{team}/shifts`).
    pub shift_id: i64,
    /// A swap: the other person's shift of the same rotation to take in exchange.
    pub counterpart_shift_id: Option<i64>,
    /// A cover: who covers; leave out to open the cover to the team.
    pub cover_email: Option<String>,
    /// A cover: the part of your shift to hand over (default: all of it).
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub ends_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/swaps",
    tag = "swaps",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewSwap,
    responses(
        (status = 201, description = "The request, proposed", body = SwapInfo),
        (status = 403, description = "Not your shift", body = ErrorBody),
        (status = 404, description = "No such team or shift", body = ErrorBody),
        (status = 409, description = "The week has started, or someone would hold both roles or work in their leave", body = ErrorBody),
        (status = 422, description = "Not a valid swap or cover", body = ErrorBody),
    )
)]
pub async fn create_swap(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiJson(b): ApiJson<NewSwap>,
) -> AppResult<(StatusCode, Json<SwapInfo>)> {
    if b.counterpart_shift_id.is_some() && (b.cover_email.is_some() || b.starts_at.is_some() || b.ends_at.is_some()) {
        return Err(AppError::Unprocessable(
            "Send counterpart_shift_id for a swap, or cover_email/starts_at/ends_at for a cover, not both".into(),
        ));
    }
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let request = ask(
        &mut tx,
        &ctx,
        &member.team,
        member.user(),
        &Ask {
            shift_id: b.shift_id,
            counterpart_shift_id: b.counterpart_shift_id,
            cover_email: b.cover_email.as_deref(),
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            note: b.note.as_deref().unwrap_or(""),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(SwapInfo::of(request, ctx.clock.now()))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateFilter {
    /// Only requests in this state.
    #[param(value_type = Option<SwapState>)]
    pub state: Option<String>,
}

/// The states a swap or cover request moves through.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SwapState {
    Proposed,
    Accepted,
    Applied,
    Declined,
    Rejected,
    Cancelled,
    Expired,
}

/// What can be done to a request.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SwapAction {
    Accept,
    Decline,
    Approve,
    Reject,
    Cancel,
    Undo,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/swaps",
    tag = "swaps",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), StateFilter),
    responses(
        (status = 200, description = "The team's requests, newest first", body = [SwapInfo]),
        (status = 400, description = "An unknown state", body = ErrorBody),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn list_swaps(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<StateFilter>,
) -> AppResult<Json<Vec<SwapInfo>>> {
    let wanted = match q.state.as_deref() {
        Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
            AppError::BadRequest(format!(
                "\"{s}\" is not a state: use proposed, accepted, applied, declined, rejected, cancelled or expired"
            ))
        })?),
        None => None,
    };
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let list = db::swaps::for_team(&mut conn, member.team.id, 1000).await?;
    Ok(Json(
        list.into_iter()
            .filter(|r| wanted.is_none_or(|w| r.state_at(now) == w))
            .map(|r| SwapInfo::of(r, now))
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/swaps/{id}",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = SwapInfo),
        (status = 404, description = "No such request in the caller's teams", body = ErrorBody),
    )
)]
pub async fn show_swap(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> AppResult<Json<SwapInfo>> {
    let mut conn = state.db.acquire().await?;
    let request = visible(&mut conn, &caller.0, id).await?;
    Ok(Json(SwapInfo::of(request, state.clock.now())))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    /// Why (kept with an approval or rejection).
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/swaps/{id}/{action}",
    tag = "swaps",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The request's id"),
        ("action" = SwapAction, Path, description = "accept, decline (the counterpart; anyone in the team volunteers for an open cover), approve, reject (a manager who is not a party, or an admin), cancel (the requester), undo (an applied request, from now on, by a manager who is not a party: a new change, the history is kept)"),
    ),
    request_body(content = Decide, description = "Optional"),
    responses(
        (status = 200, description = "The request in its new state", body = SwapInfo),
        (status = 403, description = "The caller may not take this action", body = ErrorBody),
        (status = 404, description = "No such request in the caller's teams, or no such action", body = ErrorBody),
        (status = 409, description = "The request's state or the shifts no longer allow it", body = ErrorBody),
    )
)]
pub async fn decide_swap(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((id, action)): Path<(i64, String)>,
    MaybeJson(b): MaybeJson<Decide>,
) -> AppResult<Json<SwapInfo>> {
    let ctx = state.ctx();
    if action == "undo" {
        let mut tx = state.db.begin().await?;
        let request = undo(&mut tx, &ctx, &caller.0, id).await?;
        tx.commit().await?;
        return Ok(Json(SwapInfo::of(request, ctx.clock.now())));
    }
    let action = Action::parse(&action).ok_or_else(|| {
        AppError::NotFound(format!(
            "\"{action}\" is not an action: use accept, decline, approve, reject, cancel or undo"
        ))
    })?;
    let mut tx = state.db.begin().await?;
    let request = act(&mut tx, &ctx, &caller.0, id, action, b.reason.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(SwapInfo::of(request, ctx.clock.now())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    pub rotation: String,
    /// `primary` or `secondary`.
    #[schema(pattern = "^(primary|secondary)$")]
    pub role: String,
    pub email: String,
    /// A start in the past changes only the time from now on.
    #[serde(deserialize_with = "validate::de_instant")]
    pub starts_at: DateTime<Utc>,
    #[serde(deserialize_with = "validate::de_instant")]
    pub ends_at: DateTime<Utc>,
    /// Why; kept in the audit log.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
    /// Assign the person even though they are on leave then.
    #[serde(default)]
    pub despite_leave: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OverrideInfo {
    pub id: i64,
    pub rotation: String,
    pub role: String,
    pub email: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/teams/{team}/overrides",
    tag = "swaps",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = NewOverride,
    responses(
        (status = 201, description = "Applied at once", body = OverrideInfo),
        (status = 403, description = "Not a manager of the team", body = ErrorBody),
        (status = 404, description = "No such team or rotation", body = ErrorBody),
        (status = 409, description = "The person is on leave or holds the other role then", body = ErrorBody),
        (status = 422, description = "In the past, beyond the schedule, or without a reason", body = ErrorBody),
    )
)]
pub async fn create_override(
    State(state): State<AppState>,
    TeamManager(manager): TeamManager<ApiUser>,
    ApiJson(b): ApiJson<NewOverride>,
) -> AppResult<(StatusCode, Json<OverrideInfo>)> {
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let change = override_shift(
        &mut tx,
        &ctx,
        &manager.team,
        manager.user(),
        &Override {
            rotation: &b.rotation,
            role: &b.role,
            email: &b.email,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            reason: &b.reason,
            despite_leave: b.despite_leave,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(OverrideInfo {
            id: change.id,
            rotation: b.rotation,
            role: change.role,
            email: b.email.trim().to_lowercase(),
            starts_at: change.starts_at,
            ends_at: change.ends_at,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveBody {
    /// The last day of leave (inclusive).
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who made the change; none for Rota's own (leave-driven) changes.
    pub actor_email: Option<String>,
    pub action: String,
    /// The state before the change; null for what did not exist before.
    #[schema(value_type = Option<Object>, required = true)]
    pub before: Option<serde_json::Value>,
    /// The state after the change; null for what no longer exists.
    #[schema(value_type = Option<Object>, required = true)]
    pub after: Option<serde_json::Value>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeRange {
    /// From this instant (default: 90 days ago).
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub from: Option<DateTime<Utc>>,
    /// Before this instant (default: now).
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub to: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/audit",
    tag = "swaps",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), TimeRange),
    responses(
        (status = 200, description = "Schedule changes in [from, to), oldest first", body = [AuditEntry]),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "An instant outside the years 2000 to 2100", body = ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<TimeRange>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    let now = state.clock.now();
    let from = q.from.unwrap_or(now - Duration::days(90));
    let to = q.to.unwrap_or(now + Duration::seconds(1));
    let mut conn = state.db.acquire().await?;
    let rows = db::audit::for_team(
        &mut conn,
        member.team.id,
        (from, to),
        db::audit::Order::OldestFirst,
        5000,
    )
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                at: r.at,
                actor_email: r.actor_email,
                action: r.action,
                before: r.before,
                after: r.after,
            })
            .collect(),
    ))
}

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
    db::notifications::mark_all_read(&mut conn, caller.0.id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
