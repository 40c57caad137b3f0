//! In-app notifications, and the e-mail sent from them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub message: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Notifies those of `user_ids` who are members of the team now (a
/// person who left hears nothing more). With `mail`, each is queued for
/// e-mail too.
pub async fn create(
    conn: &mut PgConnection,
    team_id: i64,
    user_ids: &[i64],
    (message, link): (&str, &str),
    now: DateTime<Utc>,
    mail: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notifications (user_id, team_id, message, link, created_at, mail_state, mail_next_at)
         SELECT DISTINCT m.user_id, m.team_id, $3, $4, $5,
                CASE WHEN $6 THEN 'pending' ELSE 'none' END, CASE WHEN $6 THEN $5 END
         FROM memberships m WHERE m.team_id = $1 AND m.user_id = ANY($2)",
    )
    .bind(team_id)
    .bind(user_ids)
    .bind(message)
    .bind(link)
    .bind(now)
    .bind(mail)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn unread_count(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub async fn recent(conn: &mut PgConnection, user_id: i64, limit: i64) -> sqlx::Result<Vec<Notification>> {
    sqlx::query_as(
        "SELECT id, message, link, created_at, read_at FROM notifications WHERE user_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn mark_all_read(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|d| d.rows_affected())
}

/// An e-mail waiting to go out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mail {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub message: String,
    pub link: String,
    pub mail_attempts: i32,
}

/// Due e-mails, locked so another process sending at the same time skips them.
pub async fn due_mail(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Mail>> {
    sqlx::query_as(
        "SELECT n.id, u.email, u.name, n.message, n.link, n.mail_attempts
         FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.mail_state = 'pending' AND n.mail_next_at <= $1
         ORDER BY n.mail_next_at, n.id LIMIT $2
         FOR UPDATE OF n SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn mail_sent(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE notifications SET mail_state = 'sent', mail_attempts = mail_attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Records a failed attempt: tried again at `next`, or given up (`None`).
pub async fn mail_failed(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notifications SET mail_attempts = mail_attempts + 1, mail_error = $2,
             mail_state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
             mail_next_at = COALESCE($3, mail_next_at)
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next)
    .execute(conn)
    .await
    .map(drop)
}

/// The navigation's counts in one query: unread notifications and, for a
/// manager or admin, the accepted requests they may decide (as on
/// `/approvals`: not expired, and not ones they are a party to).
pub async fn nav_counts(
    conn: &mut PgConnection,
    user_id: i64,
    is_admin: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<(i64, Option<i64>)> {
    let (unread, manages, awaiting): (i64, bool, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL),
           $2 OR EXISTS (SELECT 1 FROM memberships WHERE user_id = $1 AND role = 'manager'),
           (SELECT count(*) FROM swap_requests q
             WHERE q.state = 'accepted' AND LEAST(q.starts_at, q.counterpart_starts_at) > $3
               AND q.requester_id <> $1 AND q.counterpart_id IS DISTINCT FROM $1
               AND ($2 OR q.team_id IN (SELECT team_id FROM memberships WHERE user_id = $1 AND role = 'manager')))",
    )
    .bind(user_id)
    .bind(is_admin)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok((unread, manages.then_some(awaiting)))
}
