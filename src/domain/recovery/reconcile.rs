//! Reconciling a person's recovery days with what their pages say they
//! should be: the stored grants and the wanted triggers in, the steps that
//! make them agree out. Pure, so "why did my recovery day move" is answered
//! here, and property-tested below.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Trigger, assign_days, first_working_day};

/// A stored grant whose trigger lies in the window being re-derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: i64,
    pub team_id: i64,
    /// `None` for a stored kind this version does not know.
    pub trigger: Option<Trigger>,
    pub day: NaiveDate,
    /// Flagged: its page was withdrawn after the day had passed.
    pub flagged: bool,
}

/// What re-derivation knows, read before anything changes.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The person's today, in their time zone.
    pub today: NaiveDate,
    /// The triggers their pages give in the window, each with its team.
    pub wanted: BTreeMap<Trigger, i64>,
    /// Holidays of each team they were paged in.
    pub holidays: BTreeMap<i64, BTreeSet<NaiveDate>>,
    /// Their stored grants with a trigger in the window, in trigger order.
    pub grants: Vec<Grant>,
    /// The days of their other granted recovery days (triggers outside the
    /// window), which new and moved days must avoid.
    pub other_days: Vec<NaiveDate>,
}

/// One change to the stored grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A holiday was declared on the (future) day: it moves on, keeping its form.
    Move { id: i64, day: NaiveDate },
    /// A flagged grant whose trigger is back: granted again.
    Restore { id: i64 },
    /// A future grant nothing triggers any more: withdrawn.
    Withdraw { id: i64 },
    /// A grant nothing triggers any more whose day has come: kept, flagged.
    Flag { id: i64 },
    /// A new grant.
    Add {
        team_id: i64,
        trigger: Trigger,
        day: NaiveDate,
    },
}

/// The steps, in the order they are to be written.
pub fn reconcile(facts: &Facts) -> Vec<Step> {
    let mut wanted = facts.wanted.clone();
    // Every granted day of the person as it stands after each step: the
    // window's grants by id, the others as they are.
    let mut days: BTreeMap<i64, (NaiveDate, bool)> = facts.grants.iter().map(|g| (g.id, (g.day, !g.flagged))).collect();
    let granted_from = |days: &BTreeMap<i64, (NaiveDate, bool)>, from: NaiveDate| -> BTreeSet<NaiveDate> {
        days.values()
            .filter(|(_, granted)| *granted)
            .map(|(d, _)| *d)
            .chain(facts.other_days.iter().copied())
            .filter(|d| *d >= from)
            .collect()
    };
    let mut steps = Vec::new();
    for g in &facts.grants {
        let holidays = facts.holidays.get(&g.team_id);
        let holiday_now = holidays.is_some_and(|h| h.contains(&g.day));
        let still_wanted = g.trigger.is_some_and(|t| wanted.contains_key(&t));
        if g.day > facts.today && holiday_now && still_wanted {
            if let (Some(t), Some(holidays)) = (g.trigger, holidays) {
                wanted.remove(&t);
                let mut taken = granted_from(&days, facts.today);
                taken.remove(&g.day);
                let day = first_working_day(g.day, holidays, &taken);
                days.entry(g.id).and_modify(|e| *e = (day, true));
                steps.push(Step::Move { id: g.id, day });
                if g.flagged {
                    steps.push(Step::Restore { id: g.id });
                }
            }
        } else if g.trigger.is_some_and(|t| wanted.remove(&t).is_some()) {
            if g.flagged {
                days.entry(g.id).and_modify(|e| e.1 = true);
                steps.push(Step::Restore { id: g.id });
            }
        } else if g.day > facts.today {
            days.remove(&g.id);
            steps.push(Step::Withdraw { id: g.id });
        } else if !g.flagged {
            days.entry(g.id).and_modify(|e| e.1 = false);
            steps.push(Step::Flag { id: g.id });
        }
    }
    let Some(earliest) = wanted.keys().map(|t| t.date()).min() else {
        return steps;
    };
    let mut taken = granted_from(&days, earliest);
    for (team_id, holidays) in &facts.holidays {
        let mine: Vec<Trigger> = wanted.iter().filter(|(_, t)| *t == team_id).map(|(k, _)| *k).collect();
        for (trigger, day) in assign_days(&mine, holidays, &taken) {
            taken.insert(day);
            steps.push(Step::Add {
                team_id: *team_id,
                trigger,
                day,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration, Weekday};
    use proptest::prelude::*;

    fn d(n: i64) -> NaiveDate {
        // Monday 4 January 2027 is day 0.
        NaiveDate::from_ymd_opt(2027, 1, 4).unwrap() + Duration::days(n)
    }

    /// The grants as they stand after the steps (new ones get fresh ids).
    fn apply(grants: &[Grant], steps: &[Step]) -> Vec<Grant> {
        let mut out: Vec<Grant> = grants.to_vec();
        let mut next = 1_000;
        for s in steps {
            match *s {
                Step::Move { id, day } => out.iter_mut().filter(|g| g.id == id).for_each(|g| g.day = day),
                Step::Restore { id } => out.iter_mut().filter(|g| g.id == id).for_each(|g| g.flagged = false),
                Step::Flag { id } => out.iter_mut().filter(|g| g.id == id).for_each(|g| g.flagged = true),
                Step::Withdraw { id } => out.retain(|g| g.id != id),
                Step::Add { team_id, trigger, day } => {
                    next += 1;
                    out.push(Grant {
                        id: next,
                        team_id,
                        trigger: Some(trigger),
                        day,
                        flagged: false,
                    });
                }
            }
        }
        out.sort_by_key(|g| g.trigger);
        out
    }

    fn trigger(kind: bool, n: i64) -> Trigger {
        if kind { Trigger::Night(d(n)) } else { Trigger::Day(d(n)) }
    }

    prop_compose! {
        fn facts()(
            today in 0i64..40,
            wanted in prop::collection::btree_map((any::<bool>(), 0i64..30), 1i64..3, 0..6),
            stored in prop::collection::btree_map((any::<bool>(), 0i64..30), (1i64..3, 0i64..45, any::<bool>()), 0..6),
            holidays in prop::collection::btree_set(0i64..50, 0..6),
            other in prop::collection::vec(0i64..50, 0..4),
        ) -> Facts {
            let holidays: BTreeSet<NaiveDate> = holidays.into_iter().map(d).collect();
            Facts {
                today: d(today),
                wanted: wanted.into_iter().map(|((k, n), team)| (trigger(k, n), team)).collect(),
                holidays: [(1, holidays.clone()), (2, holidays)].into_iter().collect(),
                grants: stored
                    .into_iter()
                    .enumerate()
                    .map(|(i, ((k, n), (team, day, flagged)))| Grant {
                        id: i as i64 + 1,
                        team_id: team,
                        trigger: Some(trigger(k, n)),
                        day: d(n + day % 6),
                        flagged,
                    })
                    .collect(),
                other_days: other.into_iter().map(d).collect(),
            }
        }
    }

    proptest! {
        /// Reconciling what reconciliation left changes nothing more.
        #[test]
        fn reconciling_twice_is_reconciling_once(f in facts()) {
            let after = apply(&f.grants, &reconcile(&f));
            let again = Facts { grants: after.clone(), ..f.clone() };
            prop_assert_eq!(reconcile(&again), vec![]);
        }

        /// Afterwards every wanted trigger has exactly one grant, granted;
        /// a grant nothing triggers is gone if its day is ahead, flagged if
        /// its day has come; the past is never deleted or moved.
        #[test]
        fn afterwards_the_grants_are_what_the_pages_say(f in facts()) {
            let steps = reconcile(&f);
            let after = apply(&f.grants, &steps);
            for t in f.wanted.keys() {
                let held: Vec<&Grant> = after.iter().filter(|g| g.trigger == Some(*t)).collect();
                prop_assert_eq!(held.len(), 1);
                prop_assert!(!held[0].flagged);
            }
            for g in &after {
                let t = g.trigger.unwrap();
                if !f.wanted.contains_key(&t) {
                    prop_assert!(g.day <= f.today && g.flagged, "{g:?} should be flagged or gone");
                }
            }
            for s in &steps {
                if let Step::Withdraw { id } | Step::Move { id, .. } = s {
                    let before = f.grants.iter().find(|g| g.id == *id).unwrap();
                    prop_assert!(before.day > f.today, "{s:?} touches a past day");
                }
            }
        }

        /// New and moved days are working days, after their trigger, and
        /// never a day the person already has off.
        #[test]
        fn new_and_moved_days_are_free_working_days(f in facts()) {
            let steps = reconcile(&f);
            let after = apply(&f.grants, &steps);
            for s in &steps {
                let (day, team) = match s {
                    Step::Add { day, team_id, trigger } => {
                        prop_assert!(*day >= trigger.date());
                        (*day, *team_id)
                    }
                    Step::Move { id, day } => (*day, f.grants.iter().find(|g| g.id == *id).unwrap().team_id),
                    _ => continue,
                };
                prop_assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
                prop_assert!(!f.holidays[&team].contains(&day));
                prop_assert!(!f.other_days.contains(&day), "{day} is already taken");
                let same_day = after.iter().filter(|g| !g.flagged && g.day == day).count();
                prop_assert_eq!(same_day, 1, "two grants on {}", day);
            }
        }
    }

    #[test]
    fn a_holiday_declared_on_a_future_day_moves_it_on() {
        let holidays: BTreeSet<NaiveDate> = [d(1)].into_iter().collect();
        let t = Trigger::Night(d(1));
        let f = Facts {
            today: d(0),
            wanted: [(t, 1)].into_iter().collect(),
            holidays: [(1, holidays)].into_iter().collect(),
            grants: vec![Grant {
                id: 7,
                team_id: 1,
                trigger: Some(t),
                day: d(1),
                flagged: false,
            }],
            other_days: vec![d(2)],
        };
        // Tuesday is the holiday, Wednesday is taken: Thursday.
        assert_eq!(reconcile(&f), vec![Step::Move { id: 7, day: d(3) }]);
    }
}
