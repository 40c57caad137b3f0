//! Reading a team's metrics: fetch the rows once (a handful of queries,
//! whatever the number of people, weeks or pages), then compute with the
//! pure functions of `domain::metrics`. The page, the API and the CSV files
//! all come from [`team_report`], so they cannot disagree.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::PgConnection;

use crate::cache::Caches;
use crate::db;
use crate::db::metrics::{PageRow, PersonRow, RecoveryRow, ShiftRow};
use crate::db::teams::{Team, TeamRole};
use crate::domain::metrics::rebalance::{Away, FutureShift, Suggestion, suggest};
use crate::domain::metrics::{
    Figures, Inputs, PageRecord, PayRow, Period, Person, RecoveryRecord, Role, ShiftRecord, figures, pay_rows,
};
use crate::domain::recovery::{Policy, has_ack_data, page_zone};
use crate::error::AppResult;

/// How far ahead rebalancing looks for weeks to exchange.
const SUGGEST_AHEAD: Duration = Duration::weeks(12);

/// One team's rows, ready for the pure functions.
pub struct TeamData {
    pub team: Team,
    pub people: Vec<Person>,
    pub pages: Vec<PageRecord>,
    pub shifts: Vec<ShiftRecord>,
    pub recovery: Vec<RecoveryRecord>,
    pub today: NaiveDate,
    /// The team's holidays, for the pay report's split.
    pub holidays: BTreeSet<NaiveDate>,
}

impl TeamData {
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            people: &self.people,
            pages: &self.pages,
            shifts: &self.shifts,
            recovery: &self.recovery,
            today: self.today,
        }
    }
}

fn group<T>(rows: Vec<T>, team: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut by: HashMap<i64, Vec<T>> = HashMap::new();
    for r in rows {
        by.entry(team(&r)).or_default().push(r);
    }
    by
}

/// Loads what `teams`' figures over `span` need, in five queries.
pub async fn load(
    conn: &mut PgConnection,
    teams: &[Team],
    span: &Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<TeamData>> {
    let spans = vec![span.clone(); teams.len()];
    load_spans(conn, teams, &spans, now).await
}

/// As [`load`], each team over its own span (teams in other zones see
/// other instants as "this week"), in one set of queries over all the
/// spans together: each team then keeps only the rows of its own span, so
/// its figures are the ones [`load`] of that team alone gives.
pub async fn load_spans(
    conn: &mut PgConnection,
    teams: &[Team],
    spans: &[Period],
    now: DateTime<Utc>,
) -> AppResult<Vec<TeamData>> {
    let ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    let (Some(from), Some(to)) = (spans.iter().map(|s| s.from).min(), spans.iter().map(|s| s.to).max()) else {
        return Ok(Vec::new());
    };
    // Dates a recovery day may fall on, padded a day each side for zones.
    let dates = |span: &Period| {
        (
            span.first_date() - Duration::days(1),
            span.last_date() + Duration::days(1),
        )
    };
    let (first, last) = spans
        .iter()
        .map(dates)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
        .unwrap_or_default();
    let span_of: HashMap<i64, &Period> = ids.iter().copied().zip(spans).collect();
    let span = |team_id: i64| span_of.get(&team_id);
    let mut rules = group(db::metrics::rules(conn, &ids).await?, |r| r.team_id);
    let mut page_rows = db::metrics::pages(conn, &ids, from, to).await?;
    page_rows.retain(|p| span(p.team_id).is_some_and(|s| s.from <= p.fired_at && p.fired_at < s.to));
    let mut shift_rows = db::metrics::shifts(conn, &ids, from, to).await?;
    shift_rows.retain(|r| span(r.team_id).is_some_and(|s| r.starts_at < s.to && r.ends_at > s.from));
    // Who held a shift or answered a page (even one since deleted).
    let involved: BTreeSet<(i64, i64)> = shift_rows
        .iter()
        .map(|s| (s.team_id, s.user_id))
        .chain(page_rows.iter().filter_map(|p| Some((p.team_id, p.responder_id?))))
        .collect();
    let mut pages = group(page_rows.into_iter().filter(|p| !p.deleted).collect(), |r| r.team_id);
    let mut shifts = group(shift_rows, |r| r.team_id);
    let mut recovery_rows = db::metrics::recovery(conn, &ids, first, last).await?;
    recovery_rows.retain(|r| {
        span(r.team_id).is_some_and(|s| {
            let (first, last) = dates(s);
            first <= r.day && r.day <= last
        })
    });
    let mut recovery = group(recovery_rows, |r| r.team_id);
    let involved_list: Vec<(i64, i64)> = involved.iter().copied().collect();
    let mut people = group(db::metrics::people(conn, &ids, &involved_list).await?, |r| r.team_id);
    Ok(teams
        .iter()
        .map(|team| {
            let (policy, holidays) = rules
                .remove(&team.id)
                .and_then(|mut r| r.pop())
                .map(|r| {
                    (
                        Policy {
                            sleep_start: r.sleep_start,
                            sleep_end: r.sleep_end,
                            day_threshold: Duration::minutes(i64::from(r.day_threshold_minutes)),
                        },
                        r.holidays.into_iter().collect::<BTreeSet<_>>(),
                    )
                })
                .unwrap_or_default();
            let tz = team.tz();
            TeamData {
                team: team.clone(),
                people: people
                    .remove(&team.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(person)
                    .collect(),
                pages: pages
                    .remove(&team.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| page(p, tz, &policy, &holidays))
                    .collect(),
                shifts: shifts
                    .remove(&team.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(shift)
                    .collect(),
                recovery: recovery
                    .remove(&team.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r: RecoveryRow| RecoveryRecord {
                        user_id: r.user_id,
                        day: r.day,
                        worked_anyway: r.worked_anyway,
                    })
                    .collect(),
                today: now.with_timezone(&tz).date_naive(),
                holidays,
            }
        })
        .collect())
}

fn person(r: PersonRow) -> Person {
    Person {
        id: r.id,
        email: r.email,
        name: r.name,
        member: r.role.is_some(),
        manager: r.role == Some(TeamRole::Manager),
    }
}

/// Classified as the pages list does (the one zone rule, [`page_zone`]).
fn page(p: PageRow, team_tz: Tz, policy: &Policy, holidays: &BTreeSet<NaiveDate>) -> PageRecord {
    let zone = page_zone(p.responder_timezone.as_deref(), team_tz);
    let engagement = db::pages::engagement(p.fired_at, p.acknowledged_at, p.resolved_at, p.worked_until);
    let known = has_ack_data(&p.source, p.acknowledged_at.is_some(), p.paged.unwrap_or(false));
    PageRecord::classify(
        p.fired_at,
        p.acknowledged_at,
        engagement,
        p.sla_minutes,
        (p.responder_id, p.responder_role.map(role)),
        p.source,
        zone,
        policy,
        holidays,
    )
    .with_ack_data(known)
}

/// The metrics' name for a rotation role.
fn role(r: crate::domain::role::Role) -> Role {
    match r {
        crate::domain::role::Role::Primary => Role::Primary,
        crate::domain::role::Role::Secondary => Role::Secondary,
    }
}

fn shift(s: ShiftRow) -> ShiftRecord {
    ShiftRecord {
        user_id: s.user_id,
        role: role(s.role),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
    }
}

/// The metrics page's figures: this period, the one before, and (for
/// managers) weeks to exchange.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub team: String,
    pub timezone: String,
    pub current: Figures,
    pub previous: Figures,
    /// Future weeks to exchange, for people whose load is above 1.5 shares.
    pub suggestions: Vec<Suggestion>,
}

pub async fn team_report(
    conn: &mut PgConnection,
    caches: &Caches,
    team: &Team,
    period: &Period,
    now: DateTime<Utc>,
) -> AppResult<Report> {
    let figured = figured(conn, caches, std::slice::from_ref(team), |_| period.clone(), now)
        .await?
        .pop()
        .ok_or_else(|| crate::error::AppError::not_found("team"))?;
    let suggestions = suggestions(conn, team.id, &figured, now).await?;
    Ok(Report {
        team: team.slug.clone(),
        timezone: team.timezone.clone(),
        current: figured.current.clone(),
        previous: figured.previous.clone(),
        suggestions,
    })
}

/// A team's figures over a period and over the one before it, and who is
/// a member now (for suggestions): what the metrics cache keeps.
#[derive(Debug)]
pub struct TeamFigures {
    pub current: Figures,
    pub previous: Figures,
    pub members: BTreeSet<i64>,
}

/// What a team's figures depend on besides the tables: the team, the
/// period, and the team's today (days up to today count as taken).
pub type FiguresKey = (i64, DateTime<Utc>, DateTime<Utc>, NaiveDate);

/// The figures of each of `teams` over `period_of(its zone)` and the
/// period before: from the cache where it has them, the rest loaded with
/// the teams sharing a period together (six queries per distinct period,
/// each over exactly that team's span, so a team's figures are the same
/// whichever page asked first).
async fn figured(
    conn: &mut PgConnection,
    caches: &Caches,
    teams: &[Team],
    period_of: impl Fn(Tz) -> Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<Arc<TeamFigures>>> {
    let seen = caches.generation();
    let periods: Vec<Period> = teams.iter().map(|t| period_of(t.tz())).collect();
    let keys: Vec<FiguresKey> = teams
        .iter()
        .zip(&periods)
        .map(|(t, p)| (t.id, p.from, p.to, now.with_timezone(&t.tz()).date_naive()))
        .collect();
    let mut found: Vec<Option<Arc<TeamFigures>>> = keys.iter().map(|k| caches.metrics(k)).collect();
    // The missing teams, each over its period and the one before, read
    // together (one set of queries whatever the zones).
    let missing: Vec<usize> = (0..teams.len()).filter(|&i| found[i].is_none()).collect();
    let group: Vec<Team> = missing.iter().map(|&i| teams[i].clone()).collect();
    let spans: Vec<Period> = missing
        .iter()
        .map(|&i| Period {
            from: periods[i].previous().from,
            to: periods[i].to,
            tz: periods[i].tz,
        })
        .collect();
    let data = load_spans(conn, &group, &spans, now).await?;
    for (&i, d) in missing.iter().zip(&data) {
        let period = &periods[i];
        let previous = period.previous();
        let f = Arc::new(TeamFigures {
            current: figures(&d.inputs(), period),
            previous: figures(&d.inputs(), &previous),
            members: d.people.iter().filter(|p| p.member).map(|p| p.id).collect(),
        });
        caches.put_metrics(seen, keys[i], f.clone());
        found[i] = Some(f);
    }
    found
        .into_iter()
        .map(|f| f.ok_or_else(|| crate::error::AppError::not_found("team")))
        .collect()
}

async fn suggestions(
    conn: &mut PgConnection,
    team_id: i64,
    figured: &TeamFigures,
    now: DateTime<Utc>,
) -> AppResult<Vec<Suggestion>> {
    let current = &figured.current;
    if !current.people.iter().any(|p| p.above_fair) {
        return Ok(Vec::new());
    }
    let until = now + SUGGEST_AHEAD;
    let future: Vec<FutureShift> = db::metrics::future_shifts(conn, team_id, now, until)
        .await?
        .into_iter()
        .map(|s| FutureShift {
            id: s.id,
            rotation_id: s.rotation_id,
            user_id: s.user_id,
            role: role(s.role),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        })
        .collect();
    let ids: Vec<i64> = current.people.iter().map(|p| p.user_id).collect();
    let away: Vec<Away> = db::leave::overlapping(conn, &ids, now, until)
        .await?
        .into_iter()
        .map(|l| Away {
            user_id: l.user_id,
            starts_at: l.starts_at,
            ends_at: l.ends_at,
        })
        .collect();
    Ok(suggest(
        &current.people,
        |id| figured.members.contains(&id),
        &future,
        &away,
        now,
    ))
}

/// One team in the admins' overview.
#[derive(Debug, Clone, Serialize)]
pub struct TeamOverview {
    pub slug: String,
    pub name: String,
    pub figures: Figures,
    pub previous: Figures,
}

/// Every team in `teams` (one page of the overview) over `period` and
/// the period before, through the same cache as each team's own page.
pub async fn overview(
    conn: &mut PgConnection,
    caches: &Caches,
    teams: &[Team],
    period_of: impl Fn(Tz) -> Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<TeamOverview>> {
    let figured = figured(conn, caches, teams, period_of, now).await?;
    Ok(teams
        .iter()
        .zip(figured)
        .map(|(t, f)| TeamOverview {
            slug: t.slug.clone(),
            name: t.name.clone(),
            figures: f.current.clone(),
            previous: f.previous.clone(),
        })
        .collect())
}

/// The pay report: per person per calendar month of `period`.
pub async fn pay_report(
    conn: &mut PgConnection,
    team: &Team,
    period: &Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<PayRow>> {
    let data = load(conn, std::slice::from_ref(team), period, now)
        .await?
        .pop()
        .ok_or_else(|| crate::error::AppError::not_found("team"))?;
    Ok(pay_rows(&data.inputs(), period, &data.holidays))
}
