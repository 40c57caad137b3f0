use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{fixture, t};

fn shifts_started_before(list: &Value, at: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    list.as_array()
        .expect("list")
        .iter()
        .filter(|s| crate::common::t(s["starts_at"].as_str().expect("starts_at")) <= at)
        .cloned()
        .collect()
}

#[tokio::test]
async fn london_weeks_across_dst_last_167_and_169_hours() {
    let f = fixture(t("2027-01-01T12:00:00Z"), "Europe/London", "2027-01-05", 3).await;
    let (status, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2027-03-23T10:00:00Z&to=2027-03-23T10:00:01Z&rotation=weekly",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let primary = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "primary")
        .expect("a primary");
    assert_eq!(primary["starts_at"], "2027-03-23T10:00:00Z");
    assert_eq!(primary["ends_at"], "2027-03-30T09:00:00Z");

    // October is beyond the horizon until the extension job has run later on.
    f.app.clock.set(t("2027-06-01T12:00:00Z"));
    rota::jobs::extend_schedules(&f.app.db, f.app.clock.now())
        .await
        .unwrap();
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2027-10-26T09:00:00Z&to=2027-10-26T09:00:01Z",
        )
        .await;
    let primary = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "primary")
        .expect("a primary");
    let (a, b) = (
        t(primary["starts_at"].as_str().unwrap()),
        t(primary["ends_at"].as_str().unwrap()),
    );
    assert_eq!(a, t("2027-10-26T09:00:00Z"));
    assert_eq!(b - a, Duration::hours(169));
}

#[tokio::test]
async fn iso_week_53_and_the_week_after_have_different_primaries() {
    let f = fixture(t("2026-11-01T12:00:00Z"), "Europe/London", "2026-11-03", 2).await;
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-12-29T12:00:00Z&to=2027-01-05T12:00:00Z",
        )
        .await;
    let primaries: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "primary")
        .collect();
    assert_eq!(primaries.len(), 2, "{list}");
    assert_eq!(primaries[0]["starts_at"], "2026-12-29T10:00:00Z");
    assert_eq!(primaries[1]["starts_at"], "2027-01-05T10:00:00Z");
    assert_ne!(primaries[0]["email"], primaries[1]["email"]);
}

#[tokio::test]
async fn a_rotation_started_in_the_past_fills_its_history_and_reaches_26_weeks_ahead() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-06-02", 4).await;
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-05-01T00:00:00Z&to=2027-06-01T00:00:00Z&rotation=weekly",
        )
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list[0]["starts_at"], "2026-06-02T09:00:00Z");
    let last = list.iter().map(|s| t(s["ends_at"].as_str().unwrap())).max().unwrap();
    assert!(last >= now + Duration::weeks(26), "horizon ends {last}");
}

#[tokio::test]
async fn changing_settings_never_touches_a_shift_that_has_started() {
    let now = t("2026-11-26T12:00:00Z"); // a Thursday, mid-week
    let f = fixture(now, "Europe/London", "2026-09-01", 4).await;
    let path = "/api/v1/teams/platform/shifts?from=2026-08-01T00:00:00Z&to=2027-06-01T00:00:00Z";

    let extra = f
        .app
        .user("new@example.com", "New Person", "Europe/London", false)
        .await;
    f.app.add(&f.team, &extra, rota::db::teams::TeamRole::Member).await;
    let changes = [
        json!({"participants": ["p3@example.com", "new@example.com", "p0@example.com"]}),
        json!({"handoff_time": "14:30"}),
        json!({"primary_sla_minutes": 3, "secondary_sla_minutes": 20}),
        json!({"timezone": "America/New_York", "handoff_weekday": "wednesday"}),
    ];
    for (i, change) in changes.into_iter().enumerate() {
        // Each change a little later, across handoffs: what had started by
        // then must stay as it was.
        let at = now + Duration::days(3 * i as i64);
        f.app.clock.set(at);
        let (_, current) = f.app.get_json(&f.manager_token, path).await;
        let history = shifts_started_before(&current, at);
        assert!(history.len() > 20);
        let (status, body) = f
            .app
            .patch_json(
                &f.manager_token,
                "/api/v1/teams/platform/rotations/weekly",
                change.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{change}: {body}");
        let (_, after) = f.app.get_json(&f.manager_token, path).await;
        assert_eq!(shifts_started_before(&after, at), history, "after {change}");
        assert_tiled(&after);
    }
    // The week that was current at the first change kept its SLA.
    let (_, oncall) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/oncall?at=2026-11-26T12:00:00Z",
        )
        .await;
    assert_eq!(oncall["rotations"][0]["primary"]["sla_minutes"], 5, "{oncall}");
    let (_, rotation) = f
        .app
        .get_json(&f.manager_token, "/api/v1/teams/platform/rotations/weekly")
        .await;
    assert_eq!(rotation["timezone"], "America/New_York");
    assert_eq!(rotation["handoff_time"], "14:30");
    assert_eq!(rotation["primary_sla_minutes"], 3);
}

/// Each role's shifts follow one another with no gap and no overlap, and
/// nobody holds both roles at once.
pub fn assert_tiled(list: &Value) {
    for role in ["primary", "secondary"] {
        let mut shifts: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["role"] == role)
            .map(|s| {
                (
                    t(s["starts_at"].as_str().unwrap()),
                    t(s["ends_at"].as_str().unwrap()),
                    s["email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        shifts.sort();
        for pair in shifts.windows(2) {
            assert_eq!(
                pair[0].1, pair[1].0,
                "{role} shifts must meet: {:?} then {:?}",
                pair[0], pair[1]
            );
        }
    }
    let all = list.as_array().unwrap();
    for p in all.iter().filter(|s| s["role"] == "primary") {
        for s in all
            .iter()
            .filter(|s| s["role"] == "secondary" && s["email"] == p["email"])
        {
            let overlap = t(p["starts_at"].as_str().unwrap()) < t(s["ends_at"].as_str().unwrap())
                && t(s["starts_at"].as_str().unwrap()) < t(p["ends_at"].as_str().unwrap());
            assert!(!overlap, "{} holds both roles at once", p["email"]);
        }
    }
}

#[tokio::test]
async fn concurrent_edits_leave_a_consistent_schedule() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-09-01", 4).await;
    let edits = [
        json!({"handoff_time": "09:00", "participants": ["p0@example.com", "p1@example.com"]}),
        json!({"handoff_weekday": "friday", "participants": ["p2@example.com", "p3@example.com", "p1@example.com"]}),
        json!({"timezone": "Asia/Tokyo"}),
        json!({"handoff_time": "18:45"}),
    ];
    let mut tasks = Vec::new();
    for e in edits {
        let (app_url, token) = (f.app.address.clone(), f.manager_token.clone());
        tasks.push(tokio::spawn(async move {
            crate::common::api()
                .patch(format!("{app_url}/api/v1/teams/platform/rotations/weekly"))
                .bearer_auth(token)
                .json(&e)
                .send()
                .await
                .expect("patch")
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-09-01T00:00:00Z&to=2027-05-01T00:00:00Z",
        )
        .await;
    assert_tiled(&list);
}

#[tokio::test]
async fn a_rotation_that_has_not_started_can_be_edited_and_its_members_removed() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-12-08", 3).await;
    let (status, body) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/rotations/weekly",
            json!({"start_date": "2026-12-02", "handoff_weekday": "wednesday", "handoff_time": "09:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-11-01T00:00:00Z&to=2027-03-01T00:00:00Z",
        )
        .await;
    assert_eq!(list[0]["starts_at"], "2026-12-02T09:00:00Z", "{list}");
    assert_tiled(&list);
    let res = crate::common::api()
        .delete(f.app.url("/api/v1/teams/platform/members/p2@example.com"))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-11-01T00:00:00Z&to=2027-03-01T00:00:00Z",
        )
        .await;
    assert!(!list.to_string().contains("p2@example.com"));
    assert_eq!(list[0]["starts_at"], "2026-12-02T09:00:00Z");
    assert_tiled(&list);
}

#[tokio::test]
async fn a_second_edit_in_the_same_week_replaces_the_first() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-09-01", 3).await;
    let path = "/api/v1/teams/platform/rotations/weekly";
    let (status, _) = f
        .app
        .patch_json(&f.manager_token, path, json!({"handoff_time": "08:00"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    f.app.clock.set(now + Duration::hours(20));
    let (status, _) = f
        .app
        .patch_json(
            &f.manager_token,
            path,
            json!({"participants": ["p2@example.com", "p0@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/shifts?from=2026-11-24T00:00:00Z&to=2027-02-01T00:00:00Z",
        )
        .await;
    assert_tiled(&list);
    let next: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["starts_at"] == "2026-12-01T10:00:00Z")
        .collect();
    assert_eq!(next.len(), 2, "the change still starts at the next handoff: {list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|s| s["email"] != "p1@example.com" || t(s["starts_at"].as_str().unwrap()) < t("2026-12-01T10:00:00Z"))
    );
}
