//! Pages and recovery days through the HTML pages: logging a page by hand,
//! choosing how to take a recovery day, holidays from an uploaded `.ics`
//! file, and integration tokens made in the team settings.

use reqwest::{Client, StatusCode};
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{Fixture, api, csrf_of, fixture, t};

/// A Europe/London team whose primary from Tuesday 24 February 2026 is
/// Person 0; the clock stands on Tuesday 3 March 2026, 10:00.
async fn platform() -> Fixture {
    fixture(t("2026-03-03T10:00:00Z"), "Europe/London", "2026-02-24", 3).await
}

async fn html(client: &Client, url: String) -> (StatusCode, String) {
    let res = client.get(url).send().await.expect("request");
    (res.status(), res.text().await.expect("body"))
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().expect("location").to_owned()
}

async fn recovery_days(f: &Fixture) -> Vec<Value> {
    let (status, list) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/recovery-days?from=2026-01-01&to=2026-12-01",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("a list").clone()
}

/// Logs the night page of 3 March (03:10 to 05:00 London) through the form.
async fn log_night_page(f: &Fixture, web: &Client) -> String {
    let (_, page) = html(web, f.app.url("/teams/platform/pages")).await;
    let res = web
        .post(f.app.url("/teams/platform/pages"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("summary", "Disk full on db-1"),
            ("fired_date", "2026-03-03"),
            ("fired_time", "03:10"),
            ("acknowledged_time", "03:12"),
            ("worked_until_time", "05:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/teams/platform/pages/"), "{to}");
    to
}

#[tokio::test]
async fn a_page_logged_by_hand_grants_a_recovery_day_the_person_can_take_as_a_late_start() {
    let f = platform().await;
    let web = f.app.sign_in("p0@example.com").await;
    let (status, empty) = html(&web, f.app.url("/teams/platform/pages")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No pages from 2026-02-04 to 2026-03-03"), "{empty}");
    assert!(empty.contains("log a page by hand"), "{empty}");

    let view = log_night_page(&f, &web).await;
    let (_, shown) = html(&web, f.app.url(&view)).await;
    assert!(shown.contains("Page logged"), "{shown}");
    assert!(shown.contains("Tue 3 Mar 2026 03:10 GMT"), "{shown}");
    assert!(
        shown.contains(r#"<span class="role-primary">primary</span>"#),
        "{shown}"
    );
    assert!(shown.contains("Correct the times"), "the responder may correct it");

    let (_, list) = html(&web, f.app.url("/teams/platform/pages?out_of_hours=on")).await;
    assert!(list.contains("Disk full on db-1"), "{list}");
    assert!(list.contains(r#"<span class="ooh ooh-sleep">sleep</span>"#), "{list}");
    assert!(list.contains("108 min"), "engaged from 03:12 to 05:00: {list}");

    let (_, now) = html(&web, f.app.url("/")).await;
    assert!(now.contains("Recovery day: Tuesday 3 March — day off"), "{now}");
    let (_, rota) = html(&web, f.app.url("/teams/platform")).await;
    assert!(rota.contains("Recovery: Person 0 (Tue 3 Mar)"), "{rota}");

    let days = recovery_days(&f).await;
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0]["email"], "p0@example.com");
    assert_eq!(days[0]["date"], "2026-03-03");
    let id = days[0]["id"].as_i64().unwrap();
    let res = web
        .post(f.app.url(&format!("/recovery-days/{id}")))
        .form(&[("csrf", csrf_of(&now).as_str()), ("form", "late_start")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let days = recovery_days(&f).await;
    assert_eq!(days[0]["form"], "late_start");
    assert_eq!(days[0]["worked_anyway"], false);
    let (_, now) = html(&web, f.app.url("/")).await;
    assert!(now.contains("Recovery day: Tuesday 3 March — late start"), "{now}");
    let res = web
        .post(f.app.url(&format!("/recovery-days/{id}")))
        .form(&[
            ("csrf", csrf_of(&now).as_str()),
            ("form", "late_start"),
            ("worked_anyway", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(recovery_days(&f).await[0]["worked_anyway"], true);
}

#[tokio::test]
async fn managers_see_their_members_recovery_days_but_cannot_choose_for_them() {
    let f = platform().await;
    let (status, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "night-1", "summary": "Queue backed up", "fired_at": "2026-03-03T03:10:00Z",
                   "worked_until": "2026-03-03T05:00:00Z", "responder_email": "p0@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let web = f.app.sign_in("manager@example.com").await;
    let (_, now) = html(&web, f.app.url("/")).await;
    assert!(now.contains("Person 0, Tue 3 Mar (day off)"), "{now}");
    assert!(!now.contains("Your recovery days"), "the manager has none of their own");

    let id = recovery_days(&f).await[0]["id"].as_i64().unwrap();
    let res = web
        .post(f.app.url(&format!("/recovery-days/{id}")))
        .form(&[("csrf", csrf_of(&now).as_str()), ("form", "home")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(recovery_days(&f).await[0]["form"], "day_off");
}

#[tokio::test]
async fn the_responder_corrects_a_page_out_of_sleep_hours_and_other_members_may_not() {
    let f = platform().await;
    let web = f.app.sign_in("p0@example.com").await;
    let view = log_night_page(&f, &web).await;
    let other = f.app.sign_in("p1@example.com").await;
    let (_, seen) = html(&other, f.app.url(&view)).await;
    assert!(seen.contains("Disk full on db-1"), "members see the page");
    assert!(!seen.contains("Correct the times"), "but not its correction form");
    let times = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("fired_at", "2026-03-03T08:30".to_owned()),
            ("acknowledged_at", "2026-03-03T08:32".to_owned()),
            ("resolved_at", String::new()),
            ("worked_until", "2026-03-03T09:30".to_owned()),
        ]
    };
    let res = other
        .post(f.app.url(&view))
        .form(&times(&csrf_of(&seen)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (_, mine) = html(&web, f.app.url(&view)).await;
    let mut backwards = times(&csrf_of(&mine));
    backwards[4].1 = "2026-03-03T08:10".into();
    let res = web.post(f.app.url(&view)).form(&backwards).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = res.text().await.unwrap();
    assert!(refused.contains("before fired_at"), "{refused}");
    assert!(refused.contains("2026-03-03T08:10"), "what was typed is kept");

    let res = web
        .post(f.app.url(&view))
        .form(&times(&csrf_of(&mine)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = html(&web, f.app.url("/teams/platform/pages")).await;
    assert!(
        list.contains(r#"<span class="ooh ooh-working">working hours</span>"#),
        "{list}"
    );
    let days = recovery_days(&f).await;
    assert_eq!(days[0]["state"], "flagged", "today's grant is kept, flagged: {days:?}");
}

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
    BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260406\r\nDTEND;VALUE=DATE:20260407\r\nSUMMARY:Easter Monday\r\nEND:VEVENT\r\n\
    BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20260504\r\nDTEND;VALUE=DATE:20260505\r\nSUMMARY:Early May bank holiday\r\nEND:VEVENT\r\n\
    END:VCALENDAR\r\n";

/// A `multipart/form-data` body as a browser sends the upload form.
fn upload(csrf: Option<&str>, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "rota-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"holidays.ics\"\r\n\
             Content-Type: text/calendar\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn an_ics_upload_adds_holidays_and_anything_else_changes_nothing() {
    let f = platform().await;
    let web = f.app.sign_in("manager@example.com").await;
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    let csrf = csrf_of(&settings);
    let holidays = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM holidays")
            .fetch_one(&f.app.db)
            .await
            .unwrap()
    };
    let send = |csrf: Option<&str>, file: &[u8]| {
        let (content_type, body) = upload(csrf, file);
        web.post(f.app.url("/teams/platform/holidays/import"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let res = send(None, ICS.as_bytes()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF field");
    assert_eq!(holidays().await, 0);

    let res = send(Some(&csrf), b"date,name\n2026-04-06,Easter Monday\n")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("not a valid iCalendar"), "{page}");
    let res = send(Some(&csrf), &[0xff, 0xfe, 0x00, 0x42]).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("not text in UTF-8"));
    let huge = ICS.repeat(1024 * 1024 / ICS.len() + 1);
    let res = send(Some(&csrf), huge.as_bytes()).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("1 MiB"));
    assert_eq!(holidays().await, 0);

    let res = send(Some(&csrf), ICS.as_bytes()).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(holidays().await, 2);
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    assert!(settings.contains("Imported 2 holiday dates"), "{settings}");
    assert!(settings.contains("Mon 6 Apr 2026"), "{settings}");
    assert!(settings.contains("Early May bank holiday"), "{settings}");
}

#[tokio::test]
async fn members_of_another_team_cannot_see_its_pages() {
    let f = platform().await;
    let web = f.app.sign_in("p0@example.com").await;
    let view = log_night_page(&f, &web).await;
    let id = view.rsplit('/').next().unwrap().to_owned();
    let other = f.app.team("other", "Europe/London").await;
    let outsider = f.app.user("out@example.com", "Outsider", "Europe/London", false).await;
    f.app.add(&other, &outsider, TeamRole::Manager).await;
    let web = f.app.sign_in("out@example.com").await;
    for path in [
        "/teams/platform/pages".to_owned(),
        view.clone(),
        format!("/teams/other/pages/{id}"),
    ] {
        let (status, body) = html(&web, f.app.url(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains("Disk full"), "{path}");
    }
    let (status, _) = html(&web, f.app.url("/teams/other/pages")).await;
    assert_eq!(status, StatusCode::OK, "their own team's pages");
}

#[tokio::test]
async fn an_integration_token_made_in_the_settings_page_reports_alertmanager_pages() {
    let f = platform().await;
    let web = f.app.sign_in("manager@example.com").await;
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/alerting")).await;
    assert!(
        settings.contains(&format!("{}/api/v1/hooks/alertmanager", f.app.base_url)),
        "{settings}"
    );
    let res = web
        .post(f.app.url("/teams/platform/integrations"))
        .form(&[
            ("csrf", csrf_of(&settings).as_str()),
            ("label", "alertmanager"),
            ("rotation", "weekly"),
            ("signing_secret", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let shown = res.text().await.unwrap();
    let start = shown.find("rota_int_").expect("the token is shown once");
    let token = shown[start..].split('<').next().unwrap().to_owned();

    let sample = std::fs::read_to_string(format!(
        "{}/tests/fixtures/samples/alertmanager-firing.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let hook = |token: String| {
        api()
            .post(f.app.url("/api/v1/hooks/alertmanager"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(sample.clone())
            .send()
    };
    let res = hook(token.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let (_, list) = html(&web, f.app.url("/teams/platform/pages")).await;
    assert!(list.contains("Person 0"), "{list}");
    assert!(list.contains("alertmanager"), "{list}");

    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/alerting")).await;
    assert!(!settings.contains(&token), "shown only once");
    let id: i64 = sqlx::query_scalar("SELECT id FROM integration_tokens")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    let res = web
        .post(f.app.url(&format!("/teams/platform/integrations/{id}/revoke")))
        .form(&[("csrf", csrf_of(&settings).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(hook(token).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn managers_set_the_out_of_hours_policy_and_holidays_by_hand() {
    let f = platform().await;
    let web = f.app.sign_in("manager@example.com").await;
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    let csrf = csrf_of(&settings);
    let policy = |start: &str, minutes: &str| {
        web.post(f.app.url("/teams/platform/policy"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("sleep_start", start),
                ("sleep_end", "07:00"),
                ("day_threshold_minutes", minutes),
            ])
            .send()
    };
    let res = policy("25:00", "90").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("is not a time of day"));
    let res = policy("23:00", "ninety").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(policy("23:00", "90").await.unwrap().status(), StatusCode::SEE_OTHER);
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    assert!(
        settings.contains(r#"name="sleep_start" type="time" required value="23:00""#),
        "{settings}"
    );
    assert!(settings.contains(r#"value="90""#), "{settings}");

    let holiday = |path: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        web.post(f.app.url(path)).form(&form).send()
    };
    let add = [("date", "2026-04-06"), ("name", "Easter Monday")];
    assert_eq!(
        holiday("/teams/platform/holidays", &add).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    assert!(
        settings.contains("Easter Monday on Mon 6 Apr 2026 is a holiday"),
        "{settings}"
    );
    let remove = [("date", "2026-04-06")];
    assert_eq!(
        holiday("/teams/platform/holidays/remove", &remove)
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let res = holiday("/teams/platform/holidays/remove", &remove).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("is not a holiday of platform"));

    let member = f.app.sign_in("p0@example.com").await;
    let (_, now) = html(&member, f.app.url("/")).await;
    let res = member
        .post(f.app.url("/teams/platform/holidays"))
        .form(&[
            ("csrf", csrf_of(&now).as_str()),
            ("date", "2026-04-06"),
            ("name", "Mine"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_out_of_hours_policy_change_is_audited_once_and_reads_in_the_history() {
    let f = platform().await;
    let web = f.app.sign_in("manager@example.com").await;
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/out-of-hours")).await;
    let csrf = csrf_of(&settings);
    let save = |start: &str| {
        web.post(f.app.url("/teams/platform/policy"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("sleep_start", start),
                ("sleep_end", "07:00"),
                ("day_threshold_minutes", "90"),
            ])
            .send()
    };
    assert_eq!(save("23:00").await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(
        save("23:00").await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "saved again, unchanged"
    );
    assert_eq!(save("25:00").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);

    let audited = f.app.audited("policy.change").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    let entry = &audited[0];
    assert_eq!((entry.team_id, entry.actor_id), (Some(f.team.id), Some(f.manager.id)));
    assert_eq!(
        entry.before,
        Some(json!({"sleep_start": "22:00", "sleep_end": "08:00", "day_threshold_minutes": 60}))
    );
    assert_eq!(
        entry.after,
        Some(json!({"sleep_start": "23:00", "sleep_end": "07:00", "day_threshold_minutes": 90}))
    );
    let (_, history) = html(&web, f.app.url("/teams/platform/history")).await;
    assert!(
        history.contains(
            "Mona Manager changed the out-of-hours policy: sleep hours 22:00–08:00 → 23:00–07:00; \
             weekend and holiday threshold 60 → 90 min."
        ),
        "{history}"
    );
}

#[tokio::test]
async fn revoking_an_integration_token_is_audited_once_by_its_label() {
    let f = platform().await;
    let (status, created) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "grafana"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let web = f.app.sign_in("manager@example.com").await;
    let (_, settings) = html(&web, f.app.url("/teams/platform/settings/alerting")).await;
    let revoke = || {
        web.post(
            f.app
                .url(&format!("/teams/platform/integrations/{}/revoke", created["id"])),
        )
        .form(&[("csrf", csrf_of(&settings))])
        .send()
    };
    assert_eq!(revoke().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(
        revoke().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "already revoked"
    );

    let audited = f.app.audited("integration.revoke").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    let entry = &audited[0];
    assert_eq!((entry.team_id, entry.actor_id), (Some(f.team.id), Some(f.manager.id)));
    assert_eq!(entry.after, Some(json!({"id": created["id"], "label": "grafana"})));
    assert!(!format!("{audited:?}").contains(&token), "no token in the log");
    let (_, history) = html(&web, f.app.url("/teams/platform/history")).await;
    assert!(
        history.contains("Mona Manager revoked the integration token “grafana”"),
        "{history}"
    );
}

#[tokio::test]
async fn the_api_audits_policy_changes_and_token_revokes_as_the_pages_do() {
    let f = platform().await;
    let (status, body) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/policy",
            json!({"sleep_start": "23:30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/policy",
            json!({"sleep_start": "23:30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "unchanged");
    let audited = f.app.audited("policy.change").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(
        (audited[0].team_id, audited[0].actor_id),
        (Some(f.team.id), Some(f.manager.id))
    );

    let (_, created) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "grafana"}),
        )
        .await;
    let path = format!("/api/v1/teams/platform/integration-tokens/{}", created["id"]);
    let (status, _) = f
        .app
        .send_json(reqwest::Method::DELETE, &f.manager_token, &path, json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = f
        .app
        .send_json(reqwest::Method::DELETE, &f.manager_token, &path, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let audited = f.app.audited("integration.revoke").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].after, Some(json!({"id": created["id"], "label": "grafana"})));
}
