//! Invitations: admins invite anyone, managers invite members into their
//! teams. The link is e-mailed; without SMTP (or when sending fails) it is
//! in the answer, to pass on.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::auth::ApiUser;
use crate::db::invitations::Invitation;
use crate::db::teams::TeamRole;
use crate::error::{AppResult, ErrorBody};
use crate::ops::invitations::{self, Invite, Inviter};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    #[schema(max_length = 254, pattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")]
    pub email: String,
    /// The slug of the team they join; none: no team (admins only).
    pub team: Option<String>,
    /// Their role in the team; `member` when absent. Only admins invite
    /// managers.
    pub role: Option<TeamRole>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedInvitation {
    pub id: i64,
    pub email: String,
    pub team: Option<String>,
    pub role: TeamRole,
    pub expires_at: DateTime<Utc>,
    /// The single-use link, only when it could not be e-mailed (no SMTP
    /// set up, or sending failed): pass it on to the invitee yourself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: String,
    /// The team's slug, if the invitation names one.
    pub team: Option<String>,
    pub role: TeamRole,
    /// Who sent it; none when it came from the command line.
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<Invitation> for PendingInvitation {
    fn from(i: Invitation) -> Self {
        PendingInvitation {
            id: i.id,
            email: i.email,
            team: i.team_slug,
            role: i.role,
            invited_by: i.invited_by_name,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/invitations",
    tag = "users",
    security(("bearer" = [])),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "Invited: the link was e-mailed, or is in `link`", body = CreatedInvitation),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin, nor a manager of the team; or a manager inviting a manager", body = ErrorBody),
        (status = 409, description = "The address has an account, or a pending invitation to that team", body = ErrorBody),
        (status = 422, description = "The address or the team is not valid", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_invitation(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    ApiJson(body): ApiJson<NewInvitation>,
) -> AppResult<(StatusCode, Json<CreatedInvitation>)> {
    let mut tx = state.db.begin().await?;
    let input = Invite {
        email: &body.email,
        team: body.team.as_deref(),
        role: body.role,
    };
    let issued = invitations::invite(&mut tx, Inviter::Person(&me), input, state.clock.now()).await?;
    tx.commit().await?;
    let link = invitations::link(&state.settings.base_url, &issued.token);
    let delivery = invitations::deliver(state.mailer.as_deref(), &issued.invitation, &link).await;
    let inv = issued.invitation;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            id: inv.id,
            email: inv.email,
            team: inv.team_slug,
            role: inv.role,
            expires_at: inv.expires_at,
            link: delivery.shows_link().then_some(link),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/invitations",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending invitations, newest first: all for an admin, their teams' for a manager", body = [PendingInvitation]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Neither an admin nor a manager", body = ErrorBody),
    )
)]
pub async fn list_invitations(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
) -> AppResult<Json<Vec<PendingInvitation>>> {
    let mut conn = state.db.acquire().await?;
    let pending = invitations::visible_to(&mut conn, &me, state.clock.now()).await?;
    Ok(Json(pending.into_iter().map(PendingInvitation::from).collect()))
}

#[utoipa::path(
    delete,
    path = "/invitations/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invitation's id")),
    responses(
        (status = 204, description = "Withdrawn: its link no longer works"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No pending invitation with that id that the caller manages", body = ErrorBody),
    )
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    invitations::revoke(&mut tx, Inviter::Person(&me), id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
