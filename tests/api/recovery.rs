//! Pages from alerting tools, SLAs and recovery days (the shared samples
//! describe one night for the platform team: 03:07 to 04:52 UTC on Tuesday
//! 3 March 2026, plus a Saturday daytime Grafana alert).

use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{TestApp, api, spawn_app_at, t};

pub(crate) fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) struct Team {
    pub(crate) app: TestApp,
    pub(crate) manager_token: String,
    pub(crate) hook_token: String,
}

/// A team whose primary for the week from Tuesday 24 February 2026 is Alex.
pub(crate) async fn team_with_alex(zone: &str, now: &str) -> Team {
    team_with_alex_on(spawn_app_at(t(now)).await, zone).await
}

/// The same team on an app started some other way.
pub(crate) async fn team_with_alex_on(app: TestApp, zone: &str) -> Team {
    let team = app.team("platform", zone).await;
    let manager = app.user("manager@example.com", "Mona Manager", zone, false).await;
    app.add(&team, &manager, TeamRole::Manager).await;
    for (email, name) in [
        ("alex@example.com", "Alex"),
        ("bo@example.com", "Bo"),
        ("cy@example.com", "Cy"),
    ] {
        let u = app.user(email, name, zone, false).await;
        app.add(&team, &u, TeamRole::Member).await;
    }
    let manager_token = app.token(&manager).await;
    let (status, body) = app
        .post_json(
            &manager_token,
            "/api/v1/teams/platform/rotations",
            json!({"slug": "weekly", "start_date": "2026-02-24", "participants": ["alex@example.com", "bo@example.com", "cy@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alerts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook_token = body["token"].as_str().unwrap().to_owned();
    Team {
        app,
        manager_token,
        hook_token,
    }
}

impl Team {
    async fn hook(&self, tool: &str, body: &str) -> (StatusCode, Value) {
        let res = api()
            .post(self.app.url(&format!("/api/v1/hooks/{tool}")))
            .bearer_auth(&self.hook_token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        // A tool's pages derive recovery days in the recovery job, within
        // half a second; here at once, so the clock has not moved.
        self.app.settle_recovery().await;
        crate::common::split(res).await
    }

    async fn pages(&self) -> Vec<Value> {
        let (status, list) = self
            .app
            .get_json(
                &self.manager_token,
                "/api/v1/teams/platform/pages?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    }

    /// The team's recovery days once the recovery job has derived what the
    /// tools' pages queued (as it would within a second).
    async fn recovery_days(&self) -> Vec<Value> {
        self.app.settle_recovery().await;
        let (status, list) = self
            .app
            .get_json(
                &self.manager_token,
                "/api/v1/teams/platform/recovery-days?from=2026-01-01&to=2026-12-01",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn the_alertmanager_pair_makes_one_night_page_and_one_recovery_day_for_alex() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    assert_eq!(
        team.hook("alertmanager", &sample("alertmanager-firing.json")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        team.hook("alertmanager", &sample("alertmanager-resolved.json")).await.0,
        StatusCode::OK
    );
    let pages = team.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    let p = &pages[0];
    assert_eq!(p["fired_at"], "2026-03-03T03:07:12Z");
    assert_eq!(p["resolved_at"], "2026-03-03T04:52:00Z");
    assert_eq!(p["responder_email"], "alex@example.com");
    assert_eq!(p["role"], "primary");
    assert_eq!(p["out_of_hours"], "sleep");
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0]["email"], "alex@example.com");
    assert_eq!(days[0]["date"], "2026-03-03");
    assert_eq!(days[0]["form"], "day_off");
}

#[tokio::test]
async fn the_pagerduty_trio_makes_one_page_acknowledged_within_the_sla() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    for name in [
        "pagerduty-triggered.json",
        "pagerduty-acknowledged.json",
        "pagerduty-resolved.json",
    ] {
        let (status, body) = team.hook("pagerduty", &sample(name)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    let pages = team.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    let p = &pages[0];
    let fired = t(p["fired_at"].as_str().unwrap());
    let acked = t(p["acknowledged_at"].as_str().unwrap());
    assert_eq!(acked - fired, chrono::Duration::seconds(145));
    assert_eq!(p["sla"], "met");
    assert_eq!(p["responder_email"], "alex@example.com");
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-03-03");
}

#[tokio::test]
async fn retries_and_simultaneous_copies_make_one_page_and_one_grant() {
    let team = team_with_alex("Europe/London", "2026-03-08T06:00:00Z").await;
    let samples = [
        ("pagerduty", "pagerduty-triggered.json"),
        ("pagerduty", "pagerduty-acknowledged.json"),
        ("pagerduty", "pagerduty-resolved.json"),
        ("grafana", "grafana-firing.json"),
        ("alertmanager", "alertmanager-firing.json"),
        ("alertmanager", "alertmanager-resolved.json"),
    ];
    for (tool, name) in samples {
        // Three retries, then three copies at the same moment.
        for _ in 0..3 {
            let (status, body) = team.hook(tool, &sample(name)).await;
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
        }
        let body = sample(name);
        for (status, res) in futures_join((0..3).map(|_| team.hook(tool, &body))).await {
            assert_eq!(status, StatusCode::OK, "{name}: {res}");
        }
    }
    let pages = team.pages().await;
    assert_eq!(pages.len(), 3, "one from each tool: {pages:?}");
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1, "the one night, whichever tool told of it: {days:?}");
    assert_eq!(days[0]["date"], "2026-03-03");
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    // Polled together: the requests are in flight at the same moment.
    let joined = futures_util_join_all(handles).await;
    out.extend(joined);
    out
}

async fn futures_util_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.expect("ready")).collect()
}

#[tokio::test]
async fn a_resolve_before_its_trigger_makes_one_resolved_page() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    for name in ["alertmanager-resolved.json", "alertmanager-firing.json"] {
        assert_eq!(team.hook("alertmanager", &sample(name)).await.0, StatusCode::OK);
    }
    let pages = team.pages().await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["fired_at"], "2026-03-03T03:07:12Z");
    assert_eq!(pages[0]["resolved_at"], "2026-03-03T04:52:00Z");
    for name in [
        "pagerduty-resolved.json",
        "pagerduty-acknowledged.json",
        "pagerduty-triggered.json",
    ] {
        assert_eq!(team.hook("pagerduty", &sample(name)).await.0, StatusCode::OK);
    }
    let pd: Vec<Value> = team
        .pages()
        .await
        .into_iter()
        .filter(|p| p["source"] == "pagerduty")
        .collect();
    assert_eq!(pd.len(), 1);
    assert_eq!(pd[0]["resolved_at"], "2026-03-03T04:52:00Z");
    assert_eq!(pd[0]["fired_at"], "2026-03-03T03:07:15Z");
    assert_eq!(pd[0]["acknowledged_at"], "2026-03-03T03:09:40Z");
    assert_eq!(team.recovery_days().await.len(), 1);
}

#[tokio::test]
async fn the_grafana_sample_as_sent_is_a_weekend_page() {
    let team = team_with_alex("Europe/London", "2026-03-07T16:00:00Z").await;
    let (status, body) = team.hook("grafana", &sample("grafana-firing.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pages = team.pages().await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["summary"], "Disk on db-2 is 95% full");
    assert_eq!(pages[0]["out_of_hours"], "weekend");
    assert_eq!(pages[0]["sla"], "unacknowledged");
    assert_eq!(pages[0]["responder_email"], "bo@example.com");
}

#[tokio::test]
async fn two_pages_in_one_night_grant_one_day() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    for (key, at) in [("a", "2026-03-03T01:00:00Z"), ("b", "2026-03-03T05:00:00Z")] {
        let (status, body) = team
            .app
            .post_json(
                &team.hook_token,
                "/api/v1/teams/platform/pages",
                json!({"dedup_key": key, "summary": "disk", "fired_at": at}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(team.pages().await.len(), 2);
    assert_eq!(team.recovery_days().await.len(), 1);
}

fn grafana_resolved_at(end: &str) -> String {
    let mut body: Value = serde_json::from_str(&sample("grafana-firing.json")).unwrap();
    body["status"] = json!("resolved");
    body["alerts"][0]["status"] = json!("resolved");
    body["alerts"][0]["endsAt"] = json!(end);
    body.to_string()
}

#[tokio::test]
async fn weekend_daytime_pages_grant_a_day_only_past_the_threshold() {
    let team = team_with_alex("Europe/London", "2026-03-07T16:00:00Z").await;
    team.hook("grafana", &grafana_resolved_at("2026-03-07T14:50:00Z")).await;
    assert_eq!(team.pages().await[0]["out_of_hours"], "weekend");
    assert!(team.recovery_days().await.is_empty(), "30 minutes is under the hour");
    team.hook("grafana", &grafana_resolved_at("2026-03-07T15:35:00Z")).await;
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-03-09");
}

#[tokio::test]
async fn a_team_holiday_moves_the_recovery_day_to_the_next_working_day() {
    let team = team_with_alex("Europe/London", "2026-03-07T16:00:00Z").await;
    let (status, body) = team
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.manager_token,
            "/api/v1/teams/platform/holidays/2026-03-09",
            json!({"name": "Founders' day"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    team.hook("grafana", &grafana_resolved_at("2026-03-07T15:35:00Z")).await;
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-03-10");
}

#[tokio::test]
async fn the_night_new_york_springs_forward_is_still_sleep_and_grants_monday() {
    let team = team_with_alex("America/New_York", "2026-03-08T12:00:00Z").await;
    let (status, body) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "dst", "summary": "queue backlog", "fired_at": "2026-03-08T07:10:00Z", "resolved_at": "2026-03-08T07:40:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["out_of_hours"], "sleep");
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0]["date"], "2026-03-09");
}

#[tokio::test]
async fn correcting_a_page_out_of_sleep_hours_withdraws_a_future_grant_and_flags_a_past_one() {
    let team = team_with_alex("Europe/London", "2026-03-07T12:00:00Z").await;
    let (_, page) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "sat", "summary": "cache", "fired_at": "2026-03-07T02:00:00Z", "resolved_at": "2026-03-07T02:30:00Z"}),
        )
        .await;
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-03-09");
    // Bo is primary the week from Tuesday 3 March.
    assert_eq!(page["responder_email"], "bo@example.com");
    let bo = team.app.token(&rota_user(&team.app, "bo@example.com").await).await;
    let path = format!("/api/v1/pages/{}", page["id"]);
    let (status, body) = team
        .app
        .patch_json(
            &bo,
            &path,
            json!({"fired_at": "2026-03-07T11:00:00Z", "resolved_at": "2026-03-07T11:20:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["out_of_hours"], "weekend");
    assert!(
        team.recovery_days().await.is_empty(),
        "withdrawn: its day is still ahead"
    );
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'page.correct'")
        .fetch_one(&team.app.db)
        .await
        .unwrap();
    assert_eq!(audit, 1);

    // Back to the night, and once its day has passed, away again: flagged, kept.
    team.app
        .patch_json(
            &bo,
            &path,
            json!({"fired_at": "2026-03-07T02:00:00Z", "resolved_at": "2026-03-07T02:30:00Z"}),
        )
        .await;
    team.app.clock.set(t("2026-03-10T12:00:00Z"));
    team.app
        .patch_json(
            &bo,
            &path,
            json!({"fired_at": "2026-03-07T11:00:00Z", "resolved_at": "2026-03-07T11:20:00Z"}),
        )
        .await;
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["state"], "flagged");
    // Someone else in the team may not correct it.
    let cy = team.app.token(&rota_user(&team.app, "cy@example.com").await).await;
    assert_eq!(
        team.app.patch_json(&cy, &path, json!({"resolved_at": null})).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn rota_user(app: &TestApp, email: &str) -> rota::db::users::User {
    let mut conn = app.db.acquire().await.unwrap();
    rota::db::users::by_email(&mut conn, email).await.unwrap().unwrap()
}

#[tokio::test]
async fn the_person_chooses_the_form_and_managers_cannot() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    team.hook("alertmanager", &sample("alertmanager-resolved.json")).await;
    let id = team.recovery_days().await[0]["id"].as_i64().unwrap();
    let alex = team.app.token(&rota_user(&team.app, "alex@example.com").await).await;
    let path = format!("/api/v1/recovery-days/{id}");
    let (status, body) = team
        .app
        .patch_json(&alex, &path, json!({"form": "late_start", "worked_anyway": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["form"], "late_start");
    assert_eq!(body["worked_anyway"], true);
    assert_eq!(
        team.app.patch_json(&alex, &path, json!({"form": "nap"})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        team.app
            .patch_json(&team.manager_token, &path, json!({"form": "home"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn integration_tokens_only_report_for_their_team() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let other = team.app.team("payments", "America/New_York").await;
    let (status, _) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/payments/pages",
            json!({"dedup_key": "x", "summary": "y", "fired_at": "2026-03-03T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let _ = other;
    let body = sample("alertmanager-firing.json");
    for token in [None, Some("rota_int_wrong")] {
        let mut req = api()
            .post(team.app.url("/api/v1/hooks/alertmanager"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        assert_eq!(req.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    // Revoked by another process: this one hears of it before answering.
    team.app.caches_on().await;
    team.app
        .change_elsewhere("UPDATE integration_tokens SET revoked_at = now()")
        .await;
    assert_eq!(team.hook("alertmanager", &body).await.0, StatusCode::UNAUTHORIZED);
    assert!(team.pages().await.is_empty());
}

#[tokio::test]
async fn bad_webhook_bodies_are_refused_and_store_nothing() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let send = |content_type: &'static str, body: Vec<u8>| {
        api()
            .post(team.app.url("/api/v1/hooks/alertmanager"))
            .bearer_auth(&team.hook_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(
        send("application/json", b"{\"alerts\": [".to_vec())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send("application/json", vec![b'{', 0xff, 0xfe, b'}'])
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send("application/json", vec![b' '; 10 * 1024 * 1024])
            .await
            .unwrap()
            .status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        send("text/plain", sample("alertmanager-firing.json").into_bytes())
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send("application/json", b"{\"alerts\": 3}".to_vec())
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(team.pages().await.is_empty());
    let pages: i64 = sqlx::query_scalar("SELECT count(*) FROM pages")
        .fetch_one(&team.app.db)
        .await
        .unwrap();
    assert_eq!(pages, 0);
}

#[tokio::test]
async fn signed_pagerduty_webhooks_need_a_good_signature() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let (_, created) = team
        .app
        .post_json(
            &team.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "pd", "signing_secret": "s3cret"}),
        )
        .await;
    let token = created["token"].as_str().unwrap();
    let body = sample("pagerduty-triggered.json");
    let send = |sig: String| {
        api()
            .post(team.app.url("/api/v1/hooks/pagerduty"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("x-pagerduty-signature", sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(
        send("v1=deadbeef".into()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body.as_bytes());
    let good = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(send(good).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_ics_holiday_calendar_imports_and_recovery_days_show_in_the_personal_feed() {
    let team = team_with_alex("Europe/London", "2026-03-07T16:00:00Z").await;
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260309\r\nDTEND;VALUE=DATE:20260311\r\nSUMMARY:Spring break\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let import = |content_type: &'static str, body: &'static str| {
        api()
            .post(team.app.url("/api/v1/teams/platform/holidays/import"))
            .bearer_auth(&team.manager_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(
        import("text/plain", ics).await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        import("text/calendar", "hello").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let res = import("text/calendar", ics).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["dates"], 2);
    // A Saturday daytime page now earns Wednesday 11 March.
    team.hook("grafana", &grafana_resolved_at("2026-03-07T15:35:00Z")).await;
    let days = team.recovery_days().await;
    assert_eq!(days[0]["date"], "2026-03-11");
    // Bo (primary that week) sees it in their calendar feed, as an all-day event.
    let bo = rota_user(&team.app, "bo@example.com").await;
    let feed = api()
        .get(rota::calendar::feed_url(&team.app.base_url, &bo.calendar_secret))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut parser = ical::IcalParser::new(feed.as_bytes());
    let cal = parser.next().unwrap().unwrap();
    let recovery = cal
        .events
        .iter()
        .find(|e| {
            e.properties
                .iter()
                .any(|p| p.name == "SUMMARY" && p.value.as_deref().unwrap_or("").starts_with("Recovery day"))
        })
        .expect("a recovery day in the feed");
    let start = recovery.properties.iter().find(|p| p.name == "DTSTART").unwrap();
    assert_eq!(start.value.as_deref(), Some("20260311"));
}

#[tokio::test]
async fn many_pages_for_one_person_at_once_all_land_and_grant_once() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let requests = (0..12).map(|i| {
        team.app.post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": format!("burst-{i}"), "summary": "burst", "fired_at": format!("2026-03-03T02:{:02}:00Z", i * 3)}),
        )
    });
    for (status, body) in futures_join(requests).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(team.pages().await.len(), 12);
    assert_eq!(team.recovery_days().await.len(), 1);
}

#[tokio::test]
async fn reported_times_must_be_believable() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let cases = [
        json!({"dedup_key": "future", "summary": "s", "fired_at": "2026-03-04T06:00:00Z"}),
        json!({"dedup_key": "resolved-later", "summary": "s", "fired_at": "2026-03-03T01:00:00Z", "resolved_at": "2027-03-03T01:00:00Z"}),
        json!({"dedup_key": "long", "summary": "s", "fired_at": "2026-03-01T01:00:00Z", "worked_until": "2026-03-02T02:00:00Z"}),
        json!({"dedup_key": "ancient", "summary": "s", "fired_at": "0001-01-01T00:00:00Z"}),
        json!({"dedup_key": "backwards", "summary": "s", "fired_at": "2026-03-03T01:00:00Z", "acknowledged_at": "2026-03-03T00:00:00Z"}),
    ];
    for body in cases {
        let (status, res) = team
            .app
            .post_json(&team.hook_token, "/api/v1/teams/platform/pages", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
    }
    let mut ancient: Value = serde_json::from_str(&sample("alertmanager-resolved.json")).unwrap();
    ancient["alerts"][0]["startsAt"] = json!("0001-01-01T00:00:00Z");
    assert_eq!(
        team.hook("alertmanager", &ancient.to_string()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(team.pages().await.is_empty());
    assert!(team.recovery_days().await.is_empty());
    // An incident left open for days is not days awake: one night, not four.
    let (status, _) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "open", "summary": "s", "fired_at": "2026-02-27T02:00:00Z", "resolved_at": "2026-03-03T02:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(team.recovery_days().await.len(), 1);
}

#[tokio::test]
async fn odd_text_is_stored_tidily_not_refused_with_a_500() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let long_key = "k".repeat(5000);
    let (status, body) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "nul", "summary": "disk\u{0}full", "source": "x\u{0}y", "fired_at": "2026-03-03T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["summary"], "diskfull");
    let mut am: Value = serde_json::from_str(&sample("alertmanager-firing.json")).unwrap();
    am["alerts"][0]["fingerprint"] = json!(long_key);
    let (status, body) = team.hook("alertmanager", &am.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(team.hook("alertmanager", &am.to_string()).await.0, StatusCode::OK);
    assert_eq!(team.pages().await.len(), 2);
    // A PagerDuty ping, with no incident, is accepted and ignored.
    let ping = json!({"event": {"id": "1", "event_type": "pagey.ping", "resource_type": "pagey", "occurred_at": "2026-03-03T01:00:00Z", "agent": null, "client": null, "data": {"message": "Hello from your friend Pagey!", "type": "ping"}}});
    let (status, body) = team.hook("pagerduty", &ping.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pages"], json!([]));
}

#[tokio::test]
async fn a_member_cannot_rewrite_a_tools_page_or_pin_pages_on_colleagues() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    team.hook("alertmanager", &sample("alertmanager-resolved.json")).await;
    let tool_page = team.pages().await[0].clone();
    let cy = team.app.token(&rota_user(&team.app, "cy@example.com").await).await;
    let (status, body) = team
        .app
        .post_json(
            &cy,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": tool_page["dedup_key"], "summary": "mine now", "source": "alertmanager", "fired_at": "2026-03-03T02:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["source"], "manual");
    assert_eq!(body["responder_email"], "cy@example.com");
    let pages = team.pages().await;
    let still = pages.iter().find(|p| p["id"] == tool_page["id"]).unwrap();
    assert_eq!(still["summary"], tool_page["summary"]);
    assert_eq!(still["responder_email"], "alex@example.com");
    let (status, _) = team
        .app
        .post_json(
            &cy,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "blame", "summary": "s", "fired_at": "2026-03-03T02:00:00Z", "responder_email": "bo@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = team
        .app
        .post_json(
            &team.manager_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "for-bo", "summary": "s", "fired_at": "2026-03-03T02:00:00Z", "responder_email": "bo@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "a manager may: {body}");
}

#[tokio::test]
async fn a_tools_repeats_neither_undo_a_correction_nor_revive_a_deleted_page() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    team.hook("alertmanager", &sample("alertmanager-resolved.json")).await;
    let page = team.pages().await[0].clone();
    let path = format!("/api/v1/pages/{}", page["id"]);
    let (status, body) = team
        .app
        .patch_json(
            &team.manager_token,
            &path,
            json!({"resolved_at": "2026-03-03T03:30:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    team.hook("alertmanager", &sample("alertmanager-resolved.json")).await;
    assert_eq!(team.pages().await[0]["resolved_at"], "2026-03-03T03:30:00Z");
    let res = api()
        .delete(team.app.url(&path))
        .bearer_auth(&team.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Its day is today, so the grant is kept but flagged.
    let days = team.recovery_days().await;
    assert!(days.iter().all(|d| d["state"] == "flagged"), "{days:?}");
    let (status, _) = team.hook("alertmanager", &sample("alertmanager-firing.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(team.pages().await.is_empty(), "it stays deleted");
    assert!(team.recovery_days().await.iter().all(|d| d["state"] == "flagged"));
}

#[tokio::test]
async fn bodies_naming_the_same_pages_in_any_order_do_not_deadlock() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let mut two: Value = serde_json::from_str(&sample("alertmanager-firing.json")).unwrap();
    let mut second = two["alerts"][0].clone();
    second["fingerprint"] = json!("b7e0c2d1a9f84e33");
    second["startsAt"] = json!("2026-03-03T03:20:00Z");
    two["alerts"].as_array_mut().unwrap().push(second.clone());
    let mut reversed = two.clone();
    reversed["alerts"].as_array_mut().unwrap().reverse();
    let mut only_second = two.clone();
    only_second["alerts"] = json!([second]);
    let bodies = [two.to_string(), reversed.to_string(), only_second.to_string()];
    let requests = (0..9).map(|i| team.hook("alertmanager", &bodies[i % 3]));
    for (status, body) in futures_join(requests).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(team.pages().await.len(), 2);
    assert_eq!(team.recovery_days().await.len(), 1);
}

#[tokio::test]
async fn a_holiday_declared_later_moves_a_coming_recovery_day_and_keeps_its_form() {
    let team = team_with_alex("Europe/London", "2026-03-07T16:00:00Z").await;
    team.hook("grafana", &grafana_resolved_at("2026-03-07T15:35:00Z")).await;
    let day = team.recovery_days().await[0].clone();
    assert_eq!(day["date"], "2026-03-09");
    let bo = team.app.token(&rota_user(&team.app, "bo@example.com").await).await;
    let (status, _) = team
        .app
        .patch_json(
            &bo,
            &format!("/api/v1/recovery-days/{}", day["id"]),
            json!({"form": "home"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = team
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.manager_token,
            "/api/v1/teams/platform/holidays/2026-03-09",
            json!({"name": "Snow day"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let days = team.recovery_days().await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-03-10");
    assert_eq!(days[0]["form"], "home");
}

#[tokio::test]
async fn bad_bodies_are_refused_on_every_page_endpoint() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    for path in [
        "/api/v1/hooks/grafana",
        "/api/v1/hooks/pagerduty",
        "/api/v1/teams/platform/pages",
    ] {
        let send = |content_type: &'static str, body: Vec<u8>| {
            api()
                .post(team.app.url(path))
                .bearer_auth(&team.hook_token)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        assert_eq!(
            send("application/json", b"{".to_vec()).await.unwrap().status(),
            StatusCode::BAD_REQUEST,
            "{path}"
        );
        assert_eq!(
            send("application/json", vec![b'"', 0xff, b'"']).await.unwrap().status(),
            StatusCode::BAD_REQUEST,
            "{path}"
        );
        assert_eq!(
            send("application/json", vec![b' '; 10 * 1024 * 1024])
                .await
                .unwrap()
                .status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}"
        );
        assert_eq!(
            send("text/plain", b"{}".to_vec()).await.unwrap().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{path}"
        );
    }
    let pages: i64 = sqlx::query_scalar("SELECT count(*) FROM pages")
        .fetch_one(&team.app.db)
        .await
        .unwrap();
    assert_eq!(pages, 0);
}

#[tokio::test]
async fn slas_are_met_missed_or_unacknowledged_by_role() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let cases = [("met", "2026-03-03T01:04:00Z"), ("missed", "2026-03-03T01:06:00Z")];
    for (key, ack) in cases {
        let (_, body) = team
            .app
            .post_json(
                &team.hook_token,
                "/api/v1/teams/platform/pages",
                json!({"dedup_key": key, "summary": "s", "fired_at": "2026-03-03T01:00:00Z", "acknowledged_at": ack}),
            )
            .await;
        assert_eq!(body["sla"], key, "{body}");
        assert_eq!(body["role"], "primary");
    }
    let (_, body) = team
        .app
        .post_json(
            &team.hook_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "none", "summary": "s", "fired_at": "2026-03-03T01:00:00Z"}),
        )
        .await;
    assert_eq!(body["sla"], "unacknowledged");
}
