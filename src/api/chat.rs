//! The team's chat channel through the API: which Slack, Mattermost or
//! Microsoft Teams incoming webhook submitted handoffs and pages are
//! posted to. Members see which service it is; only managers see the
//! address (it carries a secret) and change it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager, TeamMember};
use crate::domain::chat::ChatKind;
use crate::error::{AppResult, ErrorBody};
use crate::ops::chat;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChatInfo {
    /// `slack`, `mattermost` or `teams`; null while the team has no channel.
    pub kind: Option<String>,
    /// The incoming webhook's address, for managers (it holds a secret);
    /// null for everyone else.
    pub url: Option<String>,
    /// The address's host, for everyone.
    pub host: Option<String>,
}

fn info(channel: Option<(ChatKind, String)>, manager: bool) -> ChatInfo {
    let host = channel
        .as_ref()
        .and_then(|(_, u)| reqwest::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    ChatInfo {
        kind: channel.as_ref().map(|(k, _)| k.as_str().to_owned()),
        url: channel.filter(|_| manager).map(|(_, u)| u),
        host,
    }
}

#[utoipa::path(
    get,
    path = "/teams/{team}/chat",
    tag = "paging",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 200, description = "The team's chat channel (all null when it has none)", body = ChatInfo),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_chat(State(state): State<AppState>, member: TeamMember<ApiUser>) -> AppResult<Json<ChatInfo>> {
    let mut conn = state.db.acquire().await?;
    let channel = chat::channel(&mut conn, member.team.id).await?;
    Ok(Json(info(channel, member.is_manager())))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChatBody {
    /// `slack`, `mattermost` or `teams`: how posts are written.
    #[serde(default)]
    pub kind: String,
    /// The channel's incoming webhook address (http or https).
    #[serde(default)]
    pub url: String,
}

#[utoipa::path(
    put,
    path = "/teams/{team}/chat",
    tag = "paging",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = ChatBody,
    responses(
        (status = 200, description = "Set; handoffs and pages are posted there from now on", body = ChatInfo),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "An unknown kind, not an http(s) URL, or an address Rota does not send to (its own server, link-local or metadata, or a private network unless allowed); nothing changed", body = ErrorBody),
    )
)]
pub async fn put_chat(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<ChatBody>,
) -> AppResult<Json<ChatInfo>> {
    let mut tx = state.db.begin().await?;
    let channel = chat::set_channel(
        &mut tx,
        &m.team,
        m.user().id,
        &body.kind,
        &body.url,
        &state.settings.outgoing,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(info(Some(channel), true)))
}

#[utoipa::path(
    delete,
    path = "/teams/{team}/chat",
    tag = "paging",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 204, description = "Removed (or there was none): nothing is posted any more"),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn delete_chat(State(state): State<AppState>, TeamManager(m): TeamManager<ApiUser>) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    chat::remove_channel(&mut tx, &m.team, m.user().id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
