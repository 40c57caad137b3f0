use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

pub async fn record(
    conn: &mut PgConnection,
    team_id: i64,
    actor_id: Option<i64>,
    at: DateTime<Utc>,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (team_id, actor_id, at, action, before, after) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(team_id)
        .bind(actor_id)
        .bind(at)
        .bind(action)
        .bind(before)
        .bind(after)
        .execute(conn)
        .await
        .map(drop)
}
