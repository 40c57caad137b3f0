//! The pool (issue 17, target 5): a request holds at most one connection
//! at a time, and when none is free it answers 503 with `Retry-After`,
//! never 500 — also when it is the session that cannot be read.

use std::time::Duration;

use reqwest::StatusCode;
use rota::db::teams::TeamRole;

use crate::common::{Fixture, fixture_on, spawn_app_pooled, t};

const NOW: &str = "2026-03-04T12:00:00Z";

/// A team on a server with two connections, one of which listens for
/// changes: every request has exactly one to work with.
async fn one_connection_left() -> Fixture {
    let app = spawn_app_pooled(t(NOW), 2, Duration::from_secs(1)).await;
    app.caches_on().await;
    fixture_on(app, "Europe/London", "2026-02-24", 3).await
}

#[tokio::test]
async fn every_page_and_answer_needs_one_connection_at_a_time() {
    every_page_and_answer_is_served(one_connection_left().await).await;
}

/// Every page (a signed-in session each) and API answer, nothing cached,
/// answers 200 (also run through PgBouncer, `pgbouncer`).
pub(crate) async fn every_page_and_answer_is_served(f: Fixture) {
    let admin = f
        .app
        .user("admin@example.com", "Ada Admin", "Europe/London", true)
        .await;
    f.app.add(&f.team, &admin, TeamRole::Member).await;
    let manager = f.app.sign_in("manager@example.com").await;
    let admin_web = f.app.sign_in("admin@example.com").await;
    let pages = [
        "/",
        "/teams/platform",
        "/teams/platform/pages",
        "/teams/platform/handoffs",
        "/teams/platform/history",
        "/teams/platform/settings",
        "/teams/platform/metrics",
        "/teams/platform/swaps",
        "/profile",
        "/inbox",
        "/swaps",
        "/approvals",
        "/leave",
    ];
    for path in pages {
        // Nothing cached: every read goes to the pool.
        f.app.caches.clear();
        let res = manager.get(f.app.url(path)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    for path in ["/", "/admin"] {
        f.app.caches.clear();
        let res = admin_web.get(f.app.url(path)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::OK, "{path} as admin");
    }
    for path in [
        "/api/v1/me",
        "/api/v1/teams",
        "/api/v1/teams/platform",
        "/api/v1/teams/platform/oncall",
        "/api/v1/teams/platform/shifts",
        "/api/v1/teams/platform/pages",
    ] {
        f.app.caches.clear();
        let (status, body) = f.app.get_json(&f.manager_token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let f = one_connection_left().await;
    let web = f.app.sign_in("manager@example.com").await;
    assert_eq!(
        web.get(f.app.url("/")).send().await.expect("now").status(),
        StatusCode::OK
    );

    // Hold the only free connection; nothing is cached.
    let held = f.app.db.acquire().await.expect("the free connection");
    f.app.caches.clear();

    let (status, body) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let res = crate::common::api()
        .get(f.app.url("/api/v1/me"))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "2");

    // The session itself cannot be read: 503 too, not 500 nor the sign-in page.
    let res = web.get(f.app.url("/teams/platform")).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "2");
    assert!(res.text().await.expect("html").contains("try again"));

    drop(held);
    let res = web.get(f.app.url("/teams/platform")).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK, "served again once a connection is free");
}
