//! Recording pages (from webhooks, the API or by hand), correcting them,
//! and keeping recovery days in step.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::PgConnection;

use crate::db;
use crate::db::pages::{Page, Report, Upserted};
use crate::db::teams::TeamRole;
use crate::domain::recovery::{Policy, could_grant};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::ops::recovery::rederive;

/// Who holds a role at an instant, with the role's SLA.
/// The rotation a report without one belongs to: the team's only rotation.
pub async fn default_rotation(conn: &mut PgConnection, team_id: i64, team_name: &str) -> AppResult<Option<i64>> {
    let rotations = db::rotations::for_team(conn, team_id).await?;
    only_rotation(team_name, &rotations)
}

/// The only rotation of a team's list, none if it has none; 422 naming
/// the choice when it has several.
pub fn only_rotation(
    team_name: &str,
    rotations: &[(db::rotations::Rotation, db::rotations::Version)],
) -> AppResult<Option<i64>> {
    match rotations {
        [] => Ok(None),
        [(r, _)] => Ok(Some(r.id)),
        many => Err(AppError::Unprocessable(format!(
            "{team_name} has several rotations ({}); name one with \"rotation\", or use an integration token bound to one",
            many.iter().map(|(r, _)| r.slug.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Most alerts one request may carry.
pub const MAX_REPORTS: usize = 500;

/// The tables recording pages ([`record`], [`record_many`]) writes: the
/// pages and the recovery days derived from them. The caches reading them
/// are cleared after a recording request; the rest are kept.
pub const WRITES: &[&str] = &["pages", "recovery_days"];
/// How far ahead of our clock a reported time may be (senders' clocks drift).
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// The longest work one page may claim by hand.
const MAX_WORKED: Duration = Duration::hours(24);

/// Records a report and brings the responder's recovery days up to date.
/// `responder` names who acted, when the report says so; otherwise the
/// rotation's primary at the firing is the responder. `None` when the
/// report repeats a page someone deleted.
pub async fn record(
    conn: &mut PgConnection,
    report: &Report,
    responder: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let ids = record_many(conn, vec![report.clone()], responder, now).await?;
    Ok(ids.into_iter().next().flatten())
}

/// Records several reports (one webhook body): every page first, in key
/// order, then each responder's recovery days once, in id order, so two
/// bodies naming the same pages and people queue rather than deadlock.
pub async fn record_many(
    conn: &mut PgConnection,
    reports: Vec<Report>,
    responder: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Option<i64>>> {
    if reports.len() > MAX_REPORTS {
        return Err(AppError::Unprocessable(format!(
            "That body carries {} alerts; send at most {MAX_REPORTS} at once",
            reports.len()
        )));
    }
    let mut reports: Vec<(usize, Report)> = reports.into_iter().map(clean).enumerate().collect();
    for (_, r) in &reports {
        check_times(r.fired_at, r.acknowledged_at, r.resolved_at, r.worked_until, now)?;
    }
    reports.sort_by(|a, b| (&a.1.source, &a.1.dedup_key).cmp(&(&b.1.source, &b.1.dedup_key)));
    let mut ids = vec![None; reports.len()];
    let mut touched: Vec<(Page, Option<i64>)> = Vec::new();
    for (i, report) in &reports {
        let id = match db::pages::upsert(conn, report).await? {
            Upserted::Deleted => continue,
            Upserted::Same(id) if responder.is_none() => {
                // A retry of what is known changes nothing downstream either.
                ids[*i] = Some(id);
                continue;
            }
            Upserted::Same(id) | Upserted::Changed(id) => id,
        };
        ids[*i] = Some(id);
        // The upsert holds the page's row lock until the transaction ends.
        let page = db::pages::by_id(conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("page"))?;
        touched.push(assign_responder(conn, page, responder).await?);
    }
    refresh_recovery(conn, &touched, now).await?;
    Ok(ids)
}

/// Sets the page's responder: the one named, or else (unless one was named
/// before) the rotation's primary when it fired. Returns the page as it
/// now stands and the responder it had before, if that changed.
async fn assign_responder(
    conn: &mut PgConnection,
    mut page: Page,
    named: Option<i64>,
) -> AppResult<(Page, Option<i64>)> {
    // The responder, and the role they held with its SLA (none when a
    // named responder was not on call).
    let held = |h: db::shifts::Holder| (h.user_id, Some((h.role, h.sla_minutes)));
    let holder = match named {
        Some(user_id) => Some(
            db::shifts::role_at(conn, page.team_id, user_id, page.fired_at)
                .await?
                .map_or((user_id, None), held),
        ),
        None if !page.responder_named => match page.rotation_id {
            Some(r) => db::shifts::primary_at(conn, r, page.fired_at).await?.map(held),
            None => None,
        },
        None => return Ok((page, None)),
    };
    let previous = page.responder_id.filter(|p| Some(*p) != holder.as_ref().map(|h| h.0));
    let (id, role, sla) = match holder {
        Some((user_id, on_call)) => (
            Some(user_id),
            on_call.map(|(role, _)| role),
            on_call.map(|(_, sla)| sla),
        ),
        None => (None, None, None),
    };
    if (id, &role) != (page.responder_id, &page.responder_role) || named.is_some() != page.responder_named {
        db::pages::set_responder(conn, page.id, id, role, sla, named.is_some()).await?;
    }
    page.responder_id = id;
    page.responder_role = role;
    page.sla_minutes = sla;
    page.responder_named = named.is_some();
    Ok((page, previous))
}

/// Text fit to store: no NUL (Postgres refuses it) and one line (other
/// control characters become spaces: the text goes into e-mail subjects and
/// chat posts), lengths capped. A key too long to index is replaced by its
/// hash, still unique. Alerts are tidied rather than refused: a page lost
/// to a stray byte would be worse.
fn clean(mut r: Report) -> Report {
    fn tidy(s: &str, max: usize) -> String {
        s.chars()
            .filter(|c| *c != '\0')
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(max)
            .collect()
    }
    let key = r.dedup_key.replace('\0', "");
    r.dedup_key = if key.len() > 200 {
        format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()))
        )
    } else {
        key
    };
    r.summary = tidy(&r.summary, 500);
    r.source = tidy(&r.source, 40);
    r.link = r.link.map(|l| tidy(&l, 2000));
    r.severity = r.severity.map(|s| tidy(&s, 40));
    r
}

/// Re-derives the recovery days of everyone the pages concern (their
/// responders before and after), once each and in id order, over the dates
/// the pages touch.
async fn refresh_recovery(conn: &mut PgConnection, pages: &[(Page, Option<i64>)], now: DateTime<Utc>) -> AppResult<()> {
    let mut windows: BTreeMap<i64, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let mut zones: HashMap<i64, Tz> = HashMap::new();
    let mut rules: HashMap<i64, (Policy, BTreeSet<NaiveDate>)> = HashMap::new();
    for (page, previous) in pages {
        let (start, end) = page.engagement();
        let span = (start.min(page.fired_at), end);
        for person in [page.responder_id, *previous].into_iter().flatten() {
            // Work within one working day's waking hours changes no grant:
            // skip the derivation (and its per-person lock).
            if let Entry::Vacant(slot) = zones.entry(person) {
                let zone = db::users::timezone(conn, person).await?;
                slot.insert(zone.and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC));
            }
            if let Entry::Vacant(slot) = rules.entry(page.team_id) {
                slot.insert(db::holidays::rules(conn, page.team_id).await?);
            }
            let (policy, holidays) = &rules[&page.team_id];
            if !could_grant(start, end, zones[&person], policy, holidays) {
                continue;
            }
            let w = windows.entry(person).or_insert(span);
            *w = (w.0.min(span.0), w.1.max(span.1));
        }
    }
    for (person, (start, end)) in windows {
        let from = (start - Duration::days(1)).date_naive();
        let to = (end + Duration::days(2)).date_naive();
        rederive(conn, person, from, to, now).await?;
    }
    Ok(())
}

fn check_times(
    fired: DateTime<Utc>,
    acknowledged: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    worked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if chrono::Datelike::year(&fired) < 2000 {
        return Err(AppError::Unprocessable(
            "fired_at is before the year 2000; check the times".into(),
        ));
    }
    for (name, at) in [
        ("fired_at", Some(fired)),
        ("acknowledged_at", acknowledged),
        ("resolved_at", resolved),
        ("worked_until", worked_until),
    ] {
        if at.is_some_and(|at| at < fired) {
            return Err(AppError::Unprocessable(format!(
                "{name} is before fired_at; check the times"
            )));
        }
        if at.is_some_and(|at| at > now + CLOCK_SKEW) {
            return Err(AppError::Unprocessable(format!(
                "{name} is in the future; check the times"
            )));
        }
    }
    if worked_until.is_some_and(|w| w - fired > MAX_WORKED) {
        return Err(AppError::Unprocessable(
            "worked_until is more than 24 hours after the page fired; log a longer incident as several pages".into(),
        ));
    }
    Ok(())
}

/// Corrected times for a page: a field left out keeps its value, `null`
/// clears it.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct Correction {
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub fired_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "validate::de_present_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "validate::de_present_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "validate::de_present_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub worked_until: Option<Option<DateTime<Utc>>>,
}

/// Whether `user_id` may correct or delete the page: its responder, or a
/// manager of its team (admins included).
pub async fn may_change(conn: &mut PgConnection, page: &Page, user_id: i64, is_admin: bool) -> AppResult<bool> {
    if is_admin || page.responder_id == Some(user_id) {
        return Ok(true);
    }
    let role = db::teams::role_of(conn, page.team_id, user_id).await?;
    match role {
        Some(TeamRole::Manager) => Ok(true),
        Some(TeamRole::Member) => Err(AppError::forbidden(
            "Only the responder or a manager of the team can change this page",
        )),
        None => Ok(false),
    }
}

pub async fn correct(
    conn: &mut PgConnection,
    id: i64,
    c: &Correction,
    actor_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Page> {
    let before = db::pages::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    let fired = c.fired_at.unwrap_or(before.fired_at);
    let ack = c.acknowledged_at.unwrap_or(before.acknowledged_at);
    let resolved = c.resolved_at.unwrap_or(before.resolved_at);
    let worked = c.worked_until.unwrap_or(before.worked_until);
    check_times(fired, ack, resolved, worked, now)?;
    db::pages::set_times(conn, id, fired, ack, resolved, worked).await?;
    let after = db::pages::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    // Fired in another week, the schedule may name another responder.
    let (after, replaced) = if fired != before.fired_at && !after.responder_named {
        assign_responder(conn, after, None).await?
    } else {
        (after, None)
    };
    db::audit::record(
        conn,
        after.team_id,
        Some(actor_id),
        now,
        "page.correct",
        Some(times(&before)),
        Some(times(&after)),
    )
    .await?;
    let mut was = before.clone();
    was.responder_id = None;
    refresh_recovery(
        conn,
        &[
            (after.clone(), before.responder_id.or(replaced)),
            (was, before.responder_id),
        ],
        now,
    )
    .await?;
    Ok(after)
}

pub async fn delete(conn: &mut PgConnection, id: i64, actor_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    let before = db::pages::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    db::pages::delete(conn, id).await?;
    db::audit::record(
        conn,
        before.team_id,
        Some(actor_id),
        now,
        "page.delete",
        Some(times(&before)),
        None,
    )
    .await?;
    // Derive as if the page had never been: its responder's window again.
    let mut gone = before.clone();
    gone.responder_id = None;
    refresh_recovery(conn, &[(gone, before.responder_id)], now).await?;
    Ok(())
}

fn times(p: &Page) -> serde_json::Value {
    json!({
        "page": p.id,
        "summary": p.summary,
        "responder": p.responder_email,
        "fired_at": p.fired_at,
        "acknowledged_at": p.acknowledged_at,
        "resolved_at": p.resolved_at,
        "worked_until": p.worked_until,
    })
}
