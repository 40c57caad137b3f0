//! Integration tokens for alerting tools.

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

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
    let mut tx = state.db.begin().await?;
    crate::ops::integrations::revoke(&mut tx, &m.team, m.user().id, id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
