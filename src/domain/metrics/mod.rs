//! HumanOps metrics as pure functions: who carried the load, what it cost
//! them in sleep and weekends, how quickly pages were answered, and whether
//! the recovery time that was earned was taken.
//!
//! Definitions (the page, the API and the CSV files all use these):
//! - A page counts in the period its firing falls in; deleted pages never count.
//! - Its out-of-hours class is the one the pages list shows
//!   ([`classify_engagement`] over its engagement, in the responder's zone).
//! - A *sleep interruption* is a page in class `sleep`.
//! - *Hours engaged out of hours*: the engagement of pages not in class `working`.
//! - *Hours on call*: the shift pieces a person held, clipped to the period.
//!   *Weeks as primary / secondary* are those hours divided by 168, so a
//!   covered Friday night counts as the fraction of a week it is.
//! - Acknowledgement percentiles are nearest-rank (Postgres'
//!   `percentile_disc`) over acknowledged pages of the role; the share within
//!   SLA is the pages met over the role's pages with acknowledgement data, so
//!   an unacknowledged page counts against it, and a page nobody could have
//!   acknowledged ([`Sla::NoData`]: from Alertmanager or Grafana, which never
//!   report one, and not paged by Rota) counts neither way.
//! - A person's *share* is their part of the pages that have a responder,
//!   against an equal share among the people on the table (those who held a
//!   shift or answered a page in the period); *load* is share ÷ equal share,
//!   highlighted above [`FAIR_LIMIT`].
//! - Recovery days count by the date of the day off: *granted* (not withdrawn),
//!   *taken* (its date has passed and the person did not work anyway),
//!   *worked anyway*.

pub mod pay;
pub mod period;
pub mod rebalance;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::recovery::{OutOfHours, Policy, Sla, classify_engagement, sla};
pub use pay::{PayRow, pay_rows};
pub use period::{Period, clipped};

/// A person's load above this many equal shares is highlighted.
pub const FAIR_LIMIT: f64 = 1.5;

const WEEK_HOURS: f64 = 168.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "primary" => Some(Role::Primary),
            "secondary" => Some(Role::Secondary),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// A page as the metrics need it, classified once.
#[derive(Debug, Clone)]
pub struct PageRecord {
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub engagement: (DateTime<Utc>, DateTime<Utc>),
    pub responder_id: Option<i64>,
    pub role: Option<Role>,
    pub source: String,
    pub class: OutOfHours,
    pub sla: Sla,
}

impl PageRecord {
    /// Classifies a page exactly as the pages list and API do.
    #[allow(clippy::too_many_arguments)]
    pub fn classify(
        fired_at: DateTime<Utc>,
        acknowledged_at: Option<DateTime<Utc>>,
        engagement: (DateTime<Utc>, DateTime<Utc>),
        sla_minutes: Option<i32>,
        (responder_id, role): (Option<i64>, Option<Role>),
        source: String,
        zone: Tz,
        policy: &Policy,
        holidays: &BTreeSet<NaiveDate>,
    ) -> PageRecord {
        PageRecord {
            fired_at,
            acknowledged_at,
            engagement,
            responder_id,
            role,
            source,
            class: classify_engagement(engagement.0, engagement.1, zone, policy, holidays),
            sla: sla(fired_at, acknowledged_at, sla_minutes),
        }
    }

    /// The same, judged [`Sla::NoData`] when the page carries no
    /// acknowledgement data (see
    /// [`has_ack_data`](crate::domain::recovery::has_ack_data)).
    pub fn with_ack_data(mut self, known: bool) -> PageRecord {
        if !known {
            self.sla = Sla::NoData;
        }
        self
    }

    fn out_of_hours(&self) -> bool {
        self.class != OutOfHours::Working
    }
}

#[derive(Debug, Clone)]
pub struct ShiftRecord {
    pub user_id: i64,
    pub role: Role,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A granted (not withdrawn) recovery day.
#[derive(Debug, Clone)]
pub struct RecoveryRecord {
    pub user_id: i64,
    pub day: NaiveDate,
    pub worked_anyway: bool,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// A current member of the team.
    pub member: bool,
    pub manager: bool,
}

/// Everything one team's figures are computed from.
pub struct Inputs<'a> {
    pub people: &'a [Person],
    pub pages: &'a [PageRecord],
    pub shifts: &'a [ShiftRecord],
    pub recovery: &'a [RecoveryRecord],
    /// The team's local date now: recovery days before it have passed.
    pub today: NaiveDate,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeekPages {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub pages: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassShare {
    /// `sleep`, `weekend`, `holiday` or `working`.
    pub class: String,
    pub pages: u32,
    /// Of all pages in the period, 0 to 1.
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleFigures {
    /// `primary` or `secondary`.
    pub role: String,
    pub pages: u32,
    pub acknowledged: u32,
    /// Seconds from firing to acknowledgement; null without acknowledged pages.
    pub ack_p50_seconds: Option<i64>,
    pub ack_p90_seconds: Option<i64>,
    pub within_sla: u32,
    /// Pages acknowledged within the role's SLA over the role's pages with
    /// acknowledgement data.
    pub within_sla_share: Option<f64>,
    /// Pages nobody could have acknowledged (from a tool that never reports
    /// it, not paged by Rota): neither met nor missed.
    pub no_acknowledgement_data: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonFigures {
    #[serde(skip)]
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub manager: bool,
    pub weeks_primary: f64,
    pub weeks_secondary: f64,
    pub hours_primary: f64,
    pub hours_secondary: f64,
    pub hours_on_call: f64,
    pub pages: u32,
    pub out_of_hours_pages: u32,
    pub sleep_interruptions: u32,
    pub hours_engaged_out_of_hours: f64,
    pub recovery_granted: u32,
    pub recovery_taken: u32,
    pub recovery_worked_anyway: u32,
    /// Their part of the pages with a responder, 0 to 1.
    pub share: f64,
    /// One over the number of people on the table.
    pub equal_share: f64,
    /// `share / equal_share`.
    pub load: f64,
    /// `load` above 1.5.
    pub above_fair: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceFigures {
    pub source: String,
    pub pages: u32,
    pub sleep_interruptions: u32,
    pub out_of_hours_pages: u32,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RecoveryUse {
    pub people: u32,
    pub granted: u32,
    pub taken: u32,
    pub worked_anyway: u32,
    /// Of the days that have passed, the share taken; null when none passed.
    pub taken_share: Option<f64>,
}

/// Managers' own recovery-day use beside everyone else's in the team.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RecoveryExample {
    pub managers: RecoveryUse,
    pub others: RecoveryUse,
}

/// One period's figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub pages: u32,
    pub out_of_hours_pages: u32,
    pub sleep_interruptions: u32,
    pub weeks: Vec<WeekPages>,
    /// Sleep, weekend, holiday and working hours, in that order.
    pub out_of_hours: Vec<ClassShare>,
    /// Primary, then secondary.
    pub roles: Vec<RoleFigures>,
    /// Most pages first.
    pub people: Vec<PersonFigures>,
    /// What wakes us: most sleep interruptions first.
    pub sources: Vec<SourceFigures>,
    pub recovery: RecoveryExample,
}

pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn hours(d: Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| round(f64::from(part) / f64::from(whole), 4))
}

/// Nearest-rank percentile of `sorted` (ascending), `p` in (0, 1]: the
/// smallest value with at least `p` of the values at or below it.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

const CLASSES: [OutOfHours; 4] = [
    OutOfHours::Sleep,
    OutOfHours::Weekend,
    OutOfHours::Holiday,
    OutOfHours::Working,
];

/// The figures of `period` from `inputs` (which may hold more than it).
pub fn figures(inputs: &Inputs, period: &Period) -> Figures {
    let pages: Vec<&PageRecord> = inputs.pages.iter().filter(|p| period.contains(p.fired_at)).collect();
    let count = |f: &dyn Fn(&PageRecord) -> bool| pages.iter().filter(|p| f(p)).count() as u32;
    let total = pages.len() as u32;
    let weeks = period
        .weeks()
        .into_iter()
        .map(|(a, b)| WeekPages {
            starts_at: a,
            ends_at: b,
            pages: count(&|p| a <= p.fired_at && p.fired_at < b),
        })
        .collect();
    let out_of_hours = CLASSES
        .iter()
        .map(|c| {
            let n = count(&|p| p.class == *c);
            ClassShare {
                class: c.as_str().into(),
                pages: n,
                share: ratio(n, total).unwrap_or(0.0),
            }
        })
        .collect();
    Figures {
        from: period.from,
        to: period.to,
        pages: total,
        out_of_hours_pages: count(&|p| p.out_of_hours()),
        sleep_interruptions: count(&|p| p.class == OutOfHours::Sleep),
        weeks,
        out_of_hours,
        roles: [Role::Primary, Role::Secondary]
            .iter()
            .map(|r| role_figures(*r, &pages))
            .collect(),
        people: people_figures(inputs, period, &pages),
        sources: source_figures(&pages),
        recovery: recovery_example(inputs, period),
    }
}

fn role_figures(role: Role, pages: &[&PageRecord]) -> RoleFigures {
    let mine: Vec<&&PageRecord> = pages.iter().filter(|p| p.role == Some(role)).collect();
    let mut latencies: Vec<i64> = mine
        .iter()
        .filter_map(|p| p.acknowledged_at.map(|a| (a - p.fired_at).num_seconds()))
        .collect();
    latencies.sort_unstable();
    let within = mine.iter().filter(|p| p.sla == Sla::Met).count() as u32;
    let no_data = mine.iter().filter(|p| p.sla == Sla::NoData).count() as u32;
    RoleFigures {
        role: role.as_str().into(),
        pages: mine.len() as u32,
        acknowledged: latencies.len() as u32,
        ack_p50_seconds: percentile(&latencies, 0.5),
        ack_p90_seconds: percentile(&latencies, 0.9),
        within_sla: within,
        within_sla_share: ratio(within, mine.len() as u32 - no_data),
        no_acknowledgement_data: no_data,
    }
}

#[derive(Default)]
struct Tally {
    primary: Duration,
    secondary: Duration,
    pages: u32,
    out_of_hours: u32,
    sleep: u32,
    engaged_ooh: Duration,
    granted: u32,
    taken: u32,
    worked: u32,
}

fn tally(inputs: &Inputs, period: &Period, pages: &[&PageRecord]) -> HashMap<i64, Tally> {
    let mut t: HashMap<i64, Tally> = HashMap::new();
    for s in inputs.shifts {
        let d = clipped(s.starts_at, s.ends_at, period.from, period.to);
        if d > Duration::zero() {
            let e = t.entry(s.user_id).or_default();
            match s.role {
                Role::Primary => e.primary += d,
                Role::Secondary => e.secondary += d,
            }
        }
    }
    for p in pages {
        let Some(id) = p.responder_id else { continue };
        let e = t.entry(id).or_default();
        e.pages += 1;
        if p.out_of_hours() {
            e.out_of_hours += 1;
            e.engaged_ooh += p.engagement.1 - p.engagement.0;
        }
        if p.class == OutOfHours::Sleep {
            e.sleep += 1;
        }
    }
    for r in inputs.recovery.iter().filter(|r| period.contains_date(r.day)) {
        // Recovery alone does not put someone on the table.
        if let Some(e) = t.get_mut(&r.user_id) {
            count_recovery(e, r, inputs.today);
        }
    }
    t
}

fn count_recovery(e: &mut Tally, r: &RecoveryRecord, today: NaiveDate) {
    e.granted += 1;
    if r.worked_anyway {
        e.worked += 1;
    } else if r.day < today {
        e.taken += 1;
    }
}

fn people_figures(inputs: &Inputs, period: &Period, pages: &[&PageRecord]) -> Vec<PersonFigures> {
    let tallies = tally(inputs, period, pages);
    let answered: u32 = tallies.values().map(|t| t.pages).sum();
    let n = tallies.len();
    let equal = if n == 0 { 0.0 } else { 1.0 / n as f64 };
    let mut rows: Vec<PersonFigures> = tallies
        .into_iter()
        .map(|(id, t)| {
            let who = inputs.people.iter().find(|p| p.id == id);
            let share = if answered == 0 {
                0.0
            } else {
                f64::from(t.pages) / f64::from(answered)
            };
            let load = if equal > 0.0 { share / equal } else { 0.0 };
            PersonFigures {
                user_id: id,
                email: who.map(|p| p.email.clone()).unwrap_or_default(),
                name: who.map_or_else(|| format!("Person {id}"), |p| p.name.clone()),
                manager: who.is_some_and(|p| p.manager),
                weeks_primary: round(hours(t.primary) / WEEK_HOURS, 2),
                weeks_secondary: round(hours(t.secondary) / WEEK_HOURS, 2),
                hours_primary: round(hours(t.primary), 2),
                hours_secondary: round(hours(t.secondary), 2),
                hours_on_call: round(hours(t.primary + t.secondary), 2),
                pages: t.pages,
                out_of_hours_pages: t.out_of_hours,
                sleep_interruptions: t.sleep,
                hours_engaged_out_of_hours: round(hours(t.engaged_ooh), 2),
                recovery_granted: t.granted,
                recovery_taken: t.taken,
                recovery_worked_anyway: t.worked,
                share: round(share, 4),
                equal_share: round(equal, 4),
                load: round(load, 2),
                above_fair: load > FAIR_LIMIT,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.pages
            .cmp(&a.pages)
            .then(b.hours_on_call.total_cmp(&a.hours_on_call))
            .then(a.name.cmp(&b.name))
    });
    rows
}

fn source_figures(pages: &[&PageRecord]) -> Vec<SourceFigures> {
    let mut by: HashMap<&str, SourceFigures> = HashMap::new();
    for p in pages {
        let e = by.entry(p.source.as_str()).or_insert_with(|| SourceFigures {
            source: p.source.clone(),
            pages: 0,
            sleep_interruptions: 0,
            out_of_hours_pages: 0,
        });
        e.pages += 1;
        if p.class == OutOfHours::Sleep {
            e.sleep_interruptions += 1;
        }
        if p.out_of_hours() {
            e.out_of_hours_pages += 1;
        }
    }
    let mut rows: Vec<SourceFigures> = by.into_values().collect();
    rows.sort_by(|a, b| {
        b.sleep_interruptions
            .cmp(&a.sleep_interruptions)
            .then(b.out_of_hours_pages.cmp(&a.out_of_hours_pages))
            .then(b.pages.cmp(&a.pages))
            .then(a.source.cmp(&b.source))
    });
    rows
}

/// Managers' recovery-day use beside the rest of the team's, among current
/// members with a day in the period.
fn recovery_example(inputs: &Inputs, period: &Period) -> RecoveryExample {
    let mut per: HashMap<i64, Tally> = HashMap::new();
    for r in inputs.recovery.iter().filter(|r| period.contains_date(r.day)) {
        count_recovery(per.entry(r.user_id).or_default(), r, inputs.today);
    }
    let mut out = RecoveryExample::default();
    for p in inputs.people.iter().filter(|p| p.member) {
        let u = if p.manager { &mut out.managers } else { &mut out.others };
        u.people += 1;
        if let Some(t) = per.get(&p.id) {
            u.granted += t.granted;
            u.taken += t.taken;
            u.worked_anyway += t.worked;
        }
    }
    for u in [&mut out.managers, &mut out.others] {
        u.taken_share = ratio(u.taken, u.taken + u.worked_anyway);
    }
    out
}

#[cfg(test)]
mod tests;
