use reqwest::StatusCode;
use serde_json::json;

use crate::common::{api, fixture, t};

fn parse(feed: &str) -> ical::parser::ical::component::IcalCalendar {
    let mut parser = ical::IcalParser::new(feed.as_bytes());
    let cal = parser.next().expect("one calendar").expect("valid iCalendar");
    assert!(parser.next().is_none());
    cal
}

fn prop<'a>(e: &'a ical::parser::ical::component::IcalEvent, name: &str) -> Option<&'a str> {
    e.properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

#[tokio::test]
async fn feeds_are_valid_icalendar_with_stable_uids_and_can_be_revoked() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    let url = team["calendar_url"].as_str().unwrap().to_owned();
    let res = api().get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let feed = res.text().await.unwrap();
    assert!(feed.contains("\r\n"), "lines end in CRLF");
    let cal = parse(&feed);
    assert!(cal.events.len() > 50);
    let mut uids = std::collections::HashSet::new();
    for e in &cal.events {
        for required in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"] {
            assert!(prop(e, required).is_some(), "{required} missing");
        }
        assert!(prop(e, "DTSTART").unwrap().ends_with('Z'), "times in UTC");
        assert!(uids.insert(prop(e, "UID").unwrap().to_owned()), "UIDs are unique");
    }
    // A settings change keeps the UIDs of weeks that did not move.
    let (status, _) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/rotations/weekly",
            json!({"primary_sla_minutes": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let again = parse(&api().get(&url).send().await.unwrap().text().await.unwrap());
    let uids_again: std::collections::HashSet<String> = again
        .events
        .iter()
        .map(|e| prop(e, "UID").unwrap().to_owned())
        .collect();
    assert_eq!(uids, uids_again);

    // Resetting the link makes the old one stop working.
    let web = f.app.sign_in("manager@example.com").await;
    let page = web
        .get(f.app.url("/teams/platform/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::common::csrf_of(&page);
    web.post(f.app.url("/teams/platform/calendar/reset"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(api().get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn now_page_api_and_feed_name_the_same_people_at_the_same_instant() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-09-01", 4).await;
    let member = &f.members[1];
    let token = f.app.token(member).await;
    let (_, oncall) = f
        .app
        .get_json(
            &token,
            &format!("/api/v1/teams/platform/oncall?at={}", "2026-11-26T12:00:00Z"),
        )
        .await;
    let primary = oncall["rotations"][0]["primary"]["name"].as_str().unwrap().to_owned();
    let secondary = oncall["rotations"][0]["secondary"]["name"].as_str().unwrap().to_owned();
    assert_ne!(primary, secondary);

    let web = f.app.sign_in(&member.email).await;
    let html = web.get(f.app.url("/")).send().await.unwrap().text().await.unwrap();
    let primary_block = html
        .split("Primary</dt>")
        .nth(1)
        .unwrap()
        .split("</dd>")
        .next()
        .unwrap();
    let secondary_block = html
        .split("Secondary</dt>")
        .nth(1)
        .unwrap()
        .split("</dd>")
        .next()
        .unwrap();
    assert!(primary_block.contains(&primary), "{primary_block}");
    assert!(secondary_block.contains(&secondary), "{secondary_block}");

    let (_, team) = f.app.get_json(&token, "/api/v1/teams/platform").await;
    let feed = parse(
        &api()
            .get(team["calendar_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let at = "20261126T120000Z";
    let current: Vec<&str> = feed
        .events
        .iter()
        .filter(|e| prop(e, "DTSTART").unwrap() <= at && at < prop(e, "DTEND").unwrap())
        .map(|e| prop(e, "SUMMARY").unwrap())
        .collect();
    assert_eq!(current.len(), 2, "{current:?}");
    assert!(
        current
            .iter()
            .any(|s| s.starts_with("Primary") && s.ends_with(&primary)),
        "{current:?}"
    );
    assert!(
        current
            .iter()
            .any(|s| s.starts_with("Secondary") && s.ends_with(&secondary)),
        "{current:?}"
    );
}

#[tokio::test]
async fn resetting_a_calendar_link_is_audited_once_without_the_secret() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let web = f.app.sign_in("manager@example.com").await;
    let post = |page: &'static str, action: &'static str| {
        let web = web.clone();
        let app = &f.app;
        async move {
            let html = web.get(app.url(page)).send().await.unwrap().text().await.unwrap();
            let csrf = crate::common::csrf_of(&html);
            web.post(app.url(action)).form(&[("csrf", csrf)]).send().await.unwrap()
        }
    };
    let res = post("/teams/platform/settings", "/teams/platform/calendar/reset").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post("/profile", "/profile/calendar/reset").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let team = f.app.audited("calendar.reset").await;
    assert_eq!(team.len(), 1, "{team:?}");
    assert_eq!(
        (team[0].team_id, team[0].actor_id),
        (Some(f.team.id), Some(f.manager.id))
    );
    assert_eq!(
        (&team[0].before, &team[0].after),
        (&None, &None),
        "no secret in the log"
    );
    let mine = f.app.audited("profile.calendar_reset").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0].team_id, mine[0].actor_id), (None, Some(f.manager.id)));
    assert_eq!(
        (&mine[0].before, &mine[0].after),
        (&None, &None),
        "no secret in the log"
    );

    let history = web
        .get(f.app.url("/teams/platform/history"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("Team calendar link reset"), "{history}");
}
