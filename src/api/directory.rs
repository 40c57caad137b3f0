//! The organisation-wide on-call directory, for chat bots and scripts.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::ApiUser;
use crate::error::{AppResult, ErrorBody};
use crate::ops::directory::{Holder, RotationOnCall, TeamOnCall};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DirectoryTeam {
    /// The team's slug.
    pub team: String,
    pub name: String,
    pub timezone: String,
    pub rotations: Vec<DirectoryRotation>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DirectoryRotation {
    /// The rotation's slug.
    pub rotation: String,
    pub name: String,
    /// `null` when nobody holds the role now.
    #[schema(required = true)]
    pub primary: Option<DirectoryPerson>,
    #[schema(required = true)]
    pub secondary: Option<DirectoryPerson>,
    /// Who comes next, from the next handoff.
    pub next: DirectoryNext,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DirectoryNext {
    /// When the next holders start; `null` when nobody is scheduled.
    #[schema(required = true)]
    pub starts_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub primary: Option<DirectoryPerson>,
    #[schema(required = true)]
    pub secondary: Option<DirectoryPerson>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DirectoryPerson {
    pub email: String,
    pub name: String,
    /// From the person's profile, when they gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_handle: Option<String>,
    pub starts_at: DateTime<Utc>,
    /// Until when they hold the role.
    pub ends_at: DateTime<Utc>,
}

fn person(h: Option<Holder>) -> Option<DirectoryPerson> {
    h.map(|h| DirectoryPerson {
        email: h.person.email,
        name: h.person.name,
        phone: h.person.phone,
        chat_handle: h.person.chat_handle,
        starts_at: h.starts_at,
        ends_at: h.ends_at,
    })
}

fn rotation(r: RotationOnCall) -> DirectoryRotation {
    let starts_at = r.next_starts_at();
    DirectoryRotation {
        rotation: r.slug,
        name: r.name,
        primary: person(r.primary),
        secondary: person(r.secondary),
        next: DirectoryNext {
            starts_at,
            primary: person(r.next_primary),
            secondary: person(r.next_secondary),
        },
    }
}

fn team(t: TeamOnCall) -> DirectoryTeam {
    DirectoryTeam {
        team: t.slug,
        name: t.name,
        timezone: t.timezone,
        rotations: t.rotations.into_iter().map(rotation).collect(),
    }
}

#[utoipa::path(
    get,
    path = "/oncall",
    tag = "schedule",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every team the caller may see (all but private teams they are not in), each rotation's primary and secondary now and who is next, with contact details", body = [DirectoryTeam]),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn show_directory(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> AppResult<Json<Vec<DirectoryTeam>>> {
    let teams = state.directory(&user, state.clock.now()).await?;
    Ok(Json(teams.into_iter().map(team).collect()))
}
