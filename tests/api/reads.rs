//! The hot reads (issue 17, target 1) come from the caches: the Now page,
//! `GET /api/v1/me` and the session behind every page. What they show is
//! what the database holds, whoever changed it; an admin's Now page shows
//! their own teams and links to the rest.

use reqwest::StatusCode;
use rota::db::teams::TeamRole;

use crate::common::{Fixture, fixture, t};

const NOW: &str = "2026-03-04T12:00:00Z";

/// Waits until the server has acted on every change committed so far
/// (notifications arrive in commit order; this one is the test's own).
async fn settled(f: &Fixture) {
    f.app.caches_on().await;
    let mut heard = f.app.caches.heard();
    let sentinel = format!("reads settled {}", std::process::id());
    sqlx::query("SELECT pg_notify('rota_changed', $1)")
        .bind(&sentinel)
        .execute(&f.app.db)
        .await
        .expect("notify");
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.wait_for(|p| *p == sentinel))
        .await
        .expect("the server hears its own notification")
        .expect("caches alive");
}

async fn page(client: &reqwest::Client, f: &Fixture, path: &str) -> (StatusCode, String) {
    let res = client.get(f.app.url(path)).send().await.expect("page");
    (res.status(), res.text().await.expect("html"))
}

#[tokio::test]
async fn an_admins_now_page_shows_their_own_teams_and_links_to_all() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    f.app.team("other", "Europe/London").await;
    let admin = f
        .app
        .user("admin@example.com", "Ada Admin", "Europe/London", true)
        .await;
    f.app.add(&f.team, &admin, TeamRole::Member).await;
    let web = f.app.sign_in("admin@example.com").await;

    let (status, html) = page(&web, &f, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<a href="/teams/platform">"#), "{html}");
    assert!(!html.contains("/teams/other"), "a team the admin is not in: {html}");
    assert!(html.contains(r#"<a href="/admin#teams-h">All teams</a>"#), "{html}");
    // The directory lists every team, and the admin still reaches them.
    let (status, admin_page) = page(&web, &f, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(admin_page.contains(r#"id="teams-h""#) && admin_page.contains("/teams/other"));
    assert_eq!(page(&web, &f, "/teams/other").await.0, StatusCode::OK);
    // The API's contract is unchanged: an admin's /me lists every team.
    let token = f.app.token(&admin).await;
    let (status, me) = f.app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(team_slugs(&me), ["other", "platform"]);
}

#[tokio::test]
async fn the_now_page_shows_what_another_process_changed() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    let web = f.app.sign_in("p0@example.com").await;
    let (status, first) = page(&web, &f, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("Person"), "who is on call: {first}");
    assert!(!first.contains("second-team"));
    // Read again, from the caches: the same page.
    assert_eq!(page(&web, &f, "/").await.1, first);

    f.app
        .change_elsewhere("UPDATE users SET name = 'Renamed ' || name WHERE email LIKE 'p%@example.com'")
        .await;
    let second = f.app.team("second-team", "Europe/London").await;
    f.app.add(&second, &f.members[0], TeamRole::Member).await;
    settled(&f).await;
    let (status, html) = page(&web, &f, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Renamed Person"), "{html}");
    assert!(html.contains(r#"<a href="/teams/second-team">"#), "{html}");
}

#[tokio::test]
async fn me_shows_a_team_joined_elsewhere() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    let (status, me) = f.app.get_json(&f.manager_token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["teams"].as_array().unwrap().len(), 1);
    let second = f.app.team("second-team", "Europe/London").await;
    f.app.add(&second, &f.manager, TeamRole::Manager).await;
    settled(&f).await;
    let (_, me) = f.app.get_json(&f.manager_token, "/api/v1/me").await;
    assert_eq!(team_slugs(&me), ["platform", "second-team"]);
}

#[tokio::test]
async fn a_session_ended_elsewhere_ends_here_at_once() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    let web = f.app.sign_in("manager@example.com").await;
    assert_eq!(page(&web, &f, "/").await.0, StatusCode::OK);
    assert_eq!(page(&web, &f, "/").await.0, StatusCode::OK);

    f.app.change_elsewhere("DELETE FROM tower_sessions.session").await;
    let res = web.get(f.app.url("/")).send().await.expect("now");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/login"));
}

/// The slugs of the teams a `/api/v1/me` answer lists, in its order.
fn team_slugs(me: &serde_json::Value) -> Vec<&str> {
    me["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect()
}
