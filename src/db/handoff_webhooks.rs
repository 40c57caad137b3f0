//! A team's chat webhook address (the channel, `db::chat`), and the
//! outbox of handoff posts to it.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;

pub async fn url(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Option<String>> {
    query_scalar("SELECT handoff_webhook_url FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_one(conn)
        .await
}

/// Sets the chat channel's address; a new channel is Slack's (see
/// `db::chat` for setting the kind too).
pub async fn set_url(conn: &mut PgConnection, team_id: i64, url: Option<&str>) -> sqlx::Result<()> {
    query(
        "UPDATE teams SET handoff_webhook_url = $2,
             chat_kind = CASE WHEN $2::text IS NULL THEN NULL ELSE COALESCE(chat_kind, 'slack') END
         WHERE id = $1",
    )
    .bind(team_id)
    .bind(url)
    .execute(conn)
    .await
    .map(drop)
}

/// Queues a post, due at once.
pub async fn enqueue(
    conn: &mut PgConnection,
    team_id: i64,
    handoff_id: i64,
    url: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    query_scalar(
        "INSERT INTO handoff_webhook_deliveries (team_id, handoff_id, url, payload, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(team_id)
    .bind(handoff_id)
    .bind(url)
    .bind(payload)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// A post to send, claimed by one process.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub url: String,
    pub payload: Value,
    /// Counting this one.
    pub attempts: i32,
}

/// Claims up to `limit` due posts: each counts an attempt and is pushed
/// `lease` into the future, so another process (or this one, should it die
/// mid-send) picks it up again only after that. Rows another process is
/// claiming at the same moment are skipped, not waited for.
pub async fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    query_as(
        "UPDATE handoff_webhook_deliveries d
         SET attempts = d.attempts + 1, next_attempt_at = $1 + $2, last_attempt_at = $1
         FROM (SELECT id FROM handoff_webhook_deliveries
               WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
               ORDER BY next_attempt_at, id LIMIT $3
               FOR UPDATE SKIP LOCKED) due
         WHERE d.id = due.id
         RETURNING d.id, d.url, d.payload, d.attempts",
    )
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// What one attempt came to.
pub enum Outcome<'a> {
    Delivered {
        status: i32,
    },
    /// Try again at `retry_at`, or give up when `None`.
    Failed {
        status: Option<i32>,
        error: &'a str,
        retry_at: Option<DateTime<Utc>>,
    },
}

pub async fn record(conn: &mut PgConnection, id: i64, outcome: Outcome<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    match outcome {
        Outcome::Delivered { status } => {
            query(
                "UPDATE handoff_webhook_deliveries SET delivered_at = $2, last_status = $3, last_error = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(status)
            .execute(conn)
            .await?;
        }
        Outcome::Failed {
            status,
            error,
            retry_at,
        } => {
            query(
                "UPDATE handoff_webhook_deliveries
                 SET last_status = $2, last_error = $3,
                     next_attempt_at = COALESCE($4, next_attempt_at),
                     gave_up_at = CASE WHEN $4::timestamptz IS NULL THEN $5 END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(status)
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// A post as the team settings show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub rotation_name: String,
    pub week_start: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub gave_up_at: Option<DateTime<Utc>>,
}

/// The team's latest posts, newest first.
pub async fn recent(conn: &mut PgConnection, team_id: i64, limit: i64) -> sqlx::Result<Vec<Delivery>> {
    query_as(
        "SELECT d.id, r.name AS rotation_name, h.week_start, d.created_at, d.attempts, d.next_attempt_at,
                d.last_status, d.last_error, d.delivered_at, d.gave_up_at
         FROM handoff_webhook_deliveries d
         JOIN handoffs h ON h.id = d.handoff_id JOIN rotations r ON r.id = h.rotation_id
         WHERE d.team_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2",
    )
    .bind(team_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub fn delivery_state(d: &Delivery) -> &'static str {
    match (d.delivered_at, d.gave_up_at) {
        (Some(_), _) => "delivered",
        (None, Some(_)) => "failed",
        (None, None) => "retrying",
    }
}
