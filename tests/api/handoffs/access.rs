//! Who may write, submit, acknowledge and see a handoff; and bad input.

use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::json;

use super::{API, team_at};

#[tokio::test]
async fn only_the_outgoing_on_call_or_a_manager_writes_and_only_the_incoming_acknowledge() {
    let team = team_at("2026-11-10T08:00:00Z").await;
    let [p0, p1, p2, p3] = [0, 1, 2, 3].map(|i| team.tokens[i].clone());
    let manager = team.f.manager_token.clone();

    // Not on call before the handoff: refused, with who may.
    for token in [&p2, &p3] {
        let (status, body) = team.put(token, "my notes", false).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Person 0 and Person 1"),
            "{body}"
        );
    }
    assert_eq!(team.handoff().await["state"], "not_started", "nothing was written");

    // Nothing to acknowledge yet.
    let (status, body) = team.acknowledge(&p1).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The outgoing secondary adds to it, and a manager may too; the
    // secondary does not submit it.
    assert_eq!(
        team.put(&p1, "From the secondary: watch the queue", false).await.0,
        StatusCode::OK
    );
    assert_eq!(
        team.put(&manager, "Manager: and the disk", false).await.0,
        StatusCode::OK
    );
    let (status, body) = team.put(&p1, "Submitting as secondary", true).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Person 0 (the outgoing primary)")
    );

    let (status, body) = team.put(&p0, "The handoff from the primary", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "submitted");
    assert_eq!(body["author_email"], "p0@example.com");
    assert_eq!(body["submitted_at"], "2026-11-10T08:00:00Z");

    // Only the incoming acknowledge: not the outgoing primary, not someone
    // off call, not a manager.
    for token in [&p0, &p3, &manager] {
        let (status, body) = team.acknowledge(token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Person 1 and Person 2"),
            "{body}"
        );
    }
    team.set_now("2026-11-10T09:00:00Z");
    let (status, body) = team.acknowledge(&p2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["state"], "submitted",
        "the secondary alone does not make it acknowledged"
    );
    let (status, body) = team.acknowledge(&p1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "acknowledged");
    // Again, later: the first time stands.
    team.set_now("2026-11-10T11:00:00Z");
    let (_, body) = team.acknowledge(&p1).await;
    let acks = body["acknowledgements"].as_array().unwrap();
    assert_eq!(acks.len(), 2, "{body}");
    let p1_ack = acks.iter().find(|a| a["email"] == "p1@example.com").unwrap();
    assert_eq!(p1_ack["role"], "primary");
    assert_eq!(p1_ack["acknowledged_at"], "2026-11-10T09:00:00Z");
}

#[tokio::test]
async fn another_teams_handoffs_are_invisible() {
    let team = team_at("2026-11-10T08:00:00Z").await;
    let app = &team.f.app;
    assert_eq!(
        team.put(&team.tokens[0], "Platform secret: zanzibar", true).await.0,
        StatusCode::OK
    );

    // Payments: its own people and rotation, and a handoff of its own.
    let payments = app.team("payments", "Europe/London").await;
    let mut tokens = Vec::new();
    for (email, name) in [("q0@example.com", "Quinn"), ("q1@example.com", "Rae")] {
        let u = app.user(email, name, "Europe/London", false).await;
        app.add(&payments, &u, TeamRole::Member).await;
        tokens.push(app.token(&u).await);
    }
    let boss = app.user("boss@example.com", "Boss", "Europe/London", false).await;
    app.add(&payments, &boss, TeamRole::Manager).await;
    let boss = app.token(&boss).await;
    let (status, body) = app
        .post_json(
            &boss,
            "/api/v1/teams/payments/rotations",
            json!({"slug": "weekly", "start_date": "2026-11-03", "participants": ["q0@example.com", "q1@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let payments_handoff = "/api/v1/teams/payments/rotations/weekly/handoffs/2026-11-10";
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            &tokens[0],
            payments_handoff,
            json!({"body": "Payments secret: zanzibar", "submit": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Payments people cannot see Platform's, nor write or acknowledge it.
    let quinn = &tokens[0];
    assert_eq!(app.get_json(quinn, API).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_json(quinn, "/api/v1/teams/platform/handoffs").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_json(quinn, "/api/v1/teams/platform/handoffs?q=zanzibar")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(team.put(quinn, "x", false).await.0, StatusCode::NOT_FOUND);
    assert_eq!(team.acknowledge(quinn).await.0, StatusCode::NOT_FOUND);
    let browser = app.sign_in("q0@example.com").await;
    let (status, _) = team.html(&browser, super::PAGE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Platform's search finds only Platform's handoff, and vice versa.
    let (status, found) = app
        .get_json(&team.tokens[3], "/api/v1/teams/platform/handoffs?q=zanzibar")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0]["snippet"].as_str().unwrap().contains("Platform"), "{found:?}");
    let (_, theirs) = app.get_json(quinn, "/api/v1/teams/payments/handoffs?q=zanzibar").await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert!(theirs[0]["snippet"].as_str().unwrap().contains("Payments"));
}

#[tokio::test]
async fn a_handoff_opens_a_day_before_its_time() {
    let team = team_at("2026-11-09T09:59:00Z").await;
    let (status, body) = team.put(&team.tokens[0], "Too early", false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("opens at Mon 9 Nov 2026 10:00"),
        "{body}"
    );
    let h = team.handoff().await;
    assert_eq!(h["status"], "upcoming");
    assert_eq!(h["opens_at"], "2026-11-09T10:00:00Z");
    team.set_now("2026-11-09T10:00:00Z");
    assert_eq!(
        team.put(&team.tokens[0], "Now it is open", false).await.0,
        StatusCode::OK
    );
    assert_eq!(team.handoff().await["status"], "draft");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let team = team_at("2026-11-10T08:00:00Z").await;
    let app = &team.f.app;
    let p0 = &team.tokens[0];
    let base = "/api/v1/teams/platform/rotations/weekly/handoffs";

    let (status, body) = app.get_json(p0, &format!("{base}/tuesday")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get_json(p0, &format!("{base}/2026-11-11")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Tuesdays at 10:00"),
        "{body}"
    );
    let (status, body) = app.get_json(p0, &format!("{base}/2026-11-03")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("first week"),
        "{body}"
    );
    let (status, _) = app
        .get_json(p0, "/api/v1/teams/platform/rotations/nightly/handoffs/2026-11-10")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Over 64 KiB: 413 saying so, and nothing stored.
    let big = "word ".repeat(14_000);
    let (status, body) = team.put(p0, &big, false).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("at most 64 KiB"),
        "{body}"
    );
    assert_eq!(team.handoff().await["state"], "not_started");

    let (status, body) = team.put(p0, "  \n ", true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .send_json(reqwest::Method::PUT, p0, API, json!({"submit": true}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = team.put(p0, "nul \u{0} inside", false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for bad in ["q=disk&limit=0", "q=disk&limit=51", "q=disk&limit=many", "q=di%00sk"] {
        let (status, body) = app
            .get_json(p0, &format!("/api/v1/teams/platform/handoffs?{bad}"))
            .await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{bad}: {body}"
        );
    }
    let (status, _) = app
        .get_json(
            p0,
            "/api/v1/teams/platform/handoffs?from=2026-11-10T00:00:00Z&to=2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A save on top of someone else's newer one is refused, not lost.
    let (_, first) = team.put(p0, "first", false).await;
    let revision = first["revision"].as_i64().unwrap();
    assert_eq!(
        team.put(&team.tokens[1], "the secondary's addition", false).await.0,
        StatusCode::OK
    );
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            p0,
            API,
            json!({"body": "first, edited", "expected_revision": revision}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Person 1 saved"),
        "{body}"
    );
    assert_eq!(team.handoff().await["body"], "the secondary's addition");
}
