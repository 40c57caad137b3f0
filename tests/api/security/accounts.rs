//! Accounts and sessions: findings 1, 5, 9, 10 and 11 of the review.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{PASSWORD, api, browser, spawn_app_at, spawn_app_configured, t};

#[tokio::test]
async fn an_account_without_a_password_cannot_be_signed_into() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let token = app.token(&admin).await;
    let (status, body) = app
        .post_json(
            &token,
            "/api/v1/users",
            json!({"email": "nopw@example.com", "name": "No Password"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for guess in ["not a real password", "", PASSWORD] {
        let (_, res) = app.try_sign_in("nopw@example.com", guess).await;
        let status = res.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{guess:?} must not sign in");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "no session was created");
}

#[tokio::test]
async fn a_session_without_a_stored_password_cannot_set_one_without_the_current() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    // The account loses its password (as one made for single sign-on has none).
    sqlx::query("UPDATE users SET password_hash = NULL WHERE email = 'ana@example.com'")
        .execute(&app.db)
        .await
        .unwrap();
    let res = app
        .post_form(
            &web,
            "/profile",
            "/profile/password",
            &[("current", ""), ("new", "plum-violin-gravel-47")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("no password"));
    let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ana@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(hash.is_none(), "nothing was set");
}

#[tokio::test]
async fn the_admin_form_refuses_an_empty_password_and_admins_always_have_one() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let web = app.sign_in(&admin.email).await;
    for admin_box in [None, Some("on")] {
        let mut fields = vec![
            ("email", "new@example.com"),
            ("name", "New Person"),
            ("timezone", "UTC"),
            ("password", ""),
        ];
        if let Some(v) = admin_box {
            fields.push(("admin", v));
        }
        let res = app.post_form(&web, "/admin", "/admin/users", &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "admin: {admin_box:?}");
    }
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'new@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(made, 0);
}

#[tokio::test]
async fn passwords_need_twelve_characters_and_must_be_hard_to_guess() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let token = app.token(&admin).await;
    for (password, says) in [("password12", "12 characters"), ("password1234", "too easy to guess")] {
        let (status, body) = app
            .post_json(
                &token,
                "/api/v1/users",
                json!({"email": "weak@example.com", "name": "Weak", "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password}: {body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    let web = app.sign_in(&admin.email).await;
    let res = app
        .post_form(
            &web,
            "/profile",
            "/profile/password",
            &[("current", PASSWORD), ("new", "qwertyuiop123")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("too easy to guess"));
}

#[tokio::test]
async fn a_manager_cannot_lock_an_admin_out_of_their_team() {
    let f = crate::common::fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let admin = f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let admin_token = f.app.token(&admin).await;
    let path = "/api/v1/teams/platform/members/admin@example.com";
    let (status, body) = f
        .app
        .send_json(Method::PUT, &f.manager_token, path, json!({"role": "member"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The admin still manages the team, including undoing that.
    let (status, body) = f
        .app
        .send_json(Method::PUT, &admin_token, path, json!({"role": "manager"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = f
        .app
        .send_json(
            Method::PUT,
            &admin_token,
            "/api/v1/teams/platform/members/manager@example.com",
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let laptop = app.sign_in("ana@example.com").await;
    let stolen = app.sign_in("ana@example.com").await;
    assert_eq!(stolen.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    let res = app
        .post_form(
            &laptop,
            "/profile",
            "/profile/password",
            &[("current", PASSWORD), ("new", "plum-violin-gravel-47")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        laptop.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK,
        "this one stays"
    );
    let other = stolen.get(app.url("/")).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::SEE_OTHER, "the other one is over");
    assert!(other.headers()["location"].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_even_in_use() {
    let app = spawn_app_configured(t("2026-12-01T12:00:00Z"), |s| {
        s.session_max_age = std::time::Duration::from_secs(2 * 86_400);
    })
    .await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    app.clock.set(t("2026-12-02T12:00:00Z"));
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    app.clock.set(t("2026-12-03T12:00:01Z"));
    assert_eq!(
        web.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn with_a_one_minute_idle_limit_activity_keeps_a_session_alive() {
    let app = spawn_app_configured(t("2026-12-01T12:00:00Z"), |s| {
        s.session_idle = std::time::Duration::from_secs(60);
    })
    .await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    let expiry = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>("SELECT expiry_date FROM tower_sessions.session")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    let first = expiry().await;
    // Half the idle limit later, a request must move the expiry on; saving
    // only once a minute would let the session lapse while in use.
    app.clock.set(t("2026-12-01T12:00:30Z"));
    assert_eq!(web.get(app.url("/")).send().await.unwrap().status(), StatusCode::OK);
    assert!(expiry().await > first, "activity moved the idle expiry");
}

#[tokio::test]
async fn showing_the_sign_in_page_stores_no_session() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    for _ in 0..50 {
        let res = api().get(app.url("/login")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    // And signing in through that page still works, with its CSRF check.
    let (_, res) = app.try_sign_in("ana@example.com", PASSWORD).await;
    let status = res.status();
    assert_eq!(status, StatusCode::SEE_OTHER);
    let client = browser();
    let res = client
        .post(app.url("/login"))
        .form(&[("csrf", "forged"), ("email", "ana@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a forged token is still refused");
}

#[tokio::test]
async fn answers_with_secrets_or_personal_data_are_not_stored_by_caches() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    let ana = app.user("ana@example.com", "Ana", "UTC", false).await;
    let token = app.token(&ana).await;
    let web = app.sign_in(&ana.email).await;
    let no_store = |res: &reqwest::Response| {
        res.headers()
            .get("cache-control")
            .is_some_and(|v| v.to_str().unwrap().contains("no-store"))
    };
    let profile = web.get(app.url("/profile")).send().await.unwrap();
    assert!(no_store(&profile), "profile");
    let me = api()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(no_store(&me), "/api/v1/me");
    let created = app
        .post_form(&web, "/profile", "/profile/tokens", &[("label", "script")])
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(no_store(&created), "the page showing a new token");
    let login = api().get(app.url("/login")).send().await.unwrap();
    assert!(no_store(&login), "sign-in");
}

#[tokio::test]
async fn profile_and_password_changes_are_audited_once_as_the_persons_own_without_secrets() {
    let app = spawn_app_at(t("2026-12-01T12:00:00Z")).await;
    let ana = app.user("ana@example.com", "Ana", "UTC", false).await;
    let web = app.sign_in("ana@example.com").await;
    let profile = [("name", "Ana Lima"), ("timezone", "Europe/Lisbon")];
    let res = app.post_form(&web, "/profile", "/profile", &profile).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.post_form(&web, "/profile", "/profile", &profile).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "saved again, unchanged");
    let bad = [("name", "Ana"), ("timezone", "Mars/Olympus")];
    let res = app.post_form(&web, "/profile", "/profile", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let audited = app.audited("profile.change").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!((audited[0].team_id, audited[0].actor_id), (None, Some(ana.id)));
    assert_eq!(audited[0].before, Some(json!({"name": "Ana", "timezone": "UTC"})));
    assert_eq!(
        audited[0].after,
        Some(json!({"name": "Ana Lima", "timezone": "Europe/Lisbon"}))
    );

    let new = "plum-violin-gravel-47";
    let wrong = [("current", "not my password"), ("new", new)];
    let res = app.post_form(&web, "/profile", "/profile/password", &wrong).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let right = [("current", PASSWORD), ("new", new)];
    let res = app.post_form(&web, "/profile", "/profile/password", &right).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let audited = app.audited("profile.password").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!((audited[0].team_id, audited[0].actor_id), (None, Some(ana.id)));
    assert_eq!((&audited[0].before, &audited[0].after), (&None, &None));
    let log: Vec<String> = sqlx::query_scalar("SELECT row_to_json(a)::text FROM audit_log a")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let log = log.join("\n");
    assert!(!log.contains(new) && !log.contains("$argon2"), "{log}");
}
