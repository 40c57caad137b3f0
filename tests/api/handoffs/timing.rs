//! With a controlled clock: open, due, overdue, and the recovery-day rule.

use reqwest::StatusCode;
use serde_json::json;

use super::{PAGE, team_at};

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
