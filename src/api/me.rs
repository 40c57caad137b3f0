//! The caller: who they are and where they belong.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::auth::ApiUser;
use crate::calendar::feed_url;
use crate::db::teams::{MyTeam, TeamRole};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub email: String,
    pub name: String,
    /// IANA zone the caller's times are shown in.
    pub timezone: String,
    pub is_admin: bool,
    /// The caller's personal iCalendar feed; keep it private.
    pub calendar_url: String,
    pub teams: Vec<TeamMembership>,
}

/// A team the caller can see, with their role in it (admins who are not
/// members act as managers).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamMembership {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub role: TeamRole,
}

impl From<MyTeam> for TeamMembership {
    fn from(t: MyTeam) -> Self {
        TeamMembership {
            role: t.role,
            slug: t.slug,
            name: t.name,
            timezone: t.timezone,
        }
    }
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn show_me(State(state): State<AppState>, ApiUser(user): ApiUser) -> AppResult<Json<Me>> {
    let teams = state.my_teams(user.id, user.is_admin).await?;
    Ok(Json(Me {
        calendar_url: feed_url(&state.settings.base_url, &user.calendar_secret),
        email: user.email,
        name: user.name,
        timezone: user.timezone,
        is_admin: user.is_admin,
        teams: teams.iter().cloned().map(TeamMembership::from).collect(),
    }))
}
