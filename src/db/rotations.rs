//! Rotations, their settings versions, and the generated shifts as stored.
//! The schedule engine that decides what to write is `ops::schedule`.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::domain::role::Role;
use crate::domain::schedule::{Rule, Week};

/// Shifts are generated this far ahead of now. The extension job runs
/// hourly, so at least 26 weeks are always there.
pub const HORIZON: Duration = Duration::weeks(27);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rotation {
    pub id: i64,
    pub team_id: i64,
    pub slug: String,
    pub name: String,
    pub start_date: NaiveDate,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Version {
    pub id: i64,
    pub rotation_id: i64,
    pub effective_from: DateTime<Utc>,
    pub anchor_date: NaiveDate,
    pub timezone: String,
    pub handoff_weekday: i16,
    pub handoff_time: NaiveTime,
    pub participants: Vec<i64>,
    pub primary_offset: i32,
    pub primary_sla_minutes: i32,
    pub secondary_sla_minutes: i32,
}

impl Version {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn weekday(&self) -> Weekday {
        Weekday::try_from(self.handoff_weekday as u8).unwrap_or(Weekday::Tue)
    }

    pub fn rule(&self) -> Rule<i64> {
        Rule {
            tz: self.tz(),
            weekday: self.weekday(),
            time: self.handoff_time,
            effective_from: self.effective_from,
            anchor: self.anchor_date,
            participants: self.participants.clone(),
            offset: self.primary_offset.max(0) as usize,
        }
    }
}

/// What a manager sets; everything else follows from it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tz: Tz,
    pub weekday: Weekday,
    pub time: NaiveTime,
    pub participants: Vec<i64>,
    pub primary_sla_minutes: i32,
    pub secondary_sla_minutes: i32,
}

impl Settings {
    pub fn of(v: &Version) -> Self {
        Settings {
            tz: v.tz(),
            weekday: v.weekday(),
            time: v.handoff_time,
            participants: v.participants.clone(),
            primary_sla_minutes: v.primary_sla_minutes,
            secondary_sla_minutes: v.secondary_sla_minutes,
        }
    }
}

const COLUMNS: &str = "id, team_id, slug, name, start_date";
const VERSION_COLUMNS: &str = "id, rotation_id, effective_from, anchor_date, timezone, handoff_weekday,
    handoff_time, participants, primary_offset, primary_sla_minutes, secondary_sla_minutes";

pub async fn insert_version(
    conn: &mut PgConnection,
    rotation_id: i64,
    rule: &Rule<i64>,
    s: &Settings,
) -> sqlx::Result<Version> {
    query_as(&format!(
        "INSERT INTO rotation_versions (rotation_id, effective_from, anchor_date, timezone,
            handoff_weekday, handoff_time, participants, primary_offset,
            primary_sla_minutes, secondary_sla_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {VERSION_COLUMNS}"
    ))
    .bind(rotation_id)
    .bind(rule.effective_from)
    .bind(rule.anchor)
    .bind(rule.tz.name())
    .bind(rule.weekday.num_days_from_monday() as i16)
    .bind(rule.time)
    .bind(&rule.participants)
    .bind(rule.offset as i32)
    .bind(s.primary_sla_minutes)
    .bind(s.secondary_sla_minutes)
    .fetch_one(conn)
    .await
}

pub async fn versions(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<Vec<Version>> {
    query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM rotation_versions WHERE rotation_id = $1 ORDER BY effective_from"
    ))
    .bind(rotation_id)
    .fetch_all(conn)
    .await
}

/// Each of the team's rotations with its newest settings.
pub async fn for_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<(Rotation, Version)>> {
    let rotations: Vec<Rotation> = query_as(&format!(
        "SELECT {COLUMNS} FROM rotations WHERE team_id = $1 ORDER BY lower(name), slug"
    ))
    .bind(team_id)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rotations.iter().map(|r| r.id).collect();
    let latest: Vec<Version> = query_as(&format!(
        "SELECT DISTINCT ON (rotation_id) {VERSION_COLUMNS} FROM rotation_versions
         WHERE rotation_id = ANY($1) ORDER BY rotation_id, effective_from DESC"
    ))
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    Ok(rotations
        .into_iter()
        .filter_map(|r| {
            let v = latest.iter().find(|v| v.rotation_id == r.id)?.clone();
            Some((r, v))
        })
        .collect())
}

pub async fn by_slug(conn: &mut PgConnection, team_id: i64, slug: &str) -> sqlx::Result<Option<Rotation>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM rotations WHERE team_id = $1 AND slug = $2"
    ))
    .bind(team_id)
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// Takes the rotation's row lock: every change to its schedule holds it, so
/// concurrent edits and the extension job apply one after the other.
pub async fn lock(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<Option<Rotation>> {
    query_as(&format!("SELECT {COLUMNS} FROM rotations WHERE id = $1 FOR UPDATE"))
        .bind(rotation_id)
        .fetch_optional(conn)
        .await
}

/// Locks all the team's rotations, in id order.
pub async fn lock_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<()> {
    query("SELECT id FROM rotations WHERE team_id = $1 ORDER BY id FOR UPDATE")
        .bind(team_id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn rename(conn: &mut PgConnection, rotation_id: i64, name: &str) -> sqlx::Result<()> {
    query("UPDATE rotations SET name = $2 WHERE id = $1")
        .bind(rotation_id)
        .bind(name)
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets the rotation's shifts and settings, for a rotation that has not begun.
pub async fn clear_all(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<()> {
    query("DELETE FROM shifts WHERE rotation_id = $1")
        .bind(rotation_id)
        .execute(&mut *conn)
        .await?;
    query("DELETE FROM rotation_versions WHERE rotation_id = $1")
        .bind(rotation_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the shifts and settings versions from `from` on.
pub async fn clear_from(conn: &mut PgConnection, rotation_id: i64, from: DateTime<Utc>) -> sqlx::Result<()> {
    query("DELETE FROM shifts WHERE rotation_id = $1 AND starts_at >= $2")
        .bind(rotation_id)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    query("DELETE FROM rotation_versions WHERE rotation_id = $1 AND effective_from >= $2")
        .bind(rotation_id)
        .bind(from)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new rotation; `None` when the slug is taken in this team. `now` is
/// the application's clock: handoffs due before it are never overdue.
pub async fn insert(
    conn: &mut PgConnection,
    team_id: i64,
    slug: &str,
    name: &str,
    start_date: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Rotation>> {
    query_as(&format!(
        "INSERT INTO rotations (team_id, slug, name, start_date, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (team_id, slug) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(team_id)
    .bind(slug)
    .bind(name)
    .bind(start_date)
    .bind(now)
    .fetch_optional(conn)
    .await
}

pub async fn set_start_date(conn: &mut PgConnection, rotation_id: i64, start_date: NaiveDate) -> sqlx::Result<()> {
    query("UPDATE rotations SET start_date = $2 WHERE id = $1")
        .bind(rotation_id)
        .bind(start_date)
        .execute(conn)
        .await
        .map(drop)
}

/// The team a rotation belongs to.
pub async fn team_of(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<i64> {
    query_scalar("SELECT team_id FROM rotations WHERE id = $1")
        .bind(rotation_id)
        .fetch_one(conn)
        .await
}

/// Writes generated weeks of a version, both roles, in one statement.
pub async fn insert_weeks(conn: &mut PgConnection, version: &Version, weeks: &[Week<i64>]) -> sqlx::Result<u64> {
    let mut index = Vec::with_capacity(weeks.len() * 2);
    let mut role = Vec::with_capacity(weeks.len() * 2);
    let mut user = Vec::with_capacity(weeks.len() * 2);
    let mut starts = Vec::with_capacity(weeks.len() * 2);
    let mut ends = Vec::with_capacity(weeks.len() * 2);
    for w in weeks {
        for (r, who) in [(Role::Primary, w.primary), (Role::Secondary, w.secondary)] {
            index.push(w.index as i32);
            role.push(r);
            user.push(who);
            starts.push(w.starts_at);
            ends.push(w.ends_at);
        }
    }
    let done = query(
        "INSERT INTO shifts (rotation_id, version_id, week_index, role, user_id, starts_at, ends_at)
         SELECT $1, $2, * FROM UNNEST($3::int[], $4::text[], $5::bigint[], $6::timestamptz[], $7::timestamptz[])",
    )
    .bind(version.rotation_id)
    .bind(version.id)
    .bind(&index)
    .bind(&role)
    .bind(&user)
    .bind(&starts)
    .bind(&ends)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The last week of a version already written, if any.
pub async fn last_week_index(conn: &mut PgConnection, version_id: i64) -> sqlx::Result<Option<i32>> {
    query_scalar("SELECT max(week_index) FROM shifts WHERE version_id = $1")
        .bind(version_id)
        .fetch_one(conn)
        .await
}

/// The rotation's newest settings version.
pub async fn latest_version(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<Option<Version>> {
    query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM rotation_versions WHERE rotation_id = $1
         ORDER BY effective_from DESC LIMIT 1"
    ))
    .bind(rotation_id)
    .fetch_optional(conn)
    .await
}

/// The rotations whose latest version's last week ends before `until`
/// (or that has no week yet): the
/// ones the schedule job must extend. One pass over the rotations, each
/// answered from `shifts_version_week`, so the job's cost grows with the
/// number of rotations, not of shifts.
pub async fn needing_extension(conn: &mut PgConnection, until: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    query_scalar(
        "SELECT r.id FROM rotations r
         CROSS JOIN LATERAL (SELECT v.id FROM rotation_versions v WHERE v.rotation_id = r.id
                             ORDER BY v.effective_from DESC LIMIT 1) v
         WHERE coalesce((SELECT s.ends_at FROM shifts s WHERE s.version_id = v.id
                         ORDER BY s.week_index DESC, s.ends_at DESC LIMIT 1) < $1, true)
         ORDER BY r.id",
    )
    .bind(until)
    .fetch_all(conn)
    .await
}

/// The rotations of these teams (every team when `None`) as
/// (id, team id, slug, name), by name.
pub async fn rotations_of(
    conn: &mut PgConnection,
    team_ids: Option<&[i64]>,
) -> sqlx::Result<Vec<(i64, i64, String, String, DateTime<Utc>)>> {
    query_as(
        "SELECT id, team_id, slug, name, created_at FROM rotations
         WHERE $1::bigint[] IS NULL OR team_id = ANY($1) ORDER BY lower(name), slug",
    )
    .bind(team_ids)
    .fetch_all(conn)
    .await
}
