use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::rebalance::{Away, FutureShift, exchange, suggest};
use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

const LONDON: Tz = chrono_tz::Europe::London;

#[test]
fn percentile_is_nearest_rank() {
    let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    assert_eq!(percentile(&v, 0.5), Some(50));
    assert_eq!(percentile(&v, 0.9), Some(90));
    assert_eq!(percentile(&[7], 0.9), Some(7));
    assert_eq!(percentile(&[1, 2, 3], 0.5), Some(2));
    assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
    assert_eq!(percentile(&[], 0.5), None);
}

#[test]
fn weeks_run_midnight_to_midnight_across_a_dst_change() {
    // Clocks go forward in London on Sunday 28 March 2027.
    let p = Period::dates(d("2027-03-22"), d("2027-04-04"), LONDON).expect("period");
    let weeks = p.weeks();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0], (t("2027-03-22T00:00:00Z"), t("2027-03-28T23:00:00Z")));
    assert_eq!(weeks[1], (t("2027-03-28T23:00:00Z"), t("2027-04-04T23:00:00Z")));
    assert_eq!(weeks[0].1 - weeks[0].0, Duration::hours(167));
}

#[test]
fn the_previous_period_has_the_same_local_length() {
    let p = Period::dates(d("2027-03-29"), d("2027-04-11"), LONDON).expect("period");
    let prev = p.previous();
    assert_eq!(prev.to, p.from);
    assert_eq!(prev.from, t("2027-03-15T00:00:00Z"));
    assert_eq!(prev.first_date(), d("2027-03-15"));
    assert_eq!(prev.last_date(), d("2027-03-28"));
}

#[test]
fn twelve_weeks_end_with_today() {
    let p = Period::weeks_to(d("2027-06-30"), 12, LONDON);
    assert_eq!(p.last_date(), d("2027-06-30"));
    assert_eq!(p.first_date(), d("2027-04-08"));
    assert_eq!(p.weeks().len(), 12);
}

#[test]
fn months_are_clipped_calendar_months() {
    let p = Period::dates(d("2027-01-20"), d("2027-03-05"), LONDON).expect("period");
    let m: Vec<String> = p.months().into_iter().map(|m| m.0).collect();
    assert_eq!(m, ["2027-01", "2027-02", "2027-03"]);
    assert_eq!(p.months()[1].1, t("2027-02-01T00:00:00Z"));
    assert_eq!(p.months()[2].2, p.to);
}

#[test]
fn a_period_longer_than_the_limit_is_refused() {
    assert!(Period::dates(d("2025-01-01"), d("2027-06-01"), LONDON).is_err());
    assert!(Period::dates(d("2027-01-02"), d("2027-01-01"), LONDON).is_err());
}

fn page(fired: &str, ack_after_s: Option<i64>, who: (i64, Role), source: &str) -> PageRecord {
    let fired = t(fired);
    let ack = ack_after_s.map(|s| fired + Duration::seconds(s));
    let start = ack.unwrap_or(fired);
    PageRecord::classify(
        fired,
        ack,
        (start, start + Duration::minutes(30)),
        Some(if who.1 == Role::Primary { 5 } else { 30 }),
        (Some(who.0), Some(who.1)),
        source.into(),
        LONDON,
        &Policy::default(),
        &BTreeSet::new(),
    )
}

#[test]
fn pages_nobody_could_acknowledge_count_neither_way_in_the_sla() {
    let people = [person(1, false)];
    let pages = [
        page("2027-07-06T02:00:00Z", Some(120), (1, Role::Primary), "pagerduty"),
        page("2027-07-07T02:00:00Z", None, (1, Role::Primary), "pagerduty"),
        // Alertmanager never acknowledges, and Rota did not page these.
        page("2027-07-08T02:00:00Z", None, (1, Role::Primary), "alertmanager").with_ack_data(false),
        page("2027-07-09T02:00:00Z", None, (1, Role::Primary), "alertmanager").with_ack_data(false),
    ];
    let inputs = Inputs {
        people: &people,
        pages: &pages,
        shifts: &[],
        recovery: &[],
        today: d("2027-07-12"),
    };
    let p = Period::dates(d("2027-07-05"), d("2027-07-11"), LONDON).expect("period");
    let primary = &figures(&inputs, &p).roles[0];
    assert_eq!((primary.pages, primary.acknowledged, primary.within_sla), (4, 1, 1));
    assert_eq!(primary.no_acknowledgement_data, 2);
    // One met of the two that could have been acknowledged.
    assert_eq!(primary.within_sla_share, Some(0.5));
    let only_silent = Inputs {
        pages: &pages[2..],
        ..inputs
    };
    assert_eq!(figures(&only_silent, &p).roles[0].within_sla_share, None);
}

fn person(id: i64, manager: bool) -> Person {
    Person {
        id,
        email: format!("p{id}@example.com"),
        name: format!("P{id}"),
        member: true,
        manager,
    }
}

#[test]
fn figures_of_a_small_week_worked_by_hand() {
    let people = [person(1, false), person(2, true)];
    // Monday 5 July 2027; London is on BST (UTC+1).
    let pages = [
        // 03:00 local Tuesday: sleep, acked after 2 min (met).
        page("2027-07-06T02:00:00Z", Some(120), (1, Role::Primary), "db"),
        // 14:00 local Saturday: weekend, acked after 10 min (missed).
        page("2027-07-10T13:00:00Z", Some(600), (1, Role::Primary), "web"),
        // 11:00 local Wednesday: working, never acked.
        page("2027-07-07T10:00:00Z", None, (2, Role::Secondary), "db"),
    ];
    let shifts = [
        ShiftRecord {
            user_id: 1,
            role: Role::Primary,
            starts_at: t("2027-07-01T00:00:00Z"),
            ends_at: t("2027-07-08T00:00:00Z"),
        },
        ShiftRecord {
            user_id: 2,
            role: Role::Secondary,
            starts_at: t("2027-07-01T00:00:00Z"),
            ends_at: t("2027-07-08T00:00:00Z"),
        },
    ];
    let recovery = [
        RecoveryRecord {
            user_id: 1,
            day: d("2027-07-06"),
            worked_anyway: false,
        },
        RecoveryRecord {
            user_id: 1,
            day: d("2027-07-12"),
            worked_anyway: false,
        },
    ];
    let inputs = Inputs {
        people: &people,
        pages: &pages,
        shifts: &shifts,
        recovery: &recovery,
        today: d("2027-07-12"),
    };
    let p = Period::dates(d("2027-07-05"), d("2027-07-11"), LONDON).expect("period");
    let f = figures(&inputs, &p);
    assert_eq!((f.pages, f.out_of_hours_pages, f.sleep_interruptions), (3, 2, 1));
    assert_eq!(f.weeks.len(), 1);
    assert_eq!(f.weeks[0].pages, 3);
    let classes: Vec<(String, u32)> = f.out_of_hours.iter().map(|c| (c.class.clone(), c.pages)).collect();
    assert_eq!(
        classes,
        [
            ("sleep".into(), 1),
            ("weekend".into(), 1),
            ("holiday".into(), 0),
            ("working".into(), 1)
        ]
    );
    let primary = &f.roles[0];
    assert_eq!((primary.pages, primary.acknowledged, primary.within_sla), (2, 2, 1));
    assert_eq!(
        (primary.ack_p50_seconds, primary.ack_p90_seconds),
        (Some(120), Some(600))
    );
    assert_eq!(primary.within_sla_share, Some(0.5));
    let secondary = &f.roles[1];
    assert_eq!(
        (secondary.pages, secondary.acknowledged, secondary.ack_p50_seconds),
        (1, 0, None)
    );
    assert_eq!(secondary.within_sla_share, Some(0.0));
    // The shifts end 8 July 00:00Z; the period starts Monday 5 July 00:00
    // local (4 July 23:00Z): 73 hours of them fall in it.
    let p1 = &f.people[0];
    assert_eq!(p1.email, "p1@example.com");
    assert_eq!(
        (p1.hours_primary, p1.weeks_primary, p1.hours_on_call),
        (73.0, 0.43, 73.0)
    );
    assert_eq!((p1.pages, p1.sleep_interruptions, p1.out_of_hours_pages), (2, 1, 2));
    assert_eq!(p1.hours_engaged_out_of_hours, 1.0);
    // The 12 July day is after the period.
    assert_eq!((p1.recovery_granted, p1.recovery_taken), (1, 1));
    assert_eq!(
        (p1.share, p1.equal_share, p1.load, p1.above_fair),
        (0.6667, 0.5, 1.33, false)
    );
    let sources: Vec<(String, u32)> = f
        .sources
        .iter()
        .map(|s| (s.source.clone(), s.sleep_interruptions))
        .collect();
    assert_eq!(sources, [("db".into(), 1), ("web".into(), 0)]);
    assert_eq!(f.recovery.others.taken, 1);
    assert_eq!(f.recovery.others.taken_share, Some(1.0));
    assert_eq!(f.recovery.managers.people, 1);
    assert_eq!(f.recovery.managers.taken_share, None);
}

fn future(id: i64, user: i64, role: Role, week: i64) -> FutureShift {
    let start = t("2027-08-03T09:00:00Z") + Duration::weeks(week);
    FutureShift {
        id,
        rotation_id: 1,
        user_id: user,
        role,
        starts_at: start,
        ends_at: start + Duration::weeks(1),
    }
}

#[test]
fn two_people_exchange_roles_within_a_week() {
    // Two people alternate: 1 leads week 0 while 2 shadows, and so on.
    let shifts = [
        future(10, 1, Role::Primary, 0),
        future(11, 2, Role::Secondary, 0),
        future(12, 2, Role::Primary, 1),
        future(13, 1, Role::Secondary, 1),
    ];
    let now = t("2027-08-01T00:00:00Z");
    let (give, take) = exchange(1, 2, &shifts, &[], now).expect("an exchange");
    assert_eq!((give.id, take.id), (10, 11));
    // On leave that week: nothing fits.
    let away = [Away {
        user_id: 2,
        starts_at: t("2027-08-04T00:00:00Z"),
        ends_at: t("2027-08-05T00:00:00Z"),
    }];
    assert!(exchange(1, 2, &shifts[..2], &away, now).is_none());
}

#[test]
fn three_people_exchange_a_primary_week_for_a_secondary_week() {
    // p[k mod 3] leads week k, p[k+1] shadows: 1, 2, 3.
    let shifts = [
        future(1, 1, Role::Primary, 0),
        future(2, 2, Role::Secondary, 0),
        future(3, 2, Role::Primary, 1),
        future(4, 3, Role::Secondary, 1),
        future(5, 3, Role::Primary, 2),
        future(6, 1, Role::Secondary, 2),
    ];
    let now = t("2027-08-01T00:00:00Z");
    let (give, take) = exchange(1, 3, &shifts, &[], now).expect("an exchange");
    // 3 takes 1's primary week 0 (free then); 1 takes 3's secondary week 1 (free then).
    assert_eq!((give.id, take.id), (1, 4));
    // Nothing started may move.
    assert!(exchange(1, 3, &shifts, &[], t("2027-08-03T10:00:00Z")).is_none());
}

fn row(id: i64, load: f64) -> PersonFigures {
    PersonFigures {
        user_id: id,
        email: format!("p{id}@example.com"),
        name: format!("P{id}"),
        manager: false,
        weeks_primary: 0.0,
        weeks_secondary: 0.0,
        hours_primary: 0.0,
        hours_secondary: 0.0,
        hours_on_call: 0.0,
        pages: 0,
        out_of_hours_pages: 0,
        sleep_interruptions: 0,
        hours_engaged_out_of_hours: 0.0,
        recovery_granted: 0,
        recovery_taken: 0,
        recovery_worked_anyway: 0,
        share: 0.0,
        equal_share: 0.0,
        load,
        above_fair: load > FAIR_LIMIT,
    }
}

#[test]
fn suggestions_pair_the_overloaded_with_the_least_loaded() {
    let shifts = [
        future(1, 1, Role::Primary, 0),
        future(2, 2, Role::Secondary, 0),
        future(3, 2, Role::Primary, 1),
        future(4, 3, Role::Secondary, 1),
        future(5, 3, Role::Primary, 2),
        future(6, 1, Role::Secondary, 2),
    ];
    let table = [row(1, 1.8), row(2, 0.9), row(3, 0.3)];
    let s = suggest(&table, |_| true, &shifts, &[], t("2027-08-01T00:00:00Z"));
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].from_email.as_str(), s[0].to_email.as_str()),
        ("p1@example.com", "p3@example.com")
    );
    assert_eq!((s[0].shift_id, s[0].counterpart_shift_id), (1, 4));
    // Nobody above the limit: nothing to suggest.
    let calm = [row(1, 1.4), row(2, 0.9), row(3, 0.7)];
    assert!(suggest(&calm, |_| true, &shifts, &[], t("2027-08-01T00:00:00Z")).is_empty());
}

proptest! {
    /// The nearest-rank percentile is a value of the list with at least
    /// `p` of the values at or below it, and less than `p` below it.
    #[test]
    fn percentile_matches_its_definition(mut v in prop::collection::vec(0i64..10_000, 1..60), p in 0.01f64..=1.0) {
        v.sort_unstable();
        let x = percentile(&v, p).expect("some");
        let at_or_below = v.iter().filter(|y| **y <= x).count() as f64;
        let below = v.iter().filter(|y| **y < x).count() as f64;
        let n = v.len() as f64;
        prop_assert!(at_or_below >= p * n - 1e-9);
        prop_assert!(below < p * n + 1e-9);
    }

    /// Pages per week and per class each add up to all pages; shares of
    /// the table add up to one.
    #[test]
    fn totals_add_up(fired in prop::collection::vec((0i64..120_000, 0usize..3), 0..80)) {
        let people = [person(1, false), person(2, false), person(3, true)];
        let base = t("2027-01-04T00:00:00Z");
        let pages: Vec<PageRecord> = fired
            .iter()
            .map(|(m, who)| {
                let at = (base + Duration::minutes(*m)).to_rfc3339();
                page(&at, Some(60), ((*who as i64) + 1, Role::Primary), if m % 2 == 0 { "a" } else { "b" })
            })
            .collect();
        let inputs = Inputs { people: &people, pages: &pages, shifts: &[], recovery: &[], today: d("2027-06-01") };
        let p = Period::dates(d("2027-01-04"), d("2027-03-28"), LONDON).expect("period");
        let f = figures(&inputs, &p);
        prop_assert_eq!(f.pages as usize, pages.len());
        prop_assert_eq!(f.weeks.iter().map(|w| w.pages).sum::<u32>(), f.pages);
        prop_assert_eq!(f.out_of_hours.iter().map(|c| c.pages).sum::<u32>(), f.pages);
        prop_assert_eq!(f.sources.iter().map(|s| s.pages).sum::<u32>(), f.pages);
        prop_assert_eq!(f.people.iter().map(|p| p.pages).sum::<u32>(), f.pages);
        if f.pages > 0 {
            let shares: f64 = f.people.iter().map(|p| p.share).sum();
            prop_assert!((shares - 1.0).abs() < 1e-3);
        }
    }
}
