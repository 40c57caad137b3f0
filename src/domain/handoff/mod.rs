//! Handoffs as pure rules: where a rotation's week boundaries fall, when a
//! handoff opens, is due and is overdue, who writes and who acknowledges
//! it, what its status is, and which reminders are due. "Now" is always an
//! argument.
//!
//! A handoff belongs to a week boundary: the instant one week ends and the
//! next starts. It is written by the outgoing on-call (who held the roles
//! just before) for the incoming ones (who hold them just after), and named
//! by the incoming week's first date in the rotation's zone.

pub mod template;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::recovery::first_working_day;
use super::schedule::{Rule, local_to_instant};

pub use super::role::Role;

/// A handoff opens this long before its time (same wall-clock time, the
/// day before, in the rotation's zone).
pub const OPENS_DAYS_BEFORE: i64 = 1;
/// The outgoing primary is reminded at this local time on the handoff day.
pub fn reminder_time() -> NaiveTime {
    NaiveTime::from_hms_opt(8, 0, 0).expect("08:00")
}
/// Reminders older than this are not sent any more (after an outage, or
/// on the first start of a new install with years of history).
pub const REMINDERS_STALE_AFTER: Duration = Duration::days(7);
/// The most boundaries one call lists, whatever period it is asked for.
const MAX_BOUNDARIES: usize = 5_000;

/// One week boundary of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    pub at: DateTime<Utc>,
    /// The incoming week's first date, in the zone of the rule that owns it.
    pub week_start: NaiveDate,
    pub tz: Tz,
}

/// The local date `at` falls on in `tz`.
fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

fn boundary_of<P>(rule: &Rule<P>, at: DateTime<Utc>) -> Boundary {
    Boundary {
        at,
        week_start: local_date(at, rule.tz),
        tz: rule.tz,
    }
}

/// The instant each rule stops owning weeks: the next rule's start.
fn owned_until<P>(rules: &[Rule<P>], i: usize) -> DateTime<Utc> {
    rules
        .get(i + 1)
        .map_or(DateTime::<Utc>::MAX_UTC, |next| next.effective_from)
}

/// The rotation's boundaries in `[from, to)`, oldest first. `rules` are the
/// rotation's settings versions in order; each owns its weeks until the
/// next one starts. The very first week has no handoff into it: nobody was
/// on call before.
pub fn boundaries_between<P: Clone + PartialEq>(
    rules: &[Rule<P>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Boundary> {
    let mut found = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let end = owned_until(rules, i).min(to);
        if rule.effective_from >= end {
            continue;
        }
        let mut j = rule.week_index_at(from.max(rule.effective_from)).unwrap_or(0);
        loop {
            let at = rule.boundary(j);
            if at >= end || found.len() >= MAX_BOUNDARIES {
                break;
            }
            if at >= from && !(i == 0 && j == 0) {
                found.push(boundary_of(rule, at));
            }
            j += 1;
        }
    }
    found
}

/// The boundary whose incoming week starts on `date` (in its rule's zone).
pub fn boundary_on<P: Clone + PartialEq>(rules: &[Rule<P>], date: NaiveDate) -> Option<Boundary> {
    rules.iter().enumerate().find_map(|(i, rule)| {
        let end = owned_until(rules, i);
        let near = (date - rule.anchor).num_days().div_euclid(7) + 1;
        let mut candidates = vec![0];
        candidates.extend((near - 1..=near + 1).filter(|j| *j >= 1));
        candidates
            .into_iter()
            .filter(|j| !(i == 0 && *j == 0))
            .map(|j| boundary_of(rule, rule.boundary(j)))
            .find(|b| b.week_start == date && b.at >= rule.effective_from && b.at < end)
    })
}

/// The boundary at instant `at`, if one is there: how a stored handoff
/// finds its rule (and so its zone and date) again.
pub fn boundary_at<P: Clone + PartialEq>(rules: &[Rule<P>], at: DateTime<Utc>) -> Option<Boundary> {
    let i = rules.iter().rposition(|r| r.effective_from <= at)?;
    let rule = &rules[i];
    let j = rule.week_index_at(at)?;
    (rule.boundary(j) == at && !(i == 0 && j == 0)).then(|| boundary_of(rule, at))
}

/// The start of the week that ends at `at`: the previous boundary, or the
/// rotation's first start.
pub fn week_before<P: Clone + PartialEq>(rules: &[Rule<P>], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let first = rules.first()?.effective_from;
    let earlier = boundaries_between(rules, at - Duration::days(11), at);
    Some(earlier.last().map_or(first, |b| b.at).max(first))
}

/// The end of the week that starts at boundary `at`: the next boundary.
pub fn week_after<P: Clone + PartialEq>(rules: &[Rule<P>], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    boundaries_between(rules, at + Duration::seconds(1), at + Duration::days(11))
        .first()
        .map(|b| b.at)
}

/// Someone who holds or held a role at a boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub tz: Tz,
}

/// Who hands over to whom at a boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct People {
    pub outgoing_primary: Option<Person>,
    pub outgoing_secondary: Option<Person>,
    pub incoming_primary: Option<Person>,
    pub incoming_secondary: Option<Person>,
}

/// Why someone may write a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    OutgoingPrimary,
    OutgoingSecondary,
    Manager,
}

impl Writer {
    /// The outgoing secondary adds to the handoff; the primary (or a
    /// manager, when the primary cannot) submits it.
    pub fn may_submit(self) -> bool {
        !matches!(self, Writer::OutgoingSecondary)
    }
}

impl People {
    fn is(p: &Option<Person>, user_id: i64) -> bool {
        p.as_ref().is_some_and(|p| p.id == user_id)
    }

    /// How `user_id` may write, if at all: the outgoing on-call, or a manager.
    pub fn writer(&self, user_id: i64, is_manager: bool) -> Option<Writer> {
        if Self::is(&self.outgoing_primary, user_id) {
            Some(Writer::OutgoingPrimary)
        } else if Self::is(&self.outgoing_secondary, user_id) {
            Some(Writer::OutgoingSecondary)
        } else if is_manager {
            Some(Writer::Manager)
        } else {
            None
        }
    }

    /// The role `user_id` takes over, if they are one of the incoming.
    pub fn incoming_role(&self, user_id: i64) -> Option<Role> {
        if Self::is(&self.incoming_primary, user_id) {
            Some(Role::Primary)
        } else if Self::is(&self.incoming_secondary, user_id) {
            Some(Role::Secondary)
        } else {
            None
        }
    }

    pub fn incoming(&self) -> impl Iterator<Item = (&Person, Role)> {
        [
            (self.incoming_primary.as_ref(), Role::Primary),
            (self.incoming_secondary.as_ref(), Role::Secondary),
        ]
        .into_iter()
        .filter_map(|(p, r)| p.map(|p| (p, r)))
    }

    pub fn is_outgoing(&self, user_id: i64) -> bool {
        Self::is(&self.outgoing_primary, user_id) || Self::is(&self.outgoing_secondary, user_id)
    }
}

/// What is known about the outgoing primary's time off around the handoff.
#[derive(Debug, Clone, Default)]
pub struct TimeOff {
    /// Their team's holidays.
    pub holidays: BTreeSet<NaiveDate>,
    /// Their recovery days (dates in their own zone).
    pub recovery_days: BTreeSet<NaiveDate>,
}

/// When a handoff opens, is due, becomes overdue, and when its writer is
/// reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub opens_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue_at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    /// The outgoing primary has a recovery day on the handoff day.
    pub recovering: bool,
    /// From this instant a handoff still not submitted is past chasing:
    /// "no handoff written", not "overdue". See `Timing::chased_until`.
    pub missed_at: DateTime<Utc>,
}

impl Timing {
    /// Bounds how long a missing handoff counts as overdue: until the next
    /// handoff is due (that one is then the one worth writing), and not at
    /// all when the rotation was created after this handoff's time (a
    /// rotation started in the past: nobody could have written it).
    pub fn chased_until(self, next_due: DateTime<Utc>, rotation_created: DateTime<Utc>) -> Timing {
        let missed_at = if rotation_created > self.due_at {
            self.due_at
        } else {
            next_due
        };
        Timing { missed_at, ..self }
    }
}

/// The handoff's timing. It opens a day before the handoff time and is due
/// at it. If the outgoing primary has a recovery day on the handoff day
/// (in their zone), it is not overdue until the end of their next working
/// day, and their reminder waits for that day's morning: a recovery day is
/// time off, not a day to chase someone.
pub fn timing(boundary: &Boundary, writer: Option<(&Person, &TimeOff)>) -> Timing {
    let wall = boundary.at.with_timezone(&boundary.tz);
    let opens_at = local_to_instant(
        boundary.tz,
        wall.date_naive() - Duration::days(OPENS_DAYS_BEFORE),
        wall.time(),
    );
    let due_at = boundary.at;
    let Some((person, off)) = writer else {
        return Timing {
            opens_at,
            due_at,
            overdue_at: due_at,
            remind_at: opens_at,
            recovering: false,
            missed_at: DateTime::<Utc>::MAX_UTC,
        };
    };
    let tz = person.tz;
    let day = local_date(due_at, tz);
    let morning = |d: NaiveDate| local_to_instant(tz, d, reminder_time());
    if off.recovery_days.contains(&day) {
        let back = first_working_day(day + Duration::days(1), &off.holidays, &off.recovery_days);
        return Timing {
            opens_at,
            due_at,
            overdue_at: local_to_instant(tz, back + Duration::days(1), NaiveTime::MIN),
            remind_at: morning(back),
            recovering: true,
            missed_at: DateTime::<Utc>::MAX_UTC,
        };
    }
    let mut remind_at = morning(day);
    if remind_at >= due_at {
        // An early handoff: remind the morning before, once it is open.
        remind_at = morning(day - Duration::days(1)).max(opens_at);
    }
    Timing {
        opens_at,
        due_at,
        overdue_at: due_at,
        remind_at: remind_at.max(opens_at),
        recovering: false,
        missed_at: DateTime::<Utc>::MAX_UTC,
    }
}

/// Where a handoff stands in its life, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotStarted,
    Draft,
    Submitted,
    /// Submitted, and the incoming primary has acknowledged it.
    Acknowledged,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::NotStarted => "not_started",
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Acknowledged => "acknowledged",
        }
    }

    pub fn of(exists: bool, submitted: bool, primary_acknowledged: bool) -> State {
        match (exists, submitted, primary_acknowledged) {
            (false, _, _) => State::NotStarted,
            (true, false, _) => State::Draft,
            (true, true, false) => State::Submitted,
            (true, true, true) => State::Acknowledged,
        }
    }
}

/// What a reader is told about a handoff: its state with the clock applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not open yet.
    Upcoming,
    /// Open, nothing written yet, not late.
    Open,
    Draft,
    /// Not submitted and past its (possibly extended) deadline, while it
    /// is still the one to write.
    Overdue,
    /// Never submitted, and past chasing: the next handoff is due, or the
    /// rotation did not exist yet at its time.
    Missed,
    Submitted,
    Acknowledged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Upcoming => "upcoming",
            Status::Open => "open",
            Status::Draft => "draft",
            Status::Overdue => "overdue",
            Status::Missed => "missed",
            Status::Submitted => "submitted",
            Status::Acknowledged => "acknowledged",
        }
    }

    /// Words for a page: "not open yet", "overdue", …
    pub fn label(self) -> &'static str {
        match self {
            Status::Upcoming => "not open yet",
            Status::Open => "not started",
            Status::Draft => "draft",
            Status::Overdue => "overdue",
            Status::Missed => "no handoff written",
            Status::Submitted => "submitted",
            Status::Acknowledged => "acknowledged",
        }
    }
}

pub fn status(state: State, timing: &Timing, now: DateTime<Utc>) -> Status {
    match state {
        State::Acknowledged => Status::Acknowledged,
        State::Submitted => Status::Submitted,
        _ if now >= timing.missed_at.max(timing.overdue_at) => Status::Missed,
        _ if now >= timing.overdue_at => Status::Overdue,
        State::Draft => Status::Draft,
        State::NotStarted if now < timing.opens_at => Status::Upcoming,
        State::NotStarted => Status::Open,
    }
}

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReminderKind {
    /// To the outgoing primary, on the handoff morning: write it.
    Write,
    /// To each incoming one, once it is submitted: read and acknowledge it.
    Read,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Write => "write",
            ReminderKind::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "write" => Some(ReminderKind::Write),
            "read" => Some(ReminderKind::Read),
            _ => None,
        }
    }
}

/// What deciding a boundary's reminders needs.
pub struct ReminderFacts<'a> {
    pub people: &'a People,
    pub timing: &'a Timing,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Who has acknowledged it.
    pub acknowledged: &'a [i64],
    /// Reminders already sent for this boundary.
    pub sent: &'a [(ReminderKind, i64)],
}

/// The reminders due now and not yet sent, each to one person.
pub fn reminders_due(f: &ReminderFacts<'_>, now: DateTime<Utc>) -> Vec<(ReminderKind, i64)> {
    let unsent = |kind, id| !f.sent.contains(&(kind, id));
    let mut due = Vec::new();
    match f.submitted_at {
        None => {
            if let Some(p) = &f.people.outgoing_primary
                && now >= f.timing.remind_at
                && now < f.timing.overdue_at.max(f.timing.remind_at) + REMINDERS_STALE_AFTER
                && now < f.timing.missed_at
                && unsent(ReminderKind::Write, p.id)
            {
                due.push((ReminderKind::Write, p.id));
            }
        }
        Some(submitted) if now >= submitted && now < submitted + REMINDERS_STALE_AFTER => {
            for (p, _) in f.people.incoming() {
                if !f.acknowledged.contains(&p.id)
                    && unsent(ReminderKind::Read, p.id)
                    && !due.contains(&(ReminderKind::Read, p.id))
                {
                    due.push((ReminderKind::Read, p.id));
                }
            }
        }
        Some(_) => {}
    }
    due
}

/// The instant `date` starts in `tz` (for ranges of local dates).
pub fn start_of(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_to_instant(tz, date, NaiveTime::MIN)
}

#[cfg(test)]
mod tests;
