//! Recovery days derived from pages, idempotently: whatever happened before,
//! after `rederive` a person's grants in the window are what their pages
//! say they should be. It reads, runs the pure `domain::recovery::reconcile`,
//! and writes the steps it returns.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::db;
use crate::db::recovery_dirty::Due;
use crate::domain::recovery::reconcile::{Facts, Grant, Step, reconcile};
use crate::domain::recovery::{Policy, could_grant};
use crate::domain::recovery::{Trigger, triggers};
use crate::domain::schedule::local_to_instant;
use crate::error::{AppError, AppResult};
use crate::ops::notify;

/// From acknowledgement (or firing) to the end of the work.
type Engagement = (DateTime<Utc>, DateTime<Utc>);

/// Grants a withdrawn page leaves behind once its day has passed.
pub const FLAGGED: &str = "flagged";

/// Re-derives the recovery days the pages behind `due` may change: once per
/// person, in id order (so two callers naming the same people queue rather
/// than deadlock), over the hull of the dates their pages touch.
pub async fn derive_due(conn: &mut PgConnection, due: &[Due], now: DateTime<Utc>) -> AppResult<()> {
    let mut windows: BTreeMap<i64, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let mut zones: HashMap<i64, Tz> = HashMap::new();
    let mut rules: HashMap<i64, Option<(Policy, BTreeSet<NaiveDate>)>> = HashMap::new();
    for d in due {
        let (start, end) = (d.engaged_from, d.engaged_until);
        let span = (start.min(d.fired_at), end);
        // Work within one working day's waking hours changes no grant:
        // skip the derivation (and its per-person lock).
        if let Entry::Vacant(slot) = zones.entry(d.user_id) {
            let zone = db::users::timezone(conn, d.user_id).await?;
            slot.insert(zone.and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC));
        }
        if let Entry::Vacant(slot) = rules.entry(d.team_id) {
            // A queued page's team may have been deleted since: nothing to derive.
            slot.insert(match db::holidays::rules(conn, d.team_id).await {
                Ok(r) => Some(r),
                Err(sqlx::Error::RowNotFound) => None,
                Err(e) => return Err(e.into()),
            });
        }
        let Some((policy, holidays)) = &rules[&d.team_id] else {
            continue;
        };
        if !could_grant(start, end, zones[&d.user_id], policy, holidays) {
            continue;
        }
        let w = windows.entry(d.user_id).or_insert(span);
        *w = (w.0.min(span.0), w.1.max(span.1));
    }
    for (person, (start, end)) in windows {
        let from = (start - Duration::days(1)).date_naive();
        let to = (end + Duration::days(2)).date_naive();
        rederive(conn, person, from, to, now).await?;
    }
    Ok(())
}

/// Re-derives `user_id`'s recovery days for triggers dated `[from, to]`.
pub async fn rederive(
    conn: &mut PgConnection,
    user_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // One derivation per person at a time: concurrent pages queue here.
    let Some(tz) = db::users::lock_for_recovery(conn, user_id).await? else {
        return Ok(());
    };
    let tz: Tz = tz.parse().unwrap_or(Tz::UTC);
    let today = now.with_timezone(&tz).date_naive();
    let midnight = |d: NaiveDate| local_to_instant(tz, d, NaiveTime::MIN);
    // Pages that fired a couple of days either side can still reach in.
    let pages = db::pages::for_responder(
        conn,
        user_id,
        midnight(from - Duration::days(3)),
        midnight(to + Duration::days(3)),
    )
    .await?;

    let mut by_team: BTreeMap<i64, Vec<Engagement>> = BTreeMap::new();
    for p in &pages {
        by_team.entry(p.team_id).or_default().push(p.engagement());
    }
    let mut holidays_of: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    let mut wanted: BTreeMap<Trigger, i64> = BTreeMap::new();
    for (team_id, engagements) in &by_team {
        let (policy, holidays) = db::holidays::rules(conn, *team_id).await?;
        for t in triggers(engagements, tz, &policy, &holidays) {
            if (from..=to).contains(&t.date()) {
                wanted.entry(t).or_insert(*team_id);
            }
        }
        holidays_of.insert(*team_id, holidays);
    }
    let stored = db::recovery::for_user_triggers(conn, user_id, from, to).await?;
    let grants: Vec<Grant> = stored
        .iter()
        .map(|g| Grant {
            id: g.id,
            team_id: g.team_id,
            trigger: Trigger::parse(&g.trigger_kind, g.trigger_date),
            day: g.day,
            flagged: g.state == FLAGGED,
        })
        .collect();
    let other_days = db::recovery::granted_days_from(conn, user_id, today.min(from))
        .await?
        .into_iter()
        .filter(|(id, _)| !grants.iter().any(|g| g.id == *id))
        .map(|(_, day)| day)
        .collect();
    let facts = Facts {
        today,
        wanted,
        holidays: holidays_of,
        grants,
        other_days,
    };
    for step in reconcile(&facts) {
        match step {
            Step::Move { id, day } => db::recovery::set_day(conn, id, day).await?,
            Step::Restore { id } => db::recovery::set_state(conn, id, "granted").await?,
            Step::Withdraw { id } => db::recovery::delete(conn, id).await?,
            Step::Flag { id } => db::recovery::set_state(conn, id, FLAGGED).await?,
            Step::Add { team_id, trigger, day } => {
                db::recovery::insert(
                    conn,
                    team_id,
                    user_id,
                    trigger.kind(),
                    trigger.date(),
                    day,
                    &reason(trigger),
                )
                .await?
            }
        }
    }
    Ok(())
}

fn reason(t: Trigger) -> String {
    match t {
        Trigger::Night(d) => format!("Woken by a page in the night before {}", notify::day(d)),
        Trigger::Day(d) => format!(
            "Paged for an hour or more on {}, a weekend day or holiday",
            notify::day(d)
        ),
    }
}

/// Adds and removes team holidays, then re-derives the recovery days of the
/// team's members around them. False when there was nothing to remove.
pub async fn apply_holidays(
    conn: &mut PgConnection,
    team: &crate::db::teams::Team,
    actor_id: i64,
    add: &[(NaiveDate, String)],
    remove: &[NaiveDate],
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let mut changed = false;
    for (date, name) in add {
        db::holidays::put(conn, team.id, *date, name).await?;
        changed = true;
    }
    for date in remove {
        changed |= db::holidays::delete(conn, team.id, *date).await?;
    }
    if !changed {
        return Ok(false);
    }
    let dates: Vec<NaiveDate> = add.iter().map(|(d, _)| *d).chain(remove.iter().copied()).collect();
    let (first, last) = (dates.iter().min().copied(), dates.iter().max().copied());
    if let (Some(first), Some(last)) = (first, last) {
        let members = db::teams::members(conn, team.id).await?;
        for m in members {
            rederive(conn, m.user_id, first - Duration::days(14), last, now).await?;
        }
        db::audit::record(
            conn,
            team.id,
            Some(actor_id),
            now,
            "holidays.change",
            None,
            Some(serde_json::json!({
                "added": add.iter().map(|(d, n)| serde_json::json!({"date": d, "name": n})).collect::<Vec<_>>(),
                "removed": remove,
            })),
        )
        .await?;
    }
    Ok(true)
}

pub const FORMS: [&str; 3] = ["day_off", "home", "late_start"];

/// The person's choice for their own recovery day; nobody else's.
pub async fn choose(
    conn: &mut PgConnection,
    id: i64,
    caller: &crate::db::users::User,
    form: Option<&str>,
    worked_anyway: Option<bool>,
) -> AppResult<db::recovery::RecoveryDay> {
    let day = db::recovery::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such recovery day".into()))?;
    if day.user_id != caller.id {
        let same_team = db::teams::role_of(conn, day.team_id, caller.id).await?.is_some();
        return Err(if same_team || caller.is_admin {
            AppError::forbidden("Only the person it was granted to chooses how to take a recovery day")
        } else {
            AppError::NotFound("No such recovery day".into())
        });
    }
    // Derivation of this person's days runs under this lock too.
    db::users::lock_for_recovery(conn, caller.id).await?;
    let day = db::recovery::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("That recovery day was withdrawn: its page was corrected".into()))?;
    let form = match form {
        Some(f) if FORMS.contains(&f) => f.to_owned(),
        Some(f) => {
            return Err(AppError::Unprocessable(format!(
                "\"{f}\" is not a form of recovery day; use day_off, home or late_start"
            )));
        }
        None => day.form.clone(),
    };
    db::recovery::set_choice(conn, id, &form, worked_anyway.unwrap_or(day.worked_anyway)).await?;
    db::recovery::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such recovery day".into()))
}

/// Adds every date of an uploaded `.ics` file as a team holiday; returns
/// how many dates it held.
pub async fn import_holidays(
    conn: &mut PgConnection,
    team: &crate::db::teams::Team,
    actor_id: i64,
    ics: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let dates = crate::domain::holidays::parse_ics(ics)?;
    if dates.is_empty() {
        return Err(AppError::Unprocessable(
            "That calendar has no events with dates; nothing was imported".into(),
        ));
    }
    if dates.len() > 1000 {
        return Err(AppError::Unprocessable(
            "That calendar has over 1000 dates; import one year at a time".into(),
        ));
    }
    apply_holidays(conn, team, actor_id, &dates, &[], now).await?;
    Ok(dates.len())
}
