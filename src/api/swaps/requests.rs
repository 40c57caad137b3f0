//! Swap and cover requests: asking, listing, deciding.

use crate::api::json::{ApiJson, ApiQuery, MaybeJson};
use crate::auth::{ApiUser, TeamMember};
use crate::db;
use crate::db::swaps::Request;
use crate::domain::swap::{Action, State as RequestState};
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops::swaps::{Ask, act, ask, visible};
use crate::ops::undo::undo;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
            kind: r.kind.as_str().to_owned(),
            requester: SwapSide {
                shift_id: Some(r.shift_id),
                email: Some(r.requester_email),
                name: Some(r.requester_name),
                role: Some(r.role.as_str().to_owned()),
                starts_at: Some(r.starts_at),
                ends_at: Some(r.ends_at),
            },
            counterpart: SwapSide {
                shift_id: r.counterpart_shift_id,
                email: r.counterpart_email,
                name: r.counterpart_name,
                role: r.counterpart_role.map(|r| r.as_str().to_owned()),
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
