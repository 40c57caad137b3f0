use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::clock::Clock;
use crate::db;
use crate::db::rotations::{self as store, Rotation, Settings};
use crate::db::teams::Team;
use crate::domain::schedule::{parse_local_time, parse_weekday, weekday_name};
use crate::domain::validate;
use crate::error::{AppError, AppResult, Given};
use crate::ops::schedule::{self, Applied};

pub const DEFAULT_PRIMARY_SLA: i32 = 5;
pub const DEFAULT_SECONDARY_SLA: i32 = 30;

/// Rotation settings as sent by a form or the API; absent fields keep
/// their current (or default) value.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct RotationFields {
    pub name: Option<String>,
    /// IANA zone; defaults to the team's.
    pub timezone: Option<String>,
    /// Lowercase English weekday; default `tuesday`.
    pub handoff_weekday: Option<String>,
    /// Local `HH:MM`; default `10:00`.
    pub handoff_time: Option<String>,
    /// `YYYY-MM-DD` in the rotation's zone; the first week starts at the
    /// first handoff on or after it. May be in the past to record history.
    pub start_date: Option<String>,
    /// E-mails of team members, in rotation order (at least two).
    pub participants: Option<Vec<String>>,
    pub primary_sla_minutes: Option<i32>,
    pub secondary_sla_minutes: Option<i32>,
}

/// `start_date` comes in a body or form: the one date rule, then
/// [`check_start`] on top.
fn parse_date(s: &str) -> AppResult<NaiveDate> {
    Given::Body.date(s)
}

/// The earliest start date: history before it is not worth generating.
const EARLIEST_START: (i32, u32, u32) = (2000, 1, 1);
/// How far ahead a rotation may be planned to start.
const LATEST_START_YEARS: i32 = 2;

/// A start date within reach: not before 2000, at most two years ahead.
fn check_start(date: NaiveDate, now: DateTime<Utc>) -> AppResult<NaiveDate> {
    let (y, m, d) = EARLIEST_START;
    let earliest = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    let today = now.date_naive();
    let latest = today.with_year(today.year() + LATEST_START_YEARS).unwrap_or(today);
    if date < earliest || date > latest {
        return Err(AppError::Unprocessable(format!(
            "start_date {date} is out of range: use a date between {earliest} and {latest}"
        )));
    }
    Ok(date)
}

/// Applies `fields` over `base`, checking each.
async fn resolve(conn: &mut PgConnection, team: &Team, base: Settings, fields: &RotationFields) -> AppResult<Settings> {
    let mut s = base;
    if let Some(z) = &fields.timezone {
        s.tz = validate::time_zone(z)?;
    }
    if let Some(d) = &fields.handoff_weekday {
        s.weekday = parse_weekday(d.trim()).ok_or_else(|| {
            AppError::Unprocessable(format!(
                "handoff_weekday \"{d}\" is not a weekday; use monday, tuesday, … sunday"
            ))
        })?;
    }
    if let Some(t) = &fields.handoff_time {
        s.time = parse_local_time(t.trim()).ok_or_else(|| {
            AppError::Unprocessable(format!(
                "handoff_time \"{t}\" is not a time of day; use HH:MM between 00:00 and 23:59"
            ))
        })?;
    }
    if let Some(m) = fields.primary_sla_minutes {
        s.primary_sla_minutes = validate::sla_minutes("primary", m)?;
    }
    if let Some(m) = fields.secondary_sla_minutes {
        s.secondary_sla_minutes = validate::sla_minutes("secondary", m)?;
    }
    if let Some(emails) = &fields.participants {
        s.participants = participant_ids(conn, team, emails).await?;
    }
    if s.participants.len() < 2 {
        return Err(AppError::Unprocessable(format!(
            "A rotation needs at least two participants (it has {}); add another team member",
            s.participants.len()
        )));
    }
    Ok(s)
}

/// Team members' ids in the given order, in one query.
async fn participant_ids(conn: &mut PgConnection, team: &Team, emails: &[String]) -> AppResult<Vec<i64>> {
    let wanted: Vec<String> = emails
        .iter()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    let found = db::teams::members_by_email(conn, team.id, &wanted).await?;
    let mut ids = Vec::with_capacity(wanted.len());
    for email in &wanted {
        let id = found
            .iter()
            .find(|(_, e)| e == email)
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                AppError::Unprocessable(format!(
                    "{email} is not a member of {}; add them to the team first",
                    team.name
                ))
            })?;
        if ids.contains(&id) {
            return Err(AppError::Unprocessable(format!(
                "{email} is listed twice; list each person once"
            )));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn defaults(team: &Team) -> Settings {
    Settings {
        tz: team.tz(),
        weekday: Weekday::Tue,
        time: NaiveTime::from_hms_opt(10, 0, 0).expect("10:00"),
        participants: Vec::new(),
        primary_sla_minutes: DEFAULT_PRIMARY_SLA,
        secondary_sla_minutes: DEFAULT_SECONDARY_SLA,
    }
}

pub async fn create_rotation(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    slug: &str,
    fields: &RotationFields,
    now: DateTime<Utc>,
) -> AppResult<Rotation> {
    let slug = validate::slug(slug.trim())?;
    let name = validate::name(fields.name.as_deref().unwrap_or(&slug))?;
    let start = fields
        .start_date
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| {
            AppError::Unprocessable("start_date is required: the date of the first handoff (YYYY-MM-DD)".into())
        })
        .and_then(parse_date)
        .and_then(|d| check_start(d, now))?;
    let settings = resolve(conn, team, defaults(team), fields).await?;
    let rotation = schedule::create(conn, team.id, &slug, &name, start, &settings, now)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "{} already has a rotation called \"{slug}\"; pick another short name",
                team.name
            ))
        })?;
    let after = describe(conn, &settings, Some(start)).await?;
    db::audit::record(
        conn,
        team.id,
        Some(actor_id),
        now,
        "rotation.create",
        None,
        Some(json!({"rotation": slug, "settings": after})),
    )
    .await?;
    Ok(rotation)
}

/// Changes a rotation's name or settings; the schedule changes from the
/// next handoff on.
pub async fn update_rotation(
    conn: &mut PgConnection,
    team: &Team,
    rotation_slug: &str,
    actor_id: i64,
    fields: &RotationFields,
    clock: &Clock,
) -> AppResult<Option<Applied>> {
    let rotation = store::by_slug(conn, team.id, rotation_slug)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let rotation = store::lock(conn, rotation.id)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    // Read the time only once the lock is held: waiting for it may have
    // taken us past a handoff.
    let now = clock.now();
    if let Some(name) = &fields.name {
        let name = validate::name(name)?;
        if name != rotation.name {
            store::rename(conn, rotation.id, &name).await?;
        }
    }
    let versions = store::versions(conn, rotation.id).await?;
    let latest = versions
        .last()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("rotation without settings")))?;
    let base = Settings::of(latest);
    let new = resolve(conn, team, base.clone(), fields).await?;
    let begun = versions.first().is_some_and(|v| v.effective_from <= now);
    let start = match fields.start_date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => check_start(parse_date(d)?, now)?,
        None => rotation.start_date,
    };
    if begun && start != rotation.start_date {
        return Err(AppError::Conflict(
            "This rotation has already started, so its start date is history; change the handoff day or time instead"
                .into(),
        ));
    }
    let same = same_settings(&new, &base) && start == rotation.start_date;
    if same {
        return Ok(None);
    }
    let applied = apply_and_audit(conn, team, &rotation, actor_id, now, (&base, &new), start).await?;
    Ok(Some(applied))
}

/// Changes one rotation's settings by `edit` (used when a member leaves).
pub async fn change_settings(
    conn: &mut PgConnection,
    team: &Team,
    rotation: &Rotation,
    actor_id: i64,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut Settings),
) -> AppResult<Applied> {
    let rotation = store::lock(conn, rotation.id)
        .await?
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let versions = store::versions(conn, rotation.id).await?;
    let latest = versions
        .last()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("rotation without settings")))?;
    let before = Settings::of(latest);
    let mut after = before.clone();
    edit(&mut after);
    let start = rotation.start_date;
    let applied = apply_and_audit(conn, team, &rotation, actor_id, now, (&before, &after), start).await?;
    Ok(applied)
}

/// Applies `after` and records the change with what it replaced.
async fn apply_and_audit(
    conn: &mut PgConnection,
    team: &Team,
    rotation: &Rotation,
    actor_id: i64,
    now: DateTime<Utc>,
    (before, after): (&Settings, &Settings),
    start: NaiveDate,
) -> AppResult<Applied> {
    let old = describe(conn, before, Some(rotation.start_date)).await?;
    let applied = schedule::apply_settings(conn, rotation, after, start, now).await?;
    let new = describe(conn, after, Some(start)).await?;
    db::audit::record(
        conn,
        team.id,
        Some(actor_id),
        now,
        "rotation.update",
        Some(json!({"rotation": rotation.slug, "settings": old})),
        Some(json!({"rotation": rotation.slug, "settings": new, "effective_from": applied.effective_from})),
    )
    .await?;
    Ok(applied)
}

fn same_settings(a: &Settings, b: &Settings) -> bool {
    a.tz == b.tz
        && a.weekday == b.weekday
        && a.time == b.time
        && a.participants == b.participants
        && a.primary_sla_minutes == b.primary_sla_minutes
        && a.secondary_sla_minutes == b.secondary_sla_minutes
}

async fn describe(conn: &mut PgConnection, s: &Settings, start: Option<NaiveDate>) -> AppResult<Value> {
    let emails = emails_in_order(conn, &s.participants).await?;
    Ok(json!({
        "timezone": s.tz.name(),
        "handoff_weekday": weekday_name(s.weekday),
        "handoff_time": s.time.format("%H:%M").to_string(),
        "participants": emails,
        "primary_sla_minutes": s.primary_sla_minutes,
        "secondary_sla_minutes": s.secondary_sla_minutes,
        "start_date": start,
    }))
}

pub async fn emails_in_order(conn: &mut PgConnection, ids: &[i64]) -> AppResult<Vec<String>> {
    let people = db::users::by_ids(conn, ids).await?;
    Ok(ids
        .iter()
        .filter_map(|id| people.iter().find(|u| u.id == *id).map(|u| u.email.clone()))
        .collect())
}
