//! HumanOps metrics: a hand-worked fixture checked on the page, through the
//! API and in the CSV files; a generated data set checked against plain
//! SQL; rebalancing into the approval flow; who may see what; Prometheus.

mod generated;
mod overview;

use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{Fixture, api, fixture, t};

/// Two people alternating weekly from Tuesday 5 January 2027 (London, on
/// GMT all month): p0 leads week 0 (5–12 Jan), p1 week 1 (12–19 Jan), p0
/// week 2 (19–26 Jan), each shadowing the other's week.
async fn hand_built() -> (Fixture, String) {
    let f = fixture(t("2027-02-03T12:00:00Z"), "Europe/London", "2027-01-05", 2).await;
    let (status, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alerts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook = body["token"].as_str().unwrap().to_owned();
    // (key, source, responder, fired, acknowledged, resolved)
    let pages = [
        // Previous period: Thursday 7 Jan 12:00, working hours, p0 primary, 1 min.
        (
            "f",
            "web",
            "p0",
            "2027-01-07T12:00:00Z",
            Some("2027-01-07T12:01:00Z"),
            "2027-01-07T12:11:00Z",
        ),
        // Wednesday 13 Jan 03:00: sleep; p1 primary; 2 min (met); 30 min of work.
        (
            "a",
            "db",
            "p1",
            "2027-01-13T03:00:00Z",
            Some("2027-01-13T03:02:00Z"),
            "2027-01-13T03:32:00Z",
        ),
        // Thursday 14 Jan 11:00: working; p1 primary; never acknowledged.
        ("c", "db", "p1", "2027-01-14T11:00:00Z", None, "2027-01-14T11:20:00Z"),
        // Saturday 16 Jan 14:00: weekend; p1 primary; 10 min (missed); an hour of work.
        (
            "b",
            "web",
            "p1",
            "2027-01-16T14:00:00Z",
            Some("2027-01-16T14:10:00Z"),
            "2027-01-16T15:10:00Z",
        ),
        // Wednesday 20 Jan 23:30: sleep; p0 primary; 4 min (met); 30 min.
        (
            "d",
            "db",
            "p0",
            "2027-01-20T23:30:00Z",
            Some("2027-01-20T23:34:00Z"),
            "2027-01-21T00:04:00Z",
        ),
        // Friday 22 Jan 09:00: working; p1 secondary; 20 min (within 30).
        (
            "e",
            "queue",
            "p1",
            "2027-01-22T09:00:00Z",
            Some("2027-01-22T09:20:00Z"),
            "2027-01-22T09:50:00Z",
        ),
    ];
    for (key, source, who, fired, ack, resolved) in pages {
        let (status, body) = f
            .app
            .post_json(
                &hook,
                "/api/v1/teams/platform/pages",
                json!({"dedup_key": key, "summary": format!("page {key}"), "source": source,
                       "responder_email": format!("{who}@example.com"), "fired_at": fired,
                       "acknowledged_at": ack, "resolved_at": resolved}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A tool's pages queue their recovery days: the job derives them.
    f.app.settle_recovery().await;
    // Recovery days were granted for nights 13 and 21 Jan and Saturday 16 Jan
    // (Monday 18 Jan); p1 worked on 18 Jan anyway.
    let p1 = f.app.token(&f.members[1]).await;
    let (_, days) = f
        .app
        .get_json(
            &p1,
            "/api/v1/teams/platform/recovery-days?from=2027-01-01&to=2027-02-01",
        )
        .await;
    let days: Vec<(String, String)> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["email"].as_str().unwrap().into(), d["date"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        days,
        [
            ("p1@example.com".to_owned(), "2027-01-13".to_owned()),
            ("p1@example.com".to_owned(), "2027-01-18".to_owned()),
            ("p0@example.com".to_owned(), "2027-01-21".to_owned()),
        ]
    );
    let (_, list) = f
        .app
        .get_json(
            &p1,
            "/api/v1/teams/platform/recovery-days?from=2027-01-18&to=2027-01-19",
        )
        .await;
    let id = list[0]["id"].as_i64().unwrap();
    let (status, body) = f
        .app
        .patch_json(
            &p1,
            &format!("/api/v1/recovery-days/{id}"),
            json!({"worked_anyway": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (f, p1)
}

/// The period Monday 11 – Sunday 24 January 2027.
const PERIOD_API: &str = "from=2027-01-11T00:00:00Z&to=2027-01-25T00:00:00Z";
const PERIOD_WEB: &str = "from=2027-01-11&to=2027-01-24";

fn person<'a>(figures: &'a Value, email: &str) -> &'a Value {
    figures["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == email)
        .unwrap_or_else(|| panic!("{email} on the table"))
}

#[tokio::test]
async fn a_hand_worked_fixture_matches_on_the_page_in_the_api_and_in_csv() {
    let (f, p1) = hand_built().await;
    let (status, r) = f
        .app
        .get_json(&p1, &format!("/api/v1/teams/platform/metrics?{PERIOD_API}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let c = &r["current"];
    assert_eq!(
        (c["pages"].as_u64(), c["out_of_hours_pages"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(c["sleep_interruptions"], 2);
    let weeks: Vec<u64> = c["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["pages"].as_u64().unwrap())
        .collect();
    assert_eq!(weeks, [3, 2], "A, C, B in 11–17 Jan; D, E in 18–24 Jan");
    assert_eq!(c["weeks"][1]["starts_at"], "2027-01-18T00:00:00Z");
    let classes: Vec<(&str, u64, f64)> = c["out_of_hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["class"].as_str().unwrap(),
                x["pages"].as_u64().unwrap(),
                x["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            ("sleep", 2, 0.4),
            ("weekend", 1, 0.2),
            ("holiday", 0, 0.0),
            ("working", 2, 0.4)
        ]
    );
    // Primary: A 120 s, D 240 s, B 600 s acknowledged, C never; A and D within 5 min.
    let primary = &c["roles"][0];
    assert_eq!(primary["role"], "primary");
    assert_eq!(
        (primary["pages"].as_u64(), primary["acknowledged"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(
        (primary["ack_p50_seconds"].as_i64(), primary["ack_p90_seconds"].as_i64()),
        (Some(240), Some(600))
    );
    assert_eq!(
        (primary["within_sla"].as_u64(), primary["within_sla_share"].as_f64()),
        (Some(2), Some(0.5))
    );
    let secondary = &c["roles"][1];
    assert_eq!(
        (
            secondary["pages"].as_u64(),
            secondary["ack_p50_seconds"].as_i64(),
            secondary["within_sla_share"].as_f64()
        ),
        (Some(1), Some(1200), Some(1.0))
    );
    // Each held 168 h as primary and 168 h as secondary in the 336 hours.
    let p1f = person(c, "p1@example.com");
    let expect_p1 = json!({"email": "p1@example.com", "name": "Person 1", "manager": false,
        "weeks_primary": 1.0, "weeks_secondary": 1.0, "hours_primary": 168.0, "hours_secondary": 168.0,
        "hours_on_call": 336.0, "pages": 4, "out_of_hours_pages": 2, "sleep_interruptions": 1,
        "hours_engaged_out_of_hours": 1.5, "recovery_granted": 2, "recovery_taken": 1,
        "recovery_worked_anyway": 1, "share": 0.8, "equal_share": 0.5, "load": 1.6, "above_fair": true});
    assert_eq!(p1f, &expect_p1);
    let p0f = person(c, "p0@example.com");
    assert_eq!(
        (
            p0f["pages"].as_u64(),
            p0f["sleep_interruptions"].as_u64(),
            p0f["hours_engaged_out_of_hours"].as_f64()
        ),
        (Some(1), Some(1), Some(0.5))
    );
    assert_eq!(
        (p0f["recovery_granted"].as_u64(), p0f["recovery_taken"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (p0f["load"].as_f64(), p0f["above_fair"].as_bool()),
        (Some(0.4), Some(false))
    );
    assert_eq!(c["people"].as_array().unwrap().len(), 2, "the manager holds no shift");
    let sources: Vec<(&str, u64, u64, u64)> = c["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["sleep_interruptions"].as_u64().unwrap(),
                s["out_of_hours_pages"].as_u64().unwrap(),
                s["pages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sources, [("db", 2, 2, 3), ("web", 0, 1, 1), ("queue", 0, 0, 1)]);
    assert_eq!(
        c["recovery"],
        json!({"managers": {"people": 1, "granted": 0, "taken": 0, "worked_anyway": 0, "taken_share": null},
               "others": {"people": 2, "granted": 3, "taken": 2, "worked_anyway": 1, "taken_share": 0.6667}})
    );
    // The previous period (28 Dec – 10 Jan) holds page F alone.
    let p = &r["previous"];
    assert_eq!(
        (p["from"].as_str(), p["pages"].as_u64()),
        (Some("2026-12-28T00:00:00Z"), Some(1))
    );
    assert_eq!(p["roles"][0]["ack_p50_seconds"], 60);

    // The page shows the same figures.
    let web = f.app.sign_in("p1@example.com").await;
    let res = web
        .get(f.app.url(&format!("/teams/platform/metrics?{PERIOD_WEB}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("From 2027-01-11 to 2027-01-24, against 2026-12-28 to 2027-01-10"));
    // Figures are right-aligned in tabular figures; a name column is not.
    assert!(
        html.contains("<td data-label=\"This period\" class=\"num\">5</td>"),
        "{html}"
    );
    assert!(!html.contains("<td data-label=\"Slug\" class=\"num\">"));
    assert!(
        html.contains("<th scope=\"row\" class=\"nowrap\">2027-01-11</th>"),
        "dates stay whole"
    );
    let html = html.replace(" class=\"num\"", "").replace(" class=\"nowrap\"", "");
    for row in [
        "<th scope=\"row\">Pages</th><td data-label=\"This period\">5</td><td data-label=\"Previous period\">1</td>",
        "<th scope=\"row\">Sleep interruptions</th><td data-label=\"This period\">2</td><td data-label=\"Previous period\">0</td>",
        "<th scope=\"row\">Out of hours (%)</th><td data-label=\"This period\">60.0</td>",
        "<th scope=\"row\">2027-01-11</th><td data-label=\"Pages\">3</td><td data-label=\"Previous period\">0</td>",
        "<th scope=\"row\">2027-01-18</th><td data-label=\"Pages\">2</td><td data-label=\"Previous period\">1</td>",
        "<th scope=\"row\">Sleep hours</th><td data-label=\"Pages\">2</td><td data-label=\"Share (%)\">40.0</td>",
        "<th scope=\"row\">primary</th><td data-label=\"Pages\">4</td><td data-label=\"Acknowledged\">3</td><td data-label=\"p50 (s)\">240</td><td data-label=\"p90 (s)\">600</td><td data-label=\"Within SLA\">2</td><td data-label=\"Within SLA (%)\">50.0</td><td data-label=\"No acknowledgement data\">0</td><td data-label=\"Previous p50 (s)\">60</td>",
        "<tr class=\"over\"><th scope=\"row\">Person 1</th>",
        "<th scope=\"row\">db</th><td data-label=\"Sleep interruptions\">2</td>",
        "<th scope=\"row\">Everyone else</th><td data-label=\"People\">2</td><td data-label=\"Granted\">3</td><td data-label=\"Taken\">2</td><td data-label=\"Worked anyway\">1</td><td data-label=\"Taken (%)\">66.7</td>",
    ] {
        assert!(html.contains(row), "the page shows {row}");
    }
    assert_eq!(html.matches("class=\"over\"").count(), 1, "only p1 is above 1.5 shares");
    // Four charts, each titled and described, no script.
    assert_eq!(
        html.matches("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\"")
            .count(),
        4
    );
    assert_eq!(html.matches("<title id=").count(), 4);
    assert_eq!(html.matches("<desc id=").count(), 4);
    assert!(!html.contains("<script"));
    assert!(html.contains("/teams/platform/metrics/people.csv?from=2027-01-11"));
    assert!(!html.contains("pay.csv"), "the pay report link is for managers");

    // The CSV files hold the same cells.
    let csv = |name: &'static str| {
        let web = web.clone();
        let url = f.app.url(&format!("/teams/platform/metrics/{name}.csv?{PERIOD_WEB}"));
        async move {
            let res = web.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{name}");
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
            assert!(
                res.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .contains(&format!("platform-{name}-2027-01-11-to-2027-01-24.csv"))
            );
            res.text().await.unwrap()
        }
    };
    assert_eq!(
        csv("people").await,
        "Person,Email,Weeks as primary,Weeks as secondary,Hours on call,Pages,Sleep interruptions,\
         Hours engaged out of hours,Recovery days granted,Recovery days taken,Worked anyway,Share (%),\
         Equal share (%),Load (× equal share),Above 1.5×,Previous pages\n\
         Person 1,p1@example.com,1.00,1.00,336.00,4,1,1.50,2,1,1,80.0,50.0,1.60,yes,0\n\
         Person 0,p0@example.com,1.00,1.00,336.00,1,1,0.50,1,1,0,20.0,50.0,0.40,no,1\n"
    );
    assert_eq!(
        csv("weeks").await,
        "Week from,Pages,Previous period\n2027-01-11,3,0\n2027-01-18,2,1\n"
    );
    assert_eq!(
        csv("out-of-hours").await,
        "When,Pages,Share (%),Previous pages,Previous share (%)\nSleep hours,2,40.0,0,0.0\n\
         Weekend,1,20.0,0,0.0\nHoliday,0,0.0,0,0.0\nWorking hours,2,40.0,1,100.0\n"
    );
    assert_eq!(
        csv("acknowledgement").await,
        "Role,Pages,Acknowledged,p50 (s),p90 (s),Within SLA,Within SLA (%),No acknowledgement data,\
         Previous p50 (s),Previous p90 (s),Previous within SLA (%)\n\
         primary,4,3,240,600,2,50.0,0,60,60,100.0\nsecondary,1,1,1200,1200,1,100.0,0,,,\n"
    );
    assert_eq!(
        csv("sources").await,
        "Source,Sleep interruptions,Out-of-hours pages,Pages,Previous sleep interruptions\n\
         db,2,2,3,0\nweb,0,1,1,0\nqueue,0,0,1,0\n"
    );
    assert_eq!(
        csv("recovery").await,
        "Who,People,Granted,Taken,Worked anyway,Taken (%),Previous taken (%)\n\
         Managers,1,0,0,0,,\nEveryone else,2,3,2,1,66.7,\n"
    );
    assert!(
        csv("summary")
            .await
            .starts_with("Figure,This period,Previous period\nPages,5,1\n")
    );

    // The pay report: January, per person, from the same figures.
    let manager = f.app.sign_in("manager@example.com").await;
    let res = manager
        .get(f.app.url(&format!("/teams/platform/metrics/pay.csv?{PERIOD_WEB}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.text().await.unwrap(),
        "month,email,name,hours_primary,hours_secondary,out_of_hours_pages,sleep_interruptions,\
         recovery_days_granted,recovery_days_taken,recovery_days_worked_anyway,\
         hours_primary_weekday,hours_primary_weekend,hours_primary_holiday,\
         hours_secondary_weekday,hours_secondary_weekend,hours_secondary_holiday\n\
         2027-01,p0@example.com,Person 0,168.0,168.0,1,1,1,1,0,120.0,48.0,0.0,120.0,48.0,0.0\n\
         2027-01,p1@example.com,Person 1,168.0,168.0,2,1,2,1,1,120.0,48.0,0.0,120.0,48.0,0.0\n"
    );
    let (status, pay) = f
        .app
        .get_json(
            &f.manager_token,
            &format!("/api/v1/teams/platform/metrics/pay?{PERIOD_API}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pay[1]["recovery_days_worked_anyway"], 1);
    assert_eq!(pay[1]["hours_primary"], 168.0);
}

#[tokio::test]
async fn members_see_their_teams_metrics_and_no_one_elses_and_pay_is_for_managers() {
    let (f, p1) = hand_built().await;
    let other = f.app.team("payments", "America/New_York").await;
    let outsider = f.app.user("out@example.com", "Out Sider", "UTC", false).await;
    f.app.add(&other, &outsider, TeamRole::Manager).await;
    let out_token = f.app.token(&outsider).await;

    let (status, _) = f.app.get_json(&p1, "/api/v1/teams/platform/metrics").await;
    assert_eq!(status, StatusCode::OK, "a member sees their team's");
    let (status, body) = f.app.get_json(&out_token, "/api/v1/teams/platform/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = f.app.get_json(&p1, "/api/v1/teams/platform/metrics/pay").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the pay report is managers only");
    let (status, _) = f.app.get_json(&out_token, "/api/v1/teams/platform/metrics/pay").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .app
        .get_json(&f.manager_token, "/api/v1/teams/platform/metrics/pay")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = f
        .app
        .get_json(
            &p1,
            "/api/v1/teams/platform/metrics?from=2027-02-01T00:00:00Z&to=2027-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api()
        .get(f.app.url("/api/v1/teams/platform/metrics"))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let member = f.app.sign_in("p1@example.com").await;
    let outsider_web = f.app.sign_in("out@example.com").await;
    for (client, path, want) in [
        (&member, "/teams/platform/metrics", StatusCode::OK),
        (&member, "/teams/platform/metrics/people.csv", StatusCode::OK),
        (&member, "/teams/platform/metrics/pay.csv", StatusCode::FORBIDDEN),
        (&member, "/teams/platform/metrics/nonsense.csv", StatusCode::NOT_FOUND),
        (&member, "/admin/metrics", StatusCode::FORBIDDEN),
        (&outsider_web, "/teams/platform/metrics", StatusCode::NOT_FOUND),
        (
            &outsider_web,
            "/teams/platform/metrics/people.csv",
            StatusCode::NOT_FOUND,
        ),
        (&outsider_web, "/teams/platform/metrics/pay.csv", StatusCode::NOT_FOUND),
        (&outsider_web, "/teams/payments/metrics/pay.csv", StatusCode::OK),
    ] {
        let res = client.get(f.app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), want, "{path}");
    }
    // The rota page links to the metrics.
    let rota = member
        .get(f.app.url("/teams/platform"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(rota.contains("href=\"/teams/platform/metrics\""));
}

#[tokio::test]
async fn a_suggestion_turned_into_a_swap_request_reaches_the_managers_approvals() {
    let (f, _) = hand_built().await;
    // The default 12 weeks end today (3 Feb): p1 answered 4 of 6 pages, p0 2.
    let (_, r) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/metrics").await;
    assert_eq!(person(&r["current"], "p1@example.com")["load"], 1.33);
    assert!(
        r["suggestions"].as_array().unwrap().is_empty(),
        "1.33 shares is not well above"
    );
    // Over 11–24 January p1 carried 1.6 shares: exchange p1's next primary
    // week (from Tuesday 9 Feb) for p0's secondary week, the same week.
    let (_, r) = f
        .app
        .get_json(
            &f.manager_token,
            &format!("/api/v1/teams/platform/metrics?{PERIOD_API}"),
        )
        .await;
    let s = &r["suggestions"][0];
    assert_eq!(r["suggestions"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        (s["from_email"].as_str(), s["to_email"].as_str()),
        (Some("p1@example.com"), Some("p0@example.com"))
    );
    assert_eq!(
        (s["role"].as_str(), s["starts_at"].as_str()),
        (Some("primary"), Some("2027-02-09T10:00:00Z"))
    );
    assert_eq!(
        (s["counterpart_role"].as_str(), s["counterpart_starts_at"].as_str()),
        (Some("secondary"), Some("2027-02-09T10:00:00Z"))
    );

    // The page offers it to a manager as one button; a member sees no button.
    let manager = f.app.sign_in("manager@example.com").await;
    let html = manager
        .get(f.app.url(&format!("/teams/platform/metrics?{PERIOD_WEB}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(
            "Person 1 (load 1.60×) gives their primary week from Tue 9 Feb 10:00 to Person 0 (load 0.40×) \
             and takes Person 0&#39;s secondary week from Tue 9 Feb 10:00."
        ),
        "{html}"
    );
    assert!(html.contains("Ask for this swap"));
    assert!(html.contains("pay.csv"));
    let member_html = f
        .app
        .sign_in("p0@example.com")
        .await
        .get(f.app.url(&format!("/teams/platform/metrics?{PERIOD_WEB}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!member_html.contains("Ask for this swap"));

    let csrf = crate::common::csrf_of(&html);
    let res = manager
        .post(f.app.url("/teams/platform/metrics/rebalance"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("shift_id", &s["shift_id"].to_string()),
            ("counterpart_shift_id", &s["counterpart_shift_id"].to_string()),
            ("back", PERIOD_WEB),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/teams/platform/metrics?{PERIOD_WEB}#rebalance").as_str()
    );
    let (_, swaps) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/swaps").await;
    let request = &swaps[0];
    assert_eq!(request["state"], "proposed", "{swaps}");
    assert_eq!(request["requester"]["email"], "p1@example.com");
    assert_eq!(request["counterpart"]["email"], "p0@example.com");
    assert!(request["note"].as_str().unwrap().contains("Suggested by Mona Manager"));
    let id = request["id"].as_i64().unwrap();
    let waiting = |app: &crate::common::TestApp| {
        let db = app.db.clone();
        let now = app.clock.now();
        async move {
            let mut conn = db.acquire().await.unwrap();
            rota::db::swaps::awaiting_approval(&mut conn, None, now)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<i64>>()
        }
    };
    assert!(waiting(&f.app).await.is_empty(), "not before the counterpart accepts");
    // Both people heard of it.
    let (_, inbox) = f
        .app
        .get_json(&f.app.token(&f.members[1]).await, "/api/v1/me/notifications")
        .await;
    assert!(inbox.to_string().contains("asked on your behalf"), "{inbox}");

    // p0 accepts: it waits in the managers' approvals, then applies as usual.
    let p0 = f.app.token(&f.members[0]).await;
    let (status, body) = f
        .app
        .post_json(&p0, &format!("/api/v1/swaps/{id}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(waiting(&f.app).await, [id]);
    // And on the manager's Approvals page.
    let web = f.app.sign_in("manager@example.com").await;
    let approvals = web
        .get(f.app.url("/approvals"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(approvals.contains(&format!("href=\"/swaps/{id}\"")), "{approvals}");
    let (status, body) = f
        .app
        .post_json(&f.manager_token, &format!("/api/v1/swaps/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, oncall) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/oncall?at=2027-02-10T12:00:00Z",
        )
        .await;
    assert_eq!(oncall["rotations"][0]["primary"]["email"], "p0@example.com", "{oncall}");

    // Only managers may do it.
    let (status, _) = f
        .app
        .post_json(
            &p0,
            "/api/v1/teams/platform/rebalance",
            json!({"shift_id": s["shift_id"], "counterpart_shift_id": s["counterpart_shift_id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_see_every_team_side_by_side() {
    let (f, _) = hand_built().await;
    let _ = f.app.team("payments", "America/New_York").await;
    let _admin = f.app.user("root@example.com", "Root", "UTC", true).await;
    let admin = f.app.sign_in("root@example.com").await;
    let res = admin.get(f.app.url("/admin/metrics?weeks=12")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap().replace(" class=\"num\"", "");
    assert!(html.contains("<th scope=\"row\">platform</th><td data-label=\"Slug\">platform</td><td data-label=\"People on call\">2</td><td data-label=\"Pages\">6</td>"), "{html}");
    assert!(html.contains("<th scope=\"row\">payments</th>"));
    let csv = admin
        .get(f.app.url("/admin/metrics/teams.csv?weeks=12"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("Team,Slug,People on call,Pages,"), "{csv}");
    assert!(csv.contains("\nplatform,platform,2,6,0,"), "{csv}");
}

#[tokio::test]
async fn prometheus_metrics_count_requests_by_route_and_show_the_pool_and_jobs() {
    let (f, p1) = hand_built().await;
    let _ = f.app.get_json(&p1, "/api/v1/teams/platform/metrics").await;
    let res = api().get(f.app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("rota_http_requests_total{method=\"GET\",route=\"/api/v1/teams/{team}/metrics\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("rota_http_request_duration_seconds_bucket{"));
    assert!(text.contains("rota_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("rota_db_pool_max_connections"));
    assert!(text.contains("rota_job_runs_total{job=\"extend_schedules\",outcome=\"ok\"}"));
    // Other tests in this process may have fetched feeds or reset a team's
    // link: only route patterns may show, never a feed's secret.
    assert!(
        text.split("/calendar/")
            .skip(1)
            .all(|rest| rest.starts_with("{file}") || rest.starts_with("reset\"")),
        "routes, never secrets: {text}"
    );
}

#[tokio::test]
async fn the_pay_report_splits_standby_hours_into_weekday_weekend_and_holiday_per_role() {
    // Two people alternate weekly from Tue 1 Dec (UTC); Christmas is a team holiday.
    let f = crate::common::fixture(crate::common::t("2027-01-05T12:00:00Z"), "UTC", "2026-12-01", 2).await;
    let (status, body) = f
        .app
        .send_json(
            reqwest::Method::PUT,
            &f.manager_token,
            "/api/v1/teams/platform/holidays/2026-12-25",
            serde_json::json!({"name": "Christmas"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, pay) = f
        .app
        .get_json(
            &f.manager_token,
            "/api/v1/teams/platform/metrics/pay?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pay}");
    let rows = pay.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{pay}");
    for row in rows {
        let sum = |role: &str| {
            ["weekday", "weekend", "holiday"]
                .iter()
                .map(|k| row[format!("hours_{role}_{k}")].as_f64().unwrap())
                .sum::<f64>()
        };
        for role in ["primary", "secondary"] {
            let total = row[format!("hours_{role}")].as_f64().unwrap();
            assert!(
                (sum(role) - total).abs() < 0.02,
                "{role} parts add up to {total}: {row}"
            );
        }
    }
    // Christmas (Friday) is 24 holiday hours, once as primary and once as secondary.
    let holiday = |role: &str| {
        rows.iter()
            .map(|r| r[format!("hours_{role}_holiday")].as_f64().unwrap())
            .sum::<f64>()
    };
    assert_eq!(holiday("primary"), 24.0);
    assert_eq!(holiday("secondary"), 24.0);
    let weekend = |role: &str| {
        rows.iter()
            .map(|r| r[format!("hours_{role}_weekend")].as_f64().unwrap())
            .sum::<f64>()
    };
    assert_eq!(weekend("primary"), 8.0 * 24.0, "four weekends in 1-30 December");
}
