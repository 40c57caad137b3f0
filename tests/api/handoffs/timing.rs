//! With a controlled clock: open, due, overdue, and the recovery-day rule.

use reqwest::StatusCode;
use serde_json::json;

use super::{PAGE, team_at};
use crate::common::{fixture_on, spawn_app_at, t};

const OVERDUE: &str = "Handoff overdue";

#[tokio::test]
async fn not_submitted_by_the_handoff_time_is_overdue_for_the_outgoing_person_and_the_managers() {
    let team = team_at("2026-11-10T09:00:00Z").await;
    let app = &team.f.app;
    let outgoing = app.sign_in("p0@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let bystander = app.sign_in("p3@example.com").await;

    // An hour before: due, not overdue. The writer is told; nobody else.
    assert_eq!(team.handoff().await["status"], "open");
    let (_, now) = team.html(&outgoing, "/").await;
    assert!(
        now.contains("Your handoff for Weekly, week from Tue 10 Nov 2026 is due Tue 10 Nov 10:00 (in 1 hour)"),
        "{now}"
    );
    assert!(now.contains(PAGE), "links to it");
    assert!(!now.contains(OVERDUE));
    let (_, now) = team.html(&manager, "/").await;
    assert!(!now.contains("Weekly, week from Tue 10 Nov 2026"), "{now}");

    // A minute past the handoff: overdue, for the writer and the managers.
    team.set_now("2026-11-10T10:01:00Z");
    let h = team.handoff().await;
    assert_eq!(h["status"], "overdue");
    assert_eq!(h["overdue_at"], "2026-11-10T10:00:00Z");
    let (_, now) = team.html(&outgoing, "/").await;
    assert!(now.contains(OVERDUE), "{now}");
    assert!(now.contains("Your handoff for Weekly, week from Tue 10 Nov 2026 was due"));
    let (_, now) = team.html(&manager, "/").await;
    assert!(now.contains(OVERDUE), "{now}");
    assert!(now.contains("by Person 0 was due Tue 10 Nov 10:00"), "{now}");
    let (_, now) = team.html(&bystander, "/").await;
    assert!(!now.contains(OVERDUE) && !now.contains("Weekly, week from"), "{now}");
    let (_, list) = app.get_json(&team.tokens[3], "/api/v1/teams/platform/handoffs").await;
    assert_eq!(list[0]["week_start"], "2026-11-10");
    assert_eq!(list[0]["status"], "overdue");
    let (_, history) = team.html(&bystander, "/teams/platform/handoffs").await;
    assert!(history.contains("status-overdue"), "{history}");

    // Once submitted, late, it is no longer overdue anywhere.
    assert_eq!(team.put(&team.tokens[0], "Sorry, late", true).await.0, StatusCode::OK);
    assert_eq!(team.handoff().await["status"], "submitted");
    for client in [&outgoing, &manager] {
        let (_, now) = team.html(client, "/").await;
        assert!(!now.contains(OVERDUE), "{now}");
    }
}

#[tokio::test]
async fn with_a_recovery_day_that_tuesday_it_is_not_overdue_until_the_end_of_the_next_working_day() {
    let team = team_at("2026-11-10T05:00:00Z").await;
    let app = &team.f.app;
    // Person 0 is paged at 03:07 on the handoff day: a night page, so a
    // recovery day on Tuesday 10 November.
    let (status, body) = app
        .post_json(
            &team.f.manager_token,
            "/api/v1/teams/platform/pages",
            json!({
                "dedup_key": "night-1", "summary": "Disk full on db-1",
                "fired_at": "2026-11-10T03:07:00Z", "acknowledged_at": "2026-11-10T03:09:00Z",
                "resolved_at": "2026-11-10T04:52:00Z", "responder_email": "p0@example.com"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, days) = app
        .get_json(
            &team.f.manager_token,
            "/api/v1/teams/platform/recovery-days?from=2026-11-01&to=2026-12-01",
        )
        .await;
    assert_eq!(days[0]["email"], "p0@example.com");
    assert_eq!(days[0]["date"], "2026-11-10");

    // The page is in the template's account of the week, and first among
    // what woke people.
    let h = team.handoff().await;
    let template = h["template"].as_str().unwrap();
    assert!(
        template.contains("1 page, all within the SLA, 1 in sleep hours; 1 h 43 min spent in all."),
        "{template}"
    );
    assert!(template.contains("Disk full on db-1 (manual) · Person 0 (primary) · acknowledged in 2 min, SLA met · 1 h 43 min spent, in sleep hours"), "{template}");
    assert!(
        template.contains("- [ ] Disk full on db-1 — Person 0 (primary) in sleep hours, Tue 10 Nov 03:07 (1 h 43 min)"),
        "{template}"
    );

    // Past the handoff time on Tuesday: not yet overdue.
    team.set_now("2026-11-10T12:00:00Z");
    let h = team.handoff().await;
    assert_eq!(h["status"], "open", "{h}");
    assert_eq!(h["due_at"], "2026-11-10T10:00:00Z");
    assert_eq!(h["overdue_at"], "2026-11-12T00:00:00Z", "the end of Wednesday");
    let outgoing = app.sign_in("p0@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let (_, now) = team.html(&outgoing, "/").await;
    assert!(
        now.contains("as you have a recovery day then, it can wait until the end of Wed 11 Nov"),
        "{now}"
    );
    assert!(!now.contains(OVERDUE));
    let (_, now) = team.html(&manager, "/").await;
    assert!(!now.contains(OVERDUE), "{now}");
    let (_, page) = team.html(&manager, PAGE).await;
    assert!(
        page.contains("Person 0 has a recovery day on the handoff day"),
        "{page}"
    );

    team.set_now("2026-11-11T23:59:00Z");
    assert_eq!(team.handoff().await["status"], "open");
    team.set_now("2026-11-12T00:00:00Z");
    assert_eq!(team.handoff().await["status"], "overdue");
    let (_, now) = team.html(&manager, "/").await;
    assert!(now.contains(OVERDUE), "{now}");
}

/// The statuses of the team's handoffs in the API's list, newest first.
async fn statuses(team: &super::Team) -> Vec<(String, String)> {
    let (_, list) = team
        .f
        .app
        .get_json(&team.tokens[3], "/api/v1/teams/platform/handoffs")
        .await;
    list.as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["week_start"].as_str().unwrap().to_owned(),
                h["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_missing_handoff_is_overdue_only_until_the_next_one_is_due() {
    let team = team_at("2026-11-10T09:00:00Z").await;
    let app = &team.f.app;
    team.set_now("2026-11-17T09:59:00Z");
    assert_eq!(team.handoff().await["status"], "overdue", "still the one to write");
    team.set_now("2026-11-17T10:00:00Z");
    assert_eq!(team.handoff().await["status"], "missed", "the next one is due");

    // Four weeks on, nothing written: only the latest is overdue.
    team.set_now("2026-12-08T10:30:00Z");
    let all = statuses(&team).await;
    assert_eq!(all[0], ("2026-12-08".to_owned(), "overdue".to_owned()), "{all:?}");
    assert!(all[1..].iter().all(|(_, s)| s == "missed"), "{all:?}");
    let manager = app.sign_in("manager@example.com").await;
    let (_, page) = team.html(&manager, PAGE).await;
    assert!(page.contains(">no handoff written</span>"), "{page}");
    assert!(!page.contains("status-overdue"), "{page}");
    let (_, list) = team.html(&manager, "/teams/platform/handoffs").await;
    assert_eq!(list.matches("status-overdue\"").count(), 1, "{list}");
    assert!(list.contains("status-missed\">no handoff written"), "{list}");
    let (_, rota) = team.html(&manager, "/teams/platform").await;
    assert_eq!(
        rota.matches("status-overdue\"").count(),
        1,
        "the current week's only: {rota}"
    );
    let (_, now) = team.html(&manager, "/").await;
    assert!(
        now.contains(OVERDUE) && now.contains("Weekly, week from Tue 8 Dec 2026"),
        "{now}"
    );
    assert!(!now.contains("week from Tue 10 Nov 2026"), "{now}");
}

#[tokio::test]
async fn a_rotation_started_in_the_past_owes_no_handoff_for_the_weeks_before_it_existed() {
    // Created on Wednesday 11 November with a start five weeks back: Person 0
    // handed over to Person 1 on Tuesday, before the rotation existed.
    let app = spawn_app_at(t("2026-11-11T09:00:00Z")).await;
    let f = fixture_on(app, "Europe/London", "2026-10-06", 4).await;
    let mut tokens = Vec::new();
    for m in &f.members {
        tokens.push(f.app.token(m).await);
    }
    let team = super::Team { f, tokens };
    let app = &team.f.app;
    let all = statuses(&team).await;
    assert_eq!(all[0], ("2026-11-10".to_owned(), "missed".to_owned()), "{all:?}");
    assert!(all.iter().all(|(_, s)| s == "missed"), "{all:?}");
    for who in ["p0@example.com", "manager@example.com"] {
        let client = app.sign_in(who).await;
        let (_, now) = team.html(&client, "/").await;
        assert!(!now.contains(OVERDUE), "{who}: {now}");
        let (_, rota) = team.html(&client, "/teams/platform").await;
        assert!(!rota.contains("status-overdue"), "{who}: {rota}");
    }

    // The first handoff due after it was created is chased as usual.
    team.set_now("2026-11-17T10:01:00Z");
    let all = statuses(&team).await;
    assert_eq!(all[0], ("2026-11-17".to_owned(), "overdue".to_owned()), "{all:?}");
    let (_, now) = team.html(&app.sign_in("manager@example.com").await, "/").await;
    assert!(now.contains(OVERDUE), "{now}");
}
