use reqwest::StatusCode;

use crate::common::{api, fixture, spawn_app_at, t};

#[tokio::test]
async fn the_rota_shows_past_4_and_next_12_weeks_with_the_current_and_mine_marked() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-06-02", 3).await;
    let web = f.app.sign_in("p0@example.com").await;
    let res = web.get(f.app.url("/teams/platform")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let rows = html.matches("<tr class=\"").count();
    assert_eq!(rows, 17, "4 past + current + 12 next");
    assert_eq!(html.matches("class=\"current").count(), 1);
    assert!(
        html.contains("Tue 24 Nov 2026 10:00"),
        "the current week starts Tuesday 24 November"
    );
    let mine = html.matches(" mine\"").count();
    assert!(
        (4..=12).contains(&mine),
        "p0 is primary or secondary two weeks in three: {mine}"
    );
    let later = web
        .get(f.app.url("/teams/platform?at=2027-02-16"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(later.contains("Tue 16 Feb 2027 10:00"));
    assert!(!later.contains("class=\"current"));
    let bad = web.get(f.app.url("/teams/platform?at=tomorrow")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    for path in ["/login", "/setup", "/healthz", "/api/v1/me", "/no-such-page"] {
        let res = api().get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
    assert_eq!(
        api().get(app.url("/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let page = api().get(app.url("/setup")).send().await.unwrap().text().await.unwrap();
    let css = page
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let res = api().get(app.url(css)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let missing = api().get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing.text().await.unwrap().contains("<html"),
        "a page, not JSON, for browsers"
    );
}

#[tokio::test]
async fn removing_a_member_on_call_is_refused_and_otherwise_reassigns_their_weeks() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-11-03", 3).await;
    let (_, oncall) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    let on_call = oncall["rotations"][0]["primary"]["email"].as_str().unwrap().to_owned();
    let res = api()
        .delete(f.app.url(&format!("/api/v1/teams/platform/members/{on_call}")))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("on call now"),
        "{body}"
    );

    let (_, week) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-11-26T12:00:00Z&to=2026-11-26T12:00:01Z",
        )
        .await;
    let busy: Vec<&str> = week
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    let free = f
        .members
        .iter()
        .find(|m| !busy.contains(&m.email.as_str()))
        .expect("someone off this week");
    let res = api()
        .delete(f.app.url(&format!("/api/v1/teams/platform/members/{}", free.email)))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{}", res.text().await.unwrap());
    let (_, future) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-12-01T10:00:00Z&to=2027-05-01T00:00:00Z",
        )
        .await;
    assert!(!future.to_string().contains(&free.email));
    crate::schedule::assert_tiled(&future);
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&f.app.db)
        .await
        .unwrap();
    assert!(
        audit.ends_with(&["rotation.update".to_owned(), "member.remove".to_owned()]),
        "{audit:?}"
    );
}

#[tokio::test]
async fn the_demo_builds_a_believable_organisation_once() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    let first = rota::demo::create(&app.db, app.clock.now()).await.unwrap();
    assert!(first.created);
    let again = rota::demo::create(&app.db, app.clock.now()).await.unwrap();
    assert!(!again.created);
    let pages: i64 = sqlx::query_scalar("SELECT count(*) FROM pages WHERE responder_id IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(pages, 10, "five recent pages in each team, each with its responder");
    let recovery: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery_days")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(recovery >= 2, "night pages grant recovery days: {recovery}");
    let web = app.sign_in_with("alex@example.com", rota::demo::PASSWORD).await;
    let now = web.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(now.contains("Platform") && now.contains("Primary"), "{now}");
    let payments = app.sign_in_with("maria@example.com", rota::demo::PASSWORD).await;
    let rota = payments
        .get(app.url("/teams/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(rota.contains("America/New_York") && rota.contains("Dan Brooks"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_contract() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    let res = api().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/me", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams/{team}", "get"),
        ("/api/v1/teams/{team}/members/{email}", "put"),
        ("/api/v1/teams/{team}/members/{email}", "delete"),
        ("/api/v1/teams/{team}/rotations", "post"),
        ("/api/v1/teams/{team}/rotations/{rotation}", "get"),
        ("/api/v1/teams/{team}/rotations/{rotation}", "patch"),
        ("/api/v1/teams/{team}/oncall", "get"),
        ("/api/v1/teams/{team}/shifts", "get"),
        ("/api/v1/hooks/alertmanager", "post"),
        ("/api/v1/hooks/grafana", "post"),
        ("/api/v1/hooks/pagerduty", "post"),
        ("/api/v1/teams/{team}/pages", "post"),
        ("/api/v1/teams/{team}/pages", "get"),
        ("/api/v1/pages/{id}", "patch"),
        ("/api/v1/pages/{id}", "delete"),
        ("/api/v1/teams/{team}/integration-tokens", "post"),
        ("/api/v1/teams/{team}/holidays/{date}", "put"),
        ("/api/v1/teams/{team}/holidays/{date}", "delete"),
        ("/api/v1/teams/{team}/recovery-days", "get"),
        ("/api/v1/recovery-days/{id}", "patch"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is documented"
        );
    }
}

type AuditRow = (
    String,
    Option<i64>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
);

#[tokio::test]
async fn rotation_changes_and_membership_are_audited_with_before_and_after() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let (status, _) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/rotations/weekly",
            serde_json::json!({"handoff_time": "09:30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<AuditRow> = sqlx::query_as("SELECT action, actor_id, before, after FROM audit_log ORDER BY id")
        .fetch_all(&f.app.db)
        .await
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "member.add").count(), 4);
    assert!(actions.contains(&"rotation.create"));
    let (_, actor, before, after) = rows.last().unwrap();
    assert_eq!(*actor, Some(f.manager.id));
    assert_eq!(before.as_ref().unwrap()["settings"]["handoff_time"], "10:00");
    assert_eq!(after.as_ref().unwrap()["settings"]["handoff_time"], "09:30");
    assert_eq!(after.as_ref().unwrap()["effective_from"], "2026-12-01T10:00:00Z");
}
