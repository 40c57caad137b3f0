//! A team's chat channel (its kind and incoming-webhook address), and the
//! one post each page makes to it, claimed under a lease like the page's
//! other messages.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Where a team's posts go: `kind` is `slack`, `mattermost` or `teams`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Channel {
    pub kind: String,
    pub url: String,
}

pub async fn channel(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Option<Channel>> {
    query_as(
        "SELECT chat_kind AS kind, handoff_webhook_url AS url FROM teams
         WHERE id = $1 AND chat_kind IS NOT NULL AND handoff_webhook_url IS NOT NULL",
    )
    .bind(team_id)
    .fetch_optional(conn)
    .await
}

/// Sets the channel, or with `None` removes it.
pub async fn set_channel(conn: &mut PgConnection, team_id: i64, channel: Option<&Channel>) -> sqlx::Result<()> {
    query("UPDATE teams SET chat_kind = $2, handoff_webhook_url = $3 WHERE id = $1")
        .bind(team_id)
        .bind(channel.map(|c| c.kind.as_str()))
        .bind(channel.map(|c| c.url.as_str()))
        .execute(conn)
        .await
        .map(drop)
}

/// Queues the page's post to the team's channel, due at once, unless the
/// team has none or the page has posted already (a restarted escalation
/// posts nothing more). Whether it was queued.
pub async fn queue_page_post(
    conn: &mut PgConnection,
    page_id: i64,
    step: i32,
    paged_user_id: Option<i64>,
    paged: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    query(
        "INSERT INTO page_chat_posts (page_id, kind, url, step, paged_user_id, paged, state, due_at, created_at)
         SELECT p.id, t.chat_kind, t.handoff_webhook_url, $2, $3, $4, 'pending', $5, $5
         FROM pages p JOIN teams t ON t.id = p.team_id
         WHERE p.id = $1 AND t.chat_kind IS NOT NULL AND t.handoff_webhook_url IS NOT NULL
         ON CONFLICT (page_id) DO NOTHING",
    )
    .bind(page_id)
    .bind(step)
    .bind(paged_user_id)
    .bind(paged)
    .bind(now)
    .execute(conn)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// A page's post claimed for sending, with what writing it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedPost {
    pub page_id: i64,
    pub kind: String,
    pub url: String,
    pub step: i32,
    pub paged_user_id: Option<i64>,
    pub paged: String,
    /// Counting this one.
    pub attempts: i32,
    pub team_name: String,
    pub team_slug: String,
    pub summary: String,
    pub source: String,
    pub fired_at: DateTime<Utc>,
    pub drill: bool,
}

/// Cancels the posts of pages settled before they went out, then claims
/// up to `limit` due posts under a lease (committed at once: pass a plain
/// connection), skipping those another process is claiming. A claim whose
/// lease lapsed (its process stopped mid-send) is due again.
pub async fn claim_page_posts(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> sqlx::Result<Vec<ClaimedPost>> {
    query(
        "UPDATE page_chat_posts c SET state = 'cancelled' FROM pages p
         WHERE p.id = c.page_id AND c.state = 'pending' AND c.due_at <= $1
           AND (p.acknowledged_at IS NOT NULL OR p.resolved_at IS NOT NULL OR p.deleted_at IS NOT NULL)",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    query_as(
        "WITH due AS (
            SELECT page_id FROM page_chat_posts WHERE state IN ('pending', 'sending') AND due_at <= $1
            ORDER BY due_at, page_id LIMIT $3 FOR UPDATE SKIP LOCKED),
         claimed AS (
            UPDATE page_chat_posts c SET state = 'sending', attempts = c.attempts + 1, due_at = $1 + $2
            FROM due WHERE c.page_id = due.page_id RETURNING c.*)
         SELECT c.page_id, c.kind, c.url, c.step, c.paged_user_id, c.paged, c.attempts,
                t.name AS team_name, t.slug AS team_slug, p.summary, p.source, p.fired_at, p.drill
         FROM claimed c JOIN pages p ON p.id = c.page_id JOIN teams t ON t.id = p.team_id
         ORDER BY c.page_id",
    )
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Records how a claimed attempt went: `delivered` or `failed` for good,
/// or `pending` again at `retry_at`. Only the holder of the claim (its
/// attempt number) records; whether this one did.
pub async fn finish_page_post(
    conn: &mut PgConnection,
    post: &ClaimedPost,
    state: &str,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    query(
        "UPDATE page_chat_posts SET state = $3, due_at = COALESCE($4, due_at)
         WHERE page_id = $1 AND attempts = $2 AND state = 'sending'",
    )
    .bind(post.page_id)
    .bind(post.attempts)
    .bind(state)
    .bind(retry_at)
    .execute(conn)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// When the next post is due, if any is.
pub async fn next_due(conn: &mut PgConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    query_scalar("SELECT min(due_at) FROM page_chat_posts WHERE state IN ('pending', 'sending')")
        .fetch_one(conn)
        .await
}
