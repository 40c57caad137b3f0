//! Reading a team's metrics: fetch the rows once (a handful of queries,
//! whatever the number of people, weeks or pages), then compute with the
//! pure functions of `domain::metrics`. The page, the API and the CSV files
//! all come from [`team_report`], so they cannot disagree.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::PgConnection;

use crate::db;
use crate::db::metrics::{PageRow, PersonRow, RecoveryRow, ShiftRow};
use crate::db::teams::{Team, TeamRole};
use crate::domain::metrics::rebalance::{Away, FutureShift, Suggestion, suggest};
use crate::domain::metrics::{
    Figures, Inputs, PageRecord, PayRow, Period, Person, RecoveryRecord, Role, ShiftRecord, figures, pay_rows,
};
use crate::domain::recovery::{Policy, page_zone};
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

/// Loads what `teams`' figures over `span` need, in six queries.
pub async fn load(
    conn: &mut PgConnection,
    teams: &[Team],
    span: &Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<TeamData>> {
    let ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    // Dates a recovery day may fall on, padded a day each side for zones.
    let (first, last) = (
        span.first_date() - Duration::days(1),
        span.last_date() + Duration::days(1),
    );
    let mut rules = group(db::metrics::rules(conn, &ids).await?, |r| r.team_id);
    let mut pages = group(db::metrics::pages(conn, &ids, span.from, span.to).await?, |r| r.team_id);
    let mut shifts = group(db::metrics::shifts(conn, &ids, span.from, span.to).await?, |r| {
        r.team_id
    });
    let mut recovery = group(db::metrics::recovery(conn, &ids, first, last).await?, |r| r.team_id);
    let mut people = group(db::metrics::people(conn, &ids, span.from, span.to).await?, |r| {
        r.team_id
    });
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
    team: &Team,
    period: &Period,
    now: DateTime<Utc>,
) -> AppResult<Report> {
    let previous = period.previous();
    let span = Period {
        from: previous.from,
        to: period.to,
        tz: period.tz,
    };
    let data = load(conn, std::slice::from_ref(team), &span, now)
        .await?
        .pop()
        .ok_or_else(|| crate::error::AppError::not_found("team"))?;
    let current = figures(&data.inputs(), period);
    let previous = figures(&data.inputs(), &previous);
    let suggestions = suggestions(conn, &data, &current, now).await?;
    Ok(Report {
        team: team.slug.clone(),
        timezone: team.timezone.clone(),
        current,
        previous,
        suggestions,
    })
}

async fn suggestions(
    conn: &mut PgConnection,
    data: &TeamData,
    current: &Figures,
    now: DateTime<Utc>,
) -> AppResult<Vec<Suggestion>> {
    if !current.people.iter().any(|p| p.above_fair) {
        return Ok(Vec::new());
    }
    let until = now + SUGGEST_AHEAD;
    let future: Vec<FutureShift> = db::metrics::future_shifts(conn, data.team.id, now, until)
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
    let members: BTreeSet<i64> = data.people.iter().filter(|p| p.member).map(|p| p.id).collect();
    Ok(suggest(
        &current.people,
        |id| members.contains(&id),
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

/// Every team in `teams` over `period` and the period before, in the same
/// six queries as one team.
pub async fn overview(
    conn: &mut PgConnection,
    teams: &[Team],
    period_of: impl Fn(Tz) -> Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<TeamOverview>> {
    // One span covers every team's zone: the widest, padded a day.
    let periods: Vec<Period> = teams.iter().map(|t| period_of(t.tz())).collect();
    let Some(from) = periods.iter().map(|p| p.previous().from).min() else {
        return Ok(Vec::new());
    };
    let to = periods.iter().map(|p| p.to).max().unwrap_or(from);
    let span = Period { from, to, tz: Tz::UTC };
    let data = load(conn, teams, &span, now).await?;
    Ok(data
        .iter()
        .zip(periods)
        .map(|(d, p)| TeamOverview {
            slug: d.team.slug.clone(),
            name: d.team.name.clone(),
            figures: figures(&d.inputs(), &p),
            previous: figures(&d.inputs(), &p.previous()),
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
    Ok(pay_rows(&data.inputs(), period))
}
