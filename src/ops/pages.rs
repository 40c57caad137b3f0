//! Recording pages (from webhooks, the API or by hand), correcting them,
//! and keeping recovery days in step.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use crate::cache::Caches;
use crate::db;
use crate::db::pages::{Page, Report, Upserted};
use crate::db::recovery_dirty::Due;
use crate::db::teams::TeamRole;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::ops::ingest::{Ingest, Recorded};
use crate::ops::recovery::derive_due;

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

/// The rotation called `slug` in a team's list; 422 naming the team when
/// it has none by that name.
pub fn named_rotation(
    team_name: &str,
    rotations: &[(db::rotations::Rotation, db::rotations::Version)],
    slug: &str,
) -> AppResult<i64> {
    rotations
        .iter()
        .find(|(r, _)| r.slug == slug)
        .map(|(r, _)| r.id)
        .ok_or_else(|| AppError::Unprocessable(format!("{team_name} has no rotation called \"{slug}\"")))
}

/// Most alerts one request may carry.
pub const MAX_REPORTS: usize = 500;

/// The tables recording pages ([`record`], [`record_many`]) writes: the
/// pages and the recovery days derived from them. The caches reading them
/// are cleared after a recording request; the rest are kept.
pub const WRITES: &[&str] = &["pages", "recovery_days"];
/// What recording with [`Derive::Queued`] writes: the pages (and the queue,
/// which no cache reads). The recovery job's changes announce themselves.
pub const QUEUED_WRITES: &[&str] = &["pages"];

/// When the recovery days a recording changes are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// In the recording's transaction: a person logging a page sees its
    /// day at once.
    Now,
    /// By `jobs::recovery` within a second or so, coalesced per person:
    /// what alerting tools send, so a storm neither queues on the
    /// responder's lock nor derives the same days once per page.
    Queued,
}
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
    derive: Derive,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let ids = record_many(conn, vec![report.clone()], responder, derive, now).await?;
    Ok(ids.into_iter().next().flatten())
}

/// Records a tool's report of a page not yet known, with the schedule's
/// primary as responder and its recovery days queued, in the ingest
/// writers' next batch (`ops::ingest`), outside any transaction. `None`,
/// having written nothing, when the key is known (or deleted): then
/// [`record`] merges it in a transaction.
pub async fn record_new(ingest: &Ingest, report: &Report, now: DateTime<Utc>) -> AppResult<Option<Recorded>> {
    let r = clean(report.clone());
    check_times(r.fired_at, r.acknowledged_at, r.resolved_at, r.worked_until, now)?;
    let engaged = db::pages::engagement(r.fired_at, r.acknowledged_at, r.resolved_at, r.worked_until);
    Ok(ingest.record_new(r, engaged, now).await)
}

/// The pages of a body that repeats only what is known (a tool resending
/// firing alerts), read without a transaction or a lock: `None` when any
/// report has something new, and [`record_many`] must write it. Refuses
/// what `record_many` refuses. The same body again, with no page changed
/// since, is answered from memory (`Cache::KnownBodies`).
pub async fn known(
    pool: &PgPool,
    caches: &Caches,
    reports: &[Report],
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<i64>>> {
    check_count(reports.len())?;
    if let Some(ids) = caches.known_body(reports) {
        return Ok(Some(ids.to_vec()));
    }
    let seen = caches.generation();
    let cleaned: Vec<Report> = reports.iter().cloned().map(clean).collect();
    for r in &cleaned {
        check_times(r.fired_at, r.acknowledged_at, r.resolved_at, r.worked_until, now)?;
    }
    let found = db::pages::unchanged(&mut *pool.acquire().await?, &cleaned).await?;
    let mut ids = Vec::with_capacity(found.len());
    for f in found {
        match f {
            None => return Ok(None),
            Some(Upserted::Same(id) | Upserted::Changed(id) | Upserted::New { id, .. }) => ids.push(id),
            // Repeats of pages someone deleted are accepted and left out.
            Some(Upserted::Deleted) => {}
        }
    }
    // Times only move on: what was in range stays in range.
    caches.put_known_body(seen, reports.to_vec(), Arc::new(ids.clone()));
    Ok(Some(ids))
}

fn check_count(n: usize) -> AppResult<()> {
    if n > MAX_REPORTS {
        return Err(AppError::Unprocessable(format!(
            "That body carries {n} alerts; send at most {MAX_REPORTS} at once"
        )));
    }
    Ok(())
}

/// Records several reports (one webhook body): every page first, in key
/// order, then each responder's recovery days once, in id order, so two
/// bodies naming the same pages and people queue rather than deadlock.
pub async fn record_many(
    conn: &mut PgConnection,
    reports: Vec<Report>,
    responder: Option<i64>,
    derive: Derive,
    now: DateTime<Utc>,
) -> AppResult<Vec<Option<i64>>> {
    check_count(reports.len())?;
    let mut reports: Vec<(usize, Report)> = reports.into_iter().map(clean).enumerate().collect();
    for (_, r) in &reports {
        check_times(r.fired_at, r.acknowledged_at, r.resolved_at, r.worked_until, now)?;
    }
    reports.sort_by(|a, b| (&a.1.source, &a.1.dedup_key).cmp(&(&b.1.source, &b.1.dedup_key)));
    let mut ids = vec![None; reports.len()];
    let mut due = Vec::new();
    let mut paging = Vec::new();
    for (i, report) in &reports {
        let upserted = db::pages::upsert(conn, report, responder.is_none()).await?;
        if let Upserted::New { id, .. } = upserted
            && report.page
            && report.acknowledged_at.is_none()
            && report.resolved_at.is_none()
        {
            paging.push(id);
        }
        let id = match upserted {
            Upserted::Deleted => continue,
            Upserted::Same(id) if responder.is_none() => {
                // A retry of what is known changes nothing downstream either.
                ids[*i] = Some(id);
                continue;
            }
            Upserted::New { id, responder_id } if responder.is_none() => {
                // The insert named the schedule's primary: the page is as reported.
                ids[*i] = Some(id);
                let (engaged_from, engaged_until) = db::pages::engagement(
                    report.fired_at,
                    report.acknowledged_at,
                    report.resolved_at,
                    report.worked_until,
                );
                due.extend(responder_id.map(|user_id| Due {
                    user_id,
                    team_id: report.team_id,
                    fired_at: report.fired_at,
                    engaged_from,
                    engaged_until,
                }));
                continue;
            }
            Upserted::Same(id) | Upserted::Changed(id) | Upserted::New { id, .. } => id,
        };
        ids[*i] = Some(id);
        // The upsert holds the page's row lock until the transaction ends.
        let page = db::pages::by_id(conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("page"))?;
        due.extend(self::due(&[assign_responder(conn, page, responder).await?]));
    }
    match derive {
        Derive::Now => derive_due(conn, &due, now).await?,
        Derive::Queued => db::recovery_dirty::mark(conn, &due).await?,
    }
    db::paging::start(conn, &paging, now).await?;
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

/// What the pages ask of the recovery days of everyone they concern: their
/// responders before and after.
fn due(pages: &[(Page, Option<i64>)]) -> Vec<Due> {
    let mut due = Vec::new();
    for (page, previous) in pages {
        let (engaged_from, engaged_until) = page.engagement();
        for person in [page.responder_id, *previous].into_iter().flatten() {
            due.push(Due {
                user_id: person,
                team_id: page.team_id,
                fired_at: page.fired_at,
                engaged_from,
                engaged_until,
            });
        }
    }
    due
}

/// Re-derives the recovery days of everyone the pages concern, now.
async fn refresh_recovery(conn: &mut PgConnection, pages: &[(Page, Option<i64>)], now: DateTime<Utc>) -> AppResult<()> {
    derive_due(conn, &due(pages), now).await
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
