//! Reading the schedule as it stands.

use crate::db::sql::{query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::role::Role;
use crate::domain::swap::ChangeKind;

/// A shift with the names a reader needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShiftView {
    pub id: i64,
    pub rotation_id: i64,
    pub rotation_slug: String,
    pub rotation_name: String,
    pub team_slug: String,
    pub team_name: String,
    pub version_id: i64,
    pub week_index: i32,
    pub role: Role,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub sla_minutes: i32,
    /// Whom the holder stands in for, when a change put them there.
    pub replaces_user_id: Option<i64>,
    pub replaces_name: Option<String>,
    /// `Swap`, `Cover`, `Override` or `Leave` when a change put the holder there.
    pub change_kind: Option<ChangeKind>,
    /// The holder's account was deactivated since (they left).
    #[sqlx(default)]
    pub holder_left: bool,
}

const SELECT: &str = "SELECT s.id, s.rotation_id, r.slug AS rotation_slug, r.name AS rotation_name,
        t.slug AS team_slug, t.name AS team_name, s.version_id, s.week_index, s.role,
        s.user_id, u.email, u.name, s.starts_at, s.ends_at,
        CASE s.role WHEN 'primary' THEN v.primary_sla_minutes ELSE v.secondary_sla_minutes END AS sla_minutes,
        s.replaces_user_id, ru.name AS replaces_name, c.kind AS change_kind,
        u.deactivated_at IS NOT NULL AS holder_left
    FROM shifts s
    JOIN rotations r ON r.id = s.rotation_id
    JOIN teams t ON t.id = r.team_id
    JOIN users u ON u.id = s.user_id
    JOIN rotation_versions v ON v.id = s.version_id
    LEFT JOIN users ru ON ru.id = s.replaces_user_id
    LEFT JOIN schedule_changes c ON c.id = s.change_id";

/// The team's shifts overlapping `[from, to)`, optionally of one rotation.
pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rotation: Option<&str>,
) -> sqlx::Result<Vec<ShiftView>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = $1 AND s.ends_at > $2 AND s.starts_at < $3
           AND ($4::text IS NULL OR r.slug = $4)
         ORDER BY s.starts_at, r.slug, s.role"
    ))
    .bind(team_id)
    .bind(from)
    .bind(to)
    .bind(rotation)
    .fetch_all(conn)
    .await
}

/// Who holds each role of each of the team's rotations at `at`.
pub async fn on_call(conn: &mut PgConnection, team_id: i64, at: DateTime<Utc>) -> sqlx::Result<Vec<ShiftView>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = $1 AND s.starts_at <= $2 AND s.ends_at > $2
         ORDER BY lower(r.name), r.slug, s.role"
    ))
    .bind(team_id)
    .bind(at)
    .fetch_all(conn)
    .await
}

/// On call now in every team of `team_ids`, in one query.
pub async fn on_call_in(conn: &mut PgConnection, team_ids: &[i64], at: DateTime<Utc>) -> sqlx::Result<Vec<ShiftView>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = ANY($1) AND s.starts_at <= $2 AND s.ends_at > $2
         ORDER BY lower(t.name), lower(r.name), r.slug, s.role"
    ))
    .bind(team_ids)
    .bind(at)
    .fetch_all(conn)
    .await
}

/// A person's shifts overlapping `[from, to)`, in every team (past teams keep their history).
pub async fn for_user(
    conn: &mut PgConnection,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<ShiftView>> {
    query_as(&format!(
        "{SELECT} WHERE s.user_id = $1 AND s.ends_at > $2 AND s.starts_at < $3
         ORDER BY s.starts_at, r.slug LIMIT $4"
    ))
    .bind(user_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ShiftView>> {
    query_as(&format!("{SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Future shifts of `user_id` in the team's rotations (for member removal).
pub async fn upcoming_for_member(
    conn: &mut PgConnection,
    team_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<ShiftView>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = $1 AND s.user_id = $2 AND s.ends_at > $3 ORDER BY s.starts_at"
    ))
    .bind(team_id)
    .bind(user_id)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Who held the role over the span, for the audit log.
pub async fn holders(
    conn: &mut PgConnection,
    rotation_id: i64,
    role: Role,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows: Vec<(i64, String, DateTime<Utc>, DateTime<Utc>)> = query_as(
        "SELECT s.user_id, u.email, greatest(s.starts_at, $3), least(s.ends_at, $4)
         FROM shifts s JOIN users u ON u.id = s.user_id
         WHERE s.rotation_id = $1 AND s.role = $2 AND s.ends_at > $3 AND s.starts_at < $4 ORDER BY s.starts_at",
    )
    .bind(rotation_id)
    .bind(role)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, s, e)| serde_json::json!({"user_id": id, "email": email, "starts_at": s, "ends_at": e}))
        .collect())
}

/// A shift someone holds in another's place, for the handoff's "coming
/// week" lines.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Changed {
    pub who: String,
    pub role: Role,
    pub instead: Option<String>,
    pub kind: ChangeKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// The rotation's shifts over `[from, to)` that someone holds in another's
/// place (swaps, covers, overrides), clipped to the span, in time order.
pub async fn changed_between(
    conn: &mut PgConnection,
    rotation_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Changed>> {
    query_as(
        "SELECT u.name AS who, s.role, ru.name AS instead, c.kind,
                greatest(s.starts_at, $2) AS starts_at, least(s.ends_at, $3) AS ends_at
         FROM shifts s JOIN users u ON u.id = s.user_id
         JOIN schedule_changes c ON c.id = s.change_id
         LEFT JOIN users ru ON ru.id = s.replaces_user_id
         WHERE s.rotation_id = $1 AND s.ends_at > $2 AND s.starts_at < $3 AND s.replaces_user_id IS NOT NULL
         ORDER BY s.starts_at, s.role",
    )
    .bind(rotation_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Everyone holding a shift of the rotation over `[from, to)`.
pub async fn people_between(
    conn: &mut PgConnection,
    rotation_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    query_scalar("SELECT DISTINCT user_id FROM shifts WHERE rotation_id = $1 AND ends_at > $2 AND starts_at < $3")
        .bind(rotation_id)
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await
}

/// Who held a shift at an instant, with the SLA of their role.
#[derive(sqlx::FromRow)]
pub struct Holder {
    pub user_id: i64,
    pub role: Role,
    pub sla_minutes: i32,
}

/// The primary of `rotation_id` at `at`, if any.
pub async fn primary_at(conn: &mut PgConnection, rotation_id: i64, at: DateTime<Utc>) -> sqlx::Result<Option<Holder>> {
    query_as(
        "SELECT s.user_id, s.role, v.primary_sla_minutes AS sla_minutes
         FROM shifts s JOIN rotation_versions v ON v.id = s.version_id
         WHERE s.rotation_id = $1 AND s.role = 'primary' AND s.starts_at <= $2 AND s.ends_at > $2",
    )
    .bind(rotation_id)
    .bind(at)
    .fetch_optional(conn)
    .await
}

/// The role `user_id` held in the team at `at`, if any.
pub async fn role_at(
    conn: &mut PgConnection,
    team_id: i64,
    user_id: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<Holder>> {
    query_as(
        "SELECT s.user_id, s.role,
                CASE s.role WHEN 'primary' THEN v.primary_sla_minutes ELSE v.secondary_sla_minutes END AS sla_minutes
         FROM shifts s JOIN rotation_versions v ON v.id = s.version_id JOIN rotations r ON r.id = s.rotation_id
         WHERE r.team_id = $1 AND s.user_id = $2 AND s.starts_at <= $3 AND s.ends_at > $3
         ORDER BY s.role LIMIT 1",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(at)
    .fetch_optional(conn)
    .await
}
