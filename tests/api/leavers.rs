//! Leavers (issue 13): an admin deactivates an account — refused while the
//! person is on call, allowed after an override — and from the next request
//! their sign-in, session and token are refused; history keeps them as
//! "(left)". Also the admin's list of people, reactivation, and the
//! profile's contact details and sessions list.

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::{Fixture, PASSWORD, TestApp, fixture, t};

const NOW: &str = "2026-12-02T12:00:00Z";

/// Four people on a weekly rotation from Tue 1 Dec; an admin with a token.
async fn team() -> (Fixture, String) {
    let f = fixture(t(NOW), "UTC", "2026-12-01", 4).await;
    let admin = f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let token = f.app.token(&admin).await;
    (f, token)
}

/// The primary and the secondary now.
async fn on_call_now(f: &Fixture) -> (String, String) {
    let (status, body) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let who = |role: &str| {
        body["rotations"][0][role]["email"]
            .as_str()
            .unwrap_or_else(|| panic!("no {role} in {body}"))
            .to_owned()
    };
    (who("primary"), who("secondary"))
}

/// A member on call in neither role now.
async fn off_call(f: &Fixture) -> rota::db::users::User {
    let (primary, secondary) = on_call_now(f).await;
    f.members
        .iter()
        .find(|m| m.email != primary && m.email != secondary)
        .expect("four people, two on call")
        .clone()
}

async fn primary_now(f: &Fixture) -> String {
    on_call_now(f).await.0
}

/// Whether the client's session still opens a signed-in page.
async fn signed_in(app: &TestApp, client: &Client) -> bool {
    let res = client.get(app.url("/profile")).send().await.unwrap();
    res.status() == StatusCode::OK
}

#[tokio::test]
async fn a_leaver_on_call_needs_an_override_first_then_sign_in_session_and_token_end_at_once() {
    let (f, admin) = team().await;
    let app = &f.app;
    let leaver = primary_now(&f).await;
    let person = f.members.iter().find(|m| m.email == leaver).unwrap().clone();
    let session = app.sign_in(&leaver).await;
    let token = app.token(&person).await;
    assert!(signed_in(app, &session).await);

    let path = format!("/api/v1/users/{leaver}/deactivate");
    let (status, body) = app.post_json(&admin, &path, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&person.name) && message.contains("on call until"),
        "{message}"
    );
    assert!(message.contains("Tue 8 Dec"), "names the week's end: {message}");
    // Nothing changed.
    assert!(signed_in(app, &session).await, "a refusal leaves the session alone");
    assert_eq!(app.get_json(&token, "/api/v1/me").await.0, StatusCode::OK);

    let (_, secondary) = on_call_now(&f).await;
    let cover = f
        .members
        .iter()
        .find(|m| m.email != leaver && m.email != secondary)
        .unwrap();
    let (status, body) = app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "primary", "email": cover.email,
                   "starts_at": NOW, "ends_at": "2026-12-08T10:00:00Z", "reason": "leaving"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.post_json(&admin, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);

    // On the very next request: session, token and sign-in all refused.
    assert!(!signed_in(app, &session).await, "the session ended");
    let (status, body) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (_, res) = app.try_sign_in(&leaver, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = res.text().await.unwrap();
    assert!(page.contains("deactivated"), "says why: {page}");
    // A wrong password says nothing about the account.
    let (_, wrong) = app.try_sign_in(&leaver, "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Out of the team and of every future week; the past is kept.
    let (_, shifts) = app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-12-08T10:00:00Z&to=2027-03-01T00:00:00Z",
        )
        .await;
    let shifts = shifts.as_array().unwrap();
    assert!(!shifts.is_empty());
    assert!(shifts.iter().all(|s| s["email"] != leaver.as_str()), "{shifts:?}");
    let (_, past) = app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-12-01T10:00:00Z&to=2026-12-02T12:00:00Z",
        )
        .await;
    assert!(
        past.as_array().unwrap().iter().any(|s| s["email"] == leaver.as_str()),
        "{past}"
    );
    let (_, team) = app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    assert!(!team.to_string().contains(&leaver), "no longer a member: {team}");
    // The rota keeps their part of this week, marked as a leaver's.
    let manager = app.sign_in("manager@example.com").await;
    let rota = app.page(&manager, "/teams/platform").await;
    assert!(rota.contains(&format!("{} (left)", person.name)), "{rota}");
}

#[tokio::test]
async fn deactivation_is_for_admins_and_says_what_is_wrong() {
    let (f, admin) = team().await;
    let app = &f.app;
    let (status, _) = app
        .post_json(&f.manager_token, "/api/v1/users/p3@example.com/deactivate", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a team manager is not an admin");
    assert_eq!(
        app.get_json(&f.manager_token, "/api/v1/users").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = app
        .post_json(&admin, "/api/v1/users/nobody@example.com/deactivate", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .post_json(&admin, "/api/v1/users/admin@example.com/deactivate", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("your own account"));
    let (status, body) = app
        .post_json(&admin, "/api/v1/users/p3@example.com/reactivate", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn reactivation_brings_back_the_account_but_not_its_places_or_tokens() {
    let (f, admin) = team().await;
    let app = &f.app;
    // Someone not on call now, with a token.
    let leaver = off_call(&f).await;
    let token = app.token(&leaver).await;
    let _ = app.sign_in(&leaver.email).await;
    let (status, list) = app.get_json(&admin, "/api/v1/users").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == leaver.email.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["active"], true);
    assert_eq!(row["admin"], false);
    assert!(row["last_sign_in_at"].is_string(), "{row}");

    let (status, body) = app
        .post_json(&admin, &format!("/api/v1/users/{}/deactivate", leaver.email), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get_json(&admin, "/api/v1/users").await;
    let rows = list.as_array().unwrap();
    assert_eq!(
        rows.last().unwrap()["email"],
        leaver.email.as_str(),
        "leavers last: {list}"
    );
    assert_eq!(rows.last().unwrap()["active"], false);

    let (status, body) = app
        .post_json(&admin, &format!("/api/v1/users/{}/reactivate", leaver.email), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    let _ = app.sign_in(&leaver.email).await;
    assert_eq!(
        app.get_json(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "old tokens stay ended"
    );
    let (_, shifts) = app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-12-08T10:00:00Z&to=2027-03-01T00:00:00Z",
        )
        .await;
    assert!(
        shifts
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["email"] != leaver.email.as_str()),
        "rotation places do not come back"
    );
}

#[tokio::test]
async fn an_admin_deactivates_from_the_pages_after_a_confirmation_and_history_says_left() {
    let (f, _) = team().await;
    let app = &f.app;
    let admin = app.sign_in("admin@example.com").await;
    // The manager made the rotation, so history names them as its author.
    let page = app.page(&admin, "/admin/users/manager@example.com/deactivate").await;
    assert!(page.contains("Deactivate Mona Manager?"), "{page}");
    assert!(page.contains("platform"), "names the teams: {page}");
    let res = app
        .post_form(
            &admin,
            "/admin/users/manager@example.com/deactivate",
            "/admin/users/manager@example.com/deactivate",
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.page(&admin, "/admin").await;
    assert!(page.contains("Mona Manager (left)"), "{page}");
    assert!(page.contains("Reactivate Mona Manager"), "{page}");
    let history = app.page(&admin, "/teams/platform/history").await;
    assert!(
        history.contains("Mona Manager (left) created the rotation Weekly"),
        "{history}"
    );

    // On call: the confirmation page comes back with the reason, 409.
    let primary = primary_now_by_admin(app).await;
    let path = format!("/admin/users/{primary}/deactivate");
    let res = app.post_form(&admin, &path, &path, &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("override that week first"));
}

async fn primary_now_by_admin(app: &TestApp) -> String {
    let token = {
        let mut conn = app.db.acquire().await.unwrap();
        let admin = rota::db::users::by_email(&mut conn, "admin@example.com")
            .await
            .unwrap()
            .unwrap();
        drop(conn);
        app.token(&admin).await
    };
    let (_, body) = app.get_json(&token, "/api/v1/teams/platform/oncall").await;
    body["rotations"][0]["primary"]["email"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_profile_keeps_phone_and_chat_handle_and_refuses_a_bad_phone() {
    let (f, _) = team().await;
    let app = &f.app;
    let me = app.sign_in("p0@example.com").await;
    let page = app.page(&me, "/profile").await;
    assert!(
        page.contains(r#"list="zones""#) && page.contains(r#"<option value="Europe/London">"#),
        "a zone list"
    );
    let fields = [
        ("name", "Person Zero"),
        ("timezone", "Europe/London"),
        ("phone", "+44 20 7946 0000"),
        ("chat_handle", "@zero"),
    ];
    let res = app.post_form(&me, "/profile", "/profile", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.page(&me, "/profile").await;
    assert!(page.contains("+44 20 7946 0000") && page.contains("@zero"), "{page}");

    let bad = [
        ("name", "Person Zero"),
        ("timezone", "Europe/London"),
        ("phone", "call me maybe"),
        ("chat_handle", "@zero"),
    ];
    let res = app.post_form(&me, "/profile", "/profile", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("country code"));
    let stored: Option<String> = sqlx::query_scalar("SELECT phone FROM users WHERE email = 'p0@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some("+44 20 7946 0000"), "nothing changed");

    // Emptied: no phone.
    let none = [
        ("name", "Person Zero"),
        ("timezone", "Europe/London"),
        ("phone", ""),
        ("chat_handle", ""),
    ];
    assert_eq!(
        app.post_form(&me, "/profile", "/profile", &none).await.status(),
        StatusCode::SEE_OTHER
    );
    let stored: Option<String> = sqlx::query_scalar("SELECT phone FROM users WHERE email = 'p0@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, None);
}

#[tokio::test]
async fn the_profile_lists_sessions_and_signs_out_the_others_but_not_tokens() {
    let (f, _) = team().await;
    let app = &f.app;
    let token = app.token(&f.members[0]).await;
    let laptop = app.sign_in("p0@example.com").await;
    let phone = app.sign_in("p0@example.com").await;
    let page = app.page(&laptop, "/profile").await;
    assert_eq!(page.matches("Signed in on ").count(), 2, "{page}");
    assert_eq!(page.matches("(this session)").count(), 1);
    assert!(page.contains("from 127.0.0.1 with password"), "{page}");

    let res = app
        .post_form(&laptop, "/profile", "/profile/sessions/sign-out-others", &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(app, &laptop).await, "this session stays");
    assert!(!signed_in(app, &phone).await, "the other ended");
    assert_eq!(
        app.get_json(&token, "/api/v1/me").await.0,
        StatusCode::OK,
        "tokens stay"
    );
    let page = app.page(&laptop, "/profile").await;
    assert_eq!(page.matches("Signed in on ").count(), 1, "{page}");

    // Signing out takes the session off the list.
    let res = app.post_form(&laptop, "/profile", "/logout", &[]).await;
    assert!(res.status().is_redirection());
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions WHERE ended_at IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn a_leaver_cannot_be_added_back_to_a_team_and_their_feed_and_reset_links_end() {
    let (f, admin) = team().await;
    let app = &f.app;
    let leaver = off_call(&f).await;
    let token = app.token(&leaver).await;
    let (_, me) = app.get_json(&token, "/api/v1/me").await;
    let feed = me["calendar_url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&feed).await.unwrap().status(), StatusCode::OK);
    sqlx::query("INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, '\\x01', $2::timestamptz + interval '1 hour')")
        .bind(leaver.id)
        .bind(NOW)
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = app
        .post_json(&admin, &format!("/api/v1/users/{}/deactivate", leaver.email), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reqwest::get(&feed).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "the feed ends"
    );
    let unused: i64 = sqlx::query_scalar("SELECT count(*) FROM password_resets WHERE used_at IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        unused, 0,
        "a reset link from before cannot come back with a reactivation"
    );
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            &f.manager_token,
            &format!("/api/v1/teams/platform/members/{}", leaver.email),
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("has left"),
        "{body}"
    );
    let (status, _) = app
        .post_json(&admin, &format!("/api/v1/users/{}/deactivate", leaver.email), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already deactivated");
}
