use crate::db::sql::{query, query_as};
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
    query("INSERT INTO audit_log (team_id, actor_id, at, action, before, after) VALUES ($1, $2, $3, $4, $5, $6)")
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

/// Records a change a person made to their own account, which belongs to
/// no team. Never pass a secret or a password hash in `before` or `after`.
pub async fn record_personal(
    conn: &mut PgConnection,
    actor_id: i64,
    at: DateTime<Utc>,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> sqlx::Result<()> {
    query("INSERT INTO audit_log (team_id, actor_id, at, action, before, after) VALUES (NULL, $1, $2, $3, $4, $5)")
        .bind(actor_id)
        .bind(at)
        .bind(action)
        .bind(before)
        .bind(after)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_email: Option<String>,
    pub actor_name: Option<String>,
    /// The actor's account was deactivated (they left).
    #[sqlx(default)]
    pub actor_left: bool,
    pub action: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Which end of a period a listing starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// The team's audit entries in `[from, to)`, up to `limit` from the end
/// `order` names.
pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    order: Order,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    let direction = match order {
        Order::OldestFirst => "ASC",
        Order::NewestFirst => "DESC",
    };
    query_as(&format!(
        "SELECT a.id, a.at, u.email AS actor_email, u.name AS actor_name,
                u.deactivated_at IS NOT NULL AS actor_left, a.action, a.before, a.after
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.team_id = $1 AND a.at >= $2 AND a.at < $3 ORDER BY a.at {direction}, a.id {direction} LIMIT $4"
    ))
    .bind(team_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
}
