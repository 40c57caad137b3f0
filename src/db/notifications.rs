//! In-app notifications, and the e-mail sent from them.

use crate::db::sql::{query, query_as, query_scalar};
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
    query(
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
    query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub async fn recent(conn: &mut PgConnection, user_id: i64, limit: i64) -> sqlx::Result<Vec<Notification>> {
    query_as(
        "SELECT id, message, link, created_at, read_at FROM notifications WHERE user_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn mark_all_read(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|d| d.rows_affected())
}

/// An e-mail claimed for sending by one process.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mail {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub message: String,
    pub link: String,
    /// Counting this one: it also names the claim, so only its holder
    /// records the outcome.
    pub mail_attempts: i32,
}

/// Claims the next due e-mail, if any, and commits the claim at once (the
/// caller passes a plain connection, not a transaction): it is 'sending'
/// until `now + lease`, counts an attempt, and is due again only if that
/// passes unrecorded, i.e. the process sending it stopped. Rows another
/// process is claiming at the same moment are skipped, not waited for.
/// A claim that ran out `max_attempts` times is left for [`give_up_interrupted`].
pub async fn claim_mail(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    max_attempts: i32,
) -> sqlx::Result<Option<Mail>> {
    query_as(
        "UPDATE notifications n
         SET mail_state = 'sending', mail_attempts = n.mail_attempts + 1, mail_next_at = $1 + $2
         FROM (SELECT id FROM notifications
               WHERE mail_state IN ('pending', 'sending') AND mail_next_at <= $1
                 AND (mail_state = 'pending' OR mail_attempts < $3)
               ORDER BY mail_next_at, id LIMIT 1
               FOR UPDATE SKIP LOCKED) due, users u
         WHERE n.id = due.id AND u.id = n.user_id
         RETURNING n.id, u.email, u.name, n.message, n.link, n.mail_attempts",
    )
    .bind(now)
    .bind(lease)
    .bind(max_attempts)
    .fetch_optional(conn)
    .await
}

/// Gives up the e-mails whose claim ran out `max_attempts` times: sending
/// them stopped the process (or its job) each time, so another try would too.
pub async fn give_up_interrupted(conn: &mut PgConnection, now: DateTime<Utc>, max_attempts: i32) -> sqlx::Result<u64> {
    query(
        "UPDATE notifications SET mail_state = 'failed',
             mail_error = 'Sending it was interrupted ' || mail_attempts || ' times (the process stopped mid-send); given up'
         WHERE mail_state = 'sending' AND mail_next_at <= $1 AND mail_attempts >= $2",
    )
    .bind(now)
    .bind(max_attempts)
    .execute(conn)
    .await
    .map(|d| d.rows_affected())
}

/// Records that the claimed `mail` went out. A claim that ran out and was
/// taken by another process is that process's to record.
pub async fn mail_sent(conn: &mut PgConnection, mail: &Mail) -> sqlx::Result<()> {
    query(
        "UPDATE notifications SET mail_state = 'sent', mail_error = NULL
         WHERE id = $1 AND mail_state = 'sending' AND mail_attempts = $2",
    )
    .bind(mail.id)
    .bind(mail.mail_attempts)
    .execute(conn)
    .await
    .map(drop)
}

/// Records a failed attempt of the claimed `mail`: tried again at `next`,
/// or given up (`None`).
pub async fn mail_failed(
    conn: &mut PgConnection,
    mail: &Mail,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    query(
        "UPDATE notifications SET mail_error = $3,
             mail_state = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
             mail_next_at = COALESCE($4, mail_next_at)
         WHERE id = $1 AND mail_state = 'sending' AND mail_attempts = $2",
    )
    .bind(mail.id)
    .bind(mail.mail_attempts)
    .bind(error)
    .bind(next)
    .execute(conn)
    .await
    .map(drop)
}

/// An e-mail Rota gave up on, as the admin page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedMail {
    pub email: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub mail_error: Option<String>,
}

/// The e-mail given up on since `since`, newest first.
pub async fn failed_mail(conn: &mut PgConnection, since: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<FailedMail>> {
    query_as(
        "SELECT u.email, n.message, n.created_at, n.mail_error
         FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.mail_state = 'failed' AND n.created_at >= $1
         ORDER BY n.created_at DESC, n.id DESC LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await
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
    let (unread, manages, awaiting): (i64, bool, i64) = query_as(
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
