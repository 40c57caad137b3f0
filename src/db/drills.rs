//! Drills ("Send a test page"): a page marked `drill`, firing now, with its
//! escalation started in the same statement. Nothing is queued for the
//! recovery job: a drill grants no recovery day.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::sql::query_scalar;
use crate::domain::role::Role;

/// The source of every drill, so a drill never merges into a real page.
pub const SOURCE: &str = "drill";

/// A drill about to fire.
pub struct NewDrill<'a> {
    pub team_id: i64,
    pub rotation_id: Option<i64>,
    /// Unique within the team's drills.
    pub dedup_key: &'a str,
    pub summary: &'a str,
    /// Who it is for when it fires: the primary, or the person testing.
    pub responder_id: Option<i64>,
    /// The role they hold then, if any, with its SLA.
    pub role: Option<(Role, i32)>,
    /// Named by the caller (a drill to themself), not by the schedule.
    pub responder_named: bool,
    /// Pages only this person, in one step (a drill to themself); `None`
    /// follows the team's escalation policy.
    pub only_user_id: Option<i64>,
}

/// Records the drill, fired at `now`, and starts its escalation at `now`;
/// the page's id.
pub async fn insert(conn: &mut PgConnection, d: &NewDrill<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    query_scalar(
        "WITH page AS (
            INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, fired_at,
                               responder_id, responder_role, sla_minutes, responder_named, drill)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
            RETURNING id),
         escalation AS (
            INSERT INTO escalations (page_id, started_at, due_at, only_user_id)
            SELECT id, $6, $6, $11 FROM page)
         SELECT id FROM page",
    )
    .bind(d.team_id)
    .bind(d.rotation_id)
    .bind(SOURCE)
    .bind(d.dedup_key)
    .bind(d.summary)
    .bind(now)
    .bind(d.responder_id)
    .bind(d.role.map(|(role, _)| role))
    .bind(d.role.map(|(_, sla)| sla))
    .bind(d.responder_named)
    .bind(d.only_user_id)
    .fetch_one(conn)
    .await
}
