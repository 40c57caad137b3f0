//! Pages' effect on people: out-of-hours classes, SLA outcomes and
//! recovery days, as pure functions of instants, zones and policy.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use super::schedule::{local_to_instant, parse_local_time};
use super::validate::Invalid;

pub mod reconcile;

/// A team's policy on what counts as out of hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Sleep hours, in the responder's own zone; may cross midnight.
    pub sleep_start: NaiveTime,
    pub sleep_end: NaiveTime,
    /// Engagement on a weekend day or holiday at least this long grants a day.
    pub day_threshold: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            sleep_start: NaiveTime::from_hms_opt(22, 0, 0).expect("22:00"),
            sleep_end: NaiveTime::from_hms_opt(8, 0, 0).expect("08:00"),
            day_threshold: Duration::minutes(60),
        }
    }
}

impl Policy {
    /// This policy with the changes a manager asked for, checked: times of
    /// day as `HH:MM`, a threshold of 1 to 1440 minutes, and sleep hours
    /// whose start and end differ. `None` keeps a value.
    pub fn changed(
        &self,
        sleep_start: Option<&str>,
        sleep_end: Option<&str>,
        day_threshold_minutes: Option<i32>,
    ) -> Result<Policy, Invalid> {
        let time = |what: &str, v: &str| {
            parse_local_time(v.trim())
                .ok_or_else(|| Invalid(format!("The {what} \"{v}\" is not a time of day; use HH:MM")))
        };
        let mut p = self.clone();
        if let Some(v) = sleep_start {
            p.sleep_start = time("start of sleep hours (sleep_start)", v)?;
        }
        if let Some(v) = sleep_end {
            p.sleep_end = time("end of sleep hours (sleep_end)", v)?;
        }
        if let Some(m) = day_threshold_minutes {
            if !(1..=1440).contains(&m) {
                return Err(Invalid(
                    "The weekend and holiday threshold (day_threshold_minutes) must be between 1 and 1440 minutes"
                        .into(),
                ));
            }
            p.day_threshold = Duration::minutes(i64::from(m));
        }
        if p.sleep_start == p.sleep_end {
            return Err(Invalid("Sleep hours need a start and an end that differ".into()));
        }
        Ok(p)
    }
}

/// The zone a page's out-of-hours class is judged in: the responder's
/// own, else (nobody on call, or a zone no longer known) the team's.
pub fn page_zone(responder_timezone: Option<&str>, team_tz: Tz) -> Tz {
    responder_timezone.and_then(|z| z.parse().ok()).unwrap_or(team_tz)
}

/// Shown and sent as `sleep`, `weekend`, `holiday` or `working`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutOfHours {
    Sleep,
    Weekend,
    Holiday,
    Working,
}

impl OutOfHours {
    pub fn as_str(self) -> &'static str {
        match self {
            OutOfHours::Sleep => "sleep",
            OutOfHours::Weekend => "weekend",
            OutOfHours::Holiday => "holiday",
            OutOfHours::Working => "working",
        }
    }
}

/// Shown and sent as `met`, `missed` or `unacknowledged`; the metrics and
/// the handoff text also know `no_data` ([`judge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sla {
    Met,
    Missed,
    Unacknowledged,
    /// From a tool that cannot acknowledge, and Rota did not page it: nobody
    /// could have acknowledged it, so it is neither met nor missed.
    NoData,
}

impl Sla {
    pub fn as_str(self) -> &'static str {
        match self {
            Sla::Met => "met",
            Sla::Missed => "missed",
            Sla::Unacknowledged => "unacknowledged",
            Sla::NoData => "no_data",
        }
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Sla::NoData => "no acknowledgement data",
            s => s.as_str(),
        }
    }
}

/// Tools whose webhooks never say that someone acknowledged (Alertmanager
/// and Grafana only fire and resolve).
pub const CANNOT_ACKNOWLEDGE: [&str; 2] = ["alertmanager", "grafana"];

/// Whether a page carries acknowledgement data: it was acknowledged, Rota
/// paged it (so an acknowledgement would have come through Rota), or its
/// source can report one.
pub fn has_ack_data(source: &str, acknowledged: bool, paged: bool) -> bool {
    acknowledged || paged || !CANNOT_ACKNOWLEDGE.contains(&source)
}

/// [`sla`], with [`Sla::NoData`] for a page without acknowledgement data.
pub fn judge(
    fired_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    sla_minutes: Option<i32>,
    source: &str,
    paged: bool,
) -> Sla {
    if has_ack_data(source, acknowledged_at.is_some(), paged) {
        sla(fired_at, acknowledged_at, sla_minutes)
    } else {
        Sla::NoData
    }
}

/// Acknowledgement latency against the responder's role SLA.
pub fn sla(fired_at: DateTime<Utc>, acknowledged_at: Option<DateTime<Utc>>, sla_minutes: Option<i32>) -> Sla {
    match (acknowledged_at, sla_minutes) {
        (None, _) => Sla::Unacknowledged,
        (Some(ack), Some(m)) if ack - fired_at <= Duration::minutes(i64::from(m)) => Sla::Met,
        (Some(_), Some(_)) => Sla::Missed,
        (Some(_), None) => Sla::Met,
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The sleep period that ends on the morning of `date` (or, for a window
/// that does not cross midnight, lies within `date`).
fn night(date: NaiveDate, tz: Tz, p: &Policy) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_day = if p.sleep_start > p.sleep_end {
        date - Duration::days(1)
    } else {
        date
    };
    (
        local_to_instant(tz, start_day, p.sleep_start),
        local_to_instant(tz, date, p.sleep_end),
    )
}

/// What kind of time `at` was for someone in `tz`.
pub fn classify(at: DateTime<Utc>, tz: Tz, p: &Policy, holidays: &BTreeSet<NaiveDate>) -> OutOfHours {
    let date = at.with_timezone(&tz).date_naive();
    let asleep = [date, date + Duration::days(1)].iter().any(|d| {
        let (a, b) = night(*d, tz, p);
        a <= at && at < b
    });
    if asleep {
        OutOfHours::Sleep
    } else if is_weekend(date) {
        OutOfHours::Weekend
    } else if holidays.contains(&date) {
        OutOfHours::Holiday
    } else {
        OutOfHours::Working
    }
}

/// What kind of time a whole engagement was: sleep if any of it fell in
/// sleep hours, else what its start was.
pub fn classify_engagement(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    p: &Policy,
    holidays: &BTreeSet<NaiveDate>,
) -> OutOfHours {
    let first = start.with_timezone(&tz).date_naive();
    let last = end.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut d = first;
    while d <= last {
        let n = night(d, tz, p);
        if overlap((start, end.max(start + Duration::seconds(1))), n) > Duration::zero() {
            return OutOfHours::Sleep;
        }
        d += Duration::days(1);
    }
    classify(start, tz, p, holidays)
}

/// Whether work over `[start, end)` could earn a recovery day at all: it
/// touches sleep hours, a weekend day or a holiday. Work wholly within one
/// working day's waking hours cannot.
pub fn could_grant(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    p: &Policy,
    holidays: &BTreeSet<NaiveDate>,
) -> bool {
    let rest = |at: DateTime<Utc>| {
        let d = at.with_timezone(&tz).date_naive();
        is_weekend(d) || holidays.contains(&d)
    };
    classify_engagement(start, end, tz, p, holidays) != OutOfHours::Working || rest(start) || rest(end)
}

/// Why a recovery day was granted: the night or the day that was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// The sleep period ending on the morning of this date.
    Night(NaiveDate),
    /// Daytime engagement on this weekend day or holiday.
    Day(NaiveDate),
}

impl Trigger {
    pub fn kind(self) -> &'static str {
        match self {
            Trigger::Night(_) => "night",
            Trigger::Day(_) => "day",
        }
    }

    pub fn date(self) -> NaiveDate {
        match self {
            Trigger::Night(d) | Trigger::Day(d) => d,
        }
    }

    pub fn parse(kind: &str, date: NaiveDate) -> Option<Self> {
        match kind {
            "night" => Some(Trigger::Night(date)),
            "day" => Some(Trigger::Day(date)),
            _ => None,
        }
    }

    /// The first date the recovery day may fall on.
    fn earliest_day(self) -> NaiveDate {
        match self {
            Trigger::Night(d) => d,
            Trigger::Day(d) => d + Duration::days(1),
        }
    }
}

fn overlap(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> Duration {
    let start = a.0.max(b.0);
    let end = a.1.min(b.1);
    if end > start { end - start } else { Duration::zero() }
}

/// The nights and days that one person's engagements (half-open intervals)
/// interrupted, in order; each at most once, however many pages.
pub fn triggers(
    engagements: &[(DateTime<Utc>, DateTime<Utc>)],
    tz: Tz,
    p: &Policy,
    holidays: &BTreeSet<NaiveDate>,
) -> BTreeSet<Trigger> {
    let mut found = BTreeSet::new();
    let mut daytime: std::collections::BTreeMap<NaiveDate, Duration> = Default::default();
    for &(start, end) in engagements {
        // A zero-length engagement (nothing but a firing) still woke someone.
        let end = end.max(start + Duration::seconds(1));
        let first = start.with_timezone(&tz).date_naive() - Duration::days(1);
        let last = end.with_timezone(&tz).date_naive() + Duration::days(1);
        let mut d = first;
        while d <= last {
            let n = night(d, tz, p);
            if overlap((start, end), n) > Duration::zero() {
                found.insert(Trigger::Night(d));
            }
            if is_weekend(d) || holidays.contains(&d) {
                let day = (
                    local_to_instant(tz, d, NaiveTime::MIN),
                    local_to_instant(tz, d + Duration::days(1), NaiveTime::MIN),
                );
                // Daytime only: time asleep counts toward a night instead.
                let asleep: Duration = [n, night(d + Duration::days(1), tz, p)]
                    .into_iter()
                    .map(|sleep| overlap((start, end), (sleep.0.max(day.0), sleep.1.min(day.1))))
                    .sum();
                let awake = overlap((start, end), day) - asleep;
                *daytime.entry(d).or_insert_with(Duration::zero) += awake;
            }
            d += Duration::days(1);
        }
    }
    for (d, spent) in daytime {
        if spent >= p.day_threshold {
            found.insert(Trigger::Day(d));
        }
    }
    found
}

/// The first working day on or after `from`: not a weekend, a holiday, or
/// a day already taken.
pub fn first_working_day(from: NaiveDate, holidays: &BTreeSet<NaiveDate>, taken: &BTreeSet<NaiveDate>) -> NaiveDate {
    let mut d = from;
    while is_weekend(d) || holidays.contains(&d) || taken.contains(&d) {
        d += Duration::days(1);
    }
    d
}

/// Days for new triggers, in trigger order, avoiding the days of grants
/// that already exist.
pub fn assign_days(
    new: &[Trigger],
    holidays: &BTreeSet<NaiveDate>,
    existing_days: &BTreeSet<NaiveDate>,
) -> Vec<(Trigger, NaiveDate)> {
    let mut taken = existing_days.clone();
    let mut sorted = new.to_vec();
    sorted.sort();
    sorted
        .into_iter()
        .map(|t| {
            let day = first_working_day(t.earliest_day(), holidays, &taken);
            taken.insert(day);
            (t, day)
        })
        .collect()
}

#[cfg(test)]
mod tests;
