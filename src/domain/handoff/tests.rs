use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use chrono_tz::{America, Europe};

use super::template::{self, PageLine, TemplateInput, open_items};
use super::*;
use crate::domain::recovery::{OutOfHours, Sla};
use crate::domain::schedule::Rule;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn ten() -> NaiveTime {
    NaiveTime::from_hms_opt(10, 0, 0).unwrap()
}

/// Tuesdays 10:00 London from Tue 3 Nov 2026.
fn weekly() -> Vec<Rule<i64>> {
    vec![Rule::initial(
        Europe::London,
        Weekday::Tue,
        ten(),
        d("2026-11-03"),
        vec![1, 2, 3],
    )]
}

fn person(id: i64, tz: Tz) -> Person {
    Person {
        id,
        name: format!("P{id}"),
        email: format!("p{id}@example.com"),
        tz,
    }
}

#[test]
fn boundaries_are_the_handoffs_after_the_first_week() {
    let rules = weekly();
    let found = boundaries_between(&rules, t("2026-10-01T00:00:00Z"), t("2026-11-25T00:00:00Z"));
    let at: Vec<_> = found.iter().map(|b| b.at).collect();
    assert_eq!(
        at,
        [
            t("2026-11-10T10:00:00Z"),
            t("2026-11-17T10:00:00Z"),
            t("2026-11-24T10:00:00Z")
        ]
    );
    assert_eq!(found[0].week_start, d("2026-11-10"));
    // Half-open: a boundary at `to` is not included, one at `from` is.
    let exact = boundaries_between(&rules, t("2026-11-17T10:00:00Z"), t("2026-11-24T10:00:00Z"));
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].at, t("2026-11-17T10:00:00Z"));
}

#[test]
fn a_date_names_the_boundary_that_starts_its_week() {
    let rules = weekly();
    assert_eq!(
        boundary_on(&rules, d("2026-11-10")).unwrap().at,
        t("2026-11-10T10:00:00Z")
    );
    assert_eq!(
        boundary_on(&rules, d("2026-11-03")),
        None,
        "no handoff into the first week"
    );
    assert_eq!(boundary_on(&rules, d("2026-11-11")), None, "not a handoff day");
    assert_eq!(boundary_on(&rules, d("2026-10-27")), None, "before the rotation");
    // Across the change to summer time the wall clock stays at 10:00.
    assert_eq!(
        boundary_on(&rules, d("2027-03-30")).unwrap().at,
        t("2027-03-30T09:00:00Z")
    );
}

#[test]
fn a_settings_change_moves_the_boundaries_from_its_start() {
    let first = Rule::initial(Europe::London, Weekday::Tue, ten(), d("2026-11-03"), vec![1, 2, 3]);
    let change_at = first.boundary(2); // Tue 17 Nov
    let second = Rule::successor(America::New_York, Weekday::Mon, ten(), change_at, vec![1, 2, 3], 0);
    let rules = vec![first, second.clone()];
    let found = boundaries_between(&rules, t("2026-11-01T00:00:00Z"), t("2026-12-10T00:00:00Z"));
    let at: Vec<_> = found.iter().map(|b| b.at).collect();
    assert_eq!(at[..2], [t("2026-11-10T10:00:00Z"), change_at]);
    // The bridging week ends on the first Monday at least 3.5 days later.
    assert_eq!(at[2], second.boundary(1));
    assert_eq!(found[2].week_start.weekday(), Weekday::Mon);
    assert_eq!(found[2].tz, America::New_York);
    for b in &found {
        assert_eq!(boundary_on(&rules, b.week_start).map(|x| x.at), Some(b.at), "{b:?}");
        assert_eq!(boundary_at(&rules, b.at), Some(*b), "{b:?}");
    }
    assert_eq!(boundary_at(&rules, change_at + Duration::hours(1)), None, "mid-week");
    assert_eq!(
        boundary_at(&rules, rules[0].effective_from),
        None,
        "the first week has none"
    );
    // The old rule's Tuesday after the change is no boundary any more.
    assert_eq!(boundary_on(&rules, d("2026-11-24")), None);
}

#[test]
fn the_week_before_a_boundary_starts_at_the_previous_one() {
    let rules = weekly();
    assert_eq!(
        week_before(&rules, t("2026-11-17T10:00:00Z")),
        Some(t("2026-11-10T10:00:00Z"))
    );
    assert_eq!(
        week_before(&rules, t("2026-11-10T10:00:00Z")),
        Some(t("2026-11-03T10:00:00Z"))
    );
    assert_eq!(
        week_after(&rules, t("2026-11-10T10:00:00Z")),
        Some(t("2026-11-17T10:00:00Z"))
    );
}

fn boundary(at: &str) -> Boundary {
    let at = t(at);
    Boundary {
        at,
        week_start: at.with_timezone(&Europe::London).date_naive(),
        tz: Europe::London,
    }
}

#[test]
fn a_handoff_opens_a_day_before_and_is_overdue_at_its_time() {
    let b = boundary("2026-11-10T10:00:00Z");
    let alex = person(1, Europe::London);
    let timing = timing(&b, Some((&alex, &TimeOff::default())));
    assert_eq!(timing.opens_at, t("2026-11-09T10:00:00Z"));
    assert_eq!(timing.due_at, b.at);
    assert_eq!(timing.overdue_at, b.at);
    assert_eq!(timing.remind_at, t("2026-11-10T08:00:00Z"), "08:00 on the morning");
    assert!(!timing.recovering);
}

#[test]
fn a_recovery_day_on_handoff_day_extends_the_deadline_to_the_end_of_the_next_working_day() {
    let b = boundary("2026-11-10T10:00:00Z");
    let alex = person(1, Europe::London);
    let mut off = TimeOff {
        recovery_days: BTreeSet::from([d("2026-11-10")]),
        ..TimeOff::default()
    };
    let timing = timing(&b, Some((&alex, &off)));
    assert!(timing.recovering);
    assert_eq!(timing.overdue_at, t("2026-11-12T00:00:00Z"), "end of Wednesday");
    assert_eq!(timing.remind_at, t("2026-11-11T08:00:00Z"), "Wednesday morning");
    // Wednesday a holiday and Thursday another recovery day: Friday.
    off.holidays.insert(d("2026-11-11"));
    off.recovery_days.insert(d("2026-11-12"));
    assert_eq!(
        super::timing(&b, Some((&alex, &off))).overdue_at,
        t("2026-11-14T00:00:00Z")
    );
    // A recovery day on another day changes nothing.
    let other = TimeOff {
        recovery_days: BTreeSet::from([d("2026-11-09")]),
        ..TimeOff::default()
    };
    assert_eq!(super::timing(&b, Some((&alex, &other))).overdue_at, b.at);
}

#[test]
fn the_recovery_day_is_read_in_the_writers_own_zone() {
    // 10:00 London on Tuesday is 05:00 Tuesday in New York, also Tuesday;
    // but a 02:00 London handoff is still Monday evening in New York.
    let b = boundary("2026-11-10T02:00:00Z");
    let sam = person(2, America::New_York);
    let off = TimeOff {
        recovery_days: BTreeSet::from([d("2026-11-10")]),
        ..TimeOff::default()
    };
    assert!(!timing(&b, Some((&sam, &off))).recovering);
}

#[test]
fn an_early_handoff_is_reminded_the_morning_before() {
    let b = boundary("2026-11-10T07:00:00Z");
    let alex = person(1, Europe::London);
    let timing = timing(&b, Some((&alex, &TimeOff::default())));
    assert_eq!(timing.remind_at, t("2026-11-09T08:00:00Z"));
}

#[test]
fn status_follows_the_state_and_the_clock() {
    let b = boundary("2026-11-10T10:00:00Z");
    let tm = timing(&b, None);
    let at = |s| status(State::NotStarted, &tm, t(s));
    assert_eq!(at("2026-11-09T09:59:00Z"), Status::Upcoming);
    assert_eq!(at("2026-11-09T10:00:00Z"), Status::Open);
    assert_eq!(at("2026-11-10T10:00:00Z"), Status::Overdue);
    assert_eq!(status(State::Draft, &tm, t("2026-11-10T09:00:00Z")), Status::Draft);
    assert_eq!(status(State::Draft, &tm, t("2026-11-10T10:01:00Z")), Status::Overdue);
    assert_eq!(
        status(State::Submitted, &tm, t("2026-11-12T00:00:00Z")),
        Status::Submitted
    );
    assert_eq!(
        status(State::Acknowledged, &tm, t("2026-11-12T00:00:00Z")),
        Status::Acknowledged
    );
    assert_eq!(State::of(true, true, false), State::Submitted);
    assert_eq!(State::of(false, false, false), State::NotStarted);
}

#[test]
fn a_missing_handoff_is_overdue_only_until_the_next_one_is_due() {
    let b = boundary("2026-11-10T10:00:00Z");
    let next = t("2026-11-17T10:00:00Z");
    let tm = timing(&b, None).chased_until(next, t("2026-10-01T00:00:00Z"));
    let at = |state, s| status(state, &tm, t(s));
    assert_eq!(at(State::NotStarted, "2026-11-10T10:00:00Z"), Status::Overdue);
    assert_eq!(at(State::Draft, "2026-11-17T09:59:00Z"), Status::Overdue);
    assert_eq!(at(State::NotStarted, "2026-11-17T10:00:00Z"), Status::Missed);
    assert_eq!(
        at(State::Draft, "2026-12-08T10:00:00Z"),
        Status::Missed,
        "four weeks on"
    );
    assert_eq!(Status::Missed.label(), "no handoff written");
    assert_eq!(at(State::Submitted, "2026-12-08T10:00:00Z"), Status::Submitted);
}

#[test]
fn a_handoff_from_before_the_rotation_existed_is_never_overdue() {
    // Created on Wednesday with a start date weeks back: Tuesday's handoff
    // was due before anyone could write it.
    let b = boundary("2026-11-10T10:00:00Z");
    let created = t("2026-11-11T09:00:00Z");
    let tm = timing(&b, None).chased_until(t("2026-11-17T10:00:00Z"), created);
    assert_eq!(status(State::NotStarted, &tm, created), Status::Missed);
    // The next one, due after it was created, is chased as usual.
    let b = boundary("2026-11-17T10:00:00Z");
    let tm = timing(&b, None).chased_until(t("2026-11-24T10:00:00Z"), created);
    assert_eq!(
        status(State::NotStarted, &tm, t("2026-11-17T10:01:00Z")),
        Status::Overdue
    );
    // Nor is its writer reminded of it.
    let p = people();
    let off = TimeOff::default();
    let early = boundary("2026-11-10T10:00:00Z");
    let tm = timing(&early, p.outgoing_primary.as_ref().map(|x| (x, &off)))
        .chased_until(t("2026-11-17T10:00:00Z"), t("2026-11-10T10:30:00Z"));
    let facts = ReminderFacts {
        people: &p,
        timing: &tm,
        submitted_at: None,
        acknowledged: &[],
        sent: &[],
    };
    assert!(reminders_due(&facts, t("2026-11-10T11:00:00Z")).is_empty());
}

fn people() -> People {
    People {
        outgoing_primary: Some(person(1, Europe::London)),
        outgoing_secondary: Some(person(2, Europe::London)),
        incoming_primary: Some(person(2, Europe::London)),
        incoming_secondary: Some(person(3, Europe::London)),
    }
}

#[test]
fn the_outgoing_write_and_the_incoming_acknowledge() {
    let p = people();
    assert_eq!(p.writer(1, false), Some(Writer::OutgoingPrimary));
    assert_eq!(p.writer(2, false), Some(Writer::OutgoingSecondary));
    assert_eq!(p.writer(3, false), None);
    assert_eq!(p.writer(9, true), Some(Writer::Manager));
    assert!(!Writer::OutgoingSecondary.may_submit());
    assert!(Writer::OutgoingPrimary.may_submit() && Writer::Manager.may_submit());
    assert_eq!(p.incoming_role(2), Some(Role::Primary));
    assert_eq!(p.incoming_role(3), Some(Role::Secondary));
    assert_eq!(p.incoming_role(1), None);
}

#[test]
fn the_writer_is_reminded_on_the_morning_and_the_readers_on_submission() {
    let b = boundary("2026-11-10T10:00:00Z");
    let p = people();
    let off = TimeOff::default();
    let tm = timing(&b, p.outgoing_primary.as_ref().map(|x| (x, &off)));
    let due = |submitted_at: Option<&str>, acknowledged: &[i64], sent: &[(ReminderKind, i64)], now: &str| {
        let facts = ReminderFacts {
            people: &p,
            timing: &tm,
            submitted_at: submitted_at.map(t),
            acknowledged,
            sent,
        };
        reminders_due(&facts, t(now))
    };
    assert!(due(None, &[], &[], "2026-11-10T07:59:00Z").is_empty());
    assert_eq!(due(None, &[], &[], "2026-11-10T08:00:00Z"), [(ReminderKind::Write, 1)]);
    assert!(due(None, &[], &[(ReminderKind::Write, 1)], "2026-11-10T09:00:00Z").is_empty());
    assert!(due(None, &[], &[], "2026-11-18T00:00:00Z").is_empty(), "stale");
    let submitted = Some("2026-11-10T09:30:00Z");
    assert_eq!(
        due(submitted, &[], &[], "2026-11-10T09:30:00Z"),
        [(ReminderKind::Read, 2), (ReminderKind::Read, 3)]
    );
    assert!(due(submitted, &[2], &[(ReminderKind::Read, 3)], "2026-11-10T09:31:00Z").is_empty());
    assert_eq!(
        due(submitted, &[3], &[], "2026-11-10T09:31:00Z"),
        [(ReminderKind::Read, 2)]
    );
    assert!(
        due(submitted, &[], &[], "2026-11-10T09:00:00Z").is_empty(),
        "not before it was submitted"
    );
}

fn page(summary: &str, out_of_hours: OutOfHours, minutes: i64, sla: Sla) -> PageLine {
    PageLine {
        fired: "Tue 3 Nov 03:07".into(),
        summary: summary.into(),
        source: "alertmanager".into(),
        responder: Some("Alex (primary)".into()),
        ack_minutes: Some(3),
        sla,
        spent: Duration::minutes(minutes),
        out_of_hours,
    }
}

#[test]
fn the_template_lists_the_week_and_what_woke_people_first() {
    let input = TemplateInput {
        title: "Weekly, week from Tue 10 Nov 2026".into(),
        pages: vec![
            page("API errors", OutOfHours::Working, 20, Sla::Met),
            page("Disk full\non db-1", OutOfHours::Sleep, 105, Sla::Missed),
            page("Cert expiry", OutOfHours::Weekend, 60, Sla::Met),
        ],
        recovery_days: vec!["Alex, Tue 3 Nov".into()],
        swaps_and_leave: None,
        carried_over: vec!["Rotate the TLS keys".into()],
    };
    let text = template::render(&input);
    for section in [
        template::WHAT_HAPPENED,
        template::ONGOING,
        template::FOLLOW_UPS,
        template::SWAPS_AND_LEAVE,
        template::CARRIED_OVER,
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    assert!(
        text.contains("3 pages, 1 missed the SLA, 1 in sleep hours; 3 h 5 min spent in all."),
        "{text}"
    );
    assert!(
        text.contains("- Tue 3 Nov 03:07 — Disk full on db-1 (alertmanager) · Alex (primary) · acknowledged in 3 min, SLA missed · 1 h 45 min spent, in sleep hours"),
        "{text}"
    );
    let follow_ups = text.split(template::FOLLOW_UPS).nth(1).unwrap();
    let follow_ups = follow_ups.split(template::SWAPS_AND_LEAVE).next().unwrap();
    let disk = follow_ups.find("Disk full").unwrap();
    let cert = follow_ups.find("Cert expiry").unwrap();
    assert!(disk < cert, "sleep first:\n{follow_ups}");
    assert!(!follow_ups.contains("API errors"), "working hours are not follow-ups");
    assert!(text.contains("- [ ] Rotate the TLS keys"));
    assert!(text.contains("Recovery days granted: Alex, Tue 3 Nov."));
    assert!(text.contains("does not record swaps and leave yet"));
}

#[test]
fn a_page_nobody_could_acknowledge_is_not_called_missed() {
    let mut silent = page("Disk full", OutOfHours::Sleep, 30, Sla::NoData);
    silent.ack_minutes = None;
    let text = template::render(&TemplateInput {
        title: "Weekly".into(),
        pages: vec![silent.clone()],
        ..TemplateInput::default()
    });
    assert!(
        text.contains("1 page, no acknowledgement data, 1 in sleep hours"),
        "{text}"
    );
    assert!(
        text.contains("· no acknowledgement data (its tool never reports one) ·"),
        "{text}"
    );
    assert!(!text.contains("missed"), "{text}");
    let text = template::render(&TemplateInput {
        title: "Weekly".into(),
        pages: vec![silent, page("API errors", OutOfHours::Working, 20, Sla::Met)],
        ..TemplateInput::default()
    });
    assert!(text.contains("2 pages, all within the SLA"), "{text}");
}

#[test]
fn a_quiet_week_says_so() {
    let text = template::render(&TemplateInput {
        title: "Weekly".into(),
        swaps_and_leave: Some(vec![]),
        ..TemplateInput::default()
    });
    assert!(text.contains("No pages this week."));
    assert!(text.contains("None from the previous handoff."));
}

#[test]
fn unticked_items_carry_over_once_each() {
    let body = "## Ongoing\n- [ ] Watch the queue\n- [x] Restarted db-1\n  * [ ]   Follow up   with DBA \n- [ ] \n- [ ] Watch the queue\n- plain item\n";
    assert_eq!(open_items(body), ["Watch the queue", "Follow up with DBA"]);
    // The template's own empty items carry nothing.
    let fresh = template::render(&TemplateInput::default());
    assert!(open_items(&fresh).is_empty(), "{fresh}");
}

#[test]
fn durations_read_naturally() {
    assert_eq!(template::spent(Duration::minutes(5)), "5 min");
    assert_eq!(template::spent(Duration::minutes(120)), "2 h");
    assert_eq!(template::spent(Duration::minutes(105)), "1 h 45 min");
}
