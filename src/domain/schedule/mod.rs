//! Weekly rotation maths: pure functions over instants, no I/O.
//!
//! A rotation is a sequence of [`Rule`]s (one per settings version). Each rule
//! owns the weeks from its `effective_from` boundary onward; the week `j`
//! of a rule runs from `boundary(j)` to `boundary(j + 1)`.
//!
//! Wall-clock handoff times are resolved with [`local_to_instant`], whose rule
//! for skipped and repeated local times is documented there.

pub mod leave;

use chrono::LocalResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The shortest first week a settings change may produce: the week that
/// bridges the old handoff and the first handoff under the new settings.
const MIN_BRIDGE: Duration = Duration::hours(84);

/// Resolves a local date and wall-clock time in `tz` to an instant.
///
/// The one rule for times a DST change makes special (the "compatible" rule
/// of RFC 5545 and ECMAScript Temporal):
/// - a repeated local time (clocks go back) is the **earlier** instant;
/// - a skipped local time (clocks go forward) is moved **forward by the length
///   of the gap**: 01:30 on the night London skips 01:00–02:00 is 02:30 BST.
pub fn local_to_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall clock with the offset in force before the gap.
            let before = tz
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix()
                .local_minus_utc();
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before))))
        }
    }
}

/// The first date on or after `date` that falls on `weekday`.
pub fn next_weekday_on_or_after(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64 - date.weekday().num_days_from_monday() as i64) % 7;
    date + Duration::days(ahead)
}

/// Another tool's weekly cycle, carried over: `participants[leader]` leads
/// the week that starts at the handoff on `handoff` (a local date on the
/// handoff weekday), the next person the week after, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub handoff: NaiveDate,
    pub leader: usize,
}

/// One week of a rotation: who holds each role over `[starts_at, ends_at)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week<P> {
    pub index: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub primary: P,
    pub secondary: P,
}

/// The settings that generate a rotation's weeks from one boundary onward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule<P> {
    pub tz: Tz,
    pub weekday: Weekday,
    pub time: NaiveTime,
    /// Start of week 0.
    pub effective_from: DateTime<Utc>,
    /// Local date of the handoff that ends week 0 (the start of week 1).
    pub anchor: NaiveDate,
    pub participants: Vec<P>,
    /// Week 0's primary is `participants[offset]`.
    pub offset: usize,
}

impl<P: Clone + PartialEq> Rule<P> {
    /// The rule for a new rotation: week 0 starts at the first handoff on or
    /// after `start_date` (a local date in `tz`); primary is
    /// `participants[k mod n]`, secondary `participants[(k + 1) mod n]`.
    pub fn initial(tz: Tz, weekday: Weekday, time: NaiveTime, start_date: NaiveDate, participants: Vec<P>) -> Self {
        let first = next_weekday_on_or_after(start_date, weekday);
        Rule {
            tz,
            weekday,
            time,
            effective_from: local_to_instant(tz, first, time),
            anchor: first + Duration::days(7),
            participants,
            offset: 0,
        }
    }

    /// The rule that takes over at boundary `from` after a settings change.
    /// Its first week bridges `from` to the first new handoff at least 3.5
    /// days later, so no week is shorter than half a week or longer than one
    /// and a half.
    pub fn successor(
        tz: Tz,
        weekday: Weekday,
        time: NaiveTime,
        from: DateTime<Utc>,
        participants: Vec<P>,
        offset: usize,
    ) -> Self {
        let earliest = from + MIN_BRIDGE;
        let mut date = next_weekday_on_or_after(earliest.with_timezone(&tz).date_naive() - Duration::days(1), weekday);
        while local_to_instant(tz, date, time) < earliest {
            date += Duration::days(7);
        }
        Rule {
            tz,
            weekday,
            time,
            effective_from: from,
            anchor: date,
            participants,
            offset,
        }
    }

    /// The same rule with its offset set so the weeks follow `cycle`: week
    /// 1 (from `anchor`) is led by whoever leads there in the cycle, and the
    /// first week, however long, by the person before them.
    pub fn following(mut self, cycle: Cycle) -> Self {
        let n = self.participants.len() as i64;
        if n == 0 {
            return self;
        }
        let weeks = (self.anchor - cycle.handoff).num_days().div_euclid(7);
        let at_anchor = (cycle.leader as i64 + weeks).rem_euclid(n);
        self.offset = (at_anchor - 1).rem_euclid(n) as usize;
        self
    }

    /// The instant week `j` starts.
    pub fn boundary(&self, j: i64) -> DateTime<Utc> {
        if j <= 0 {
            self.effective_from
        } else {
            local_to_instant(self.tz, self.anchor + Duration::weeks(j - 1), self.time)
        }
    }

    pub fn primary(&self, j: i64) -> &P {
        &self.participants[self.slot(j)]
    }

    pub fn secondary(&self, j: i64) -> &P {
        &self.participants[(self.slot(j) + 1) % self.participants.len()]
    }

    fn slot(&self, j: i64) -> usize {
        let n = self.participants.len() as i64;
        (self.offset as i64 + j).rem_euclid(n) as usize
    }

    pub fn week(&self, j: i64) -> Week<P> {
        Week {
            index: j,
            starts_at: self.boundary(j),
            ends_at: self.boundary(j + 1),
            primary: self.primary(j).clone(),
            secondary: self.secondary(j).clone(),
        }
    }

    /// The index of the week containing `at`, or `None` before week 0.
    pub fn week_index_at(&self, at: DateTime<Utc>) -> Option<i64> {
        if at < self.effective_from {
            return None;
        }
        let mut j = ((at - self.boundary(1)).num_days().div_euclid(7) + 1).max(0);
        while j > 0 && self.boundary(j) > at {
            j -= 1;
        }
        while self.boundary(j + 1) <= at {
            j += 1;
        }
        Some(j)
    }

    /// Weeks `from_index..` whose start is before `until`.
    pub fn weeks_until(&self, from_index: i64, until: DateTime<Utc>) -> Vec<Week<P>> {
        (from_index.max(0)..)
            .map(|j| self.week(j))
            .take_while(|w| w.starts_at < until)
            .collect()
    }

    /// Where week `j`'s primary sits in `participants` of a new rule, so a
    /// settings change carries the rotation on rather than restarting it:
    /// the person due to lead keeps their turn if they are still in the
    /// rotation, else the next person in the old order who is.
    pub fn carry_over_offset(&self, j: i64, new_participants: &[P]) -> usize {
        let n = self.participants.len() as i64;
        (0..n)
            .filter_map(|step| {
                let due = &self.participants[self.slot(j + step)];
                new_participants.iter().position(|p| p == due)
            })
            .next()
            .unwrap_or(0)
    }
}

pub fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.to_ascii_lowercase().as_str() {
        "monday" => Some(Weekday::Mon),
        "tuesday" => Some(Weekday::Tue),
        "wednesday" => Some(Weekday::Wed),
        "thursday" => Some(Weekday::Thu),
        "friday" => Some(Weekday::Fri),
        "saturday" => Some(Weekday::Sat),
        "sunday" => Some(Weekday::Sun),
        _ => None,
    }
}

pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// Parses `HH:MM` (24-hour).
pub fn parse_local_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

#[cfg(test)]
mod tests;
