use reqwest::StatusCode;
use rota::domain::validate::OUT_OF_RANGE;
use serde_json::{Value, json};

use crate::common::{api, fixture, t};

async fn snapshot(f: &crate::common::Fixture) -> (Value, Value) {
    let (_, rotation) = f
        .app
        .get_json(&f.manager_token, "/api/v1/teams/platform/rotations/weekly")
        .await;
    let (_, shifts) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-11-01T00:00:00Z&to=2027-06-01T00:00:00Z",
        )
        .await;
    (rotation, shifts)
}

#[tokio::test]
async fn bad_rotation_input_gets_a_clear_422_and_changes_nothing() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let before = snapshot(&f).await;
    let cases = [
        (json!({"timezone": "Mars/Olympus_Mons"}), "time zone"),
        (json!({"handoff_weekday": "tuesdai"}), "weekday"),
        (
            json!({"participants": ["p0@example.com", "stranger@example.com"]}),
            "not a member",
        ),
        (json!({"handoff_time": "25:00"}), "time of day"),
        (json!({"participants": ["p0@example.com"]}), "at least two"),
        (json!({"primary_sla_minutes": 0}), "SLA"),
    ];
    for (body, words) in cases {
        let (status, res) = f
            .app
            .patch_json(
                &f.manager_token,
                "/api/v1/teams/platform/rotations/weekly",
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
        let message = res["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
        let mut create = body.clone();
        create["slug"] = json!("other");
        create["start_date"] = json!("2026-12-01");
        if create.get("participants").is_none() {
            create["participants"] = json!(["p0@example.com", "p1@example.com"]);
        }
        let (status, res) = f
            .app
            .post_json(&f.manager_token, "/api/v1/teams/platform/rotations", create)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "create {body}: {res}");
    }
    assert_eq!(snapshot(&f).await, before);
}

#[tokio::test]
async fn duplicates_oversized_bodies_and_wrong_content_types_are_refused() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let before = snapshot(&f).await;
    let (status, res) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/rotations",
            json!({"slug": "weekly", "start_date": "2026-12-01", "participants": ["p0@example.com", "p1@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{res}");
    assert_eq!(res["error"]["code"], "conflict");

    let admin = f.app.user("admin@example.com", "Admin", "UTC", true).await;
    let admin_token = f.app.token(&admin).await;
    let (status, res) = f
        .app
        .post_json(
            &admin_token,
            "/api/v1/teams",
            json!({"slug": "platform", "name": "Again", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{res}");
    let (status, res) = f
        .app
        .post_json(
            &admin_token,
            "/api/v1/teams",
            json!({"slug": "new-team", "name": "New", "timezone": "Nowhere/Land"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");

    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let res = api()
        .patch(f.app.url("/api/v1/teams/platform/rotations/weekly"))
        .bearer_auth(&f.manager_token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");

    let res = api()
        .patch(f.app.url("/api/v1/teams/platform/rotations/weekly"))
        .bearer_auth(&f.manager_token)
        .header("content-type", "text/plain")
        .body(r#"{"handoff_time": "11:00"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");

    let res = api()
        .patch(f.app.url("/api/v1/teams/platform/rotations/weekly"))
        .bearer_auth(&f.manager_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&f).await, before);
}

#[tokio::test]
async fn bad_form_input_re_renders_the_page_with_its_message() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let web = f.app.sign_in("manager@example.com").await;
    let page = web
        .get(f.app.url("/teams/platform/rotations/weekly"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::common::csrf_of(&page);
    let res = web
        .post(f.app.url("/teams/platform/rotations/weekly"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Weekly"),
            ("timezone", "Europe/London"),
            ("handoff_weekday", "tuesday"),
            ("handoff_time", "25:00"),
            ("start_date", "2026-11-03"),
            ("participants", "p0@example.com\np1@example.com"),
            ("primary_sla", "5"),
            ("secondary_sla", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("is not a time of day"), "{html}");
    assert!(
        html.contains(r#"<option value="p0@example.com" selected>Person 0</option>"#)
            && html.contains(r#"<option value="p1@example.com" selected>Person 1</option>"#),
        "what was sent is kept, in the participant picker: {html}"
    );
}

#[tokio::test]
async fn dates_out_of_reach_are_refused_without_work() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let before = snapshot(&f).await;
    for date in ["-5000-01-01", "+262143-12-31", "1999-12-31", "2029-01-01", "2026-02-30"] {
        let (status, res) = f
            .app
            .post_json(
                &f.manager_token,
                "/api/v1/teams/platform/rotations",
                json!({"slug": "far", "start_date": date, "participants": ["p0@example.com", "p1@example.com"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {res}");
    }
    assert_eq!(snapshot(&f).await, before);
    let web = f.app.sign_in("p0@example.com").await;
    for at in ["+262143-12-31", "-5000-01-01", "2200-01-01"] {
        let res = web
            .get(f.app.url(&format!("/teams/platform?at={at}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{at}");
    }
}

#[tokio::test]
async fn sign_in_only_returns_to_local_pages() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    for (next, expected) in [
        ("/teams/platform", "/teams/platform"),
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/a\nb", "/"),
    ] {
        let client = crate::common::browser();
        let page = client
            .get(f.app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = crate::common::csrf_of(&page);
        let res = client
            .post(f.app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "p0@example.com"),
                ("password", crate::common::PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(res.headers()["location"], expected, "{next:?}");
    }
}

/// One date rule (YYYY-MM-DD, 2000 to 2100, one message); whether refusing
/// it is a 400 or a 422 is decided by where it came from: a path or query
/// string is a malformed request, a body or form a well-formed invalid one.
const NOT_A_DATE: &str = "is not a date between 2000 and 2100; use YYYY-MM-DD";

#[tokio::test]
async fn a_bad_date_in_a_path_or_query_is_400_and_in_a_body_or_form_422_with_one_message() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let token = &f.manager_token;
    for path in [
        "/api/v1/teams/platform/rotations/weekly/handoffs/1999-12-28",
        "/api/v1/teams/platform/rotations/weekly/handoffs/2026-02-30",
    ] {
        let (status, body) = f.app.get_json(token, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(NOT_A_DATE), "{path}: {message}");
    }
    for (method, path) in [
        (reqwest::Method::PUT, "/api/v1/teams/platform/holidays/2101-01-01"),
        (reqwest::Method::DELETE, "/api/v1/me/leave/1969-12-31"),
    ] {
        let (status, body) = f.app.send_json(method, token, path, json!({"name": "Day off"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(NOT_A_DATE), "{path}: {message}");
    }
    for start in ["1999-12-31", "2026-02-30", "next tuesday"] {
        let (status, body) = f
            .app
            .post_json(
                token,
                "/api/v1/teams/platform/rotations",
                json!({"slug": "other", "start_date": start, "participants": ["p0@example.com", "p1@example.com"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{start}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(NOT_A_DATE), "{start}: {message}");
    }

    // The same rule where serde reads the date: a malformed one in a query
    // is 400; a well-formed one outside the years Rota keeps is valid by the
    // schema (`format: date`), so it is 422 there too, as instants are.
    let (status, body) = f
        .app
        .get_json(token, "/api/v1/teams/platform/recovery-days?from=next-week")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(NOT_A_DATE),
        "{body}"
    );
    let (status, body) = f
        .app
        .get_json(token, "/api/v1/teams/platform/recovery-days?from=1790-01-26")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(OUT_OF_RANGE),
        "{body}"
    );
    let (status, body) = f
        .app
        .send_json(
            reqwest::Method::PUT,
            token,
            "/api/v1/me/leave/2027-01-04",
            json!({"end_date": "2101-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(OUT_OF_RANGE),
        "{body}"
    );

    let web = f.app.sign_in("p0@example.com").await;
    // The rota page read 1970 to 2100 before; now the same years as everywhere.
    for at in ["1999-06-01", "1970-01-01", "2026-13-01"] {
        let res = web
            .get(f.app.url(&format!("/teams/platform?at={at}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "rota?at={at}");
        let page = res.text().await.unwrap();
        assert!(page.contains(NOT_A_DATE), "{at}: {page}");
    }
    let leave = web.get(f.app.url("/leave")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::common::csrf_of(&leave);
    let res = web
        .post(f.app.url("/leave"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("start_date", "1999-12-31"),
            ("end_date", "2027-01-02"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains(NOT_A_DATE), "{page}");
}
