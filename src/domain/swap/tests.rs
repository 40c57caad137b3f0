use super::*;
use chrono::{Duration, NaiveDate, NaiveTime, Weekday};
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn week(user: i64, from: &str, to: &str, index: i32) -> Piece {
    Piece {
        user,
        starts_at: t(from),
        ends_at: t(to),
        version_id: 1,
        week_index: index,
        change_id: None,
        replaces: None,
    }
}

const PARTY: Standing = Standing {
    requester: false,
    counterpart: false,
    may_volunteer: false,
    manages: false,
};

#[test]
fn a_request_moves_from_proposed_through_accepted_to_applied() {
    let counterpart = Standing {
        counterpart: true,
        ..PARTY
    };
    let manager = Standing { manages: true, ..PARTY };
    assert_eq!(next(State::Proposed, Action::Accept, counterpart), Ok(State::Accepted));
    assert_eq!(next(State::Accepted, Action::Approve, manager), Ok(State::Applied));
    assert_eq!(next(State::Proposed, Action::Decline, counterpart), Ok(State::Declined));
    assert_eq!(next(State::Accepted, Action::Reject, manager), Ok(State::Rejected));
}

#[test]
fn nobody_decides_a_request_they_are_party_to() {
    let requester_manager = Standing {
        requester: true,
        manages: true,
        ..PARTY
    };
    let counterpart_manager = Standing {
        counterpart: true,
        manages: true,
        ..PARTY
    };
    for who in [requester_manager, counterpart_manager] {
        assert!(matches!(
            next(State::Accepted, Action::Approve, who),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            next(State::Accepted, Action::Reject, who),
            Err(Refusal::Forbidden(_))
        ));
    }
    assert!(matches!(
        next(State::Accepted, Action::Approve, PARTY),
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn only_the_requester_cancels_and_only_until_it_is_applied() {
    let requester = Standing {
        requester: true,
        ..PARTY
    };
    assert_eq!(next(State::Accepted, Action::Cancel, requester), Ok(State::Cancelled));
    assert!(matches!(
        next(State::Applied, Action::Cancel, requester),
        Err(Refusal::Conflict(_))
    ));
    let counterpart = Standing {
        counterpart: true,
        ..PARTY
    };
    assert!(matches!(
        next(State::Proposed, Action::Cancel, counterpart),
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn an_open_cover_is_accepted_by_a_volunteer_but_not_declined() {
    let volunteer = Standing {
        may_volunteer: true,
        ..PARTY
    };
    assert_eq!(next(State::Proposed, Action::Accept, volunteer), Ok(State::Accepted));
    assert!(matches!(
        next(State::Proposed, Action::Decline, volunteer),
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn an_open_request_expires_when_its_span_starts() {
    let start = t("2027-03-05T18:00:00Z");
    assert_eq!(State::Accepted.at(start, start - Duration::minutes(1)), State::Accepted);
    assert_eq!(State::Accepted.at(start, start), State::Expired);
    assert_eq!(State::Applied.at(start, start + Duration::days(1)), State::Applied);
    let manager = Standing { manages: true, ..PARTY };
    let refused = next(State::Expired, Action::Approve, manager);
    assert!(matches!(refused, Err(Refusal::Conflict(m)) if m.contains("expired")));
}

#[test]
fn a_cover_splits_a_week_into_three() {
    let pieces = [week(1, "2027-03-02T10:00:00Z", "2027-03-09T10:00:00Z", 4)];
    let out = overlay(&pieces, 2, t("2027-03-05T18:00:00Z"), t("2027-03-06T10:00:00Z"), 7).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!((out[0].user, out[0].ends_at), (1, t("2027-03-05T18:00:00Z")));
    assert_eq!((out[1].user, out[1].replaces, out[1].change_id), (2, Some(1), Some(7)));
    assert_eq!((out[2].user, out[2].starts_at), (1, t("2027-03-06T10:00:00Z")));
    assert!(out.iter().all(|p| p.week_index == 4));
}

#[test]
fn undoing_a_cover_merges_the_week_back_into_one() {
    let pieces = [week(1, "2027-03-02T10:00:00Z", "2027-03-09T10:00:00Z", 4)];
    let (a, b) = (t("2027-03-05T18:00:00Z"), t("2027-03-06T10:00:00Z"));
    let covered = overlay(&pieces, 2, a, b, 7).unwrap();
    let undone = overlay(&covered, 1, a, b, 8).unwrap();
    assert_eq!(undone.len(), 1);
    assert_eq!((undone[0].user, undone[0].replaces), (1, None));
    assert_eq!(
        (undone[0].starts_at, undone[0].ends_at),
        (pieces[0].starts_at, pieces[0].ends_at)
    );
}

#[test]
fn a_change_outside_the_generated_weeks_is_refused() {
    let pieces = [week(1, "2027-03-02T10:00:00Z", "2027-03-09T10:00:00Z", 4)];
    assert_eq!(
        overlay(&pieces, 2, t("2027-03-08T10:00:00Z"), t("2027-03-10T10:00:00Z"), 1),
        Err(NotScheduled)
    );
    assert_eq!(
        overlay(&[], 2, t("2027-03-08T10:00:00Z"), t("2027-03-09T10:00:00Z"), 1),
        Err(NotScheduled)
    );
}

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
