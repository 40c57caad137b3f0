use super::*;
use chrono::Timelike;
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn london_tuesday(people: Vec<&'static str>, start: &str) -> Rule<&'static str> {
    Rule::initial(
        chrono_tz::Europe::London,
        Weekday::Tue,
        NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        d(start),
        people,
    )
}

#[test]
fn london_spring_week_lasts_167_hours() {
    let rule = london_tuesday(vec!["a", "b", "c"], "2027-01-05");
    let j = rule.week_index_at(t("2027-03-23T12:00:00Z")).unwrap();
    let week = rule.week(j);
    assert_eq!(week.starts_at, t("2027-03-23T10:00:00Z"));
    assert_eq!(week.ends_at, t("2027-03-30T09:00:00Z"));
    assert_eq!(week.ends_at - week.starts_at, Duration::hours(167));
    let local_end = week.ends_at.with_timezone(&chrono_tz::Europe::London);
    assert_eq!((local_end.hour(), local_end.minute()), (10, 0));
}

#[test]
fn london_autumn_week_lasts_169_hours() {
    let rule = london_tuesday(vec!["a", "b"], "2027-01-05");
    let j = rule.week_index_at(t("2027-10-26T09:00:00Z")).unwrap();
    let week = rule.week(j);
    assert_eq!(week.starts_at, t("2027-10-26T09:00:00Z"));
    assert_eq!(week.ends_at, t("2027-11-02T10:00:00Z"));
    assert_eq!(week.ends_at - week.starts_at, Duration::hours(169));
}

#[test]
fn iso_week_53_does_not_repeat_a_primary() {
    let rule = london_tuesday(vec!["ana", "ben"], "2026-01-06");
    let a = rule.week(rule.week_index_at(t("2026-12-29T12:00:00Z")).unwrap());
    let b = rule.week(rule.week_index_at(t("2027-01-05T12:00:00Z")).unwrap());
    assert_eq!(a.starts_at.date_naive(), d("2026-12-29"));
    assert_eq!(b.starts_at.date_naive(), d("2027-01-05"));
    assert_ne!(a.primary, b.primary);
}

#[test]
fn secondary_leads_the_following_week() {
    let rule = london_tuesday(vec!["a", "b", "c"], "2026-01-06");
    assert_eq!((rule.week(0).primary, rule.week(0).secondary), ("a", "b"));
    assert_eq!((rule.week(1).primary, rule.week(1).secondary), ("b", "c"));
    assert_eq!((rule.week(2).primary, rule.week(2).secondary), ("c", "a"));
}

#[test]
fn start_date_rolls_forward_to_the_handoff_weekday() {
    let rule = london_tuesday(vec!["a", "b"], "2026-03-05"); // a Thursday
    assert_eq!(rule.effective_from, t("2026-03-10T10:00:00Z"));
}

#[test]
fn skipped_local_time_moves_forward_by_the_gap() {
    let london = chrono_tz::Europe::London;
    let at = local_to_instant(london, d("2027-03-28"), NaiveTime::from_hms_opt(1, 30, 0).unwrap());
    assert_eq!(at, t("2027-03-28T01:30:00Z")); // 02:30 BST
}

#[test]
fn repeated_local_time_takes_the_earlier_instant() {
    let london = chrono_tz::Europe::London;
    let at = local_to_instant(london, d("2027-10-31"), NaiveTime::from_hms_opt(1, 30, 0).unwrap());
    assert_eq!(at, t("2027-10-31T00:30:00Z")); // 01:30 BST, not GMT
}

#[test]
fn successor_continues_the_cycle_and_bridges_at_least_half_a_week() {
    let rule = london_tuesday(vec!["a", "b", "c"], "2026-01-06");
    let from = rule.boundary(5);
    let offset = rule.carry_over_offset(5, &["c", "b", "d"]);
    let next = Rule::successor(
        chrono_tz::America::New_York,
        Weekday::Wed,
        NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        from,
        vec!["c", "b", "d"],
        offset,
    );
    // week 5 of the old rule would have been led by c (5 mod 3 = 2).
    assert_eq!(next.week(0).primary, "c");
    assert_eq!(next.week(0).starts_at, from);
    let bridge = next.week(0).ends_at - from;
    assert!(bridge >= Duration::hours(84) && bridge < Duration::hours(84 + 168));
}

#[test]
fn an_imported_cycle_decides_who_leads_a_new_rule_and_a_successor() {
    // In the other tool, c leads the week from Tuesday 9 March 2027.
    let cycle = Cycle {
        handoff: d("2027-03-09"),
        leader: 2,
    };
    let rule = london_tuesday(vec!["a", "b", "c", "d"], "2027-03-09").following(cycle);
    let leads: Vec<&str> = (0..5).map(|j| *rule.primary(j)).collect();
    assert_eq!(leads, ["c", "d", "a", "b", "c"]);
    assert_eq!(*rule.secondary(0), "d");
    // A successor from a Friday bridges to the Tuesday after next, which
    // the cycle gives to whoever leads there; the bridge goes to the one before.
    let from = t("2027-03-12T10:00:00Z");
    let next = Rule::successor(
        chrono_tz::Europe::London,
        Weekday::Tue,
        NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        from,
        vec!["a", "b", "c", "d"],
        0,
    )
    .following(cycle);
    assert_eq!(next.boundary(1), t("2027-03-16T10:00:00Z"));
    assert_eq!((*next.primary(0), *next.primary(1), *next.primary(2)), ("c", "d", "a"));
}

fn zone() -> impl Strategy<Value = Tz> {
    (0..chrono_tz::TZ_VARIANTS.len()).prop_map(|i| chrono_tz::TZ_VARIANTS[i])
}

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|i| Weekday::try_from(i).unwrap())
}

fn local_time() -> impl Strategy<Value = NaiveTime> {
    (0u32..24, prop::sample::select(vec![0u32, 15, 30, 45]))
        .prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap())
}

fn start_date() -> impl Strategy<Value = NaiveDate> {
    (0i64..(365 * 18)).prop_map(|n| d("2020-01-01") + Duration::days(n))
}

/// Checks the handoff at `at` against the configured local time and the
/// documented rule for skipped and repeated times.
fn assert_handoff_rule(tz: Tz, time: NaiveTime, weekday: Weekday, at: DateTime<Utc>) {
    let local = at.with_timezone(&tz);
    let offset = |i: DateTime<Utc>| i64::from(tz.offset_from_utc_datetime(&i.naive_utc()).fix().local_minus_utc());
    // The handoff's own date: its weekday, or the day before when a skipped
    // time late in the evening was moved past midnight.
    let date = [local.date_naive(), local.date_naive() - Duration::days(1)]
        .into_iter()
        .find(|day| day.weekday() == weekday)
        .expect("handoff on its weekday, or the day after for a time skipped past midnight");
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(_) => {
            assert_eq!(local.time(), time, "{tz} handoff at {at}");
            assert_eq!(local.date_naive(), date, "{tz} handoff at {at}");
        }
        LocalResult::Ambiguous(earlier, _) => {
            assert_eq!(at, earlier.with_timezone(&Utc), "{tz}: the earlier of a repeated time")
        }
        LocalResult::None => {
            // A skipped time moves forward by exactly the gap.
            let gap = offset(at + Duration::days(1)) - offset(at - Duration::days(1));
            assert_eq!(
                (local.naive_local() - date.and_time(time)).num_seconds(),
                gap,
                "{tz} skipped time at {at}"
            );
        }
    }
    // Whatever the day, the instant is what the rule says for its date.
    assert_eq!(local_to_instant(tz, date, time), at);
}

/// Every zone chrono-tz knows, not a sample: Tuesday handoffs at midnight
/// and at 02:30 (the hours DST changes like best) from 2020 to 2040.
#[test]
fn every_zone_tiles_2020_to_2040_at_the_awkward_hours() {
    let until = t("2040-12-31T00:00:00Z");
    for tz in chrono_tz::TZ_VARIANTS {
        for time in [
            NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        ] {
            let rule = Rule::initial(tz, Weekday::Tue, time, d("2020-01-07"), vec![0, 1, 2]);
            let weeks = rule.weeks_until(0, until);
            for pair in weeks.windows(2) {
                assert_eq!(pair[0].ends_at, pair[1].starts_at, "{tz}");
                assert!(pair[0].starts_at < pair[0].ends_at, "{tz}");
            }
            for w in &weeks {
                assert_handoff_rule(tz, time, Weekday::Tue, w.starts_at);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn weeks_tile_time_and_everyone_leads_once_per_cycle(
        tz in zone(),
        wd in weekday(),
        time in local_time(),
        start in start_date(),
        n in 2usize..=8,
    ) {
        let people: Vec<usize> = (0..n).collect();
        let rule = Rule::initial(tz, wd, time, start, people);
        let until = t("2040-12-31T00:00:00Z");
        let weeks = rule.weeks_until(0, until);
        prop_assert!(weeks.len() > 50);
        for pair in weeks.windows(2) {
            prop_assert_eq!(pair[0].ends_at, pair[1].starts_at);
        }
        for w in &weeks {
            prop_assert!(w.starts_at < w.ends_at);
            prop_assert_ne!(w.primary, w.secondary);
            assert_handoff_rule(tz, time, wd, w.starts_at);
            prop_assert_eq!(rule.week_index_at(w.starts_at), Some(w.index));
            prop_assert_eq!(rule.week_index_at(w.ends_at - Duration::seconds(1)), Some(w.index));
        }
        for window in weeks.windows(n) {
            let mut leads: Vec<usize> = window.iter().map(|w| w.primary).collect();
            leads.sort_unstable();
            prop_assert_eq!(leads, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_settings_change_keeps_time_tiled(
        tz in zone(),
        tz2 in zone(),
        wd in weekday(),
        wd2 in weekday(),
        time in local_time(),
        time2 in local_time(),
        start in start_date(),
        change_week in 1i64..200,
        n in 2usize..=8,
        m in 2usize..=8,
    ) {
        let old = Rule::initial(tz, wd, time, start, (0..n).collect::<Vec<_>>());
        let from = old.boundary(change_week);
        let new_people: Vec<usize> = (n / 2..n / 2 + m).collect();
        let offset = old.carry_over_offset(change_week, &new_people);
        let new = Rule::successor(tz2, wd2, time2, from, new_people, offset);
        let weeks = new.weeks_until(0, from + Duration::weeks(60));
        prop_assert_eq!(weeks[0].starts_at, old.week(change_week - 1).ends_at);
        prop_assert!(weeks[0].ends_at - weeks[0].starts_at >= MIN_BRIDGE);
        prop_assert!(weeks[0].ends_at - weeks[0].starts_at <= MIN_BRIDGE + Duration::hours(170));
        for pair in weeks.windows(2) {
            prop_assert_eq!(pair[0].ends_at, pair[1].starts_at);
        }
        for w in &weeks[1..] {
            prop_assert_ne!(w.primary, w.secondary);
            assert_handoff_rule(tz2, time2, wd2, w.starts_at);
        }
        // The person due to lead keeps their turn when they stay on.
        let due = *old.primary(change_week);
        if new.participants.contains(&due) {
            prop_assert_eq!(weeks[0].primary, due);
        }
        for window in weeks.windows(m) {
            let mut leads: Vec<usize> = window.iter().map(|w| w.primary).collect();
            leads.sort_unstable();
            prop_assert_eq!(leads, new.participants.clone());
        }
    }
}

/// Nuuk skips 23:00–00:00 on the last Saturday of March: a 23:30 handoff
/// moves forward by the gap, past midnight, onto Sunday 00:30.
#[test]
fn a_time_skipped_late_in_the_evening_moves_past_midnight() {
    let tz = chrono_tz::America::Nuuk;
    let time = NaiveTime::from_hms_opt(23, 30, 0).unwrap();
    let at = local_to_instant(tz, d("2028-03-25"), time);
    assert_eq!(at, t("2028-03-26T01:30:00Z"));
    assert_handoff_rule(tz, time, Weekday::Sat, at);
}
