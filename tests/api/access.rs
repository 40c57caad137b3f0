use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::json;

use crate::common::{api, browser, csrf_of, fixture, spawn_app_at, t};

#[tokio::test]
async fn other_teams_are_invisible_and_members_cannot_edit() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    let outsider = f.app.user("out@example.com", "Otto Outsider", "UTC", false).await;
    let other = f.app.team("payments", "America/New_York").await;
    f.app.add(&other, &outsider, TeamRole::Member).await;
    let token = f.app.token(&outsider).await;

    for path in [
        "/api/v1/teams/platform",
        "/api/v1/teams/platform/oncall",
        "/api/v1/teams/platform/shifts",
        "/api/v1/teams/platform/rotations/weekly",
    ] {
        let (status, body) = f.app.get_json(&token, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (_, mine) = f.app.get_json(&token, "/api/v1/teams").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");

    let web = f.app.sign_in("out@example.com").await;
    for path in ["/teams/platform", "/teams/platform/settings"] {
        let res = web.get(f.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The outsider's personal feed holds none of the other team's shifts.
    let (_, me) = f.app.get_json(&token, "/api/v1/me").await;
    let feed = api()
        .get(me["calendar_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!feed.contains("Person 0") && !feed.contains("platform"), "{feed}");
    let bad = api()
        .get(f.app.url("/calendar/not-a-real-secret.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);

    // A member of the team may look but not edit.
    let member_token = f.app.token(&f.members[0]).await;
    let (status, body) = f
        .app
        .patch_json(
            &member_token,
            "/api/v1/teams/platform/rotations/weekly",
            json!({"handoff_time": "11:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let member_web = f.app.sign_in("p0@example.com").await;
    assert_eq!(
        member_web
            .get(f.app.url("/teams/platform"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        member_web
            .get(f.app.url("/teams/platform/settings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn anonymous_pages_go_to_sign_in_and_anonymous_api_calls_get_401() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    for path in ["/", "/teams/platform", "/profile", "/admin"] {
        let res = browser().get(f.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let location = res.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login?next="), "{path} → {location}");
    }
    for path in ["/api/v1/me", "/api/v1/teams/platform/oncall"] {
        let res = api().get(f.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _) = f.app.get_json("rota_revoked-or-made-up", "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_form_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    let web = f.app.sign_in("manager@example.com").await;
    let newcomer = f.app.user("new@example.com", "Newcomer", "UTC", false).await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![("email", newcomer.email.as_str()), ("role", "member")];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let res = web
            .post(f.app.url("/teams/platform/members"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("reload the page"));
    }
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    assert!(!team.to_string().contains("new@example.com"), "{team}");

    // With the page's token the same post works.
    let page = web
        .get(f.app.url("/teams/platform/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let res = web
        .post(f.app.url("/teams/platform/members"))
        .form(&[("email", "new@example.com"), ("role", "member"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    assert!(team.to_string().contains("new@example.com"), "{team}");
}

#[tokio::test]
async fn sessions_are_renewed_at_sign_in_and_ended_on_the_server_at_sign_out() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let client = browser();
    let res = client.get(app.url("/login")).send().await.unwrap();
    let before = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        before.contains("HttpOnly") && before.contains("SameSite=Lax"),
        "{before}"
    );
    let csrf = csrf_of(&res.text().await.unwrap());
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "ana@example.com"),
            ("password", crate::common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let after = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&before), id(&after), "sign-in must issue a new session id");

    // Replaying the cookie after sign-out gets nowhere.
    let stolen = id(&after);
    let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&home);
    client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let replay = api().get(app.url("/")).header("cookie", stolen).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn repeated_failed_sign_ins_slow_the_account_but_never_lock_it() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let attempt = |password: &'static str| {
        client
            .post(app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "ana@example.com"),
                ("password", password),
            ])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong password").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The right password still gets in, after a wait that grew with each failure.
    assert_eq!(
        attempt(crate::common::PASSWORD).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let waits: Vec<u64> = app.clock.waits().iter().map(|w| w.as_secs()).collect();
    assert_eq!(waits, [1, 2, 4]);
}

#[tokio::test]
async fn first_run_setup_creates_one_admin_once() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    let client = browser();
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/setup");
    let page = client
        .get(app.url("/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("timezone", "Europe/London"),
        ("password", "a long enough password"),
    ];
    let res = client.post(app.url("/setup")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        client.get(app.url("/admin")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // A second visitor finds setup closed.
    let other = browser();
    let res = other.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/login");
    let res = client.post(app.url("/setup")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    let page = web.get(app.url("/profile")).send().await.unwrap().text().await.unwrap();
    let res = web
        .post(app.url("/profile/tokens"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("label", "script")])
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    let token = page
        .split("<code class=\"token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("rota_"));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE token_hash = $1")
        .bind(rota::secrets::token_hash(&token))
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let raw: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'")
            .bind(&token[5..])
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(raw, 0, "the token itself is never stored");
    let (status, me) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ana@example.com");
    let again = web.get(app.url("/profile")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(&token), "shown only once");
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let res = web
        .post(app.url(&format!("/profile/tokens/{id}/revoke")))
        .form(&[("csrf", csrf_of(&again).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_json(&token, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_activity_keeps_them_alive() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    let expiry = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>("SELECT expiry_date FROM tower_sessions.session")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    // The first page after sign-in issues a fresh CSRF token (a write).
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    let first = expiry().await;
    // Reading a page moments later writes nothing.
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(expiry().await, first);
    // A few minutes on, activity moves the idle expiry forward.
    app.clock.set(t("2026-11-26T12:05:00Z"));
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    assert!(expiry().await > first);
    // Past its expiry the session is gone.
    sqlx::query("UPDATE tower_sessions.session SET expiry_date = now() - interval '1 minute'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        web.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn members_of_one_team_cannot_change_another() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    let other = f.app.team("payments", "America/New_York").await;
    let boss = f.app.user("boss@example.com", "Other Boss", "UTC", false).await;
    f.app.add(&other, &boss, TeamRole::Manager).await;
    let token = f.app.token(&boss).await;
    let calls = [
        (
            reqwest::Method::PATCH,
            "/api/v1/teams/platform/rotations/weekly",
            json!({"handoff_time": "11:00"}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/teams/platform/rotations",
            json!({"slug": "x", "start_date": "2026-12-01", "participants": ["p0@example.com", "p1@example.com"]}),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/teams/platform/members/boss@example.com",
            json!({"role": "manager"}),
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/teams/platform/members/p0@example.com",
            json!({}),
        ),
    ];
    for (method, path, body) in calls {
        let (status, res) = f.app.send_json(method.clone(), &token, path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {res}");
    }
    let web = f.app.sign_in("boss@example.com").await;
    let page = web.get(f.app.url("/")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let res = web
        .post(f.app.url("/teams/platform/members"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "boss@example.com"),
            ("role", "manager"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    assert!(!team.to_string().contains("boss@example.com"));
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND team_id = $2")
        .bind(boss.id)
        .bind(f.team.id)
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    assert_eq!(audit, 0);
}

#[tokio::test]
async fn a_removed_member_loses_the_team_calendar() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let leaver = f.app.user("leaver@example.com", "Lee Leaver", "UTC", false).await;
    f.app.add(&f.team, &leaver, TeamRole::Member).await;
    let token = f.app.token(&leaver).await;
    let (_, team) = f.app.get_json(&token, "/api/v1/teams/platform").await;
    let known = team["calendar_url"].as_str().unwrap().to_owned();
    assert_eq!(api().get(&known).send().await.unwrap().status(), StatusCode::OK);
    let res = api()
        .delete(f.app.url("/api/v1/teams/platform/members/leaver@example.com"))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(api().get(&known).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(
        f.app.get_json(&token, "/api/v1/teams/platform").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, fresh) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    assert_eq!(
        api()
            .get(fresh["calendar_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_form_that_changes_something_demands_the_csrf_token() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    let admin = f.app.user("admin@example.com", "Admin", "UTC", true).await;
    let web = f.app.sign_in(&admin.email).await;
    let posts = [
        "/logout",
        "/setup",
        "/login",
        "/profile",
        "/profile/password",
        "/profile/tokens",
        "/profile/tokens/1/revoke",
        "/profile/calendar/reset",
        "/admin/users",
        "/admin/teams",
        "/teams/platform/members",
        "/teams/platform/members/remove",
        "/teams/platform/rotations",
        "/teams/platform/rotations/weekly",
        "/teams/platform/calendar/reset",
    ];
    for path in posts {
        let res = web
            .post(f.app.url(path))
            .form(&[("email", "x@example.com")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Still signed in: /logout without a token did nothing.
    assert_eq!(web.get(f.app.url("/")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn error_pages_keep_the_navigation_for_someone_signed_in() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    f.app.user("out@example.com", "Otto Outsider", "UTC", false).await;
    let web = f.app.sign_in("out@example.com").await;
    // Another team's page, an unknown address, and a refused action.
    for (path, status, says) in [
        ("/teams/platform", StatusCode::NOT_FOUND, "not found"),
        (
            "/no/such/page",
            StatusCode::NOT_FOUND,
            "There is nothing at this address",
        ),
    ] {
        let res = web.get(f.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), status, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.to_lowercase().contains(&says.to_lowercase()), "{path}: {html}");
        assert!(
            html.contains("<nav aria-label=\"Main\""),
            "{path} keeps the navigation: {html}"
        );
        assert!(html.contains(">Otto Outsider</a>"), "{path} names who is signed in");
        assert!(html.contains("action=\"/logout\""), "{path} can sign out");
    }
    // A method the address does not take: the page keeps the answer's Allow.
    let res = web.get(f.app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        res.headers()
            .get("allow")
            .is_some_and(|v| v.to_str().unwrap().contains("POST"))
    );
    assert!(res.text().await.unwrap().contains("<nav aria-label=\"Main\""));
    let member = f.app.sign_in("p0@example.com").await;
    let res = member.get(f.app.url("/teams/platform/settings")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("<nav aria-label=\"Main\""));

    // Signed out, the same addresses show the plain error page, no menu.
    let anonymous = browser();
    let res = anonymous.get(f.app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("There is nothing at this address") && !html.contains("<nav aria-label=\"Main\""));
    // The API keeps its JSON problem.
    let (status, body) = f
        .app
        .get_json(&f.app.token(&f.members[0]).await, "/api/v1/nothing/here")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}
