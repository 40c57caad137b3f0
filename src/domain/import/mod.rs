//! Schedules brought over from PagerDuty, Opsgenie and Grafana OnCall: the
//! JSON their REST APIs return, read into typed structs and mapped onto
//! Rota's weekly rotation. Pure: no I/O, "now" is an argument.
//!
//! Each vendor module reads its bundle (one file holding the API responses
//! an import needs, verbatim) into a [`Source`]: the weekly layers it could
//! read, in order, the overrides, the people, and a line for everything
//! it could not carry over. [`plan`] then makes the vendor-neutral
//! [`ImportPlan`] that `ops::import` applies: the first layer is the
//! primary role, and the second is checked against Rota's rule (next
//! week's primary is this week's secondary).

pub mod grafana;
pub mod opsgenie;
pub mod pagerduty;
mod read;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::domain::role::Role;
use crate::domain::schedule::{local_to_instant, weekday_name};

/// The tools Rota imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    PagerDuty,
    Opsgenie,
    GrafanaOnCall,
}

impl Vendor {
    pub const ALL: [Vendor; 3] = [Vendor::PagerDuty, Vendor::Opsgenie, Vendor::GrafanaOnCall];

    /// As typed on the command line and sent by the form.
    pub fn parse(s: &str) -> Option<Vendor> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pagerduty" => Some(Vendor::PagerDuty),
            "opsgenie" => Some(Vendor::Opsgenie),
            "grafana-oncall" => Some(Vendor::GrafanaOnCall),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::PagerDuty => "pagerduty",
            Vendor::Opsgenie => "opsgenie",
            Vendor::GrafanaOnCall => "grafana-oncall",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Vendor::PagerDuty => "PagerDuty",
            Vendor::Opsgenie => "Opsgenie",
            Vendor::GrafanaOnCall => "Grafana OnCall",
        }
    }
}

/// One thing wrong with a file: where (a field path such as
/// `schedule.schedule_layers[0].users[1]`, with the line and column when
/// the JSON itself is at fault) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a file was refused. Nothing is stored for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The JSON is not what the vendor's API returns (syntax or shape):
    /// a malformed request. Otherwise it was read but cannot make a
    /// rotation.
    pub malformed: bool,
    pub problems: Vec<Problem>,
}

impl Rejected {
    fn unusable(problems: Vec<Problem>) -> Self {
        Rejected {
            malformed: false,
            problems,
        }
    }
}

/// Someone the file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Lowercase.
    pub email: String,
    pub name: Option<String>,
    /// Their own zone, when the vendor knows it and Rota does too.
    pub timezone: Option<Tz>,
}

/// A vendor's weekly layer (rotation, rolling shift), as read.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Where it is in the file, for the report.
    pub path: String,
    /// The vendor's name for it ("Layer 1").
    pub label: String,
    pub tz: Tz,
    /// The wall-clock start of a week that `people[0]` leads.
    pub anchor: NaiveDateTime,
    /// E-mails in the vendor's order.
    pub people: Vec<String>,
    /// When the layer takes effect.
    pub starts_at: DateTime<Utc>,
}

impl Layer {
    fn weekday(&self) -> Weekday {
        self.anchor.weekday()
    }

    fn time(&self) -> NaiveTime {
        self.anchor.time()
    }

    /// The handoff date of the week that holds `at`.
    fn handoff_on_or_before(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at.with_timezone(&self.tz).naive_local();
        let back = (7 + local.weekday().num_days_from_monday() - self.weekday().num_days_from_monday()) % 7;
        let mut date = local.date() - Duration::days(i64::from(back));
        if local_to_instant(self.tz, date, self.time()) > at {
            date -= Duration::days(7);
        }
        date
    }

    /// The first handoff date at or after `at`.
    fn handoff_on_or_after(&self, at: DateTime<Utc>) -> NaiveDate {
        let date = self.handoff_on_or_before(at);
        if local_to_instant(self.tz, date, self.time()) == at {
            date
        } else {
            date + Duration::days(7)
        }
    }

    /// Who leads the week whose handoff is on `date` (a handoff weekday).
    fn leader_on(&self, date: NaiveDate) -> usize {
        let weeks = (date - self.anchor.date()).num_days().div_euclid(7);
        weeks.rem_euclid(self.people.len() as i64) as usize
    }

    fn hands_over_with(&self, other: &Layer) -> bool {
        self.tz == other.tz && self.weekday() == other.weekday() && self.time() == other.time()
    }
}

/// An override as read: who holds the role over the span. `role` is
/// `None` when the vendor's override covers the whole schedule.
#[derive(Debug, Clone)]
pub struct SourceOverride {
    pub path: String,
    pub email: String,
    pub role: Option<Role>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// What a vendor module read from its bundle.
#[derive(Debug, Clone)]
pub struct Source {
    pub vendor: Vendor,
    pub schedule_name: String,
    /// The weekly layers Rota can carry over, in order.
    pub layers: Vec<Layer>,
    pub overrides: Vec<SourceOverride>,
    pub people: Vec<Person>,
    /// Lines for what could not be carried over.
    pub unmapped: Vec<String>,
    pub notes: Vec<String>,
}

/// An override to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOverride {
    pub path: String,
    pub email: String,
    pub role: Role,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A rotation to create (or merge into), from any vendor.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub vendor: Vendor,
    pub schedule_name: String,
    pub rotation_name: String,
    pub rotation_slug: String,
    pub tz: Tz,
    pub weekday: Weekday,
    pub time: NaiveTime,
    /// The first handoff Rota makes: the one that began the current week
    /// (so the week under way is Rota's at once), or the layer's first.
    pub start_date: NaiveDate,
    /// E-mails in the vendor's order.
    pub participants: Vec<String>,
    /// `participants[leader]` leads the week from `start_date`.
    pub leader: usize,
    /// Everyone named: participants first.
    pub people: Vec<Person>,
    pub overrides: Vec<PlannedOverride>,
    /// What was not carried over, one line each: never dropped silently.
    pub unmapped: Vec<String>,
    pub notes: Vec<String>,
}

impl ImportPlan {
    /// Who leads the week whose handoff is on `date` (a handoff weekday).
    pub fn leader_on(&self, date: NaiveDate) -> usize {
        let weeks = (date - self.start_date).num_days().div_euclid(7);
        (self.leader as i64 + weeks).rem_euclid(self.participants.len() as i64) as usize
    }

    /// "tuesday 10:00 Europe/London".
    pub fn handoff(&self) -> String {
        format!(
            "{} {} {}",
            weekday_name(self.weekday),
            self.time.format("%H:%M"),
            self.tz.name()
        )
    }
}

/// Reads `text` as `vendor`'s bundle and plans the rotation.
pub fn parse(vendor: Vendor, text: &str, now: DateTime<Utc>) -> Result<ImportPlan, Rejected> {
    let source = match vendor {
        Vendor::PagerDuty => pagerduty::read(text, now)?,
        Vendor::Opsgenie => opsgenie::read(text, now)?,
        Vendor::GrafanaOnCall => grafana::read(text, now)?,
    };
    plan(source, now)
}

/// How far ahead a rotation may start (as `ops::rotations` allows).
const LATEST_START_YEARS: i32 = 2;

/// Maps what was read onto one rotation.
pub fn plan(source: Source, now: DateTime<Utc>) -> Result<ImportPlan, Rejected> {
    let Source {
        vendor,
        schedule_name,
        layers,
        overrides,
        people,
        mut unmapped,
        mut notes,
    } = source;
    let mut layers = layers.into_iter();
    let Some(primary) = layers.next() else {
        return Err(Rejected::unusable(vec![Problem::new(
            "",
            format!(
                "No weekly layer Rota can import: a Rota rotation hands over once a week, and every layer of \
                 this {} schedule is listed above as not carried over",
                vendor.label()
            ),
        )]));
    };
    let mut problems = Vec::new();
    if primary.people.len() < 2 {
        problems.push(Problem::new(
            primary.path.clone(),
            format!(
                "\"{}\" has {} person; a Rota rotation needs at least two",
                primary.label,
                primary.people.len()
            ),
        ));
    }
    for (i, email) in primary.people.iter().enumerate() {
        if primary.people[..i].contains(email) {
            problems.push(Problem::new(
                primary.path.clone(),
                format!(
                    "{email} is in \"{}\" twice; Rota lists each person once, so remove the repeat in {} and export again",
                    primary.label,
                    vendor.label()
                ),
            ));
        }
    }
    let start_date = if primary.starts_at > now {
        primary.handoff_on_or_after(primary.starts_at)
    } else {
        primary.handoff_on_or_before(now)
    };
    let today = now.date_naive();
    let latest = today.with_year(today.year() + LATEST_START_YEARS).unwrap_or(today);
    if start_date > latest {
        problems.push(Problem::new(
            primary.path.clone(),
            format!(
                "\"{}\" starts on {start_date}, more than two years ahead; import it nearer the time",
                primary.label
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(Rejected::unusable(problems));
    }
    let leader = primary.leader_on(start_date);
    notes.push(format!(
        "{} (\"{}\") is the primary role: {} people, handing over each {} at {} ({})",
        primary.path,
        primary.label,
        primary.people.len(),
        weekday_name(primary.weekday()),
        primary.time().format("%H:%M"),
        primary.tz.name()
    ));
    match layers.next() {
        Some(secondary) => compare_secondary(&primary, &secondary, start_date, &mut unmapped, &mut notes),
        None => notes.push(
            "There is no second weekly layer: Rota makes next week's primary the secondary, as it always does".into(),
        ),
    }
    for extra in layers {
        unmapped.push(format!(
            "{} (\"{}\"): a third weekly layer; Rota has two roles, primary and secondary, so it is not imported",
            extra.path, extra.label
        ));
    }
    let overrides = plan_overrides(overrides, now, &mut unmapped, &mut notes);
    let rotation_name =
        crate::domain::validate::name(&schedule_name).unwrap_or_else(|_| format!("{} import", vendor.label()));
    Ok(ImportPlan {
        vendor,
        rotation_slug: slug_of(&schedule_name),
        rotation_name,
        schedule_name,
        tz: primary.tz,
        weekday: primary.weekday(),
        time: primary.time(),
        start_date,
        participants: primary.people.clone(),
        leader,
        people,
        overrides,
        unmapped,
        notes,
    })
}

/// Rota's secondary is next week's primary. A second layer that says the
/// same is carried over; where it differs, each week of one cycle says so.
fn compare_secondary(
    primary: &Layer,
    secondary: &Layer,
    start: NaiveDate,
    unmapped: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let name = format!("{} (\"{}\")", secondary.path, secondary.label);
    if !secondary.hands_over_with(primary) {
        unmapped.push(format!(
            "{name}: hands over on {} at {} ({}), the primary on {} at {} ({}); Rota hands both roles over together, \
             so the secondary follows Rota's rule (next week's primary) instead",
            weekday_name(secondary.weekday()),
            secondary.time().format("%H:%M"),
            secondary.tz.name(),
            weekday_name(primary.weekday()),
            primary.time().format("%H:%M"),
            primary.tz.name()
        ));
        return;
    }
    for email in &secondary.people {
        if !primary.people.contains(email) {
            unmapped.push(format!(
                "{name}: {email} is only in the secondary layer; Rota's secondary is always a primary of another week, \
                 so {email} joins the team but has no shifts"
            ));
        }
    }
    let n = primary.people.len();
    let mut differs = 0;
    for week in 0..n {
        let date = start + Duration::weeks(week as i64);
        let rota = &primary.people[(primary.leader_on(date) + 1) % n];
        let theirs = &secondary.people[secondary.leader_on(date)];
        if rota != theirs {
            differs += 1;
            unmapped.push(format!(
                "{name}: in the week from {date} the secondary is {theirs}; Rota makes {rota} secondary (next week's primary)"
            ));
        }
    }
    if differs == 0 {
        notes.push(format!(
            "{name} is the secondary role: it matches Rota's rule, next week's primary is this week's secondary"
        ));
    }
}

fn plan_overrides(
    overrides: Vec<SourceOverride>,
    now: DateTime<Utc>,
    unmapped: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Vec<PlannedOverride> {
    let mut planned = Vec::new();
    let mut whole = false;
    for o in overrides {
        if o.ends_at <= now {
            notes.push(format!(
                "{}: ended before now; past overrides stay in history there",
                o.path
            ));
            continue;
        }
        if o.ends_at <= o.starts_at {
            unmapped.push(format!(
                "{}: ends before it starts, so there is nothing to override",
                o.path
            ));
            continue;
        }
        whole |= o.role.is_none();
        planned.push(PlannedOverride {
            path: o.path,
            email: o.email,
            role: o.role.unwrap_or(Role::Primary),
            starts_at: o.starts_at,
            ends_at: o.ends_at,
        });
    }
    if whole {
        notes.push(
            "Overrides that replace whoever is on call in the whole schedule are applied to the primary role".into(),
        );
    }
    planned
}

/// A rotation's short name from the vendor's schedule name: lowercase
/// letters and digits, words joined by hyphens, at most 40 characters.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.chars().take(40).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() { "imported".into() } else { slug }
}

/// "daily", "2 weeks": a turn length in words.
pub(crate) fn turn_words(seconds: i64) -> String {
    const DAY: i64 = 86_400;
    match seconds {
        s if s == 7 * DAY => "weekly".into(),
        s if s == DAY => "daily (24 hours)".into(),
        s if s % (7 * DAY) == 0 => format!("{} weeks", s / (7 * DAY)),
        s if s % DAY == 0 => format!("{} days", s / DAY),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s => format!("{s} seconds"),
    }
}
