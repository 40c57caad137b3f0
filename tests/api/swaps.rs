//! Swaps, covers, overrides and leave through the API: nothing changes
//! before approval, exactly one of two conflicting approvals applies, and
//! the schedule never has a gap or an overlap.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{Fixture, fixture, t};

/// Mon 1 Mar 2027, noon. London handoffs Tue 10:00 (UTC until 28 Mar);
/// with p0..p3 from 5 Jan, week 8 (2–9 Mar) is p0 primary / p1 secondary,
/// week 10 (16–23 Mar) p2 / p3.
const NOW: &str = "2027-03-01T12:00:00Z";

async fn team_of_four() -> Fixture {
    fixture(t(NOW), "Europe/London", "2027-01-05", 4).await
}

/// The shift of `role` that starts at `starts_at`.
async fn shift(f: &Fixture, role: &str, starts_at: &str) -> Value {
    let (status, list) = f
        .app
        .get_json(
            &f.manager_token,
            &format!("/api/v1/teams/platform/shifts?from={starts_at}&to=2027-12-31T00:00:00Z"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == role && s["starts_at"] == starts_at)
        .unwrap_or_else(|| panic!("no {role} shift starting {starts_at} in {list}"))
        .clone()
}

async fn on_call(f: &Fixture, at: &str) -> (String, String) {
    let (status, body) = f
        .app
        .get_json(&f.manager_token, &format!("/api/v1/teams/platform/oncall?at={at}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = &body["rotations"][0];
    (
        r["primary"]["email"].as_str().unwrap_or("").to_owned(),
        r["secondary"]["email"].as_str().unwrap_or("").to_owned(),
    )
}

async fn tokens(f: &Fixture) -> Vec<String> {
    let mut out = Vec::new();
    for m in &f.members {
        out.push(f.app.token(m).await);
    }
    out
}

async fn act(f: &Fixture, token: &str, id: i64, action: &str) -> (StatusCode, Value) {
    f.app
        .post_json(token, &format!("/api/v1/swaps/{id}/{action}"), json!({}))
        .await
}

async fn ask(f: &Fixture, token: &str, body: Value) -> (StatusCode, Value) {
    f.app.post_json(token, "/api/v1/teams/platform/swaps", body).await
}

async fn messages(f: &Fixture, token: &str) -> Vec<String> {
    let (status, list) = f.app.get_json(token, "/api/v1/me/notifications").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .collect()
}

fn sequence_of(ics: &str, uid_start: &str) -> Option<u32> {
    let unfolded = ics.replace("\r\n ", "");
    let event = unfolded
        .split("BEGIN:VEVENT")
        .find(|e| e.contains(&format!("UID:{uid_start}")))?;
    event
        .lines()
        .find_map(|l| l.strip_prefix("SEQUENCE:"))
        .and_then(|s| s.trim().parse().ok())
}

async fn feed(f: &Fixture, secret: &str) -> String {
    let res = crate::common::api()
        .get(f.app.url(&format!("/calendar/{secret}.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_swap_changes_nothing_until_a_manager_approves_it() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let week10 = shift(&f, "primary", "2027-03-16T10:00:00Z").await;
    assert_eq!(
        (week8["email"].as_str(), week10["email"].as_str()),
        (Some("p0@example.com"), Some("p2@example.com"))
    );
    let rotation_id = {
        let mut conn = f.app.db.acquire().await.unwrap();
        let id: i64 = sqlx::query_scalar("SELECT id FROM rotations WHERE slug = 'weekly'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        id
    };
    let uid = format!("shift-{rotation_id}-primary-{}", t("2027-03-02T10:00:00Z").timestamp());
    let team_feed_before = feed(&f, &f.team.calendar_secret).await;
    let sequence_before = sequence_of(&team_feed_before, &uid).expect("the week in the team feed");

    let (status, request) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "counterpart_shift_id": week10["id"], "note": "wedding"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["state"], "proposed");
    assert_eq!(request["kind"], "swap");
    let id = request["id"].as_i64().unwrap();
    assert!(
        messages(&f, &tk[2])
            .await
            .iter()
            .any(|m| m.contains("asks to swap weeks"))
    );

    let (status, body) = act(&f, &tk[2], id, "accept").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    assert!(
        messages(&f, &f.manager_token)
            .await
            .iter()
            .any(|m| m.starts_with("Approval needed"))
    );
    // Proposed and accepted: the schedule is as it was.
    assert_eq!(on_call(&f, "2027-03-03T12:00:00Z").await.0, "p0@example.com");
    assert_eq!(on_call(&f, "2027-03-17T12:00:00Z").await.0, "p2@example.com");
    let (_, audit) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/audit").await;
    assert!(!audit.to_string().contains("swap.apply"));

    let (status, body) = act(&f, &f.manager_token, id, "approve").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{body}"
    );
    assert_eq!(body["decided_by"], "manager@example.com");

    // /oncall at an instant in each week.
    assert_eq!(
        on_call(&f, "2027-03-03T12:00:00Z").await,
        ("p2@example.com".into(), "p1@example.com".into())
    );
    assert_eq!(
        on_call(&f, "2027-03-17T12:00:00Z").await,
        ("p0@example.com".into(), "p3@example.com".into())
    );
    // Both personal feeds.
    let a_feed = feed(&f, &f.members[0].calendar_secret).await;
    let b_feed = feed(&f, &f.members[2].calendar_secret).await;
    assert!(a_feed.contains("DTSTART:20270316T100000Z") && !a_feed.contains("DTSTART:20270302T100000Z"));
    assert!(b_feed.contains("DTSTART:20270302T100000Z") && !b_feed.contains("DTSTART:20270316T100000Z"));
    // The team feed's event for week 8 moved on a version.
    let team_feed = feed(&f, &f.team.calendar_secret).await;
    let sequence_after = sequence_of(&team_feed, &uid).expect("the week still in the feed");
    assert!(sequence_after > sequence_before, "{sequence_after} > {sequence_before}");
    // The audit log: who, what, before and after.
    let (status, audit) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/audit").await;
    assert_eq!(status, StatusCode::OK);
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "swap.apply")
        .expect("the swap is audited");
    assert_eq!(entry["actor_email"], "manager@example.com");
    assert_eq!(entry["before"]["shifts"][0]["email"], "p0@example.com");
    assert_eq!(entry["after"]["shifts"][0]["email"], "p2@example.com");
    assert_eq!(entry["after"]["shifts"][1]["email"], "p0@example.com");
    assert!(messages(&f, &tk[0]).await.iter().any(|m| m.contains("was approved")));
    // Listing with states.
    let (_, list) = f
        .app
        .get_json(&tk[1], "/api/v1/teams/platform/swaps?state=applied")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = f.app.get_json(&tk[1], "/api/v1/teams/platform/swaps?state=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_friday_night_cover_names_the_cover_only_for_that_night() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let (status, request) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "cover_email": "p3@example.com",
                   "starts_at": "2027-03-05T18:00:00Z", "ends_at": "2027-03-06T10:00:00Z"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["kind"], "cover");
    let id = request["id"].as_i64().unwrap();
    assert_eq!(act(&f, &tk[3], id, "accept").await.0, StatusCode::OK);
    let (status, body) = act(&f, &f.manager_token, id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(on_call(&f, "2027-03-05T20:00:00Z").await.0, "p3@example.com");
    assert_eq!(on_call(&f, "2027-03-05T17:00:00Z").await.0, "p0@example.com");
    assert_eq!(on_call(&f, "2027-03-06T11:00:00Z").await.0, "p0@example.com");
    // The secondary is untouched.
    assert_eq!(on_call(&f, "2027-03-05T20:00:00Z").await.1, "p1@example.com");
    assert_no_gap_or_overlap(&f).await;
}

#[tokio::test]
async fn only_a_manager_who_is_not_a_party_decides() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    // p2 is also a manager of the team; another team has its own manager.
    f.app.add(&f.team, &f.members[2], TeamRole::Manager).await;
    let other = f.app.team("payments", "Europe/London").await;
    let stranger = f
        .app
        .user("boss@example.com", "Other Boss", "Europe/London", false)
        .await;
    f.app.add(&other, &stranger, TeamRole::Manager).await;
    let stranger_token = f.app.token(&stranger).await;
    let admin = f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let admin_token = f.app.token(&admin).await;

    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let week10 = shift(&f, "primary", "2027-03-16T10:00:00Z").await;
    let (_, request) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "counterpart_shift_id": week10["id"]}),
    )
    .await;
    let id = request["id"].as_i64().unwrap();
    // Only the counterpart accepts.
    assert_eq!(act(&f, &tk[1], id, "accept").await.0, StatusCode::FORBIDDEN);
    assert_eq!(act(&f, &tk[0], id, "accept").await.0, StatusCode::FORBIDDEN);
    assert_eq!(act(&f, &tk[2], id, "accept").await.0, StatusCode::OK);

    let (status, body) = act(&f, &tk[2], id, "approve").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a party who manages: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("another manager"));
    assert_eq!(act(&f, &tk[0], id, "approve").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        act(&f, &tk[1], id, "approve").await.0,
        StatusCode::FORBIDDEN,
        "a member"
    );
    assert_eq!(act(&f, &stranger_token, id, "approve").await.0, StatusCode::NOT_FOUND);
    let (status, _) = f.app.get_json(&stranger_token, &format!("/api/v1/swaps/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f.app.get_json(&stranger_token, "/api/v1/teams/platform/swaps").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        on_call(&f, "2027-03-03T12:00:00Z").await.0,
        "p0@example.com",
        "nothing applied"
    );
    // An admin who is not a party may.
    let (status, body) = act(&f, &admin_token, id, "approve").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{body}"
    );
    // A decided request stays decided.
    assert_eq!(act(&f, &tk[0], id, "cancel").await.0, StatusCode::CONFLICT);
}

/// Every role of the rotation is held by exactly one person at a time,
/// from the first shift to the last.
async fn assert_no_gap_or_overlap(f: &Fixture) {
    let mut conn = f.app.db.acquire().await.unwrap();
    for role in ["primary", "secondary"] {
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            sqlx::query_as("SELECT starts_at, ends_at FROM shifts WHERE role = $1 ORDER BY starts_at")
                .bind(role)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        for w in rows.windows(2) {
            assert_eq!(
                w[0].1, w[1].0,
                "{role}: a gap or an overlap between {:?} and {:?}",
                w[0], w[1]
            );
        }
    }
}

#[tokio::test]
async fn of_two_conflicting_approvals_exactly_one_applies() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let admin = f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let admin_token = f.app.token(&admin).await;
    // p0 is primary in weeks 8, 12, 16, ... with p1 as secondary; p2 and p3
    // are free then. Each round asks both to cover the same three hours.
    for round in 0..50i64 {
        let week = 8 + 4 * (round % 6);
        let week_start = t("2027-01-05T10:00:00Z") + chrono::Duration::weeks(week);
        // Across the clock change the handoff moves to 09:00 UTC.
        let shifts = shifts_of(&f, "p0@example.com", week_start).await;
        let starts = t(shifts[0]["starts_at"].as_str().unwrap()) + chrono::Duration::hours(14 + 3 * (round / 6));
        let ends = starts + chrono::Duration::hours(3);
        // Earlier rounds split the week: the part that holds this span.
        let mine = shifts
            .iter()
            .find(|s| t(s["starts_at"].as_str().unwrap()) <= starts && t(s["ends_at"].as_str().unwrap()) >= ends)
            .expect("p0 holds the span");
        let mut ids = Vec::new();
        for (who, token) in [("p2@example.com", &tk[2]), ("p3@example.com", &tk[3])] {
            let (status, r) = ask(
                &f,
                &tk[0],
                json!({"shift_id": mine["id"], "cover_email": who, "starts_at": starts, "ends_at": ends}),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "round {round}: {r}");
            let id = r["id"].as_i64().unwrap();
            assert_eq!(act(&f, token, id, "accept").await.0, StatusCode::OK);
            ids.push(id);
        }
        let (a, b) = tokio::join!(
            act(&f, &f.manager_token, ids[0], "approve"),
            act(&f, &admin_token, ids[1], "approve")
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::CONFLICT { &a.1 } else { &b.1 };
        assert!(
            loser["error"]["message"]
                .as_str()
                .unwrap()
                .contains("changed since the request"),
            "{loser}"
        );
        assert_no_gap_or_overlap(&f).await;
    }
}

/// `email`'s primary shifts from `from` on, soonest first.
async fn shifts_of(f: &Fixture, email: &str, from: DateTime<Utc>) -> Vec<Value> {
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            &format!(
                "/api/v1/teams/platform/shifts?from={}&to=2027-12-31T00:00:00Z",
                from.to_rfc3339()
            )
            .replace('+', "%2B"),
        )
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["email"] == email
                && s["role"] == "primary"
                && t(s["starts_at"].as_str().unwrap()) >= from - chrono::Duration::hours(2)
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn accept_racing_cancel_ends_in_one_outcome() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    for round in 0..20 {
        let (status, r) = ask(
            &f,
            &tk[0],
            json!({"shift_id": week8["id"], "cover_email": "p2@example.com"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        let id = r["id"].as_i64().unwrap();
        let (accept, cancel) = tokio::join!(act(&f, &tk[2], id, "accept"), act(&f, &tk[0], id, "cancel"));
        if accept.0 == StatusCode::OK {
            assert_eq!(accept.1["state"], "accepted");
        }
        if cancel.0 == StatusCode::OK {
            assert_eq!(cancel.1["state"], "cancelled");
        }
        let (_, now) = f.app.get_json(&tk[0], &format!("/api/v1/swaps/{id}")).await;
        match now["state"].as_str().unwrap() {
            // Cancel came first: the accept found it cancelled.
            "cancelled" if accept.0 == StatusCode::CONFLICT => assert_eq!(cancel.0, StatusCode::OK),
            // Accept came first, then the requester withdrew it.
            "cancelled" => assert_eq!((accept.0, cancel.0), (StatusCode::OK, StatusCode::OK)),
            other => panic!("round {round}: {other}, {accept:?} {cancel:?}"),
        }
    }
    // Nothing was applied by any of it.
    assert_eq!(on_call(&f, "2027-03-03T12:00:00Z").await.0, "p0@example.com");
}

#[tokio::test]
async fn a_started_week_changes_only_from_now_on() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    // Week 7 (23 Feb – 2 Mar) has begun: p3 primary, p0 secondary.
    let current = shift(&f, "primary", "2027-02-23T10:00:00Z").await;
    let week9 = shift(&f, "primary", "2027-03-09T10:00:00Z").await;
    assert_eq!(current["email"], "p3@example.com");
    let (status, body) = ask(
        &f,
        &tk[3],
        json!({"shift_id": current["id"], "counterpart_shift_id": week9["id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("already started"),
        "{body}"
    );
    let (status, body) = ask(
        &f,
        &tk[3],
        json!({"shift_id": current["id"], "cover_email": "p2@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("already begun"),
        "{body}"
    );
    // A manager's override of the whole week applies from now on only.
    let (status, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "primary", "email": "p2@example.com",
                   "starts_at": "2027-02-23T10:00:00Z", "ends_at": "2027-03-02T10:00:00Z", "reason": "p3 is ill"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["starts_at"], NOW);
    assert_eq!(
        on_call(&f, "2027-02-24T12:00:00Z").await.0,
        "p3@example.com",
        "the past is kept"
    );
    assert_eq!(on_call(&f, "2027-03-01T13:00:00Z").await.0, "p2@example.com");
    assert_no_gap_or_overlap(&f).await;
    // Nothing in the past, nobody in both roles, a reason always.
    for (body, status) in [
        (
            json!({"rotation": "weekly", "role": "primary", "email": "p2@example.com",
                "starts_at": "2027-02-23T10:00:00Z", "ends_at": "2027-02-24T10:00:00Z", "reason": "late"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"rotation": "weekly", "role": "primary", "email": "p1@example.com",
                "starts_at": "2027-03-03T10:00:00Z", "ends_at": "2027-03-04T10:00:00Z", "reason": "x"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"rotation": "weekly", "role": "primary", "email": "p2@example.com",
                "starts_at": "2027-03-03T10:00:00Z", "ends_at": "2027-03-04T10:00:00Z", "reason": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, res) = f
            .app
            .post_json(&f.manager_token, "/api/v1/teams/platform/overrides", body)
            .await;
        assert_eq!(got, status, "{res}");
    }
    let (status, _) = f
        .app
        .post_json(
            &tk[1],
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "primary", "email": "p1@example.com",
                   "starts_at": "2027-03-10T10:00:00Z", "ends_at": "2027-03-11T10:00:00Z", "reason": "me"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members do not override");
}

#[tokio::test]
async fn an_open_request_expires_when_its_week_starts() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let (_, r) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "cover_email": "p2@example.com"}),
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(act(&f, &tk[2], id, "accept").await.0, StatusCode::OK);
    f.app.clock.set(t("2027-03-02T10:00:00Z"));
    let (status, body) = act(&f, &f.manager_token, id, "approve").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"));
    let (_, shown) = f.app.get_json(&tk[0], &format!("/api/v1/swaps/{id}")).await;
    assert_eq!(shown["state"], "expired");
    rota::jobs::extend_schedules(&f.app.db, f.app.clock.now())
        .await
        .unwrap();
    assert!(messages(&f, &tk[0]).await.iter().any(|m| m.contains("expired")));
}

#[tokio::test]
async fn approved_changes_outlive_a_rotation_edit() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let week10 = shift(&f, "primary", "2027-03-16T10:00:00Z").await;
    let (_, r) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "counterpart_shift_id": week10["id"]}),
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    act(&f, &tk[2], id, "accept").await;
    assert_eq!(act(&f, &f.manager_token, id, "approve").await.0, StatusCode::OK);
    let (status, body) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/rotations/weekly",
            json!({"primary_sla_minutes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(on_call(&f, "2027-03-03T12:00:00Z").await.0, "p2@example.com");
    assert_eq!(on_call(&f, "2027-03-17T12:00:00Z").await.0, "p0@example.com");
    assert_no_gap_or_overlap(&f).await;
}

#[tokio::test]
async fn new_weeks_go_around_leave_and_everyone_keeps_their_share() {
    let f = team_of_four().await;
    let p1 = f.app.token(&f.members[1]).await;
    // Week 41 (19–26 Oct) is beyond the generated horizon today; p1 is due
    // as primary then, and away.
    let (status, body) = f
        .app
        .send_json(
            reqwest::Method::PUT,
            &p1,
            "/api/v1/me/leave/2027-10-20",
            json!({"end_date": "2027-10-25"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for month in ["2027-05-01T12:00:00Z", "2027-07-01T12:00:00Z"] {
        f.app.clock.set(t(month));
        rota::jobs::extend_schedules(&f.app.db, f.app.clock.now())
            .await
            .unwrap();
    }
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2027-03-02T10:00:00Z&to=2027-12-07T10:00:00Z",
        )
        .await;
    let list = list.as_array().unwrap();
    let leave = (t("2027-10-19T23:00:00Z"), t("2027-10-25T23:00:00Z"));
    let week41 = list
        .iter()
        .find(|s| s["starts_at"] == "2027-10-19T09:00:00Z" && s["role"] == "primary")
        .expect("week 41");
    assert_ne!(week41["email"], "p1@example.com");
    for s in list {
        let (a, b) = (t(s["starts_at"].as_str().unwrap()), t(s["ends_at"].as_str().unwrap()));
        if a < leave.1 && leave.0 < b {
            assert_ne!(s["email"], "p1@example.com", "assigned during leave: {s}");
        }
    }
    // Weeks 8..=47 are 40 weeks: 10 each as primary and as secondary.
    let first = t("2027-03-02T10:00:00Z");
    for p in 0..4 {
        let email = format!("p{p}@example.com");
        for role in ["primary", "secondary"] {
            let n = list
                .iter()
                .filter(|s| {
                    s["email"] == email.as_str() && s["role"] == role && t(s["starts_at"].as_str().unwrap()) >= first
                })
                .count();
            assert_eq!(n, 10, "{email} {role}");
        }
    }
    let (_, audit) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/audit?from=2027-01-01T00:00:00Z",
        )
        .await;
    assert!(audit.to_string().contains("leave.reassign"), "{audit}");
    assert_no_gap_or_overlap(&f).await;
}

#[tokio::test]
async fn leave_is_recorded_checked_and_tells_the_managers() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let put = |token: String, start: &'static str, end: &'static str| {
        let app = &f.app;
        async move {
            app.send_json(
                reqwest::Method::PUT,
                &token,
                &format!("/api/v1/me/leave/{start}"),
                json!({"end_date": end}),
            )
            .await
        }
    };
    // p0 is primary 2–9 March.
    let (status, body) = put(tk[0].clone(), "2027-03-04", "2027-03-05").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["starts_at"], "2027-03-04T00:00:00Z");
    assert!(
        messages(&f, &f.manager_token)
            .await
            .iter()
            .any(|m| m.starts_with("Needs cover"))
    );
    assert!(messages(&f, &tk[1]).await.iter().all(|m| !m.starts_with("Needs cover")));
    // A cover by someone on leave is refused, saying why.
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let (_, p3_leave) = put(tk[3].clone(), "2027-03-05", "2027-03-06").await;
    assert_eq!(p3_leave["end_date"], "2027-03-06");
    let (status, body) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "cover_email": "p3@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("on leave"));
    // Bad input changes nothing.
    assert_eq!(
        put(tk[0].clone(), "2027-03-04", "2027-03-01").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(tk[0].clone(), "2027-03-05", "2027-03-07").await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        put(tk[0].clone(), "2027-02-01", "2027-02-02").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(tk[0].clone(), "not-a-date", "2027-02-02").await.0,
        StatusCode::BAD_REQUEST
    );
    // The same first day again changes the end.
    let (status, body) = put(tk[0].clone(), "2027-03-04", "2027-03-06").await;
    assert_eq!(
        (status, body["end_date"].as_str()),
        (StatusCode::OK, Some("2027-03-06")),
        "{body}"
    );
    let (_, mine) = f.app.get_json(&tk[0], "/api/v1/me/leave").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let (status, _) = f
        .app
        .send_json(
            reqwest::Method::DELETE,
            &tk[0],
            "/api/v1/me/leave/2027-03-04",
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_open_cover_is_taken_by_a_volunteer_but_never_its_requester() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let (_, r) = ask(&f, &tk[0], json!({"shift_id": week8["id"]})).await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(r["counterpart"]["email"], Value::Null);
    assert_eq!(act(&f, &tk[0], id, "accept").await.0, StatusCode::FORBIDDEN);
    // p1 is secondary that week, so may not hold primary too.
    let (status, body) = act(&f, &tk[1], id, "accept").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("both roles"));
    let (status, body) = act(&f, &tk[3], id, "accept").await;
    assert_eq!(
        (status, body["counterpart"]["email"].as_str()),
        (StatusCode::OK, Some("p3@example.com"))
    );
    // Notifications: p2 was told of the open cover, and can mark it read.
    let (_, list) = f.app.get_json(&tk[2], "/api/v1/me/notifications").await;
    assert_eq!(list[0]["read"], false, "{list}");
    let (status, _) = f
        .app
        .post_json(&tk[2], "/api/v1/me/notifications/read", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = f.app.get_json(&tk[2], "/api/v1/me/notifications").await;
    assert_eq!(list[0]["read"], true, "{list}");
}

#[tokio::test]
async fn undoing_a_change_is_a_new_change_and_keeps_the_history() {
    let f = team_of_four().await;
    let tk = tokens(&f).await;
    let week8 = shift(&f, "primary", "2027-03-02T10:00:00Z").await;
    let (_, r) = ask(
        &f,
        &tk[0],
        json!({"shift_id": week8["id"], "cover_email": "p3@example.com"}),
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    act(&f, &tk[3], id, "accept").await;
    assert_eq!(act(&f, &tk[0], id, "undo").await.0, StatusCode::FORBIDDEN, "a party");
    assert_eq!(
        act(&f, &f.manager_token, id, "undo").await.0,
        StatusCode::CONFLICT,
        "not applied yet"
    );
    assert_eq!(act(&f, &f.manager_token, id, "approve").await.0, StatusCode::OK);
    assert_eq!(on_call(&f, "2027-03-04T12:00:00Z").await.0, "p3@example.com");
    // Midway through the week, the manager undoes it: from now on only.
    f.app.clock.set(t("2027-03-03T12:00:00Z"));
    let (status, body) = act(&f, &f.manager_token, id, "undo").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "applied", "the request keeps what happened");
    assert_eq!(
        on_call(&f, "2027-03-02T12:00:00Z").await.0,
        "p3@example.com",
        "the past is kept"
    );
    assert_eq!(on_call(&f, "2027-03-04T12:00:00Z").await.0, "p0@example.com");
    let (_, audit) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.ends_with(&["cover.apply", "undo"]), "{actions:?}");
    assert_eq!(
        act(&f, &f.manager_token, id, "undo").await.0,
        StatusCode::CONFLICT,
        "already undone"
    );
    assert_no_gap_or_overlap(&f).await;
}
