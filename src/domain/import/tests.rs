//! The three readers on the committed fixtures (written from each vendor's
//! API documentation), and what they refuse.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};

use super::*;

const PAGERDUTY: &str = include_str!("../../../tests/fixtures/import/pagerduty/platform.json");
const OPSGENIE: &str = include_str!("../../../tests/fixtures/import/opsgenie/payments.json");
const GRAFANA: &str = include_str!("../../../tests/fixtures/import/grafana-oncall/sre.json");

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A Wednesday: every fixture's current week began a day or two before.
fn now() -> DateTime<Utc> {
    t("2027-03-10T12:00:00Z")
}

fn emails(list: &[&str]) -> Vec<String> {
    list.iter().map(|e| (*e).to_owned()).collect()
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

/// Who leads each of the next weeks, by e-mail.
fn primaries(plan: &ImportPlan, weeks: i64) -> Vec<String> {
    (0..weeks)
        .map(|k| plan.participants[plan.leader_on(plan.start_date + chrono::Duration::weeks(k))].clone())
        .collect()
}

#[test]
fn pagerduty_layers_become_the_primary_and_secondary_of_one_weekly_rotation() {
    let plan = parse(Vendor::PagerDuty, PAGERDUTY, now()).expect("plans");
    assert_eq!(plan.rotation_name, "Platform on-call");
    assert_eq!(plan.rotation_slug, "platform-on-call");
    assert_eq!(plan.tz, chrono_tz::Europe::London);
    assert_eq!(
        (plan.weekday, plan.time),
        (Weekday::Tue, NaiveTime::from_hms_opt(10, 0, 0).unwrap())
    );
    assert_eq!(plan.start_date, d("2027-03-09"), "the week under way");
    assert_eq!(
        plan.participants,
        emails(&[
            "ana@example.com",
            "ben@example.com",
            "cara@example.com",
            "dev@example.com"
        ]),
        "the vendor's order, e-mails lowercased"
    );
    // Nine weeks after 5 January: the second person leads.
    assert_eq!(
        primaries(&plan, 5),
        emails(&[
            "ben@example.com",
            "cara@example.com",
            "dev@example.com",
            "ana@example.com",
            "ben@example.com"
        ])
    );
    assert_eq!(
        plan.overrides,
        vec![PlannedOverride {
            path: "overrides.overrides[0]".into(),
            email: "ana@example.com".into(),
            role: Role::Primary,
            starts_at: t("2027-03-17T00:00:00Z"),
            ends_at: t("2027-03-18T00:00:00Z"),
        }]
    );
    assert!(
        has(
            &plan.unmapped,
            "schedule.schedule.schedule_layers[2] (\"Night cover\"): turns are daily"
        ),
        "{:?}",
        plan.unmapped
    );
    assert_eq!(plan.unmapped.len(), 1, "{:?}", plan.unmapped);
    assert!(
        has(&plan.notes, "schedule_layers[1] (\"Layer 2\") is the secondary role"),
        "{:?}",
        plan.notes
    );
    assert!(has(&plan.notes, "applied to the primary role"), "{:?}", plan.notes);
    let dev = plan.people.iter().find(|p| p.email == "dev@example.com").unwrap();
    assert_eq!(
        (dev.name.as_deref(), dev.timezone),
        (Some("Dev Desai"), Some(chrono_tz::Asia::Kolkata))
    );
}

#[test]
fn opsgenie_rotations_map_by_order_and_overrides_by_the_rotation_they_name() {
    let plan = parse(Vendor::Opsgenie, OPSGENIE, now()).expect("plans");
    assert_eq!(
        (plan.rotation_name.as_str(), plan.rotation_slug.as_str()),
        ("Payments on-call", "payments-on-call")
    );
    assert_eq!(plan.tz, chrono_tz::America::New_York);
    assert_eq!(
        (plan.weekday, plan.time),
        (Weekday::Mon, NaiveTime::from_hms_opt(9, 0, 0).unwrap())
    );
    assert_eq!(plan.start_date, d("2027-03-08"));
    assert_eq!(
        plan.participants,
        emails(&["erin@example.com", "finn@example.com", "gus@example.com"])
    );
    assert_eq!(
        primaries(&plan, 4),
        emails(&[
            "erin@example.com",
            "finn@example.com",
            "gus@example.com",
            "erin@example.com"
        ])
    );
    assert_eq!(plan.overrides.len(), 1);
    let o = &plan.overrides[0];
    assert_eq!(
        (o.email.as_str(), o.role, o.starts_at, o.ends_at),
        (
            "finn@example.com",
            Role::Primary,
            t("2027-03-23T13:00:00Z"),
            t("2027-03-24T13:00:00Z")
        )
    );
    assert!(
        has(
            &plan.unmapped,
            "rotations.data[1].timeRestriction: on call only 08:00 to 20:00 each day"
        ),
        "{:?}",
        plan.unmapped
    );
    assert!(
        has(
            &plan.unmapped,
            "rotations.data[2] (\"Weekend helper\"): a daily rotation"
        ),
        "{:?}",
        plan.unmapped
    );
    assert!(
        has(&plan.notes, "(\"Secondary\") is the secondary role"),
        "{:?}",
        plan.notes
    );
    assert_eq!(plan.people[1].name.as_deref(), Some("Finn Foster"));
}

#[test]
fn grafana_rolling_users_map_from_the_start_index_in_the_schedule_zone() {
    let plan = parse(Vendor::GrafanaOnCall, GRAFANA, now()).expect("plans");
    assert_eq!(
        (plan.rotation_name.as_str(), plan.rotation_slug.as_str()),
        ("SRE weekly", "sre-weekly")
    );
    assert_eq!(plan.tz, chrono_tz::Europe::Berlin);
    assert_eq!(
        (plan.weekday, plan.time),
        (Weekday::Mon, NaiveTime::from_hms_opt(9, 0, 0).unwrap())
    );
    assert_eq!(plan.start_date, d("2027-03-08"));
    assert_eq!(
        plan.participants,
        emails(&["han@example.com", "ida@example.com", "jon@example.com"])
    );
    // Five weeks after 1 February: the third list leads.
    assert_eq!(
        primaries(&plan, 4),
        emails(&[
            "jon@example.com",
            "han@example.com",
            "ida@example.com",
            "jon@example.com"
        ])
    );
    assert_eq!(
        plan.overrides,
        vec![PlannedOverride {
            path: "shifts.results[3]".into(),
            email: "han@example.com".into(),
            role: Role::Primary,
            starts_at: t("2027-03-23T08:00:00Z"),
            ends_at: t("2027-03-24T08:00:00Z"),
        }]
    );
    assert!(
        has(
            &plan.unmapped,
            "shifts.results[2] (\"SRE weekly-rotation-3-office-hours\"): hands over daily"
        ),
        "{:?}",
        plan.unmapped
    );
    assert!(has(&plan.notes, "shifts.results[1]"), "{:?}", plan.notes);
}

#[test]
fn a_secondary_layer_that_breaks_rotas_rule_is_reported_week_by_week() {
    // Layer 2 with the same virtual start as layer 1: the same person would
    // hold both roles, which Rota never does.
    let text = PAGERDUTY.replacen("2026-12-29T10:00:00+00:00", "2027-01-05T10:00:00+00:00", 1);
    let plan = parse(Vendor::PagerDuty, &text, now()).expect("plans");
    let lines: Vec<&String> = plan.unmapped.iter().filter(|l| l.contains("(\"Layer 2\")")).collect();
    assert_eq!(lines.len(), 4, "one line a week for one cycle: {lines:?}");
    assert!(
        lines[0].contains(
            "in the week from 2027-03-09 the secondary is ben@example.com; Rota makes cara@example.com secondary"
        ),
        "{}",
        lines[0]
    );
}

#[test]
fn a_layer_that_starts_later_starts_the_rotation_at_its_first_handoff() {
    let text = PAGERDUTY.replacen(
        "\"start\": \"2027-01-05T10:00:00+00:00\"",
        "\"start\": \"2027-04-01T00:00:00+01:00\"",
        1,
    );
    let plan = parse(Vendor::PagerDuty, &text, now()).expect("plans");
    assert_eq!(plan.start_date, d("2027-04-06"));
    // 13 weeks after 5 January: the second person again.
    assert_eq!(plan.participants[plan.leader], "ben@example.com");
}

#[test]
fn broken_json_is_refused_with_its_line_and_column() {
    let text = PAGERDUTY.replacen("\"name\": \"Layer 1\",", "\"name\": \"Layer 1\"", 1);
    let err = parse(Vendor::PagerDuty, &text, now()).unwrap_err();
    assert!(err.malformed);
    let line = err.problems[0].to_string();
    assert!(
        line.starts_with("schedule.schedule.schedule_layers[0] (line 31, column 11): "),
        "{line}"
    );
    assert!(line.contains("expected `,` or `}`"), "{line}");
}

#[test]
fn a_field_of_the_wrong_shape_is_refused_with_its_path() {
    let text = PAGERDUTY.replacen(
        "\"rotation_turn_length_seconds\": 604800",
        "\"rotation_turn_length_seconds\": \"weekly\"",
        1,
    );
    let err = parse(Vendor::PagerDuty, &text, now()).unwrap_err();
    assert!(err.malformed);
    let line = err.problems[0].to_string();
    assert!(
        line.starts_with("schedule.schedule.schedule_layers[0].rotation_turn_length_seconds (line "),
        "{line}"
    );
    assert_eq!(
        line,
        "schedule.schedule.schedule_layers[0].rotation_turn_length_seconds (line 34, column 50): \
         invalid type: string \"weekly\", expected i64"
    );
    let err = parse(Vendor::GrafanaOnCall, "{\"schedule\": {\"name\": \"x\"}}", now()).unwrap_err();
    assert_eq!(err.problems[0].to_string(), "line 1, column 27: missing field `shifts`");
}

#[test]
fn every_unknown_person_and_zone_is_listed_at_once() {
    let text = OPSGENIE
        .replacen(
            "\"timezone\": \"America/New_York\"",
            "\"timezone\": \"Mars/Olympus\"",
            1,
        )
        .replace("\"username\": \"gus@example.com\"", "\"username\": \"gus at example\"");
    let err = parse(Vendor::Opsgenie, &text, now()).unwrap_err();
    assert!(!err.malformed);
    let lines: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("schedule.data.timezone: \"Mars/Olympus\" is not a time zone")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("rotations.data[0].participants[2].username: \"gus at example\" does not look like")),
        "{lines:?}"
    );
    let text = GRAFANA.replacen(
        "\"id\": \"UJON3C8R5A2K1\", \"email\": \"jon@example.com\"",
        "\"id\": \"UJON3C8R5A2K1\"",
        1,
    );
    let err = parse(Vendor::GrafanaOnCall, &text, now()).unwrap_err();
    assert!(
        err.problems[0]
            .to_string()
            .starts_with("users.results[2]: user UJON3C8R5A2K1 has no e-mail address"),
        "{:?}",
        err.problems
    );
    let text = PAGERDUTY.replace(
        "\"id\": \"PDEV004\", \"type\": \"user\"",
        "\"id\": \"PGONE99\", \"type\": \"user\"",
    );
    let err = parse(Vendor::PagerDuty, &text, now()).unwrap_err();
    assert!(
        err.problems[0].to_string().starts_with(
            "schedule.schedule.schedule_layers[0].users[3].user.id: user PDEV004 is not in the users list"
        ),
        "{:?}",
        err.problems
    );
}

#[test]
fn a_schedule_without_a_weekly_layer_cannot_become_a_rotation() {
    let text = PAGERDUTY.replace(
        "\"rotation_turn_length_seconds\": 604800",
        "\"rotation_turn_length_seconds\": 86400",
    );
    let err = parse(Vendor::PagerDuty, &text, now()).unwrap_err();
    assert!(!err.malformed);
    assert!(
        err.problems[0].message.contains("No weekly layer Rota can import"),
        "{:?}",
        err.problems
    );
}

#[test]
fn slugs_come_from_the_schedule_name() {
    assert_eq!(slug_of("Platform on-call"), "platform-on-call");
    assert_eq!(slug_of("  SRE / Weekly (EU)  "), "sre-weekly-eu");
    assert_eq!(slug_of("—"), "imported");
    assert_eq!(slug_of(&"a".repeat(60)).len(), 40);
}
