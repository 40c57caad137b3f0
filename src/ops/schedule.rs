//! The schedule engine: generating a rotation's weeks from its settings,
//! working around leave, applying new settings from the next handoff, and
//! carrying approved changes over regenerated weeks. The rules are pure
//! (`domain::schedule`, `domain::schedule::leave`, `domain::swap::overlay`);
//! this module reads what they need, runs them, and writes the result
//! through `db`. The caller holds the rotation's lock (`db::rotations::lock`).
//!
//! "Who is on call" is what this engine wrote to `shifts`, with changes laid
//! over it by [`lay`]; "why did my week move" is answered by the audit
//! entries it records (`leave.reassign`) and by the changes it lapses.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::db;
use crate::db::changes::{Change, NewChange};
use crate::db::rotations::{HORIZON, Rotation, Settings, Version};
use crate::domain::role::Role;
use crate::domain::schedule::leave::{Owed, avoid_leave};
use crate::domain::schedule::{Cycle, Rule, Week};
use crate::domain::swap::{ChangeKind, NotScheduled, Piece, overlay};

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
    create_following(conn, team_id, slug, name, start_date, settings, None, now).await
}

/// Like [`create`]; with a `cycle`, the weeks carry on another tool's
/// (an import) rather than starting with the first participant.
#[allow(clippy::too_many_arguments)]
pub async fn create_following(
    conn: &mut PgConnection,
    team_id: i64,
    slug: &str,
    name: &str,
    start_date: NaiveDate,
    settings: &Settings,
    cycle: Option<Cycle>,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Rotation>> {
    let Some(rotation) = db::rotations::insert(conn, team_id, slug, name, start_date, now).await? else {
        return Ok(None);
    };
    start(conn, &rotation, start_date, settings, cycle, now).await?;
    Ok(Some(rotation))
}

async fn start(
    conn: &mut PgConnection,
    rotation: &Rotation,
    start_date: NaiveDate,
    s: &Settings,
    cycle: Option<Cycle>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut rule = Rule::initial(s.tz, s.weekday, s.time, start_date, s.participants.clone());
    if let Some(cycle) = cycle {
        rule = rule.following(cycle);
    }
    let version = db::rotations::insert_version(conn, rotation.id, &rule, s).await?;
    materialise(conn, &version, 0, now + HORIZON, now).await?;
    Ok(())
}

/// Writes the version's weeks from `from_index` that start before `until`,
/// with nobody assigned during their leave where someone else can take the
/// week (see `domain::schedule::leave::avoid_leave`).
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
    db::rotations::insert_weeks(conn, version, &weeks).await
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
                primary: c.role == Role::Primary,
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
        let change = NewChange {
            rotation_id: version.rotation_id,
            role: if d.primary { Role::Primary } else { Role::Secondary },
            user_id: d.user,
            starts_at: rule.boundary(d.index),
            ends_at: rule.boundary(d.index + 1),
            kind: ChangeKind::Leave,
            request_id: None,
            reason: "a week owed after leave",
            created_by: None,
        };
        db::changes::insert(conn, &change, now).await?;
    }
    if exchanges.is_empty() {
        return Ok(());
    }
    let team_id = db::rotations::team_of(conn, version.rotation_id).await?;
    let people = db::users::by_ids(conn, &rule.participants).await?;
    let email = |id: i64| people.iter().find(|u| u.id == id).map(|u| u.email.clone());
    for x in exchanges {
        let role = if x.primary { Role::Primary } else { Role::Secondary };
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
    apply_settings_following(conn, rotation, new, start_date, None, now).await
}

/// Like [`apply_settings`]; with a `cycle`, the new weeks follow another
/// tool's (an import merged into the rotation) rather than carrying the
/// rotation on.
pub async fn apply_settings_following(
    conn: &mut PgConnection,
    rotation: &Rotation,
    new: &Settings,
    start_date: NaiveDate,
    cycle: Option<Cycle>,
    now: DateTime<Utc>,
) -> sqlx::Result<Applied> {
    let history = db::rotations::versions(conn, rotation.id).await?;
    let begun = history.first().is_some_and(|v| v.effective_from <= now);
    if !begun {
        db::rotations::clear_all(conn, rotation.id).await?;
        db::rotations::set_start_date(conn, rotation.id, start_date).await?;
        start(conn, rotation, start_date, new, cycle, now).await?;
        let first = db::rotations::versions(conn, rotation.id).await?;
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
    db::changes::forget_owed_from(conn, rotation.id, boundary).await?;
    db::rotations::clear_from(conn, rotation.id, boundary).await?;
    let mut next = Rule::successor(
        new.tz,
        new.weekday,
        new.time,
        boundary,
        new.participants.clone(),
        offset,
    );
    if let Some(cycle) = cycle {
        next = next.following(cycle);
    }
    let version = db::rotations::insert_version(conn, rotation.id, &next, new).await?;
    materialise(conn, &version, 0, now + HORIZON, now).await?;
    let lapsed = carry_changes(conn, rotation, boundary, now).await?;
    Ok(Applied {
        effective_from: boundary,
        lapsed,
    })
}

/// Writes the version's missing weeks that start before `until`.
async fn fill_until(
    conn: &mut PgConnection,
    version: &Version,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let last = db::rotations::last_week_index(conn, version.id).await?;
    let from = last.map_or(0, |i| i64::from(i) + 1);
    materialise(conn, version, from, until, now).await
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
    let members = db::teams::member_ids(conn, rotation.team_id).await?;
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
            match lay(&mut attempt, &group).await {
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
    if db::rotations::lock(conn, rotation_id).await?.is_none() {
        return Ok(0);
    }
    let Some(latest) = db::rotations::latest_version(conn, rotation_id).await? else {
        return Ok(0);
    };
    fill_until(conn, &latest, now + HORIZON, now).await
}

/// Rewrites the shift rows so the changes hold (see `domain::swap::overlay`),
/// in one delete and one insert. The caller holds the rotation's lock.
/// Several changes of one request are laid in one call, so a swap within
/// one week never passes through a state where someone holds both roles.
pub async fn lay(conn: &mut PgConnection, changes: &[Change]) -> sqlx::Result<Result<(), NotScheduled>> {
    let Some(rotation_id) = changes.first().map(|c| c.rotation_id) else {
        return Ok(Ok(()));
    };
    let mut old: Vec<i64> = Vec::new();
    let mut new: Vec<(Role, Piece)> = Vec::new();
    for c in changes {
        let rows = db::changes::pieces(conn, c.rotation_id, c.role, c.starts_at, c.ends_at).await?;
        let pieces: Vec<Piece> = rows.iter().map(|(_, p)| p.clone()).collect();
        let laid = match overlay(&pieces, c.user_id, c.starts_at, c.ends_at, c.id) {
            Ok(laid) => laid,
            Err(e) => return Ok(Err(e)),
        };
        old.extend(rows.iter().map(|(id, _)| *id));
        new.extend(laid.into_iter().map(|p| (c.role, p)));
    }
    db::changes::replace_shifts(conn, rotation_id, &old, &new).await?;
    Ok(Ok(()))
}
