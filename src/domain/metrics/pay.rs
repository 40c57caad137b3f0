//! The pay report: per person per calendar month, the hours on call by role
//! and what they cost out of hours, for standby pay schemes. Most schemes
//! price weekday, weekend and public-holiday standby differently, so each
//! role's hours are also split by the kind of day they fall on (in the
//! team's zone; a team holiday counts as a holiday even at a weekend).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Inputs, Period, Role, figures, round};

/// One person's month for the pay report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayRow {
    pub month: String,
    pub email: String,
    pub name: String,
    pub hours_primary: f64,
    pub hours_secondary: f64,
    pub out_of_hours_pages: u32,
    pub sleep_interruptions: u32,
    pub recovery_days_granted: u32,
    pub recovery_days_taken: u32,
    pub recovery_days_worked_anyway: u32,
    /// `hours_primary` split by the kind of day: Monday to Friday, Saturday
    /// and Sunday, team holidays.
    pub hours_primary_weekday: f64,
    pub hours_primary_weekend: f64,
    pub hours_primary_holiday: f64,
    pub hours_secondary_weekday: f64,
    pub hours_secondary_weekend: f64,
    pub hours_secondary_holiday: f64,
}

/// Standby hours by the kind of day they fall on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayKinds {
    pub weekday: f64,
    pub weekend: f64,
    pub holiday: f64,
}

/// Local midnight starting `day` in `tz`, by the schedule's one DST rule.
fn midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    crate::domain::schedule::local_to_instant(tz, day, chrono::NaiveTime::MIN)
}

/// Splits `[from, to)` into hours on weekdays, weekends and `holidays`, by
/// the local days of `tz` (a DST day has its real 23 or 25 hours).
pub fn split_by_day(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz, holidays: &BTreeSet<NaiveDate>) -> DayKinds {
    let mut kinds = DayKinds::default();
    if to <= from {
        return kinds;
    }
    let mut day = from.with_timezone(&tz).date_naive();
    while midnight(day, tz) < to {
        let next = day + Days::new(1);
        let (start, end) = (midnight(day, tz).max(from), midnight(next, tz).min(to));
        if end > start {
            let hours = (end - start).num_seconds() as f64 / 3600.0;
            if holidays.contains(&day) {
                kinds.holiday += hours;
            } else if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                kinds.weekend += hours;
            } else {
                kinds.weekday += hours;
            }
        }
        day = next;
    }
    kinds
}

/// A person's hours in `role` over `[from, to)`, split by kind of day.
fn role_hours(inputs: &Inputs, user_id: i64, role: Role, month: &Period, holidays: &BTreeSet<NaiveDate>) -> DayKinds {
    let mut total = DayKinds::default();
    for s in inputs.shifts.iter().filter(|s| s.user_id == user_id && s.role == role) {
        let k = split_by_day(s.starts_at.max(month.from), s.ends_at.min(month.to), month.tz, holidays);
        total.weekday += k.weekday;
        total.weekend += k.weekend;
        total.holiday += k.holiday;
    }
    DayKinds {
        weekday: round(total.weekday, 2),
        weekend: round(total.weekend, 2),
        holiday: round(total.holiday, 2),
    }
}

/// Per person per calendar month of `period`: hours on call by role (split
/// by weekday, weekend and the team's `holidays`), out-of-hours pages and
/// recovery days.
pub fn pay_rows(inputs: &Inputs, period: &Period, holidays: &BTreeSet<NaiveDate>) -> Vec<PayRow> {
    let mut rows = Vec::new();
    for (label, from, to) in period.months() {
        let month = Period {
            from,
            to,
            tz: period.tz,
        };
        let mut people = figures(inputs, &month).people;
        people.sort_by(|a, b| a.name.cmp(&b.name).then(a.email.cmp(&b.email)));
        rows.extend(people.into_iter().map(|p| {
            let primary = role_hours(inputs, p.user_id, Role::Primary, &month, holidays);
            let secondary = role_hours(inputs, p.user_id, Role::Secondary, &month, holidays);
            PayRow {
                month: label.clone(),
                email: p.email,
                name: p.name,
                hours_primary: p.hours_primary,
                hours_secondary: p.hours_secondary,
                out_of_hours_pages: p.out_of_hours_pages,
                sleep_interruptions: p.sleep_interruptions,
                recovery_days_granted: p.recovery_granted,
                recovery_days_taken: p.recovery_taken,
                recovery_days_worked_anyway: p.recovery_worked_anyway,
                hours_primary_weekday: primary.weekday,
                hours_primary_weekend: primary.weekend,
                hours_primary_holiday: primary.holiday,
                hours_secondary_weekday: secondary.weekday,
                hours_secondary_weekend: secondary.weekend,
                hours_secondary_holiday: secondary.holiday,
            }
        }));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_week_from_tuesday_splits_into_weekday_weekend_and_holiday_hours() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let none = BTreeSet::new();
        // Tue 10:00 to Tue 10:00: 5 weekdays' worth less nothing, 48 h of weekend.
        let week = split_by_day(at("2026-12-01T10:00:00Z"), at("2026-12-08T10:00:00Z"), tz, &none);
        assert_eq!(
            week,
            DayKinds {
                weekday: 120.0,
                weekend: 48.0,
                holiday: 0.0
            }
        );
        // Christmas on a Friday is a holiday, not a weekday.
        let christmas = BTreeSet::from([NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()]);
        let k = split_by_day(at("2026-12-22T10:00:00Z"), at("2026-12-29T10:00:00Z"), tz, &christmas);
        assert_eq!(
            k,
            DayKinds {
                weekday: 96.0,
                weekend: 48.0,
                holiday: 24.0
            }
        );
        // A holiday at a weekend counts once, as a holiday.
        let saturday = BTreeSet::from([NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()]);
        let k = split_by_day(at("2026-12-01T10:00:00Z"), at("2026-12-08T10:00:00Z"), tz, &saturday);
        assert_eq!(
            k,
            DayKinds {
                weekday: 120.0,
                weekend: 24.0,
                holiday: 24.0
            }
        );
    }

    #[test]
    fn days_follow_the_team_zone_across_dst() {
        // Sunday 29 March 2026 in London has 23 hours; the shift is a week.
        let tz: Tz = "Europe/London".parse().unwrap();
        let k = split_by_day(
            at("2026-03-24T10:00:00Z"),
            at("2026-03-31T09:00:00Z"),
            tz,
            &BTreeSet::new(),
        );
        assert_eq!(k.weekend, 47.0, "Saturday 24 h and Sunday 23 h");
        assert_eq!(k.weekday + k.weekend, 167.0);
        // New York: local days, not UTC days.
        let ny: Tz = "America/New_York".parse().unwrap();
        let k = split_by_day(
            at("2026-12-05T03:00:00Z"),
            at("2026-12-05T06:00:00Z"),
            ny,
            &BTreeSet::new(),
        );
        assert_eq!(
            k,
            DayKinds {
                weekday: 2.0,
                weekend: 1.0,
                holiday: 0.0
            },
            "Friday evening there"
        );
    }
}
