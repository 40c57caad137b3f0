//! Finding 12 (tokens: last use, read-only, expiry) and finding 3's limits
//! per token.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, api, csrf_of, fixture_on, spawn_app_at, spawn_app_tuned, t};
use rota::config::Rate;

const NOW: &str = "2026-12-01T09:00:00Z";

/// Creates a token on the profile page with the form's extra fields, and
/// returns the page's status and the token it showed.
async fn token_from_profile(app: &TestApp, email: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let client = app.sign_in(email).await;
    let page = client
        .get(app.url("/profile"))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("html");
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str()), ("label", "script")];
    form.extend_from_slice(fields);
    let res = client
        .post(app.url("/profile/tokens"))
        .form(&form)
        .send()
        .await
        .expect("create");
    let status = res.status();
    let page = res.text().await.expect("html");
    let token = page
        .split("<code class=\"token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned();
    (status, token, page)
}

async fn last_used(app: &TestApp, table: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar(&format!("SELECT max(last_used_at) FROM {table}"))
        .fetch_one(&app.db)
        .await
        .expect("last use")
}

#[tokio::test]
async fn a_read_only_token_reads_but_changes_nothing() {
    let app = spawn_app_at(t(NOW)).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let (status, token, page) = token_from_profile(&app, "ana@example.com", &[("read_only", "on")]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(page.contains("read-only"), "the list says what the token may do");
    let (status, _) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .send_json(
            Method::PUT,
            &token,
            "/api/v1/me/leave/2026-12-20",
            json!({"end_date": "2026-12-22"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["error"]["message"],
        "This token is read-only; create a read-write token in your profile"
    );
    let leave: i64 = sqlx::query_scalar("SELECT count(*) FROM leave")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(leave, 0);
}

#[tokio::test]
async fn an_expired_token_is_refused_saying_so() {
    let app = spawn_app_at(t(NOW)).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let (status, token, page) = token_from_profile(&app, "ana@example.com", &[("expires_days", "30")]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        page.contains("31 Dec 2026") || page.contains("2026-12-31"),
        "the list shows the expiry"
    );
    let (status, _) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    app.clock.set(t("2026-12-31T09:00:00Z"));
    let (status, body) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "This token expired on 2026-12-31 09:00 UTC; create a new one in your profile"
    );
}

#[tokio::test]
async fn the_token_form_explains_a_bad_expiry() {
    let app = spawn_app_at(t(NOW)).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    for bad in ["0", "soon", "99999"] {
        let (status, token, page) = token_from_profile(&app, "ana@example.com", &[("expires_days", bad)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(token.is_empty());
        assert!(page.contains("from 1 to 3650"), "{bad}: {page}");
    }
}

#[tokio::test]
async fn token_use_is_recorded_at_most_once_a_minute() {
    let f = fixture_on(spawn_app_at(t(NOW)).await, "UTC", "2026-11-24", 2).await;
    let app = &f.app;
    let (status, body) = app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alerts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook = body["token"].as_str().expect("token").to_owned();
    assert_eq!(last_used(app, "integration_tokens").await, None);
    let report = |key: &str| json!({"dedup_key": key, "summary": "disk full", "fired_at": NOW});

    app.get_json(&f.manager_token, "/api/v1/me").await;
    app.post_json(&hook, "/api/v1/teams/platform/pages", report("a")).await;
    assert_eq!(last_used(app, "api_tokens").await, Some(t(NOW)));
    assert_eq!(last_used(app, "integration_tokens").await, Some(t(NOW)));

    app.clock.set(t("2026-12-01T09:00:59Z"));
    app.get_json(&f.manager_token, "/api/v1/me").await;
    app.post_json(&hook, "/api/v1/teams/platform/pages", report("b")).await;
    assert_eq!(
        last_used(app, "api_tokens").await,
        Some(t(NOW)),
        "not written again within the minute"
    );
    assert_eq!(last_used(app, "integration_tokens").await, Some(t(NOW)));

    app.clock.set(t("2026-12-01T09:01:00Z"));
    app.get_json(&f.manager_token, "/api/v1/me").await;
    app.post_json(&hook, "/api/v1/teams/platform/pages", report("c")).await;
    assert_eq!(last_used(app, "api_tokens").await, Some(t("2026-12-01T09:01:00Z")));
    assert_eq!(
        last_used(app, "integration_tokens").await,
        Some(t("2026-12-01T09:01:00Z"))
    );
}

#[tokio::test]
async fn a_busy_personal_token_gets_429_with_retry_after() {
    let app = spawn_app_tuned(t(NOW), |s| {
        s.limits.personal_token = Rate {
            per_second: 1,
            burst: 3,
        };
    })
    .await;
    let ana = app.user("ana@example.com", "Ana", "UTC", false).await;
    let token = app.token(&ana).await;
    for _ in 0..3 {
        assert_eq!(app.get_json(&token, "/api/v1/me").await.0, StatusCode::OK);
    }
    let res = api()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Another token has its own allowance; time refills this one.
    let other = app.token(&ana).await;
    assert_eq!(app.get_json(&other, "/api/v1/me").await.0, StatusCode::OK);
    app.clock.set(t("2026-12-01T09:00:01Z"));
    assert_eq!(app.get_json(&token, "/api/v1/me").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_busy_integration_token_gets_429_with_retry_after() {
    let app = spawn_app_tuned(t(NOW), |s| {
        s.limits.integration_token = Rate {
            per_second: 2,
            burst: 2,
        };
    })
    .await;
    let f = fixture_on(app, "UTC", "2026-11-24", 2).await;
    let (status, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alerts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook = body["token"].as_str().expect("token").to_owned();
    for key in ["a", "b"] {
        let (status, body) = f
            .app
            .post_json(
                &hook,
                "/api/v1/teams/platform/pages",
                json!({"dedup_key": key, "summary": "disk full", "fired_at": NOW}),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
    let res = api()
        .post(f.app.url("/api/v1/teams/platform/pages"))
        .bearer_auth(&hook)
        .json(&json!({"dedup_key": "c", "summary": "disk full", "fired_at": NOW}))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_requests");
}

#[tokio::test]
async fn revoking_a_personal_token_is_audited_once_as_the_persons_own() {
    let app = spawn_app_at(t(NOW)).await;
    let ana = app.user("ana@example.com", "Ana", "UTC", false).await;
    let (status, token, _) = token_from_profile(&app, "ana@example.com", &[]).await;
    assert_eq!(status, StatusCode::CREATED);
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE label = 'script'")
        .fetch_one(&app.db)
        .await
        .expect("token id");
    let client = app.sign_in("ana@example.com").await;
    let page = client
        .get(app.url("/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let revoke = || {
        client
            .post(app.url(&format!("/profile/tokens/{id}/revoke")))
            .form(&[("csrf", csrf_of(&page))])
            .send()
    };
    assert_eq!(revoke().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(
        revoke().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "already revoked"
    );
    assert_eq!(app.get_json(&token, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

    let audited = app.audited("token.revoke").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!((audited[0].team_id, audited[0].actor_id), (None, Some(ana.id)));
    assert_eq!(audited[0].after, Some(json!({"id": id, "label": "script"})));
    assert!(!format!("{audited:?}").contains(&token), "no token in the log");
}
