//! Team settings in sections: the overview and each section's own page,
//! the confirmation pages before removing a member, revoking a token and
//! deleting a page, the time-zone inputs and the participant picker.

use reqwest::{Client, StatusCode};
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{Fixture, csrf_of, fixture, t};

const SECTIONS: [(&str, &str); 5] = [
    ("/teams/platform/settings/members", "Members"),
    ("/teams/platform/settings/rotations", "Rotations"),
    ("/teams/platform/settings/alerting", "Alerting"),
    ("/teams/platform/settings/out-of-hours", "Out of hours and holidays"),
    ("/teams/platform/settings/integrations", "Integrations"),
];

async fn platform() -> Fixture {
    fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await
}

async fn get(client: &Client, f: &Fixture, path: &str) -> (StatusCode, String) {
    let res = client.get(f.app.url(path)).send().await.expect("get");
    (res.status(), res.text().await.expect("body"))
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().expect("location").to_owned()
}

async fn team_emails(f: &Fixture) -> String {
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    team.to_string()
}

async fn rotation_count(f: &Fixture) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM rotations")
        .fetch_one(&f.app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn each_settings_section_has_its_own_page_for_managers_only() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    let (status, overview) = get(&manager, &f, "/teams/platform/settings").await;
    assert_eq!(status, StatusCode::OK);
    for (path, title) in SECTIONS {
        assert!(
            overview.contains(&format!(r#"<h2><a href="{path}">{title}</a></h2>"#)),
            "the overview links to {path}: {overview}"
        );
        let (status, html) = get(&manager, &f, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains(&format!(r#"<a href="{path}" aria-current="page">{title}</a>"#)),
            "{path} marks itself in the section navigation: {html}"
        );
        for (other, _) in SECTIONS.iter().filter(|(p, _)| *p != path) {
            assert!(
                html.contains(&format!(r#"<a href="{other}">"#)),
                "{path} links to {other}"
            );
        }
    }
    assert!(overview.len() < SECTIONS.len() * 3000, "the overview stays short");

    let member = f.app.sign_in("p0@example.com").await;
    let outsider_team = f.app.team("payments", "UTC").await;
    let outsider = f.app.user("out@example.com", "Otto Outsider", "UTC", false).await;
    f.app.add(&outsider_team, &outsider, TeamRole::Manager).await;
    let outsider = f.app.sign_in("out@example.com").await;
    for (path, _) in SECTIONS {
        assert_eq!(get(&member, &f, path).await.0, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(get(&outsider, &f, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn removing_a_member_shows_what_happens_and_only_the_confirmed_post_removes() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    let (_, members) = get(&manager, &f, "/teams/platform/settings/members").await;
    let confirm = "/teams/platform/members/remove?email=p2%40example.com";
    assert!(members.contains(&format!(r#"href="{confirm}""#)), "{members}");
    assert!(
        !members.contains(r#"action="/teams/platform/members/remove""#),
        "no one-click removal: {members}"
    );

    let (status, page) = get(&manager, &f, confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Remove Person 2 from platform?"), "{page}");
    assert!(
        page.contains("They leave the rotation Weekly from the next handoff"),
        "{page}"
    );
    assert!(page.contains("The team calendar link is reset"), "{page}");
    assert!(
        page.contains(r#"href="/teams/platform/settings/members">Cancel</a>"#),
        "{page}"
    );
    assert!(
        team_emails(&f).await.contains("p2@example.com"),
        "looking changed nothing"
    );

    let res = manager
        .post(f.app.url("/teams/platform/members/remove"))
        .form(&[("email", "p2@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the POST needs the CSRF token");
    assert!(team_emails(&f).await.contains("p2@example.com"));

    let res = manager
        .post(f.app.url("/teams/platform/members/remove"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("email", "p2@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/teams/platform/settings/members");
    assert!(!team_emails(&f).await.contains("p2@example.com"));
    let (_, members) = get(&manager, &f, "/teams/platform/settings/members").await;
    assert!(members.contains("Person 2 was removed from platform"), "{members}");

    let (status, _) = get(&manager, &f, "/teams/platform/members/remove?email=p2%40example.com").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer a member");
}

#[tokio::test]
async fn the_removal_page_warns_when_the_member_is_on_call_now() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    // The week from Tue 24 Nov: Person 0 is primary.
    let (_, page) = get(&manager, &f, "/teams/platform/members/remove?email=p0%40example.com").await;
    assert!(
        page.contains("Person 0 is on call now (Weekly primary, until"),
        "{page}"
    );
    assert!(page.contains("removing them is refused"), "{page}");
}

#[tokio::test]
async fn revoking_an_integration_token_asks_first() {
    let f = platform().await;
    let (_, created) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "grafana"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let live = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM integration_tokens WHERE revoked_at IS NULL")
            .fetch_one(&f.app.db)
            .await
            .unwrap()
    };
    let manager = f.app.sign_in("manager@example.com").await;
    let (_, alerting) = get(&manager, &f, "/teams/platform/settings/alerting").await;
    let confirm = format!("/teams/platform/integrations/{id}/revoke");
    assert!(alerting.contains(&format!(r#"href="{confirm}""#)), "{alerting}");

    let (status, page) = get(&manager, &f, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Revoke the integration token “grafana”?"), "{page}");
    assert!(page.contains("no longer reach Rota"), "{page}");
    assert_eq!(live().await, 1, "looking changed nothing");

    let res = manager.post(f.app.url(&confirm)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(live().await, 1);
    let res = manager
        .post(f.app.url(&confirm))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/teams/platform/settings/alerting");
    assert_eq!(live().await, 0);
}

#[tokio::test]
async fn revoking_a_personal_api_token_asks_first() {
    let f = platform().await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE user_id = $1")
        .bind(f.manager.id)
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    let manager = f.app.sign_in("manager@example.com").await;
    let confirm = format!("/profile/tokens/{id}/revoke");
    let (_, profile) = get(&manager, &f, "/profile").await;
    assert!(profile.contains(&format!(r#"href="{confirm}""#)), "{profile}");
    let (status, page) = get(&manager, &f, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Scripts and tools using it are answered 401"), "{page}");
    assert_eq!(f.app.get_json(&f.manager_token, "/api/v1/me").await.0, StatusCode::OK);
    let res = manager
        .post(f.app.url(&confirm))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        f.app.get_json(&f.manager_token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn deleting_a_page_asks_first() {
    let f = platform().await;
    let web = f.app.sign_in("p0@example.com").await;
    let (_, pages) = get(&web, &f, "/teams/platform/pages").await;
    let res = web
        .post(f.app.url("/teams/platform/pages"))
        .form(&[
            ("csrf", csrf_of(&pages).as_str()),
            ("summary", "Disk full on db-1"),
            ("fired_date", "2026-11-26"),
            ("fired_time", "03:10"),
            ("acknowledged_time", "03:12"),
            ("worked_until_time", "05:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let view = location(&res);
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pages WHERE deleted_at IS NULL")
            .fetch_one(&f.app.db)
            .await
            .unwrap()
    };
    let (_, shown) = get(&web, &f, &view).await;
    let confirm = format!("{view}/delete");
    assert!(shown.contains(&format!(r#"href="{confirm}""#)), "{shown}");
    assert!(
        !shown.contains(&format!(r#"action="{confirm}""#)),
        "no one-click delete"
    );

    let (status, page) = get(&web, &f, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Delete the page “Disk full on db-1”?"), "{page}");
    assert!(
        page.contains("Person 0&#39;s recovery days are worked out again"),
        "{page}"
    );
    assert!(page.contains(&format!(r#"href="{view}">Cancel</a>"#)), "{page}");
    assert_eq!(count().await, 1, "looking changed nothing");

    let other = f.app.sign_in("p1@example.com").await;
    assert_eq!(
        get(&other, &f, &confirm).await.0,
        StatusCode::FORBIDDEN,
        "not theirs to delete"
    );
    let res = web.post(f.app.url(&confirm)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = web
        .post(f.app.url(&confirm))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(count().await, 0);
}

/// The new-rotation form, as the rotations section would post it.
fn rotation_form<'a>(csrf: &'a str, timezone: &'a str, picked: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("slug", "follow"),
        ("name", "Follow"),
        ("timezone", timezone),
        ("handoff_weekday", "monday"),
        ("handoff_time", "09:00"),
        ("start_date", "2026-11-30"),
        ("primary_sla", "5"),
        ("secondary_sla", "30"),
    ];
    form.extend(picked.iter().map(|p| ("participant", *p)));
    form
}

#[tokio::test]
async fn time_zones_are_picked_from_a_list_and_an_unknown_one_is_refused() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    let (_, rotations) = get(&manager, &f, "/teams/platform/settings/rotations").await;
    assert!(
        rotations.contains(r#"name="timezone" required value="Europe/London" list="zones""#),
        "{rotations}"
    );
    assert!(
        rotations.contains(r#"<option value="America/New_York">"#),
        "{rotations}"
    );
    assert_eq!(rotations.matches(r#"<datalist id="zones">"#).count(), 1);

    let csrf = csrf_of(&rotations);
    let form = rotation_form(&csrf, "Mars/Olympus_Mons", &["p0@example.com", "p1@example.com"]);
    let res = manager
        .post(f.app.url("/teams/platform/rotations"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&#34;Mars/Olympus_Mons&#34; is not a time zone we know"),
        "{html}"
    );
    assert!(html.contains(r#"value="Mars/Olympus_Mons""#), "what was typed is kept");
    assert_eq!(rotation_count(&f).await, 1, "nothing stored");

    let admin = f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let web = f.app.sign_in(&admin.email).await;
    let (_, page) = get(&web, &f, "/admin").await;
    assert!(page.contains(r#"id="team-tz" name="timezone" required value="Europe/London" list="zones""#));
    let res = web
        .post(f.app.url("/admin/teams"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("slug", "mars"),
            ("name", "Mars"),
            ("timezone", "Mars/Olympus_Mons"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("is not a time zone we know"));
    let teams: i64 = sqlx::query_scalar("SELECT count(*) FROM teams WHERE slug = 'mars'")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    assert_eq!(teams, 0);
}

async fn participants(f: &Fixture, slug: &str) -> Value {
    let (_, rotation) = f
        .app
        .get_json(&f.manager_token, &format!("/api/v1/teams/platform/rotations/{slug}"))
        .await;
    rotation["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["email"].clone())
        .collect()
}

#[tokio::test]
async fn the_participant_picker_makes_a_rotation_in_the_chosen_order() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    let (_, rotations) = get(&manager, &f, "/teams/platform/settings/rotations").await;
    assert!(
        rotations.contains(r#"<label for="participant-1">Position 1</label>"#),
        "{rotations}"
    );
    assert!(
        rotations.contains(r#"<option value="p2@example.com">Person 2</option>"#),
        "{rotations}"
    );

    let csrf = csrf_of(&rotations);
    let form = rotation_form(&csrf, "Europe/Berlin", &["p2@example.com", "", "p0@example.com", ""]);
    let res = manager
        .post(f.app.url("/teams/platform/rotations"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/teams/platform/settings/rotations");
    assert_eq!(
        participants(&f, "follow").await,
        json!(["p2@example.com", "p0@example.com"])
    );

    // The edit page shows that order, then spare positions.
    let (_, edit) = get(&manager, &f, "/teams/platform/rotations/follow").await;
    let first = edit.split(r#"id="participant-1""#).nth(1).unwrap();
    let first = first.split("</select>").next().unwrap();
    assert!(first.contains(r#"<option value="p2@example.com" selected>"#), "{first}");
    let fourth = edit.split(r#"id="participant-4""#).nth(1).expect("two spare positions");
    assert!(!fourth.split("</select>").next().unwrap().contains("selected"));
    assert!(
        edit.contains(r#"<a href="/teams/platform/settings/rotations" aria-current="page">Rotations</a>"#),
        "{edit}"
    );
}

#[tokio::test]
async fn a_participant_picked_twice_or_from_outside_the_team_is_refused_and_nothing_is_stored() {
    let f = platform().await;
    let manager = f.app.sign_in("manager@example.com").await;
    let (_, rotations) = get(&manager, &f, "/teams/platform/settings/rotations").await;
    let csrf = csrf_of(&rotations);
    let send = |picked: &[&str]| {
        let form: Vec<(String, String)> = rotation_form(&csrf, "Europe/London", picked)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        manager.post(f.app.url("/teams/platform/rotations")).form(&form).send()
    };
    let res = send(&["p0@example.com", "p1@example.com", "p0@example.com"])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Person 0 is picked twice (positions 1 and 3); pick each person once"),
        "{html}"
    );
    let third = html.split(r#"id="participant-3""#).nth(1).unwrap();
    assert!(
        third
            .split("</select>")
            .next()
            .unwrap()
            .contains(r#"value="p0@example.com" selected"#),
        "what was picked is kept"
    );
    let res = send(&["p0@example.com", "stranger@example.com"]).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Position 2: stranger@example.com is not a member of platform")
    );
    assert_eq!(rotation_count(&f).await, 1, "nothing stored");

    // The old field still works for scripts.
    let res = manager
        .post(f.app.url("/teams/platform/rotations"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("slug", "typed"),
            ("name", "Typed"),
            ("timezone", "Europe/London"),
            ("handoff_weekday", "tuesday"),
            ("handoff_time", "10:00"),
            ("start_date", "2026-12-01"),
            ("participants", "p1@example.com\np0@example.com"),
            ("primary_sla", "5"),
            ("secondary_sla", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        participants(&f, "typed").await,
        json!(["p1@example.com", "p0@example.com"])
    );
}
