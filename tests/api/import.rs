//! Importing schedules from PagerDuty, Opsgenie and Grafana OnCall, on the
//! committed fixtures (tests/fixtures/import), through the admin page and
//! the command line: a preview changes nothing, an import makes the
//! rotation the vendor had (people in order, handoff, zone, the weeks as
//! they would have run, the override, invitations), a second import is
//! refused unless merged, a broken file says where, and only admins may.

use chrono::{DateTime, Utc};
use reqwest::{Client, StatusCode};
use rota::db::teams::TeamRole;

use crate::accounts::{accept, signed_in};
use crate::common::{TestApp, csrf_of, spawn_app_at, t};

/// A Wednesday: each fixture's current week began a day or two before.
const NOW: &str = "2027-03-10T12:00:00Z";

/// One vendor's fixture and what it must become.
struct Case {
    vendor: &'static str,
    file: &'static str,
    team: &'static str,
    team_tz: &'static str,
    rotation: &'static str,
    timezone: &'static str,
    weekday: i16,
    time: &'static str,
    participants: [&'static str; 4],
    /// Who the vendor has on call, week by week: (from, primary, secondary).
    weeks: [(&'static str, &'static str, &'static str); 4],
    /// The end of the fourth week.
    until: &'static str,
    /// The override: (from, to, who, whose primary week it splits).
    override_: (&'static str, &'static str, &'static str, &'static str),
    /// A line the report must carry about what was not carried over.
    unmapped: &'static str,
    /// People Rota knows before the import: (email, name, a member already).
    known: &'static [(&'static str, &'static str, bool)],
    /// People Rota does not know, who are invited.
    invited: &'static [&'static str],
}

const PAGERDUTY: Case = Case {
    vendor: "pagerduty",
    file: include_str!("../fixtures/import/pagerduty/platform.json"),
    team: "platform",
    team_tz: "Europe/London",
    rotation: "platform-on-call",
    timezone: "Europe/London",
    weekday: 1,
    time: "10:00:00",
    participants: [
        "ana@example.com",
        "ben@example.com",
        "cara@example.com",
        "dev@example.com",
    ],
    // Nine weeks after 5 January Ben leads; London's clocks go forward on 28 March.
    weeks: [
        ("2027-03-09T10:00:00Z", "ben@example.com", "cara@example.com"),
        ("2027-03-16T10:00:00Z", "cara@example.com", "dev@example.com"),
        ("2027-03-23T10:00:00Z", "dev@example.com", "ana@example.com"),
        ("2027-03-30T09:00:00Z", "ana@example.com", "ben@example.com"),
    ],
    until: "2027-04-06T09:00:00Z",
    override_: (
        "2027-03-17T00:00:00Z",
        "2027-03-18T00:00:00Z",
        "ana@example.com",
        "cara@example.com",
    ),
    unmapped: "schedule.schedule.schedule_layers[2] (\"Night cover\"): turns are daily",
    known: &[
        ("ana@example.com", "Ana Alvarez", true),
        ("ben@example.com", "Ben Brown", false),
    ],
    invited: &["cara@example.com", "dev@example.com"],
};

const OPSGENIE: Case = Case {
    vendor: "opsgenie",
    file: include_str!("../fixtures/import/opsgenie/payments.json"),
    team: "payments",
    team_tz: "America/New_York",
    rotation: "payments-on-call",
    timezone: "America/New_York",
    weekday: 0,
    time: "09:00:00",
    participants: ["erin@example.com", "finn@example.com", "gus@example.com", ""],
    // Nine weeks after 4 January Erin leads again; New York's clocks go forward on 14 March.
    weeks: [
        ("2027-03-08T14:00:00Z", "erin@example.com", "finn@example.com"),
        ("2027-03-15T13:00:00Z", "finn@example.com", "gus@example.com"),
        ("2027-03-22T13:00:00Z", "gus@example.com", "erin@example.com"),
        ("2027-03-29T13:00:00Z", "erin@example.com", "finn@example.com"),
    ],
    until: "2027-04-05T13:00:00Z",
    override_: (
        "2027-03-23T13:00:00Z",
        "2027-03-24T13:00:00Z",
        "finn@example.com",
        "gus@example.com",
    ),
    unmapped: "rotations.data[1].timeRestriction: on call only 08:00 to 20:00 each day",
    known: &[("erin@example.com", "Erin Evans", false)],
    invited: &["finn@example.com", "gus@example.com"],
};

const GRAFANA: Case = Case {
    vendor: "grafana-oncall",
    file: include_str!("../fixtures/import/grafana-oncall/sre.json"),
    team: "sre",
    team_tz: "Europe/Berlin",
    rotation: "sre-weekly",
    timezone: "Europe/Berlin",
    weekday: 0,
    time: "09:00:00",
    participants: ["han@example.com", "ida@example.com", "jon@example.com", ""],
    // Five weeks after 1 February the third list (Jon) leads; Berlin's clocks go forward on 28 March.
    weeks: [
        ("2027-03-08T08:00:00Z", "jon@example.com", "han@example.com"),
        ("2027-03-15T08:00:00Z", "han@example.com", "ida@example.com"),
        ("2027-03-22T08:00:00Z", "ida@example.com", "jon@example.com"),
        ("2027-03-29T07:00:00Z", "jon@example.com", "han@example.com"),
    ],
    until: "2027-04-05T07:00:00Z",
    override_: (
        "2027-03-23T08:00:00Z",
        "2027-03-24T08:00:00Z",
        "han@example.com",
        "ida@example.com",
    ),
    unmapped: "shifts.results[2] (\"SRE weekly-rotation-3-office-hours\"): hands over daily",
    known: &[
        ("han@example.com", "Han Hoffmann", true),
        ("jon@example.com", "Jon Jansen", false),
    ],
    invited: &["ida@example.com"],
};

const CASES: [&Case; 3] = [&PAGERDUTY, &OPSGENIE, &GRAFANA];

/// An app at [`NOW`] with an admin signed in, each case's team, and the
/// people Rota knows before the import.
async fn org() -> (TestApp, Client) {
    let app = spawn_app_at(t(NOW)).await;
    app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    for case in CASES {
        let team = app.team(case.team, case.team_tz).await;
        for (email, name, member) in case.known {
            let user = app.user(email, name, case.team_tz, false).await;
            if *member {
                app.add(&team, &user, TeamRole::Member).await;
            }
        }
    }
    let admin = app.sign_in("admin@example.com").await;
    (app, admin)
}

/// Posts the import form as a browser would (multipart, the file pasted).
async fn post_import(app: &TestApp, client: &Client, fields: &[(&str, &str)], json: &str) -> (StatusCode, String) {
    let csrf = csrf_of(&app.page(client, "/admin/import").await);
    let boundary = "----rota-import-test-boundary";
    let mut body = String::new();
    let mut part = |name: &str, value: &str| {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    };
    part("csrf", &csrf);
    for (name, value) in fields {
        part(name, value);
    }
    part("json", json);
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    ));
    let res = client
        .post(app.url("/admin/import"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("post");
    let status = res.status();
    (status, unescape(&res.text().await.expect("html")))
}

/// The page's text as a person reads it (quotes and ampersands unescaped).
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#96;", "`")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn import(app: &TestApp, client: &Client, case: &Case, action: &str, merge: bool) -> (StatusCode, String) {
    let mut fields = vec![("vendor", case.vendor), ("team", case.team), ("action", action)];
    if merge {
        fields.push(("merge", "on"));
    }
    post_import(app, client, &fields, case.file).await
}

/// Everything an import may write, counted, to show nothing changed.
async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "rotations",
        "rotation_versions",
        "shifts",
        "users",
        "memberships",
        "invitations",
        "schedule_changes",
        "audit_log",
    ] {
        out.push(
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&app.db)
                .await
                .expect("count"),
        );
    }
    out
}

/// The shifts of `rotation` that start before `until`: (role, email, from, to).
async fn shifts(app: &TestApp, rotation: &str, until: &str) -> Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> {
    sqlx::query_as(
        "SELECT s.role::text, u.email, s.starts_at, s.ends_at FROM shifts s
         JOIN users u ON u.id = s.user_id JOIN rotations r ON r.id = s.rotation_id
         WHERE r.slug = $1 AND s.starts_at < $2 ORDER BY s.role, s.starts_at",
    )
    .bind(rotation)
    .bind(t(until))
    .fetch_all(&app.db)
    .await
    .expect("shifts")
}

/// What the vendor had on call in the first four weeks, as Rota's shifts:
/// a week per role, the override splitting the primary's week it falls in.
fn expected(case: &Case) -> Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> {
    let mut primary = Vec::new();
    let mut secondary = Vec::new();
    for (k, (from, p, s)) in case.weeks.iter().enumerate() {
        let to = case.weeks.get(k + 1).map_or(case.until, |w| w.0);
        let (o_from, o_to, o_who, o_over) = case.override_;
        if t(o_from) >= t(from) && t(o_to) <= t(to) {
            assert_eq!(*p, o_over, "the override falls in {o_over}'s week");
            primary.push(("primary".into(), p.to_string(), t(from), t(o_from)));
            primary.push(("primary".into(), o_who.to_string(), t(o_from), t(o_to)));
            primary.push(("primary".into(), p.to_string(), t(o_to), t(to)));
        } else {
            primary.push(("primary".into(), p.to_string(), t(from), t(to)));
        }
        secondary.push(("secondary".into(), s.to_string(), t(from), t(to)));
    }
    primary.into_iter().chain(secondary).collect()
}

#[tokio::test]
async fn a_preview_shows_the_plan_and_changes_nothing() {
    let (app, admin) = org().await;
    let before = counts(&app).await;
    for case in CASES {
        let (status, html) = import(&app, &admin, case, "preview", false).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", case.vendor);
        assert!(html.contains("Preview: nothing has changed yet"), "{html}");
        assert!(
            html.contains(&format!("({})", case.rotation)),
            "{}: the rotation named",
            case.vendor
        );
        assert!(html.contains(case.unmapped), "{}: {html}", case.vendor);
        for invited in case.invited {
            assert!(html.contains(invited), "{invited} listed");
        }
        assert!(html.contains("invited (new to Rota)"), "{html}");
        // The weeks as they would stand, first primary first.
        let first = html.find(case.weeks[0].1).expect("the first primary is shown");
        assert!(first < html.find("The schedule").unwrap());
        assert!(!html.contains("/invite/"), "no link is made by a preview");
    }
    assert_eq!(counts(&app).await, before, "a preview stores nothing");
}

#[tokio::test]
async fn an_import_makes_the_rotation_the_vendor_had() {
    let (app, admin) = org().await;
    for case in CASES {
        let (status, html) = import(&app, &admin, case, "import", false).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", case.vendor);
        assert!(html.contains("Imported"), "{html}");
        assert!(html.contains(case.unmapped), "{}: {html}", case.vendor);
        // People in the vendor's order, the handoff and zone.
        let (timezone, weekday, time, participants): (String, i16, String, Vec<String>) = sqlx::query_as(
            "SELECT v.timezone, v.handoff_weekday, v.handoff_time::text,
                    ARRAY(SELECT u.email FROM unnest(v.participants) WITH ORDINALITY p(id, n)
                          JOIN users u ON u.id = p.id ORDER BY p.n)
             FROM rotation_versions v JOIN rotations r ON r.id = v.rotation_id WHERE r.slug = $1",
        )
        .bind(case.rotation)
        .fetch_one(&app.db)
        .await
        .expect("one settings version");
        let wanted: Vec<String> = case
            .participants
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(participants, wanted, "{}", case.vendor);
        assert_eq!(
            (timezone.as_str(), weekday, time.as_str()),
            (case.timezone, case.weekday, case.time)
        );
        // The first weeks are who the vendor would have had on call.
        assert_eq!(
            shifts(&app, case.rotation, case.until).await,
            expected(case),
            "{}",
            case.vendor
        );
        // New people: an account to set up, a member, an invitation shown once.
        for email in case.invited {
            assert!(html.contains(&format!("{email}: pass this link on")), "{email}: {html}");
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM invitations i JOIN teams t ON t.id = i.team_id
                 WHERE i.email = $1 AND t.slug = $2 AND i.accepted_at IS NULL",
            )
            .bind(email)
            .bind(case.team)
            .fetch_one(&app.db)
            .await
            .unwrap();
            assert_eq!(pending, 1, "{email} invited to {}", case.team);
        }
        // Known people are members now, whether or not they were before.
        for (email, _, _) in case.known {
            let member: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                 JOIN teams t ON t.id = m.team_id WHERE u.email = $1 AND t.slug = $2)",
            )
            .bind(email)
            .bind(case.team)
            .fetch_one(&app.db)
            .await
            .unwrap();
            assert!(member, "{email} in {}", case.team);
        }
        assert!(
            app.audited("override")
                .await
                .iter()
                .any(|a| a.after.as_ref().unwrap()["email"] == case.override_.2),
            "the override is in the team's history"
        );
    }
}

#[tokio::test]
async fn an_invited_person_sets_up_the_account_the_import_made() {
    let (app, admin) = org().await;
    let (_, html) = import(&app, &admin, &GRAFANA, "import", false).await;
    let start = html.find("ida@example.com: pass this link on").expect("ida's link");
    let link = html[start..]
        .split("<code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("the link")
        .to_owned();
    let ida = accept(&link, "Ida Ingram").await;
    assert!(signed_in(&app, &ida).await);
    let (name, on_call): (String, i64) = sqlx::query_as(
        "SELECT u.name, (SELECT count(*) FROM shifts s WHERE s.user_id = u.id) FROM users u WHERE u.email = 'ida@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(name, "Ida Ingram", "the account the import made, set up");
    assert!(on_call > 0, "with the shifts the import gave her");
}

#[tokio::test]
async fn a_second_import_is_refused_unless_merged() {
    let (app, admin) = org().await;
    for case in CASES {
        let (status, html) = import(&app, &admin, case, "import", false).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let before = counts(&app).await;
        for action in ["preview", "import"] {
            let (status, html) = import(&app, &admin, case, action, false).await;
            assert_eq!(status, StatusCode::CONFLICT, "{}: {html}", case.vendor);
            assert!(
                html.contains(&format!("already has a rotation \"{}\"", case.rotation)),
                "{html}"
            );
            assert!(html.contains("merge"), "says how to go on: {html}");
        }
        assert_eq!(counts(&app).await, before, "{}: a refusal changes nothing", case.vendor);
        let (status, html) = import(&app, &admin, case, "import", true).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", case.vendor);
        assert!(html.contains("was merged into"), "{html}");
        let versions: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM rotation_versions v JOIN rotations r ON r.id = v.rotation_id WHERE r.slug = $1",
        )
        .bind(case.rotation)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(versions, 2, "the merge takes over from the next handoff");
        let rotations: i64 = sqlx::query_scalar("SELECT count(*) FROM rotations WHERE slug = $1")
            .bind(case.rotation)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(rotations, 1);
        // The weeks carry on as the vendor has them.
        let week = shifts(&app, case.rotation, case.until).await;
        let from_next: Vec<_> = week.iter().filter(|s| s.2 >= t(case.weeks[1].0)).cloned().collect();
        let wanted: Vec<_> = expected(case)
            .into_iter()
            .filter(|s| s.2 >= t(case.weeks[1].0))
            .collect();
        assert_eq!(from_next, wanted, "{}", case.vendor);
    }
}

#[tokio::test]
async fn a_broken_file_is_refused_with_where_it_is_wrong_and_nothing_stored() {
    let (app, admin) = org().await;
    let before = counts(&app).await;
    let broken = [
        (
            &PAGERDUTY,
            PAGERDUTY
                .file
                .replacen("\"name\": \"Layer 1\",", "\"name\": \"Layer 1\"", 1),
            StatusCode::BAD_REQUEST,
            "schedule.schedule.schedule_layers[0] (line 31, column 11): expected `,` or `}`",
        ),
        (
            &OPSGENIE,
            OPSGENIE.file.replacen("\"type\": \"weekly\"", "\"type\": 7", 1),
            StatusCode::BAD_REQUEST,
            "rotations.data[0].type (line 21, column 17): invalid type: integer `7`, expected a string",
        ),
        (
            &GRAFANA,
            GRAFANA.file.replace(
                "[\"UIDA5T9W3Q6R2\"], [\"UJON3C8R5A2K1\"]]",
                "[\"UIDA5T9W3Q6R2\"], [\"UGONE\"]]",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "shifts.results[0].rolling_users[2][0]: user UGONE is not in the users list",
        ),
    ];
    for (case, text, status_wanted, line) in broken {
        for action in ["preview", "import"] {
            let fields = [("vendor", case.vendor), ("team", case.team), ("action", action)];
            let (status, html) = post_import(&app, &admin, &fields, &text).await;
            assert_eq!(status, status_wanted, "{}: {html}", case.vendor);
            assert!(html.contains("nothing was imported"), "{html}");
            assert!(html.contains(line), "{}: {line} in {html}", case.vendor);
        }
    }
    let (status, html) = post_import(&app, &admin, &[("vendor", "pagerduty"), ("team", "platform")], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Paste the JSON"), "{html}");
    assert_eq!(counts(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn only_admins_may_import() {
    let (app, _) = org().await;
    let team = app.team("ops", "UTC").await;
    let manager = app.user("mo@example.com", "Mo Manager", "UTC", false).await;
    app.add(&team, &manager, TeamRole::Manager).await;
    let client = app.sign_in("mo@example.com").await;
    let res = client.get(app.url("/admin/import")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A form from their own page's token is refused just the same.
    let csrf = csrf_of(&app.page(&client, "/profile").await);
    let res = client
        .post(app.url("/admin/import"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(format!(
            "--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--x\r\nContent-Disposition: form-data; name=\"vendor\"\r\n\r\npagerduty\r\n--x--\r\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // And a form without the token, from an admin, is refused too.
    let admin = app.sign_in("admin@example.com").await;
    let res = admin
        .post(app.url("/admin/import"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"vendor\"\r\n\r\npagerduty\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let rotations: i64 = sqlx::query_scalar("SELECT count(*) FROM rotations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rotations, 0);
}

#[tokio::test]
async fn the_command_line_previews_imports_and_refuses_like_the_page() {
    let (app, _) = org().await;
    let args = |case: &'static Case, dry_run: bool, merge: bool| rota::cli::import::Args {
        vendor: case.vendor,
        text: case.file,
        team: case.team,
        rotation: None,
        dry_run,
        merge,
    };
    for case in CASES {
        let before = counts(&app).await;
        let report = rota::cli::import::import(&app.db, &app.base_url, args(case, true, false), t(NOW))
            .await
            .expect("a dry run");
        assert!(report.starts_with("Dry run: nothing was changed"), "{report}");
        assert!(report.contains(case.unmapped), "{report}");
        assert!(report.contains(&format!("primary   {}", case.weeks[0].1)), "{report}");
        assert_eq!(counts(&app).await, before, "{}: a dry run stores nothing", case.vendor);

        let report = rota::cli::import::import(&app.db, &app.base_url, args(case, false, false), t(NOW))
            .await
            .expect("an import");
        assert!(report.starts_with("Imported."), "{report}");
        for email in case.invited {
            assert!(
                report.contains(&format!("  {email}  {}/invite/", app.base_url)),
                "{report}"
            );
        }
        assert_eq!(
            shifts(&app, case.rotation, case.until).await,
            expected(case),
            "{}",
            case.vendor
        );

        let after = counts(&app).await;
        let refused = rota::cli::import::import(&app.db, &app.base_url, args(case, false, false), t(NOW))
            .await
            .expect_err("the rotation exists");
        assert!(
            refused.contains("already has a rotation") && refused.contains("--merge"),
            "{refused}"
        );
        assert_eq!(counts(&app).await, after);
        rota::cli::import::import(&app.db, &app.base_url, args(case, false, true), t(NOW))
            .await
            .expect("merged");
    }
    let broken = PAGERDUTY
        .file
        .replacen("\"time_zone\": \"Europe/London\"", "\"time_zone\": \"Mars/Base\"", 1);
    let refused = rota::cli::import::import(
        &app.db,
        &app.base_url,
        rota::cli::import::Args {
            text: &broken,
            rotation: Some("elsewhere"),
            ..args(&PAGERDUTY, false, false)
        },
        t(NOW),
    )
    .await
    .expect_err("an unknown zone");
    assert!(
        refused.contains("schedule.schedule.time_zone: \"Mars/Base\" is not a time zone"),
        "{refused}"
    );
}
