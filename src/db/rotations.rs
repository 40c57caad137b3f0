//! Rotations, their settings versions, and the shifts those versions
//! materialise. The only place that writes generated shifts.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::PgConnection;

use serde_json::json;
use sqlx::Connection;

use crate::db;
use crate::db::changes::Change;
use crate::domain::schedule::{Rule, Week};
use crate::domain::swap::{Owed, avoid_leave};

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

/// Creates a rotation and its shifts from `start_date` (past weeks included)
/// to the horizon. `None` when the slug is taken in this team.
pub async fn create(
    conn: &mut PgConnection,
    team_id: i64,
    slug: &str,
    name: &str,
    start_date: NaiveDate,
    settings: &Settings,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Rotation>> {
    let rotation: Option<Rotation> = sqlx::query_as(&format!(
        "INSERT INTO rotations (team_id, slug, name, start_date) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, slug) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(team_id)
    .bind(slug)
    .bind(name)
    .bind(start_date)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(rotation) = rotation else { return Ok(None) };
    start(conn, &rotation, start_date, settings, now).await?;
    Ok(Some(rotation))
}

async fn start(
    conn: &mut PgConnection,
    rotation: &Rotation,
    start_date: NaiveDate,
    s: &Settings,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let rule = Rule::initial(s.tz, s.weekday, s.time, start_date, s.participants.clone());
    let version = insert_version(conn, rotation.id, &rule, s).await?;
    materialise(conn, &version, 0, now + HORIZON, now).await?;
    Ok(())
}

async fn insert_version(
    conn: &mut PgConnection,
    rotation_id: i64,
    rule: &Rule<i64>,
    s: &Settings,
) -> sqlx::Result<Version> {
    sqlx::query_as(&format!(
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

/// Writes the version's weeks from `from_index` that start before `until`,
/// in one statement, with nobody assigned during their leave where someone
/// else can take the week (see `domain::swap::avoid_leave`).
async fn materialise(
    conn: &mut PgConnection,
    version: &Version,
    from_index: i64,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let rule = version.rule();
    let mut weeks = rule.weeks_until(from_index, until);
    if weeks.is_empty() {
        return Ok(0);
    }
    respect_leave(conn, version, &rule, &mut weeks, now).await?;
    let mut index = Vec::with_capacity(weeks.len() * 2);
    let mut role = Vec::with_capacity(weeks.len() * 2);
    let mut user = Vec::with_capacity(weeks.len() * 2);
    let mut starts = Vec::with_capacity(weeks.len() * 2);
    let mut ends = Vec::with_capacity(weeks.len() * 2);
    for w in &weeks {
        for (r, who) in [("primary", w.primary), ("secondary", w.secondary)] {
            index.push(w.index as i32);
            role.push(r);
            user.push(who);
            starts.push(w.starts_at);
            ends.push(w.ends_at);
        }
    }
    let done = sqlx::query(
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

/// Adjusts new weeks for leave and for weeks owed from earlier
/// adjustments; records new debts and audits each exchange.
async fn respect_leave(
    conn: &mut PgConnection,
    version: &Version,
    rule: &Rule<i64>,
    weeks: &mut [Week<i64>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (first, last) = (weeks[0].index, weeks[weeks.len() - 1].index);
    let horizon = rule.boundary(last + 2 * rule.participants.len() as i64 + 3);
    let leave = db::leave::overlapping(conn, &rule.participants, weeks[0].starts_at, horizon).await?;
    let owed_rows = db::changes::owed_from(conn, version.rotation_id, weeks[0].starts_at).await?;
    if leave.is_empty() && owed_rows.is_empty() {
        return Ok(());
    }
    let owed: Vec<Owed> = owed_rows
        .iter()
        .filter_map(|c| {
            let j = rule
                .week_index_at(c.starts_at)
                .filter(|j| rule.boundary(*j) == c.starts_at)?;
            (j >= first).then_some(Owed {
                index: j,
                primary: c.role == "primary",
                user: c.user_id,
            })
        })
        .collect();
    let on_leave = |u: i64, from: DateTime<Utc>, to: DateTime<Utc>| {
        leave
            .iter()
            .any(|l| l.user_id == u && l.starts_at < to && from < l.ends_at)
    };
    let (exchanges, debts) = avoid_leave(rule, weeks, &owed, on_leave);
    for d in &debts {
        let change = db::changes::NewChange {
            rotation_id: version.rotation_id,
            role: if d.primary { "primary" } else { "secondary" },
            user_id: d.user,
            starts_at: rule.boundary(d.index),
            ends_at: rule.boundary(d.index + 1),
            kind: "leave",
            request_id: None,
            reason: "a week owed after leave",
            created_by: None,
        };
        db::changes::insert(conn, &change, now).await?;
    }
    if exchanges.is_empty() {
        return Ok(());
    }
    let team_id: i64 = sqlx::query_scalar("SELECT team_id FROM rotations WHERE id = $1")
        .bind(version.rotation_id)
        .fetch_one(&mut *conn)
        .await?;
    let emails: Vec<(i64, String)> = sqlx::query_as("SELECT id, email FROM users WHERE id = ANY($1)")
        .bind(&rule.participants)
        .fetch_all(&mut *conn)
        .await?;
    let email = |id: i64| emails.iter().find(|(i, _)| *i == id).map(|(_, e)| e.clone());
    for x in exchanges {
        let role = if x.primary { "primary" } else { "secondary" };
        let week = |j: i64| json!({"starts_at": rule.boundary(j), "ends_at": rule.boundary(j + 1)});
        db::audit::record(
            conn,
            team_id,
            None,
            now,
            "leave.reassign",
            Some(json!({"rotation_id": version.rotation_id, "role": role, "week": week(x.index), "email": email(x.absent)})),
            Some(json!({"rotation_id": version.rotation_id, "role": role, "week": week(x.index), "email": email(x.instead),
                "owed_week": week(x.later)})),
        )
        .await?;
    }
    Ok(())
}

pub async fn versions(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM rotation_versions WHERE rotation_id = $1 ORDER BY effective_from"
    ))
    .bind(rotation_id)
    .fetch_all(conn)
    .await
}

/// Each of the team's rotations with its newest settings.
pub async fn for_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<(Rotation, Version)>> {
    let rotations: Vec<Rotation> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rotations WHERE team_id = $1 ORDER BY lower(name), slug"
    ))
    .bind(team_id)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rotations.iter().map(|r| r.id).collect();
    let latest: Vec<Version> = sqlx::query_as(&format!(
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
    sqlx::query_as(&format!(
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
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM rotations WHERE id = $1 FOR UPDATE"))
        .bind(rotation_id)
        .fetch_optional(conn)
        .await
}

/// Locks all the team's rotations, in id order.
pub async fn lock_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT id FROM rotations WHERE team_id = $1 ORDER BY id FOR UPDATE")
        .bind(team_id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn rename(conn: &mut PgConnection, rotation_id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE rotations SET name = $2 WHERE id = $1")
        .bind(rotation_id)
        .bind(name)
        .execute(conn)
        .await
        .map(drop)
}

/// The outcome of a settings change.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The first instant whose schedule changed.
    pub effective_from: DateTime<Utc>,
    /// Approved changes that could not be carried into the new weeks.
    pub lapsed: Vec<Change>,
}

/// Applies new settings from the next handoff on; the current week and
/// the past stay as they are. A rotation that has not begun yet starts
/// again from `start_date`. The caller holds the rotation's lock.
pub async fn apply_settings(
    conn: &mut PgConnection,
    rotation: &Rotation,
    new: &Settings,
    start_date: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Applied> {
    let history = versions(conn, rotation.id).await?;
    let begun = history.first().is_some_and(|v| v.effective_from <= now);
    if !begun {
        clear_all(conn, rotation.id).await?;
        sqlx::query("UPDATE rotations SET start_date = $2 WHERE id = $1")
            .bind(rotation.id)
            .bind(start_date)
            .execute(&mut *conn)
            .await?;
        start(conn, rotation, start_date, new, now).await?;
        let first = versions(conn, rotation.id).await?;
        return Ok(Applied {
            effective_from: first[0].effective_from,
            lapsed: Vec::new(),
        });
    }
    let current = history.iter().rev().find(|v| v.effective_from <= now).expect("begun");
    let rule = current.rule();
    let j = rule.week_index_at(now).unwrap_or(0);
    let boundary = rule.boundary(j + 1);
    // The weeks up to the change belong to the current settings: make sure
    // they exist even if the extension job has not run for a while.
    fill_until(conn, current, boundary, now).await?;
    // A change made earlier this week and not yet in force is replaced.
    let offset = match history.iter().find(|v| v.effective_from >= boundary) {
        Some(pending) => pending.rule().carry_over_offset(0, &new.participants),
        None => rule.carry_over_offset(j + 1, &new.participants),
    };
    clear_from(conn, rotation.id, boundary).await?;
    let next = Rule::successor(
        new.tz,
        new.weekday,
        new.time,
        boundary,
        new.participants.clone(),
        offset,
    );
    let version = insert_version(conn, rotation.id, &next, new).await?;
    materialise(conn, &version, 0, now + HORIZON, now).await?;
    let lapsed = carry_changes(conn, rotation, boundary, now).await?;
    Ok(Applied {
        effective_from: boundary,
        lapsed,
    })
}

async fn clear_all(conn: &mut PgConnection, rotation_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM shifts WHERE rotation_id = $1")
        .bind(rotation_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM rotation_versions WHERE rotation_id = $1")
        .bind(rotation_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes the version's missing weeks that start before `until`.
async fn fill_until(
    conn: &mut PgConnection,
    version: &Version,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let last: Option<i32> = sqlx::query_scalar("SELECT max(week_index) FROM shifts WHERE version_id = $1")
        .bind(version.id)
        .fetch_one(&mut *conn)
        .await?;
    let from = last.map_or(0, |i| i64::from(i) + 1);
    materialise(conn, version, from, until, now).await
}

async fn clear_from(conn: &mut PgConnection, rotation_id: i64, from: DateTime<Utc>) -> sqlx::Result<()> {
    db::changes::forget_owed_from(conn, rotation_id, from).await?;
    sqlx::query("DELETE FROM shifts WHERE rotation_id = $1 AND starts_at >= $2")
        .bind(rotation_id)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM rotation_versions WHERE rotation_id = $1 AND effective_from >= $2")
        .bind(rotation_id)
        .bind(from)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lays the approved changes that reach past `from` over the regenerated
/// weeks, a request's changes together, oldest first. One that no longer
/// fits (its person left the team, or would hold both roles) lapses.
async fn carry_changes(
    conn: &mut PgConnection,
    rotation: &Rotation,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Change>> {
    let changes = db::changes::in_force_after(conn, rotation.id, from).await?;
    let members: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM memberships WHERE team_id = $1")
        .bind(rotation.team_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut groups: Vec<Vec<Change>> = Vec::new();
    for mut c in changes {
        c.starts_at = c.starts_at.max(from);
        match groups.last_mut() {
            Some(g) if c.request_id.is_some() && g[0].request_id == c.request_id => g.push(c),
            _ => groups.push(vec![c]),
        }
    }
    let mut lapsed = Vec::new();
    for group in groups {
        let fits = group.iter().all(|c| members.contains(&c.user_id)) && {
            let mut attempt = conn.begin().await?;
            match db::changes::lay(&mut attempt, &group).await {
                Ok(Ok(())) => {
                    attempt.commit().await?;
                    true
                }
                Ok(Err(_)) => false,
                Err(e) if crate::error::violated_constraint(&e).is_some() => false,
                Err(e) => return Err(e),
            }
        };
        if !fits {
            for c in &group {
                db::changes::lapse(conn, c.id, now).await?;
            }
            lapsed.extend(group);
        }
    }
    Ok(lapsed)
}

/// Generates the rotation's missing weeks up to the horizon. Idempotent.
pub async fn extend(conn: &mut PgConnection, rotation_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    if lock(conn, rotation_id).await?.is_none() {
        return Ok(0);
    }
    let latest: Option<Version> = sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM rotation_versions WHERE rotation_id = $1
         ORDER BY effective_from DESC LIMIT 1"
    ))
    .bind(rotation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(latest) = latest else { return Ok(0) };
    fill_until(conn, &latest, now + HORIZON, now).await
}

pub async fn all_ids(conn: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM rotations ORDER BY id")
        .fetch_all(conn)
        .await
}

/// (team id, rotation id, name) of every rotation of these teams, by name.
pub async fn names_in(conn: &mut PgConnection, team_ids: &[i64]) -> sqlx::Result<Vec<(i64, i64, String)>> {
    sqlx::query_as("SELECT team_id, id, name FROM rotations WHERE team_id = ANY($1) ORDER BY lower(name), slug")
        .bind(team_ids)
        .fetch_all(conn)
        .await
}
