//! Handoffs meeting the rest of Rota: reminders go out as notifications,
//! and the template lists the coming week's covers and leave.

use reqwest::StatusCode;
use serde_json::json;

use super::{PAGE, team_at};
use crate::common::t;

async fn messages(team: &super::Team, who: usize) -> Vec<String> {
    let (_, list) = team.f.app.get_json(&team.tokens[who], "/api/v1/me/notifications").await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn reminders_reach_the_writer_and_then_the_readers_once_each() {
    let team = team_at("2026-11-10T07:00:00Z").await;
    let db = team.f.app.db.clone();
    let run = |at: &str| rota::jobs::send_handoff_reminders(&db, t(at), false);
    assert_eq!(run("2026-11-10T07:59:00Z").await.unwrap(), 0);
    assert_eq!(run("2026-11-10T08:00:00Z").await.unwrap(), 1);
    assert_eq!(run("2026-11-10T08:01:00Z").await.unwrap(), 0, "once");
    assert!(messages(&team, 0).await.iter().any(|m| m.starts_with("Handoff due")));
    assert!(messages(&team, 1).await.is_empty());

    team.set_now("2026-11-10T09:00:00Z");
    let (status, _) = team.put(&team.tokens[0], "All quiet", true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run("2026-11-10T09:00:30Z").await.unwrap(), 2);
    for reader in [1, 2] {
        assert!(
            messages(&team, reader)
                .await
                .iter()
                .any(|m| m.contains("handed Weekly over to you")),
            "person {reader}"
        );
    }
    assert!(messages(&team, 3).await.is_empty(), "not on call either side");
}

#[tokio::test]
async fn the_template_lists_the_coming_weeks_covers_and_leave() {
    let team = team_at("2026-11-09T12:00:00Z").await;
    // Person 3 covers Person 1's Friday night; Person 2 is away on Monday.
    let (status, body) = team
        .f
        .app
        .post_json(
            &team.f.manager_token,
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "primary", "email": "p3@example.com",
                   "starts_at": "2026-11-13T18:00:00Z", "ends_at": "2026-11-14T10:00:00Z",
                   "reason": "Person 1 at a wedding"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = team
        .f
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.tokens[2],
            "/api/v1/me/leave/2026-11-16",
            json!({"end_date": "2026-11-16"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let writer = team.f.app.sign_in("p0@example.com").await;
    let (status, html) = team.html(&writer, PAGE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Person 3 covers Person 1: primary Fri 13 Nov 18:00 to Sat 14 Nov 10:00"),
        "{html}"
    );
    assert!(html.contains("Person 2 on leave 16 Nov to 16 Nov"), "{html}");
}
