//! Handoffs: everything one boundary's handoff is made of (the rules, the
//! people, the text, the acknowledgements and the clock), gathered in a
//! fixed number of queries however many boundaries are asked for; and the
//! use cases built on it (writing, acknowledging, "Now", reminders).

mod now;
mod template;
mod write;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::db;
use crate::db::handoffs::{Acknowledgement, Holder, Stored};
use crate::db::teams::Team;
use crate::domain::handoff::{
    Boundary, People, Person, State, Status, TimeOff, Timing, boundaries_between, boundary_at, boundary_on, timing,
    week_after, week_before,
};
use crate::domain::role::Role;
use crate::domain::schedule::{Rule, weekday_name};
use crate::error::{AppError, AppResult};
use crate::ops::notify;

pub use now::{DueReminder, NowHandoff, NowKind, for_now, reminders_due};
pub use template::{coming_week_swaps_and_leave, template};
pub use write::{Draft, Saved, acknowledge, save, set_webhook_url};

/// A rotation with all its settings versions, as rules.
#[derive(Debug, Clone)]
pub struct RotationRules {
    pub id: i64,
    pub team_id: i64,
    pub slug: String,
    pub name: String,
    pub rules: Vec<Rule<i64>>,
    /// Handoffs due before this were never anyone's to write.
    pub created_at: DateTime<Utc>,
}

/// The rotations of these teams (every team when `None`), with their rules.
pub async fn rotation_rules(conn: &mut PgConnection, team_ids: Option<&[i64]>) -> AppResult<Vec<RotationRules>> {
    let rotations = db::rotations::rotations_of(conn, team_ids).await?;
    let ids: Vec<i64> = rotations.iter().map(|r| r.0).collect();
    let mut versions: HashMap<i64, Vec<Rule<i64>>> = HashMap::new();
    for v in db::handoffs::versions_of(conn, &ids).await? {
        versions.entry(v.rotation_id).or_default().push(v.rule());
    }
    Ok(rotations
        .into_iter()
        .map(|(id, team_id, slug, name, created_at)| RotationRules {
            rules: versions.remove(&id).unwrap_or_default(),
            created_at,
            id,
            team_id,
            slug,
            name,
        })
        .collect())
}

/// One boundary's handoff, written or not.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub team_id: i64,
    pub rotation_id: i64,
    pub rotation_slug: String,
    pub rotation_name: String,
    pub boundary: Boundary,
    /// When the outgoing week began.
    pub week_from: DateTime<Utc>,
    /// When the incoming week ends (the next boundary).
    pub week_until: DateTime<Utc>,
    pub people: People,
    pub stored: Option<Stored>,
    pub acknowledgements: Vec<Acknowledgement>,
    pub timing: Timing,
}

impl Handoff {
    pub fn state(&self) -> State {
        State::of(
            self.stored.is_some(),
            self.submitted_at().is_some(),
            self.acknowledgements.iter().any(|a| a.role == Role::Primary),
        )
    }

    pub fn status(&self, now: DateTime<Utc>) -> Status {
        crate::domain::handoff::status(self.state(), &self.timing, now)
    }

    pub fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.stored.as_ref().and_then(|s| s.submitted_at)
    }

    pub fn body(&self) -> &str {
        self.stored.as_ref().map_or("", |s| s.body.as_str())
    }

    pub fn acknowledged_by(&self, user_id: i64) -> Option<&Acknowledgement> {
        self.acknowledgements.iter().find(|a| a.user_id == user_id)
    }

    /// The incoming primary's acknowledgement, which makes it acknowledged.
    pub fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.acknowledgements
            .iter()
            .find(|a| a.role == Role::Primary)
            .map(|a| a.acknowledged_at)
    }

    /// The page's address under `/teams/{team}`.
    pub fn path(&self, team_slug: &str) -> String {
        format!(
            "/teams/{team_slug}/rotations/{}/handoffs/{}",
            self.rotation_slug, self.boundary.week_start
        )
    }

    pub fn tz(&self) -> Tz {
        self.boundary.tz
    }
}

fn person(h: &Holder) -> Person {
    Person {
        id: h.user_id,
        name: h.name.clone(),
        email: h.email.clone(),
        tz: h.timezone.parse().unwrap_or(Tz::UTC),
    }
}

/// Everything about these boundaries, in a fixed number of queries.
async fn assemble(conn: &mut PgConnection, wanted: Vec<(&RotationRules, Boundary)>) -> AppResult<Vec<Handoff>> {
    assemble_with(conn, wanted, None).await
}

/// As [`assemble`], with the handoffs stored at these boundaries when the
/// caller has read them already (a search reads them as it ranks).
async fn assemble_with(
    conn: &mut PgConnection,
    wanted: Vec<(&RotationRules, Boundary)>,
    known: Option<Vec<Stored>>,
) -> AppResult<Vec<Handoff>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<(i64, DateTime<Utc>)> = wanted.iter().map(|(r, b)| (r.id, b.at)).collect();
    let holders = db::handoffs::holders(conn, &keys).await?;
    let known = match known {
        Some(known) => known,
        None => db::handoffs::at_boundaries(conn, &keys).await?,
    };
    let mut stored: HashMap<(i64, DateTime<Utc>), Stored> =
        known.into_iter().map(|s| ((s.rotation_id, s.handoff_at), s)).collect();
    let ids: Vec<i64> = stored.values().map(|s| s.id).collect();
    let mut acks: HashMap<i64, Vec<Acknowledgement>> = HashMap::new();
    for a in db::handoffs::acknowledgements(conn, &ids).await? {
        acks.entry(a.handoff_id).or_default().push(a);
    }
    let people_of = |rotation_id: i64, at: DateTime<Utc>| {
        let find = |outgoing: bool, role: Role| {
            holders
                .iter()
                .find(|h| {
                    h.rotation_id == rotation_id
                        && h.handoff_at == at
                        && h.role == role
                        && if outgoing { h.outgoing } else { h.incoming }
                })
                .map(person)
        };
        People {
            outgoing_primary: find(true, Role::Primary),
            outgoing_secondary: find(true, Role::Secondary),
            incoming_primary: find(false, Role::Primary),
            incoming_secondary: find(false, Role::Secondary),
        }
    };
    let people: Vec<People> = keys.iter().map(|(r, at)| people_of(*r, *at)).collect();
    let time_off = time_off(conn, &wanted, &people).await?;

    Ok(wanted
        .into_iter()
        .zip(people)
        .map(|((rotation, boundary), people)| {
            let off = people
                .outgoing_primary
                .as_ref()
                .map(|p| time_off.get(&(rotation.team_id, p.id)).cloned().unwrap_or_default());
            let week_until = week_after(&rotation.rules, boundary.at).unwrap_or(boundary.at + Duration::weeks(1));
            let timing = timing(&boundary, people.outgoing_primary.as_ref().zip(off.as_ref()))
                .chased_until(week_until, rotation.created_at);
            let stored = stored.remove(&(rotation.id, boundary.at));
            let acknowledgements = stored.as_ref().and_then(|s| acks.remove(&s.id)).unwrap_or_default();
            Handoff {
                team_id: rotation.team_id,
                rotation_id: rotation.id,
                rotation_slug: rotation.slug.clone(),
                rotation_name: rotation.name.clone(),
                week_from: week_before(&rotation.rules, boundary.at).unwrap_or(boundary.at),
                week_until,
                boundary,
                people,
                stored,
                acknowledgements,
                timing,
            }
        })
        .collect())
}

/// Each outgoing primary's holidays (their team's) and recovery days near
/// the handoffs, keyed by (team, person).
async fn time_off(
    conn: &mut PgConnection,
    wanted: &[(&RotationRules, Boundary)],
    people: &[People],
) -> AppResult<HashMap<(i64, i64), TimeOff>> {
    let writers: Vec<(i64, i64)> = wanted
        .iter()
        .zip(people)
        .filter_map(|((r, _), p)| p.outgoing_primary.as_ref().map(|p| (r.team_id, p.id)))
        .collect();
    if writers.is_empty() {
        return Ok(HashMap::new());
    }
    let dates: Vec<NaiveDate> = wanted.iter().map(|(_, b)| b.week_start).collect();
    let first = dates.iter().min().copied().unwrap_or_default() - Duration::days(2);
    // Recovery days, weekends and holidays may push a deadline on by weeks
    // at most; a month is ample.
    let last = dates.iter().max().copied().unwrap_or_default() + Duration::days(31);
    let user_ids: Vec<i64> = writers.iter().map(|(_, u)| *u).collect();
    let team_ids: Vec<i64> = writers.iter().map(|(t, _)| *t).collect();
    let off = db::handoffs::time_off(conn, &user_ids, (first, last), &team_ids).await?;
    Ok(writers
        .into_iter()
        .map(|(team_id, user_id)| {
            let off = TimeOff {
                holidays: off
                    .iter()
                    .filter(|(holiday, t, _)| *holiday && *t == team_id)
                    .map(|(_, _, d)| *d)
                    .collect::<BTreeSet<_>>(),
                recovery_days: off
                    .iter()
                    .filter(|(holiday, u, _)| !*holiday && *u == user_id)
                    .map(|(_, _, d)| *d)
                    .collect(),
            };
            ((team_id, user_id), off)
        })
        .collect())
}

/// The handoff of the team's `rotation` whose incoming week starts on
/// `date`; 404 saying what the rotation's handoff days are otherwise.
pub async fn find(conn: &mut PgConnection, team: &Team, rotation: &str, date: NaiveDate) -> AppResult<Handoff> {
    let rotations = rotation_rules(conn, Some(&[team.id])).await?;
    let r = rotations
        .iter()
        .find(|r| r.slug == rotation)
        .ok_or_else(|| AppError::not_found("rotation"))?;
    let Some(boundary) = boundary_on(&r.rules, date) else {
        return Err(no_handoff_on(r, date));
    };
    let mut found = assemble(conn, vec![(r, boundary)]).await?;
    found.pop().ok_or_else(|| AppError::not_found("handoff"))
}

/// A handoff and one of its saved versions; 404 when the handoff or the version
/// does not exist.
pub async fn version(
    conn: &mut PgConnection,
    team: &Team,
    rotation: &str,
    date: NaiveDate,
    number: i32,
) -> AppResult<(Handoff, db::handoffs::VersionInfo)> {
    let h = find(conn, team, rotation, date).await?;
    let v = match &h.stored {
        Some(s) => db::handoffs::version(conn, s.id, number).await?,
        None => None,
    }
    .ok_or_else(|| AppError::NotFound(format!("This handoff has no version {number}")))?;
    Ok((h, v))
}

fn no_handoff_on(r: &RotationRules, date: NaiveDate) -> AppError {
    let day = notify::day(date);
    match (r.rules.first(), r.rules.last()) {
        (Some(first), _) if first.effective_from.with_timezone(&first.tz).date_naive() == date => {
            AppError::NotFound(format!(
                "{day} starts {}'s first week: nobody was on call before it, so there is no handoff into it",
                r.name
            ))
        }
        (_, Some(latest)) => AppError::NotFound(format!(
            "{} has no handoff on {day}: its handoffs are on {}s at {} ({}), from the second week on",
            r.name,
            capitalised(weekday_name(latest.weekday)),
            latest.time.format("%H:%M"),
            latest.tz.name()
        )),
        _ => AppError::NotFound(format!("{} has no weeks yet", r.name)),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The handoffs of these rotations at boundaries in `[from, to)`, newest
/// first.
pub async fn between(
    conn: &mut PgConnection,
    rotations: &[RotationRules],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<Handoff>> {
    let mut wanted: Vec<(&RotationRules, Boundary)> = rotations
        .iter()
        .flat_map(|r| boundaries_between(&r.rules, from, to).into_iter().map(move |b| (r, b)))
        .collect();
    wanted.sort_by(|a, b| b.1.at.cmp(&a.1.at).then_with(|| a.0.name.cmp(&b.0.name)));
    assemble(conn, wanted).await
}

/// The team's handoffs in `[from, to)` that have opened by `now`, newest
/// first: the history.
pub async fn history(
    conn: &mut PgConnection,
    team: &Team,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Handoff>> {
    let rotations = rotation_rules(conn, Some(&[team.id])).await?;
    let to = to.min(now + Duration::days(2));
    let mut found = between(conn, &rotations, from, to).await?;
    found.retain(|h| h.timing.opens_at <= now);
    Ok(found)
}

/// A search match: the handoff and its snippet (already safe HTML).
pub struct Found {
    pub handoff: Handoff,
    pub rank: f32,
    pub snippet_html: String,
}

/// How many matches a search returns unless asked for more, and the most
/// it will. Each costs a snippet cut from its whole text.
pub const SEARCH_LIMIT: i64 = 20;
pub const SEARCH_LIMIT_MAX: i64 = 50;

/// The team's best `limit` handoffs matching `query`, best first.
pub async fn search(conn: &mut PgConnection, team: &Team, query: &str, limit: i64) -> AppResult<Vec<Found>> {
    let query = query.trim();
    if query.contains('\0') {
        return Err(AppError::BadRequest(
            "Search words cannot contain a NUL character".into(),
        ));
    }
    if query.chars().count() > 200 {
        return Err(AppError::Unprocessable(
            "Search with fewer words: at most 200 characters".into(),
        ));
    }
    if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
        return Err(AppError::Unprocessable(format!(
            "Ask for 1 to {SEARCH_LIMIT_MAX} matches (limit)"
        )));
    }
    let hits = db::handoffs::search(conn, team.id, query, limit).await?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let rotations = rotation_rules(conn, Some(&[team.id])).await?;
    let wanted: Vec<(&RotationRules, Boundary)> = hits
        .iter()
        .filter_map(|hit| {
            let r = rotations.iter().find(|r| r.id == hit.stored.rotation_id)?;
            // Found by its instant: a later change of zone cannot lose it.
            let boundary = boundary_at(&r.rules, hit.stored.handoff_at).unwrap_or(Boundary {
                at: hit.stored.handoff_at,
                week_start: hit.stored.week_start,
                tz: Tz::UTC,
            });
            Some((r, boundary))
        })
        .collect();
    let known = hits.iter().map(|hit| hit.stored.clone()).collect();
    let handoffs = assemble_with(conn, wanted, Some(known)).await?;
    Ok(hits
        .into_iter()
        .filter_map(|hit| {
            let handoff = handoffs
                .iter()
                .find(|h| h.rotation_id == hit.stored.rotation_id && h.boundary.at == hit.stored.handoff_at)?
                .clone();
            Some(Found {
                handoff,
                rank: hit.rank,
                snippet_html: crate::domain::markdown::snippet_html(&crate::domain::markdown::snippet(
                    &hit.stored.body,
                    &hit.lexemes,
                )),
            })
        })
        .collect())
}
