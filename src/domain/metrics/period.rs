//! The span a metrics page covers, its weeks and months, and the span
//! before it, all stepped in the team's local calendar so a week across a
//! DST change still runs midnight to midnight.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::domain::schedule::local_to_instant;
use crate::domain::validate::Invalid;

/// The longest period a page or the API computes (two years and a bit).
pub const MAX_DAYS: i64 = 800;

/// The periods a person picks from; `12` is the default.
pub const CHOICES: [u32; 3] = [4, 12, 52];
pub const DEFAULT_WEEKS: u32 = 12;

/// A half-open span of instants `[from, to)` read in a zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: Tz,
}

fn at(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    local_to_instant(tz, local.date(), local.time())
}

impl Period {
    /// Any span of instants, at most [`MAX_DAYS`] long.
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Result<Period, Invalid> {
        if from >= to || to - from > Duration::days(MAX_DAYS) {
            return Err(Invalid(format!(
                "Choose a period whose start is before its end, at most {MAX_DAYS} days long"
            )));
        }
        Ok(Period { from, to, tz })
    }

    /// Whole local days from `first` to `last`, both included.
    pub fn dates(first: NaiveDate, last: NaiveDate, tz: Tz) -> Result<Period, Invalid> {
        let midnight = |d: NaiveDate| local_to_instant(tz, d, NaiveTime::MIN);
        Period::between(midnight(first), midnight(last + Duration::days(1)), tz)
    }

    /// The `weeks` weeks that end with `today` (included).
    pub fn weeks_to(today: NaiveDate, weeks: u32, tz: Tz) -> Period {
        let first = today - Duration::days(7 * i64::from(weeks.clamp(1, 110)) - 1);
        let midnight = |d: NaiveDate| local_to_instant(tz, d, NaiveTime::MIN);
        Period {
            from: midnight(first),
            to: midnight(today + Duration::days(1)),
            tz,
        }
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// The span of the same local length that ends where this one starts.
    pub fn previous(&self) -> Period {
        let (a, b) = (self.local(self.from), self.local(self.to));
        let from = at(self.tz, a - (b - a));
        Period {
            from: from.min(self.from - Duration::seconds(1)),
            to: self.from,
            tz: self.tz,
        }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    /// A date counts in the period when its local midnight does.
    pub fn contains_date(&self, d: NaiveDate) -> bool {
        self.contains(local_to_instant(self.tz, d, NaiveTime::MIN))
    }

    /// The first and last local dates of the period (for labels).
    pub fn first_date(&self) -> NaiveDate {
        self.local(self.from).date()
    }

    pub fn last_date(&self) -> NaiveDate {
        self.local(self.to - Duration::seconds(1)).date()
    }

    /// Seven local days at a time from the start; the last may be shorter.
    pub fn weeks(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.local(self.from);
        let mut out = Vec::new();
        let mut from = self.from;
        let mut k = 1;
        while from < self.to {
            let next = at(self.tz, start + Duration::days(7 * k)).min(self.to);
            out.push((from, next));
            from = next;
            k += 1;
        }
        out
    }

    /// The calendar months the period touches, clipped to it, with their
    /// labels (`2027-03`).
    pub fn months(&self) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let mut from = self.from;
        while from < self.to {
            let d = self.local(from).date();
            let (y, m) = if d.month() == 12 {
                (d.year() + 1, 1)
            } else {
                (d.year(), d.month() + 1)
            };
            let first_of_next = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d);
            let next = local_to_instant(self.tz, first_of_next, NaiveTime::MIN).min(self.to);
            out.push((d.format("%Y-%m").to_string(), from, next));
            from = next;
        }
        out
    }
}

/// The part of `[a, b)` inside `[from, to)`.
pub fn clipped(a: DateTime<Utc>, b: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    let (s, e) = (a.max(from), b.min(to));
    if e > s { e - s } else { Duration::zero() }
}
