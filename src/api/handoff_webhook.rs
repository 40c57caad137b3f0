//! The team's chat webhook for handoffs through the API: where submitted
//! handoffs are posted, and how the latest posts went. Managers only.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::api::json::ApiJson;
use crate::auth::{ApiUser, TeamManager};
use crate::db;
use crate::db::handoff_webhooks::delivery_state;
use crate::db::teams::Team;
use crate::error::{AppResult, ErrorBody};
use crate::ops::handoffs as ops;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryInfo {
    pub rotation_name: String,
    pub week_start: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    /// `delivered`, `retrying` or `failed` (given up).
    pub state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    /// Where submitted handoffs are posted, if anywhere.
    pub url: Option<String>,
    /// The latest posts, newest first.
    pub deliveries: Vec<DeliveryInfo>,
}

async fn webhook_info(conn: &mut PgConnection, team: &Team) -> AppResult<WebhookInfo> {
    let url = db::handoff_webhooks::url(conn, team.id).await?;
    let deliveries = db::handoff_webhooks::recent(conn, team.id, 20)
        .await?
        .into_iter()
        .map(|d| DeliveryInfo {
            state: delivery_state(&d).into(),
            next_attempt_at: (delivery_state(&d) == "retrying").then_some(d.next_attempt_at),
            rotation_name: d.rotation_name,
            week_start: d.week_start,
            created_at: d.created_at,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        })
        .collect();
    Ok(WebhookInfo { url, deliveries })
}

#[utoipa::path(
    get,
    path = "/teams/{team}/handoff-webhook",
    tag = "handoffs",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    responses(
        (status = 200, description = "The chat webhook and its latest posts", body = WebhookInfo),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn show_handoff_webhook(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
) -> AppResult<Json<WebhookInfo>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(webhook_info(&mut conn, &m.team).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WebhookBody {
    /// An http(s) incoming-webhook URL (Slack, Mattermost, …); null or empty
    /// to stop posting.
    pub url: Option<String>,
}

#[utoipa::path(
    put,
    path = "/teams/{team}/handoff-webhook",
    tag = "handoffs",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug")),
    request_body = WebhookBody,
    responses(
        (status = 200, description = "Set; submitted handoffs are posted there from now on", body = WebhookInfo),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Not an http(s) URL, or an address Rota does not send to (its own server, link-local, or a private network unless allowed)", body = ErrorBody),
    )
)]
pub async fn put_handoff_webhook(
    State(state): State<AppState>,
    TeamManager(m): TeamManager<ApiUser>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> AppResult<Json<WebhookInfo>> {
    let mut tx = state.db.begin().await?;
    ops::set_webhook_url(
        &mut tx,
        &m.team,
        m.user().id,
        body.url.as_deref(),
        &state.settings.outgoing,
        state.clock.now(),
    )
    .await?;
    let info = webhook_info(&mut tx, &m.team).await?;
    tx.commit().await?;
    Ok(Json(info))
}
