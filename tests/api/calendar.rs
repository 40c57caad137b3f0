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
    assert!(
        history.contains("Mona Manager reset the team")
            && history.contains("calendar link: the old link no longer works."),
        "{history}"
    );
}

/// Checks the MUSTs of RFC 5545 a feed of events is held to, and Google's
/// rule for all-day events; panics naming the first one broken.
fn assert_rfc5545(feed: &str) {
    assert!(feed.ends_with("\r\n"), "the last line ends in CRLF");
    let raw: Vec<&str> = feed.split("\r\n").collect();
    let raw = &raw[..raw.len() - 1];
    for line in raw {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "a bare LF or CR: {line:?}"
        );
        assert!(line.len() <= 75, "3.1: a line longer than 75 octets: {line:?}");
    }
    // 3.1: unfold (a line starting with a space or tab continues the last).
    let mut lines: Vec<String> = Vec::new();
    for line in raw {
        match line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            Some(rest) => lines.last_mut().expect("a continuation first").push_str(rest),
            None => lines.push((*line).to_owned()),
        }
    }
    let parsed: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let (head, value) = l.split_once(':').unwrap_or_else(|| panic!("3.1: no colon in {l:?}"));
            let (name, params) = head.split_once(';').unwrap_or((head, ""));
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
                "3.1: a bad property name in {l:?}"
            );
            (name.to_owned(), params.to_owned(), value.to_owned())
        })
        .collect();
    assert_eq!(
        parsed.first().map(|p| (p.0.as_str(), p.2.as_str())),
        Some(("BEGIN", "VCALENDAR"))
    );
    assert_eq!(
        parsed.last().map(|p| (p.0.as_str(), p.2.as_str())),
        Some(("END", "VCALENDAR"))
    );
    let mut stack: Vec<String> = Vec::new();
    let mut calendar: Vec<&(String, String, String)> = Vec::new();
    let mut events: Vec<Vec<&(String, String, String)>> = Vec::new();
    for p in &parsed {
        match p.0.as_str() {
            "BEGIN" => {
                if p.2 == "VEVENT" {
                    events.push(Vec::new());
                }
                stack.push(p.2.clone());
            }
            "END" => assert_eq!(stack.pop().as_deref(), Some(p.2.as_str()), "BEGIN and END pair up"),
            _ if stack.len() == 1 => calendar.push(p),
            _ if stack.last().map(String::as_str) == Some("VEVENT") => events.last_mut().unwrap().push(p),
            _ => {}
        }
    }
    assert!(stack.is_empty());
    let count = |props: &[&(String, String, String)], name: &str| props.iter().filter(|p| p.0 == name).count();
    let value = |props: &[&(String, String, String)], name: &str| {
        props.iter().find(|p| p.0 == name).map(|p| (p.1.clone(), p.2.clone()))
    };
    assert_eq!(count(&calendar, "VERSION"), 1, "3.6: one VERSION");
    assert_eq!(value(&calendar, "VERSION").unwrap().1, "2.0");
    assert_eq!(count(&calendar, "PRODID"), 1, "3.6: one PRODID");
    assert!(!events.is_empty(), "3.6: at least one component");
    let mut uids = std::collections::HashSet::new();
    for e in &events {
        for once in ["UID", "DTSTAMP", "DTSTART"] {
            assert_eq!(count(e, once), 1, "3.6.1: exactly one {once} in {e:?}");
        }
        assert!(
            count(e, "DTEND") <= 1 && count(e, "DTEND") + count(e, "DURATION") <= 1,
            "3.6.1: DTEND or DURATION"
        );
        assert!(uids.insert(value(e, "UID").unwrap().1), "UIDs are unique");
        let stamp = value(e, "DTSTAMP").unwrap().1;
        assert!(
            stamp.len() == 16 && stamp.ends_with('Z'),
            "3.8.7.2: DTSTAMP in UTC: {stamp}"
        );
        let (start_params, start) = value(e, "DTSTART").unwrap();
        let (end_params, end) = value(e, "DTEND").expect("every event of Rota's has an end");
        let all_day = start_params.contains("VALUE=DATE") && !start_params.contains("DATE-TIME");
        if all_day {
            assert!(
                end_params.contains("VALUE=DATE"),
                "3.6.1: DTEND of a date event is a date"
            );
            let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
            assert!(
                d(&end) > d(&start),
                "3.6.1: DTEND after DTSTART (Google drops DTEND = DTSTART): {start} {end}"
            );
        } else {
            assert!(start.ends_with('Z') && end.ends_with('Z'), "times in UTC");
            assert!(end > start, "3.8.2.2: DTEND after DTSTART");
        }
    }
}

#[tokio::test]
async fn a_personal_feed_with_a_recovery_day_and_leave_passes_the_strict_checks() {
    let f = fixture(t("2026-12-02T12:00:00Z"), "UTC", "2026-12-01", 3).await;
    let app = &f.app;
    let (_, oncall) = app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    let primary = oncall["rotations"][0]["primary"]["email"].as_str().unwrap().to_owned();
    let person = f.members.iter().find(|m| m.email == primary).unwrap();
    let token = app.token(person).await;
    // A page at 03:00 wakes them: a recovery day follows.
    let (status, body) = app
        .post_json(
            &token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "night", "summary": "disk full", "fired_at": "2026-12-02T03:00:00Z",
                   "acknowledged_at": "2026-12-02T03:02:00Z", "responder_email": primary}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.settle_recovery().await;
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            &token,
            "/api/v1/me/leave/2027-01-11",
            json!({"end_date": "2027-01-15"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, me) = app.get_json(&token, "/api/v1/me").await;
    let feed = api()
        .get(me["calendar_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_rfc5545(&feed);
    assert!(
        feed.contains(&format!("PRODID:-//Rota//Rota {}//EN\r\n", env!("CARGO_PKG_VERSION"))),
        "{feed}"
    );
    let cal = parse(&feed);
    let recovery = cal
        .events
        .iter()
        .find(|e| prop(e, "CATEGORIES") == Some("Recovery"))
        .unwrap_or_else(|| panic!("a recovery day in {feed}"));
    let start = prop(recovery, "DTSTART").unwrap();
    let end = prop(recovery, "DTEND").unwrap();
    let day = chrono::NaiveDate::parse_from_str(start, "%Y%m%d").unwrap();
    assert_eq!(
        end,
        (day + chrono::Days::new(1)).format("%Y%m%d").to_string(),
        "ends the next day"
    );
    let leave = cal
        .events
        .iter()
        .find(|e| prop(e, "CATEGORIES") == Some("Leave"))
        .unwrap();
    assert_eq!(
        (prop(leave, "DTSTART"), prop(leave, "DTEND")),
        (Some("20270111"), Some("20270116"))
    );
    assert!(cal.events.iter().any(|e| prop(e, "CATEGORIES") == Some("On-call")));
}

#[tokio::test]
async fn team_feeds_come_per_role_and_importable_with_the_holders_email() {
    let f = fixture(t("2026-12-02T12:00:00Z"), "UTC", "2026-12-01", 3).await;
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    let url = team["calendar_url"].as_str().unwrap().to_owned();
    let get = |query: &str| {
        let url = format!("{url}{query}");
        async move {
            let res = api().get(&url).send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (_, both) = get("").await;
    let (status, primary) = get("?role=primary").await;
    assert_eq!(status, StatusCode::OK);
    assert_rfc5545(&primary);
    let both = parse(&both);
    let primary = parse(&primary);
    assert_eq!(primary.events.len() * 2, both.events.len(), "one role of two");
    assert!(
        primary
            .events
            .iter()
            .all(|e| prop(e, "UID").unwrap().contains("-primary-"))
    );

    let (status, importable) = get("?role=secondary&flavour=importable").await;
    assert_eq!(status, StatusCode::OK);
    assert_rfc5545(&importable);
    let importable = parse(&importable);
    let emails: Vec<&str> = f.members.iter().map(|m| m.email.as_str()).collect();
    assert!(!importable.events.is_empty());
    for e in &importable.events {
        let summary = prop(e, "SUMMARY").unwrap();
        assert!(emails.contains(&summary), "the title is the holder's e-mail: {summary}");
        assert!(prop(e, "UID").unwrap().contains("-secondary-"));
    }
    for bad in ["?role=boss", "?flavour=pdf"] {
        let (status, body) = get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
