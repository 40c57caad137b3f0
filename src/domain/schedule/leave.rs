//! Working around leave when weeks are generated: an absentee exchanges
//! their week for a later one, so everyone still takes the same number.

use chrono::{DateTime, Utc};

use super::{Rule, Week};

/// A week owed to someone whose turn fell in their leave: they take `role`
/// in week `index` instead of whoever the rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    pub index: i64,
    pub primary: bool,
    pub user: i64,
}

/// A change made for leave, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaveExchange {
    pub index: i64,
    pub primary: bool,
    pub absent: i64,
    pub instead: i64,
    /// The later week the absentee takes in return.
    pub later: i64,
}

/// How many weeks ahead a replacement is looked for.
fn lookahead(n: usize) -> i64 {
    2 * n as i64 + 2
}

/// Adjusts generated `weeks` so nobody holds a role during their leave:
/// the absentee exchanges that week with the person due in the same role
/// soonest after it who is free then (and is not the week's other role),
/// and takes that person's later week in return, so everyone still takes
/// the same number of weeks. `owed` are earlier exchanges whose later week
/// falls in or after these weeks; the exchanges whose later week lies
/// beyond `weeks` come back as new debts. A week nobody can take stays as
/// the rule has it, and shows as needing cover.
pub fn avoid_leave(
    rule: &Rule<i64>,
    weeks: &mut [Week<i64>],
    owed: &[Owed],
    on_leave: impl Fn(i64, DateTime<Utc>, DateTime<Utc>) -> bool,
) -> (Vec<LeaveExchange>, Vec<Owed>) {
    let mut assigned: Vec<Owed> = owed.to_vec();
    let holder = |assigned: &[Owed], j: i64, primary: bool| -> i64 {
        assigned
            .iter()
            .rev()
            .find(|o| o.index == j && o.primary == primary)
            .map(|o| o.user)
            .unwrap_or_else(|| if primary { *rule.primary(j) } else { *rule.secondary(j) })
    };
    let mut exchanges = Vec::new();
    let Some(last) = weeks.last().map(|w| w.index) else {
        return (exchanges, Vec::new());
    };
    let n = rule.participants.len();
    for week in weeks.iter() {
        let k = week.index;
        for primary in [true, false] {
            let p = holder(&assigned, k, primary);
            let (ks, ke) = (week.starts_at, week.ends_at);
            if !on_leave(p, ks, ke) {
                continue;
            }
            let other_k = holder(&assigned, k, !primary);
            let found = (k + 1..=k + lookahead(n)).find_map(|j| {
                let q = holder(&assigned, j, primary);
                let (js, je) = (rule.boundary(j), rule.boundary(j + 1));
                let other_j = holder(&assigned, j, !primary);
                let fits = q != p && q != other_k && !on_leave(q, ks, ke) && p != other_j && !on_leave(p, js, je);
                fits.then_some((j, q))
            });
            if let Some((j, q)) = found {
                assigned.push(Owed {
                    index: k,
                    primary,
                    user: q,
                });
                assigned.push(Owed {
                    index: j,
                    primary,
                    user: p,
                });
                exchanges.push(LeaveExchange {
                    index: k,
                    primary,
                    absent: p,
                    instead: q,
                    later: j,
                });
            }
        }
    }
    for w in weeks.iter_mut() {
        w.primary = holder(&assigned, w.index, true);
        w.secondary = holder(&assigned, w.index, false);
    }
    let debts = assigned
        .into_iter()
        .filter(|o| o.index > last && !owed.iter().any(|d| d == o))
        .collect();
    (exchanges, debts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime, Weekday};
    use proptest::prelude::*;

    fn rule(n: i64) -> Rule<i64> {
        Rule::initial(
            chrono_tz::Europe::London,
            Weekday::Tue,
            NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            NaiveDate::from_ymd_opt(2027, 1, 5).unwrap(),
            (1..=n).collect(),
        )
    }

    #[test]
    fn someone_on_leave_exchanges_their_week_for_a_later_one() {
        let rule = rule(4);
        let mut weeks = rule.weeks_until(0, rule.boundary(12));
        let (ls, le) = (rule.boundary(2), rule.boundary(3));
        let absent = *rule.primary(2);
        let on_leave = |u: i64, s: DateTime<Utc>, e: DateTime<Utc>| u == absent && s < le && ls < e;
        let (exchanges, debts) = avoid_leave(&rule, &mut weeks, &[], on_leave);
        assert_eq!(exchanges.len(), 1, "{exchanges:?}");
        assert!(debts.is_empty());
        for w in &weeks {
            if w.starts_at < le && ls < w.ends_at {
                assert_ne!(w.primary, absent);
                assert_ne!(w.secondary, absent);
            }
            assert_ne!(w.primary, w.secondary);
        }
        for person in 1..=4 {
            let primary = weeks.iter().filter(|w| w.primary == person).count();
            let secondary = weeks.iter().filter(|w| w.secondary == person).count();
            assert_eq!((primary, secondary), (3, 3), "person {person}");
        }
    }

    #[test]
    fn an_exchange_past_the_last_generated_week_becomes_a_debt() {
        let rule = rule(4);
        let mut weeks = rule.weeks_until(5, rule.boundary(6));
        let absent = weeks[0].primary;
        let (ls, le) = (weeks[0].starts_at, weeks[0].ends_at);
        let on_leave = |u: i64, s: DateTime<Utc>, e: DateTime<Utc>| u == absent && s < le && ls < e;
        let (exchanges, debts) = avoid_leave(&rule, &mut weeks, &[], on_leave);
        assert_ne!(weeks[0].primary, absent);
        assert_eq!(exchanges.len(), 1);
        assert_eq!(
            debts,
            vec![Owed {
                index: exchanges[0].later,
                primary: true,
                user: absent
            }]
        );
        // The owed week, generated later, goes to the absentee.
        let mut later = rule.weeks_until(exchanges[0].later, rule.boundary(exchanges[0].later + 1));
        avoid_leave(&rule, &mut later, &debts, |_, _, _| false);
        assert_eq!(later[0].primary, absent);
    }

    #[test]
    fn with_three_people_a_week_in_leave_stays_and_needs_cover() {
        // Two of three are always on call, so whoever takes the week would owe
        // a week in which they already hold the other role.
        let rule = rule(3);
        let mut weeks = rule.weeks_until(0, rule.boundary(9));
        let before = weeks.clone();
        let (ls, le) = (rule.boundary(2), rule.boundary(3));
        let absent = *rule.primary(2);
        let (exchanges, _) = avoid_leave(&rule, &mut weeks, &[], |u, s, e| u == absent && s < le && ls < e);
        assert!(exchanges.is_empty());
        assert_eq!(weeks, before);
    }

    proptest! {
        /// Leave never changes how many weeks each person takes in a span long
        /// enough to settle every exchange, and nobody is assigned in their
        /// leave when someone else is free.
        #[test]
        fn leave_keeps_the_weeks_even(n in 4i64..8, leave_week in 0i64..8, who in 0usize..7) {
            let rule = rule(n);
            let cycles = 6;
            let until = rule.boundary(n * cycles);
            let mut weeks = rule.weeks_until(0, until);
            let absent = rule.participants[who % n as usize];
            let (ls, le) = (rule.boundary(leave_week), rule.boundary(leave_week + 1));
            let on_leave = |u: i64, s: DateTime<Utc>, e: DateTime<Utc>| u == absent && s < le && ls < e;
            let (_, debts) = avoid_leave(&rule, &mut weeks, &[], on_leave);
            prop_assert!(debts.is_empty());
            for person in rule.participants.iter() {
                let primary = weeks.iter().filter(|w| w.primary == *person).count() as i64;
                let secondary = weeks.iter().filter(|w| w.secondary == *person).count() as i64;
                prop_assert_eq!(primary, cycles);
                prop_assert_eq!(secondary, cycles);
            }
            for w in &weeks {
                prop_assert_ne!(w.primary, w.secondary);
                if w.starts_at < le && ls < w.ends_at {
                    prop_assert_ne!(w.primary, absent);
                    prop_assert_ne!(w.secondary, absent);
                }
            }
        }
    }
}
