//! The organisation-wide on-call directory: for every rotation of the teams
//! a person may see, who holds each role now and who is next, in one query.

use crate::db::sql::query_as;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::role::Role;

/// One holder: `now` (the shift containing the instant) or the next shift.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub team_id: i64,
    /// Shown only to its members (and admins).
    pub team_private: bool,
    pub team_slug: String,
    pub team_name: String,
    pub team_timezone: String,
    pub rotation_slug: String,
    pub rotation_name: String,
    pub role: Role,
    pub is_next: bool,
    /// The holder's fields are all `None` when nobody holds the role then
    /// (the rotation is still listed).
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub chat_handle: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// Every rotation's holders now and next, of every team (private ones
/// too: `ops::directory::visible_to` decides who sees which). Ordered by
/// team, rotation, role. Each lookup is a probe of the
/// `(rotation_id, role, starts_at)` index, so 500 teams stay quick.
pub async fn rows(conn: &mut PgConnection, at: DateTime<Utc>) -> sqlx::Result<Vec<Row>> {
    query_as(
        "WITH held AS (
             SELECT t.id AS team_id, t.private AS team_private,
                    t.slug AS team_slug, t.name AS team_name, t.timezone AS team_timezone,
                    r.slug AS rotation_slug, r.name AS rotation_name, roles.role,
                    cur.id AS now_id, nxt.id AS next_id
             FROM teams t
             JOIN rotations r ON r.team_id = t.id
             CROSS JOIN (VALUES ('primary'), ('secondary')) AS roles(role)
             LEFT JOIN LATERAL (
                 SELECT s.id, s.ends_at FROM shifts s
                 WHERE s.rotation_id = r.id AND s.role = roles.role AND s.starts_at <= $1
                 ORDER BY s.starts_at DESC LIMIT 1
             ) cur0 ON true
             LEFT JOIN LATERAL (SELECT cur0.id WHERE cur0.ends_at > $1) cur ON true
             LEFT JOIN LATERAL (
                 SELECT s.id FROM shifts s
                 WHERE s.rotation_id = r.id AND s.role = roles.role AND s.starts_at > $1
                 ORDER BY s.starts_at LIMIT 1
             ) nxt ON true
         )
         SELECT h.team_id, h.team_private, h.team_slug, h.team_name, h.team_timezone, h.rotation_slug, h.rotation_name, h.role,
                w.is_next, u.email, u.name, u.phone, u.chat_handle, s.starts_at, s.ends_at
         FROM held h
         CROSS JOIN LATERAL (VALUES (h.now_id, false), (h.next_id, true)) AS w(shift_id, is_next)
         LEFT JOIN shifts s ON s.id = w.shift_id
         LEFT JOIN users u ON u.id = s.user_id
         ORDER BY lower(h.team_name), h.team_slug, lower(h.rotation_name), h.rotation_slug, h.role, w.is_next",
    )
    .bind(at)
    .fetch_all(conn)
    .await
}
