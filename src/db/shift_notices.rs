//! Shift notifications: who starts a shift soon, each claimed once.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::db::sql::{query, query_as};

/// A shift someone is to be told of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notice {
    pub user_id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub rotation_name: String,
    pub role: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The person's own zone, for the times in the message.
    pub timezone: String,
    /// `eve` (it starts within `ahead`) or `start` (it has started, at most
    /// `late` ago).
    pub kind: String,
}

/// Claims the notices due at `now` that nobody has sent: a shift piece
/// starting within `ahead` but not within `soon` (`eve`: one made for the
/// next hour is news its maker already told), or started at most `late`
/// ago (`start`), unless it continues the same person's piece in the same
/// role or resumes their week after someone covered part of it. Runs in
/// the caller's transaction; a concurrent claim of the same notice waits
/// for it and then claims nothing.
pub async fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    (soon, ahead): (Duration, Duration),
    late: Duration,
) -> sqlx::Result<Vec<Notice>> {
    query_as(
        "WITH due AS (
            SELECT s.user_id, s.rotation_id, s.role, s.starts_at, s.ends_at,
                   CASE WHEN s.starts_at > $1 THEN 'eve' ELSE 'start' END AS kind
            FROM shifts s
            WHERE ((s.starts_at > $1 + $4 AND s.starts_at <= $1 + $2) OR (s.starts_at > $1 - $3 AND s.starts_at <= $1))
              AND NOT EXISTS (SELECT 1 FROM shifts c
                              WHERE c.rotation_id = s.rotation_id AND c.role = s.role AND c.user_id = s.user_id
                                AND (c.ends_at = s.starts_at
                                     OR (c.version_id = s.version_id AND c.week_index = s.week_index
                                         AND c.starts_at < s.starts_at)))),
         claimed AS (
            INSERT INTO shift_notices (user_id, rotation_id, role, starts_at, kind, sent_at)
            SELECT user_id, rotation_id, role, starts_at, kind, $1 FROM due
            ORDER BY user_id, rotation_id, role, starts_at
            ON CONFLICT DO NOTHING
            RETURNING user_id, rotation_id, role, starts_at, kind)
         SELECT c.user_id, r.team_id, t.slug AS team_slug, t.name AS team_name, r.name AS rotation_name,
                c.role, c.starts_at, d.ends_at, u.timezone, c.kind
         FROM claimed c JOIN due d USING (user_id, rotation_id, role, starts_at, kind)
              JOIN rotations r ON r.id = c.rotation_id JOIN teams t ON t.id = r.team_id
              JOIN users u ON u.id = c.user_id
         ORDER BY c.starts_at, c.user_id",
    )
    .bind(now)
    .bind(ahead)
    .bind(late)
    .bind(soon)
    .fetch_all(conn)
    .await
}

/// Forgets notices sent before `before` (their shifts are long under way).
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>) -> sqlx::Result<u64> {
    query("DELETE FROM shift_notices WHERE sent_at < $1")
        .bind(before)
        .execute(conn)
        .await
        .map(|d| d.rows_affected())
}
