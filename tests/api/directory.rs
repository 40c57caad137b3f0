//! The on-call directory (issue 14): every team's on-call for every
//! signed-in person, a private team only for its members, and the API and
//! the page agreeing with each team's own `/oncall`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Fixture, csrf_of, fixture, t};
use rota::db::teams::TeamRole;

const NOW: &str = "2026-12-02T12:00:00Z";

/// Platform (the fixture: four people) and Payments (three people, its
/// manager `pm@example.com`), each with a weekly rotation.
async fn two_teams() -> (Fixture, String) {
    let f = fixture(t(NOW), "UTC", "2026-12-01", 4).await;
    let app = &f.app;
    let payments = app.team("payments", "Europe/Berlin").await;
    let pm = app.user("pm@example.com", "Pat Payments", "Europe/Berlin", false).await;
    app.add(&payments, &pm, TeamRole::Manager).await;
    let mut people = Vec::new();
    for (email, name) in [
        ("ria@example.com", "Ria"),
        ("sol@example.com", "Sol"),
        ("tao@example.com", "Tao"),
    ] {
        let u = app.user(email, name, "Europe/Berlin", false).await;
        app.add(&payments, &u, TeamRole::Member).await;
        people.push(email);
    }
    let pm_token = app.token(&pm).await;
    let (status, body) = app
        .post_json(
            &pm_token,
            "/api/v1/teams/payments/rotations",
            json!({"slug": "cards", "name": "Cards", "start_date": "2026-12-01", "participants": people}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Ria gives her phone and chat handle on her profile.
    sqlx::query("UPDATE users SET phone = '+49 30 1234567', chat_handle = '@ria' WHERE email = 'ria@example.com'")
        .execute(&app.db)
        .await
        .unwrap();
    (f, pm_token)
}

fn team<'a>(directory: &'a Value, slug: &str) -> Option<&'a Value> {
    directory.as_array().unwrap().iter().find(|t| t["team"] == slug)
}

#[tokio::test]
async fn a_member_of_one_team_sees_who_is_on_call_in_another_and_it_agrees_with_its_oncall() {
    let (f, pm_token) = two_teams().await;
    let app = &f.app;
    let (status, directory) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert_eq!(status, StatusCode::OK, "{directory}");
    let payments = team(&directory, "payments").expect("another team's on-call is listed");
    let (_, own) = app.get_json(&pm_token, "/api/v1/teams/payments/oncall").await;
    let cards = &payments["rotations"][0];
    assert_eq!(cards["rotation"], "cards");
    for role in ["primary", "secondary"] {
        assert_eq!(cards[role]["email"], own["rotations"][0][role]["email"], "{role}");
        assert_eq!(
            cards[role]["ends_at"], own["rotations"][0][role]["ends_at"],
            "{role}: until when"
        );
    }
    // Who is next: the holders at the next handoff.
    let next = &cards["next"];
    let at = next["starts_at"].as_str().unwrap();
    let (_, then) = app
        .get_json(&pm_token, &format!("/api/v1/teams/payments/oncall?at={at}"))
        .await;
    assert_eq!(next["primary"]["email"], then["rotations"][0]["primary"]["email"]);
    assert_eq!(next["secondary"]["email"], then["rotations"][0]["secondary"]["email"]);
    // Contact details from the profile, where given.
    let everyone: Vec<&Value> = ["primary", "secondary"]
        .iter()
        .flat_map(|r| [&cards[*r], &cards["next"][*r]])
        .collect();
    let ria = everyone
        .iter()
        .find(|p| p["email"] == "ria@example.com")
        .expect("Ria is on call now or next");
    assert_eq!(ria["phone"], "+49 30 1234567");
    assert_eq!(ria["chat_handle"], "@ria");
    assert!(
        everyone
            .iter()
            .filter(|p| p["email"] != "ria@example.com")
            .all(|p| p.get("phone").is_none())
    );

    // The page says the same.
    let web = app.sign_in("manager@example.com").await;
    let page = app.page(&web, "/oncall").await;
    for role in ["primary", "secondary"] {
        let name = cards[role]["name"].as_str().unwrap();
        assert!(page.contains(name), "{name} on the page");
    }
    assert!(page.contains(r#"href="tel:+49301234567""#), "a phone link: {page}");
    assert!(page.contains(r#"<a href="/oncall">On call</a>"#), "linked from the nav");
    // Filtered by a person's name.
    let platform_primary = team(&directory, "platform").unwrap()["rotations"][0]["primary"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let filtered = app.page(&web, "/oncall?q=pat+payments").await;
    assert!(
        filtered.contains("No team or person on call matches"),
        "the manager is not on call"
    );
    let filtered = app.page(&web, "/oncall?q=cards").await;
    assert!(!filtered.contains("Cards"), "q matches teams and people, not rotations");
    let filtered = web
        .get(app.url(&format!("/oncall?q={}", platform_primary.replace(' ', "+"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        filtered.contains("platform") && !filtered.contains(">payments<"),
        "{filtered}"
    );
}

#[tokio::test]
async fn a_private_team_shows_only_to_its_members_and_admins() {
    let (f, pm_token) = two_teams().await;
    let app = &f.app;
    // A member may not change it; the manager makes it private from settings.
    let ria = app.sign_in("ria@example.com").await;
    let html = app.page(&ria, "/teams/payments").await;
    let res = ria
        .post(app.url("/teams/payments/visibility"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("private", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let pm = app.sign_in("pm@example.com").await;
    let html = app.page(&pm, "/teams/payments/settings/members").await;
    assert!(html.contains("Make it private"));
    let res = pm
        .post(app.url("/teams/payments/visibility"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("private", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audited("team.visibility").await.len(), 1);

    let (_, outsider) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert!(team(&outsider, "payments").is_none(), "{outsider}");
    assert!(team(&outsider, "platform").is_some());
    let outsider_web = app.sign_in("manager@example.com").await;
    let page = app.page(&outsider_web, "/oncall").await;
    assert!(!page.contains("/teams/payments"), "not on the page either");
    let (_, member) = app.get_json(&pm_token, "/api/v1/oncall").await;
    assert!(team(&member, "payments").is_some(), "members still see it");
    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let (_, all) = app.get_json(&app.token(&admin).await, "/api/v1/oncall").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "admins see every team");
    assert_eq!(
        app.get_json("not-a-token", "/api/v1/oncall").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_directory_follows_an_override_a_handoff_and_a_team_made_private_at_once() {
    let (f, pm_token) = two_teams().await;
    let app = &f.app;
    let primary = |d: &Value| team(d, "payments").map(|t| t["rotations"][0]["primary"]["email"].clone());
    let (_, before) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    let first = primary(&before).expect("payments listed");
    // Read again: the same answer (kept), then an override changes it.
    let (_, again) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert_eq!(primary(&again), Some(first.clone()));
    let (status, body) = app
        .post_json(
            &pm_token,
            "/api/v1/teams/payments/overrides",
            json!({"rotation": "cards", "role": "primary", "email": "pm@example.com",
                   "starts_at": "2026-12-02T11:00:00Z", "ends_at": "2026-12-02T18:00:00Z", "reason": "cover"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, after) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert_eq!(primary(&after), Some(json!("pm@example.com")), "{after}");
    // When the override ends, the rotation's own holder is back.
    app.clock.set(t("2026-12-02T18:00:00Z"));
    let (_, later) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert_eq!(primary(&later), Some(first), "{later}");
    // Made private: gone for an outsider on the next read.
    let pm = app.sign_in("pm@example.com").await;
    let res = app
        .post_form(
            &pm,
            "/teams/payments/settings/members",
            "/teams/payments/visibility",
            &[("private", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, outsider) = app.get_json(&f.manager_token, "/api/v1/oncall").await;
    assert!(primary(&outsider).is_none(), "{outsider}");
}
