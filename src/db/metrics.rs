//! What the metrics read: one query per kind of row, for one team or many
//! (the admins' overview), never one per person or per week.

use crate::db::sql::query_as;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;

use crate::db::teams::TeamRole;
use crate::domain::recovery::CANNOT_ACKNOWLEDGE;
use crate::domain::role::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageRow {
    pub team_id: i64,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worked_until: Option<DateTime<Utc>>,
    pub responder_id: Option<i64>,
    pub responder_role: Option<Role>,
    pub sla_minutes: Option<i32>,
    pub source: String,
    /// Rota paged someone for it (its escalation is running, or told
    /// someone: one that skipped everyone paged nobody); read only where
    /// it matters: unacknowledged pages of a source that never reports an
    /// acknowledgement ([`CANNOT_ACKNOWLEDGE`]), `None` for the rest.
    pub paged: Option<bool>,
    pub responder_timezone: Option<String>,
    /// Deleted pages count for nothing but who was involved (see [`people`]).
    pub deleted: bool,
}

/// Pages fired in `[from, to)`, deleted ones marked. Drills are left out:
/// they count in no figure, no one's load and no involvement.
pub async fn pages(
    conn: &mut PgConnection,
    team_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<PageRow>> {
    query_as(
        "SELECT p.team_id, p.fired_at, p.acknowledged_at, p.resolved_at, p.worked_until,
                p.responder_id, p.responder_role, p.sla_minutes, p.source, u.timezone AS responder_timezone,
                CASE WHEN p.acknowledged_at IS NULL AND p.source = ANY($4)
                     THEN EXISTS (SELECT 1 FROM escalations e WHERE e.page_id = p.id AND (e.ended_at IS NULL
                         OR EXISTS (SELECT 1 FROM page_messages pm
                                    WHERE pm.page_id = p.id AND pm.state IN ('sent', 'delivered'))))
                END AS paged,
                p.deleted_at IS NOT NULL AS deleted
         FROM pages p LEFT JOIN users u ON u.id = p.responder_id
         WHERE p.team_id = ANY($1) AND p.fired_at >= $2 AND p.fired_at < $3 AND NOT p.drill",
    )
    .bind(team_ids)
    .bind(from)
    .bind(to)
    .bind(&CANNOT_ACKNOWLEDGE[..])
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShiftRow {
    pub team_id: i64,
    pub id: i64,
    pub rotation_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Shift pieces overlapping `[from, to)` as they stand (swaps applied).
pub async fn shifts(
    conn: &mut PgConnection,
    team_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<ShiftRow>> {
    query_as(
        "SELECT r.team_id, s.id, s.rotation_id, s.user_id, s.role, s.starts_at, s.ends_at
         FROM shifts s JOIN rotations r ON r.id = s.rotation_id
         WHERE r.team_id = ANY($1) AND s.ends_at > $2 AND s.starts_at < $3",
    )
    .bind(team_ids)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecoveryRow {
    pub team_id: i64,
    pub user_id: i64,
    pub day: NaiveDate,
    pub worked_anyway: bool,
}

/// Granted (not withdrawn) recovery days on dates in `[from, to]`.
pub async fn recovery(
    conn: &mut PgConnection,
    team_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RecoveryRow>> {
    query_as(
        "SELECT team_id, user_id, day, worked_anyway FROM recovery_days
         WHERE team_id = ANY($1) AND day BETWEEN $2 AND $3 AND state = 'granted'",
    )
    .bind(team_ids)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub team_id: i64,
    pub id: i64,
    pub email: String,
    pub name: String,
    /// Null for someone who has left the team.
    pub role: Option<TeamRole>,
}

/// Current members of `team_ids`, and the people `involved` (pairs of team
/// and person: who held a shift or answered a page in the period, as the
/// caller read them with [`shifts`] and [`pages`]; people who have since
/// left still count).
pub async fn people(
    conn: &mut PgConnection,
    team_ids: &[i64],
    involved: &[(i64, i64)],
) -> sqlx::Result<Vec<PersonRow>> {
    let (teams, users): (Vec<i64>, Vec<i64>) = involved.iter().copied().unzip();
    query_as(
        "WITH involved AS (
             SELECT team_id, user_id FROM memberships WHERE team_id = ANY($1)
             UNION
             SELECT team_id, user_id FROM UNNEST($2::bigint[], $3::bigint[]) AS i(team_id, user_id)
         )
         SELECT i.team_id, u.id, u.email, u.name, m.role
         FROM involved i JOIN users u ON u.id = i.user_id
         LEFT JOIN memberships m ON m.team_id = i.team_id AND m.user_id = i.user_id",
    )
    .bind(team_ids)
    .bind(&teams)
    .bind(&users)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RulesRow {
    pub team_id: i64,
    pub sleep_start: NaiveTime,
    pub sleep_end: NaiveTime,
    pub day_threshold_minutes: i32,
    pub holidays: Vec<NaiveDate>,
}

/// Each team's out-of-hours policy and holidays.
pub async fn rules(conn: &mut PgConnection, team_ids: &[i64]) -> sqlx::Result<Vec<RulesRow>> {
    query_as(
        "SELECT t.id AS team_id, t.sleep_start, t.sleep_end, t.day_threshold_minutes,
                ARRAY(SELECT date FROM holidays h WHERE h.team_id = t.id) AS holidays
         FROM teams t WHERE t.id = ANY($1)",
    )
    .bind(team_ids)
    .fetch_all(conn)
    .await
}

/// Shifts of the team starting in `(now, until)`: what rebalancing may move.
pub async fn future_shifts(
    conn: &mut PgConnection,
    team_id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<ShiftRow>> {
    query_as(
        "SELECT r.team_id, s.id, s.rotation_id, s.user_id, s.role, s.starts_at, s.ends_at
         FROM shifts s JOIN rotations r ON r.id = s.rotation_id
         WHERE r.team_id = $1 AND s.ends_at > $2 AND s.starts_at < $3
         ORDER BY s.starts_at",
    )
    .bind(team_id)
    .bind(now)
    .bind(until)
    .fetch_all(conn)
    .await
}
