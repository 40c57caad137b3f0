use super::*;
use chrono::Duration;

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
