use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::names::{self, Names};
use super::sentences::{Context, Entry, Said, sentence};

fn names() -> Names {
    let mut n = Names::default();
    for (email, name) in [
        ("priya@example.com", "Priya"),
        ("ravi@example.com", "Ravi"),
        ("sam@example.com", "Sam"),
        ("lee@example.com", "Lee (left)"),
    ] {
        n.people.insert(email.into(), name.into());
    }
    n.rotations.insert("weekly".into(), "Weekly".into());
    n.rotation_ids.insert(4, ("weekly".into(), "Weekly".into()));
    n.authors.insert(
        ("weekly".into(), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()),
        "Alex".into(),
    );
    n
}

fn say_with(names: &Names, actor: &str, action: &str, before: Option<Value>, after: Option<Value>) -> Said {
    let cx = Context {
        names,
        tz: "Europe/London".parse::<Tz>().unwrap(),
        team_slug: "platform",
    };
    sentence(
        &Entry {
            actor,
            action,
            before: before.as_ref(),
            after: after.as_ref(),
        },
        &cx,
    )
}

fn say(actor: &str, action: &str, before: Option<Value>, after: Option<Value>) -> Said {
    say_with(&names(), actor, action, before, after)
}

fn week(email: &str, from: &str, to: &str) -> Value {
    json!({"rotation": "weekly", "role": "primary", "email": email,
           "starts_at": format!("{from}T10:00:00Z"), "ends_at": format!("{to}T10:00:00Z")})
}

#[test]
fn an_approved_swap_names_both_weeks_both_people_and_the_approver() {
    let before = json!({"request": 7, "shifts": [
        week("priya@example.com", "2026-12-29", "2027-01-05"),
        week("ravi@example.com", "2027-01-05", "2027-01-12")]});
    let after = json!({"request": 7, "shifts": [
        week("ravi@example.com", "2026-12-29", "2027-01-05"),
        week("priya@example.com", "2027-01-05", "2027-01-12")]});
    let said = say("Alex", "swap.apply", Some(before), Some(after));
    assert_eq!(
        said.text,
        "Priya swapped their primary week of 29 Dec with Ravi's week of 5 Jan — approved by Alex"
    );
    assert_eq!(said.link, Some(("/swaps/7".into(), "Request #7".into())));
}

#[test]
fn a_cover_and_its_undoing_read_as_who_holds_what() {
    let before = json!({"request": 8, "shifts": [week("priya@example.com", "2026-11-24", "2026-12-01")]});
    let after = json!({"request": 8, "shifts": [week("sam@example.com", "2026-11-24", "2026-12-01")]});
    assert_eq!(
        say("Alex", "cover.apply", Some(before.clone()), Some(after.clone())).text,
        "Sam took over Priya's primary week of 24 Nov as cover — approved by Alex"
    );
    assert_eq!(
        say("Alex", "undo", Some(after), Some(before)).text,
        "Alex undid request #8 from now on: Priya has the primary week of 24 Nov back"
    );
}

#[test]
fn an_override_names_who_takes_it_whom_it_replaces_and_why() {
    let before = json!({"rotation": "weekly", "role": "secondary",
        "shifts": [{"user_id": 2, "email": "ravi@example.com",
                    "starts_at": "2027-03-02T12:00:00Z", "ends_at": "2027-03-09T10:00:00Z"}]});
    let after = json!({"rotation": "weekly", "role": "secondary", "email": "sam@example.com",
        "starts_at": "2027-03-02T12:00:00Z", "ends_at": "2027-03-09T10:00:00Z",
        "reason": "Ravi is ill", "despite_leave": true});
    let said = say("Alex", "override", Some(before), Some(after));
    assert_eq!(
        said.text,
        "Alex gave Sam the secondary shift from Tue 2 Mar 12:00 to Tue 9 Mar 10:00, in place of Ravi"
    );
    assert_eq!(
        said.detail,
        "Override; reason: Ravi is ill (assigned knowing Sam is on leave)"
    );
}

#[test]
fn a_week_moved_for_leave_is_rotas_doing_and_says_who_owes_which_week() {
    let w =
        |from: &str, to: &str| json!({"starts_at": format!("{from}T10:00:00Z"), "ends_at": format!("{to}T10:00:00Z")});
    let before = json!({"rotation_id": 4, "role": "primary", "week": w("2026-11-24", "2026-12-01"), "email": "priya@example.com"});
    let after = json!({"rotation_id": 4, "role": "primary", "week": w("2026-11-24", "2026-12-01"),
        "email": "ravi@example.com", "owed_week": w("2026-12-08", "2026-12-15")});
    assert_eq!(
        say("Rota", "leave.reassign", Some(before), Some(after)).text,
        "Rota gave Priya's primary week of 24 Nov to Ravi, as Priya is on leave; \
         Priya takes the primary week of 8 Dec instead"
    );
}

#[test]
fn handoffs_read_as_who_wrote_and_who_acknowledged_whose() {
    let after = json!({"rotation": "weekly", "week_start": "2026-11-24", "role": "primary"});
    let said = say("Sam", "handoff.acknowledge", None, Some(after.clone()));
    assert_eq!(said.text, "Sam acknowledged Alex's handoff for the week of 24 Nov");
    assert_eq!(
        said.link.map(|l| l.0).as_deref(),
        Some("/teams/platform/rotations/weekly/handoffs/2026-11-24")
    );
    let submitted = json!({"rotation": "weekly", "week_start": "2026-11-24", "version": 1, "as": "manager"});
    assert_eq!(
        say("Alex", "handoff.submit", None, Some(submitted)).text,
        "Alex submitted the handoff for the week of 24 Nov, as a manager"
    );
    // With two rotations, the sentence says which.
    let mut two = names();
    two.several_rotations = true;
    assert_eq!(
        say_with(&two, "Sam", "handoff.acknowledge", None, Some(after)).text,
        "Sam acknowledged Alex's Weekly handoff for the week of 24 Nov"
    );
}

#[test]
fn membership_and_rotation_changes_name_people_not_addresses() {
    let added = json!({"email": "ravi@example.com", "role": "member"});
    assert_eq!(
        say("Alex", "member.add", None, Some(added)).text,
        "Alex added Ravi to the team"
    );
    let left = json!({"email": "lee@example.com", "role": "member"});
    assert_eq!(
        say("Alex", "member.remove", Some(left), None).text,
        "Alex removed Lee (left) from the team"
    );
    let settings = |people: &[&str], time: &str| {
        json!({"rotation": "weekly", "settings": {"timezone": "Europe/London", "handoff_weekday": "tuesday",
            "handoff_time": time, "participants": people, "primary_sla_minutes": 5,
            "secondary_sla_minutes": 30, "start_date": "2026-11-03"}})
    };
    let created = say(
        "Alex",
        "rotation.create",
        None,
        Some(settings(&["priya@example.com", "ravi@example.com"], "10:00")),
    );
    assert_eq!(
        created.text,
        "Alex created the rotation Weekly: handoffs on Tuesdays at 10:00 (Europe/London), \
         the first week from 3 Nov 2026, with Priya and Ravi"
    );
    let mut after = settings(&["priya@example.com", "ravi@example.com", "sam@example.com"], "09:00");
    after["effective_from"] = json!("2026-12-01T10:00:00Z");
    let changed = say(
        "Alex",
        "rotation.update",
        Some(settings(&["priya@example.com", "ravi@example.com"], "10:00")),
        Some(after),
    );
    assert_eq!(
        changed.text,
        "Alex changed the rotation Weekly from Tue 1 Dec 2026 10:00: added Sam; \
         handoffs on Tuesdays at 09:00 (Europe/London)"
    );
}

#[test]
fn policies_holidays_and_tokens_read_as_what_changed() {
    let p = |start: &str, m: i64| json!({"sleep_start": start, "sleep_end": "08:00", "day_threshold_minutes": m});
    assert_eq!(
        say("Alex", "policy.change", Some(p("22:00", 60)), Some(p("23:00", 60))).text,
        "Alex changed the out-of-hours policy: sleep hours 22:00–08:00 → 23:00–08:00"
    );
    let holidays = json!({"added": [{"date": "2026-12-25", "name": "Christmas Day"}], "removed": ["2027-01-01"]});
    assert_eq!(
        say("Alex", "holidays.change", None, Some(holidays)).text,
        "Alex changed the holidays: added Christmas Day (25 Dec 2026); removed 1 Jan 2027"
    );
    let escalation = json!({"steps": [{"target": "primary", "after_minutes": 0},
        {"target": "secondary", "after_minutes": 5}, {"target": "managers", "after_minutes": 35}], "repeat": 1});
    assert_eq!(
        say("Alex", "team.escalation", None, Some(escalation)).text,
        "Alex changed how pages escalate: the primary at once, the secondary after 5 min \
         and the managers after 35 min, repeated once"
    );
    assert_eq!(
        say(
            "Alex",
            "integration.revoke",
            None,
            Some(json!({"id": 3, "label": "alertmanager"}))
        )
        .text,
        "Alex revoked the integration token “alertmanager”: the tool using it is refused from now on"
    );
}

#[test]
fn an_action_without_its_own_sentence_still_reads_as_one() {
    let said = say("Alex", "team.frobnicate", None, None);
    assert_eq!(said.text, "Alex made a change: team frobnicate");
    assert!(said.detail.contains("team.frobnicate"));
    // Every key Rota writes has its own sentence, never the fallback.
    for action in [
        "swap.apply",
        "cover.apply",
        "undo",
        "override",
        "leave.reassign",
        "rotation.create",
        "rotation.update",
        "member.add",
        "member.role",
        "member.remove",
        "invitation.create",
        "invitation.resend",
        "invitation.revoke",
        "invitation.accept",
        "handoff.submit",
        "handoff.edit",
        "handoff.acknowledge",
        "team.visibility",
        "team.escalation",
        "team.handoff_webhook",
        "team.chat",
        "holidays.change",
        "policy.change",
        "integration.revoke",
        "calendar.reset",
        "page.correct",
        "page.delete",
        "page.acknowledge",
        "page.resolve",
        "page.escalate",
        "page.drill",
    ] {
        let said = say("Alex", action, Some(json!({})), Some(json!({})));
        assert!(!said.text.contains("made a change"), "{action}: {}", said.text);
        assert!(!said.text.contains(action), "{action}: {}", said.text);
    }
}

#[test]
fn the_emails_an_entry_records_are_found_wherever_they_are() {
    let mut found = BTreeSet::new();
    let before =
        json!({"shifts": [{"email": "Priya@example.com"}], "settings": {"participants": ["ravi@example.com"]}});
    let after = json!({"responder": "sam@example.com", "reason": "not@an.email.key"});
    names::emails_in(&[Some(&before), Some(&after), None], &mut found);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["priya@example.com", "ravi@example.com", "sam@example.com"]
    );
    assert_eq!(
        names().person(Some("new@example.com")),
        "new@example.com",
        "no account: the address"
    );
}
