//! The team's audit log of schedule changes.

use crate::api::json::ApiQuery;
use crate::auth::{ApiUser, TeamMember};
use crate::db;
use crate::domain::validate;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

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
