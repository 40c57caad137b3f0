//! Bad input gets a 4xx that says what was wrong and changes nothing:
//! findings 2 (control characters), 7 (NUL bytes, absurd instants, unclear
//! messages) and 8 (an integration token rewriting a person's page).

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{api, csrf_of, fixture, t};

#[tokio::test]
async fn names_and_single_line_texts_refuse_control_characters() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let app = &f.app;
    let web = app.sign_in("p0@example.com").await;
    let page = web.get(app.url("/profile")).send().await.unwrap().text().await.unwrap();
    let res = web
        .post(app.url("/profile"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("name", "Lena\r\nBcc: x@evil.example"),
            ("timezone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("control characters"));
    let name: String = sqlx::query_scalar("SELECT name FROM users WHERE email = 'p0@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(name, "Person 0", "nothing changed");

    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let token = app.token(&admin).await;
    for (path, body) in [
        (
            "/api/v1/users",
            json!({"email": "x@example.com", "name": "Lena\nBcc: x@evil.example"}),
        ),
        (
            "/api/v1/teams",
            json!({"slug": "ops", "name": "Ops\r\nX: y", "timezone": "UTC"}),
        ),
        (
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alert\tmanager"}),
        ),
    ] {
        let (status, body) = app.post_json(&token, path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("control characters"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_nul_byte_anywhere_is_a_4xx_not_a_500() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let app = &f.app;
    let admin = app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let token = app.token(&admin).await;
    let (status, body) = app
        .post_json(
            &token,
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "a\u{0}b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("NUL"), "{body}");
    for path in [
        "/api/v1/teams/platform%00",
        "/api/v1/teams/platform/pages?person=a%00b",
        "/api/v1/teams/platform/handoffs?q=disk%00",
        "/api/v1/users/a%00b/deactivate",
    ] {
        let (status, body) = app.get_json(&token, path).await;
        assert!(status.is_client_error(), "{path}: {status} {body}");
    }
    let web = app.sign_in("admin@example.com").await;
    for path in ["/teams/platform%00", "/teams/platform/pages?person=a%00"] {
        let res = web.get(app.url(path)).send().await.unwrap();
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let page = web.get(app.url("/profile")).send().await.unwrap().text().await.unwrap();
    let res = web
        .post(app.url("/profile"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("name", "a\u{0}b"),
            ("timezone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'a@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn absurd_instants_are_refused_with_a_message_not_a_panic() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let app = &f.app;
    let token = &f.manager_token;
    for path in [
        "/api/v1/teams/platform/pages?to=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/pages?from=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/metrics?to=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/metrics?from=%2B262142-12-31T00:00:00Z",
        "/api/v1/teams/platform/audit?from=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/shifts?from=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/oncall?at=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/handoffs?from=-262143-01-01T00:00:00Z",
        "/api/v1/teams/platform/pages?to=9999-01-01T00:00:00Z",
        "/api/v1/teams/platform/metrics?from=1900-01-01T00:00:00Z",
    ] {
        let (status, body) = app.get_json(token, path).await;
        let message = body["error"]["message"].as_str().unwrap();
        let expected = if message.contains("outside the years") {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{path}: {body}");
        assert!(
            message.contains("not an RFC 3339 instant") || message.contains("outside the years 2000 to 2100"),
            "{path}: {body}"
        );
    }
    let (status, body) = app
        .get_json(token, "/api/v1/teams/platform/pages?from=2026-01-01")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("RFC 3339"),
        "{body}"
    );
    let (status, body) = app
        .post_json(
            token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "k", "summary": "s", "fired_at": "-262143-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn a_pagerduty_body_without_its_signature_is_told_so() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let app = &f.app;
    let (status, body) = app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "pagerduty", "signing_secret": "s3cret-of-the-team"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let integration = body["token"].as_str().unwrap().to_owned();
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/pagerduty-triggered.json"
    ))
    .unwrap();
    let res = api()
        .post(app.url("/api/v1/hooks/pagerduty"))
        .bearer_auth(&integration)
        .header("content-type", "application/json")
        .body(sample)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without an X-PagerDuty-Signature"),
        "{body}"
    );
}

#[tokio::test]
async fn an_integration_token_cannot_rewrite_a_page_a_person_logged() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let app = &f.app;
    let member = app.token(&f.members[0]).await;
    let (status, body) = app
        .post_json(
            &member,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "disk", "summary": "Disk full at night", "fired_at": "2026-11-30T02:00:00Z",
                   "resolved_at": "2026-11-30T03:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "script"}),
        )
        .await;
    let integration = body["token"].as_str().unwrap().to_owned();
    let user_id = f.members[0].id;
    let (status, body) = app
        .post_json(
            &integration,
            "/api/v1/teams/platform/pages",
            json!({"source": "manual", "dedup_key": format!("{user_id}:disk"), "summary": "rewritten",
                   "fired_at": "2026-11-30T02:00:00Z", "worked_until": "2026-11-30T09:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post_json(
            &integration,
            "/api/v1/teams/platform/pages",
            json!({"source": " Manual ", "dedup_key": format!("{user_id}:disk"), "summary": "rewritten",
                   "fired_at": "2026-11-30T02:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let summary: String = sqlx::query_scalar("SELECT summary FROM pages WHERE source = 'manual'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(summary, "Disk full at night");
}

#[tokio::test]
async fn manual_hidden_behind_control_characters_is_still_refused_to_a_tool() {
    let f = fixture(t("2026-12-01T12:00:00Z"), "UTC", "2026-11-24", 3).await;
    let (_, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "script"}),
        )
        .await;
    let integration = body["token"].as_str().unwrap().to_owned();
    let (status, body) = f
        .app
        .post_json(
            &integration,
            "/api/v1/teams/platform/pages",
            json!({"source": "man\u{0}ual", "dedup_key": "1:disk", "summary": "s", "fired_at": "2026-11-30T02:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
