//! Rota served under a path (issue 16, "Behind a proxy"): with
//! `ROTA_BASE_URL=http://127.0.0.1:PORT/rota`, as behind a proxy that
//! forwards `/rota/…`, every address Rota hands a browser — links, form
//! actions, static files, redirects, cookies, calendar and API URLs —
//! stays under `/rota/`.

use std::collections::{BTreeSet, VecDeque};

use reqwest::{Client, StatusCode, header};
use rota::db::teams::TeamRole;
use serde_json::Value;

use crate::common::{Fixture, PASSWORD, browser, csrf_of, fixture_on, spawn_app_tuned, t};

/// Tue 10 Nov 2026, 08:30 London: Person 0 hands over to Person 1 at 10:00.
async fn under_rota() -> Fixture {
    let app = spawn_app_tuned(t("2026-11-10T08:30:00Z"), |s| {
        s.base_url = format!("{}/rota", s.base_url);
    })
    .await;
    fixture_on(app, "Europe/London", "2026-11-03", 4).await
}

/// Attributes whose value a browser follows or loads. (A hidden `next`
/// field's value is a path inside Rota, sent back to it, not followed.)
const URL_ATTRIBUTES: [&str; 8] = [
    "href",
    "src",
    "action",
    "formaction",
    "srcset",
    "poster",
    "cite",
    "data",
];

/// Every root-absolute address in the page's URL attributes, with the
/// attribute it is in.
fn rooted_addresses(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for quote in ['"', '\''] {
        let marker = format!("={quote}/");
        let mut from = 0;
        while let Some(i) = html[from..].find(&marker) {
            let at = from + i;
            let value_starts = at + 2;
            let len = html[value_starts..].find(quote).unwrap_or(html.len() - value_starts);
            let value = html[value_starts..value_starts + len].to_owned();
            let name_starts = html[..at].rfind(|c: char| c.is_whitespace()).map_or(0, |w| w + 1);
            let name = html[name_starts..at].to_ascii_lowercase();
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                found.push((name, value));
            }
            from = value_starts + len;
        }
    }
    found
}

/// Fails with every address in `html` that leaves `/rota`.
fn assert_all_under_rota(page: &str, html: &str) -> Vec<String> {
    let addresses = rooted_addresses(html);
    let outside: Vec<String> = addresses
        .iter()
        .filter(|(_, a)| !(a == "/rota" || a.starts_with("/rota/") || a.starts_with("/rota?")))
        .map(|(name, a)| format!("{name}=\"{a}\""))
        .collect();
    assert!(outside.is_empty(), "{page} links outside /rota: {outside:?}");
    addresses.into_iter().map(|(_, a)| a).collect()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Signs `email` in through the form at `/rota/login`.
async fn sign_in_under_rota(f: &Fixture, email: &str) -> Client {
    let client = browser();
    let page = client.get(f.app.url("/rota/login")).send().await.expect("login page");
    let html = page.text().await.expect("html");
    let res = client
        .post(f.app.url("/rota/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in for {email} redirects");
    assert_eq!(location(&res), "/rota/");
    client
}

#[tokio::test]
async fn signing_in_under_the_path_keeps_every_redirect_form_and_cookie_under_it() {
    let f = under_rota().await;
    let client = browser();

    // Signed out, the rota sends you to the sign-in page under the path,
    // remembering where you were going (inside Rota).
    let res = client
        .get(f.app.url("/rota/teams/platform?at=2026-11-17"))
        .send()
        .await
        .expect("rota");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_login = location(&res);
    assert_eq!(to_login, "/rota/login?next=%2Fteams%2Fplatform%3Fat%3D2026-11-17");
    let res = client.get(f.app.url("/rota/")).send().await.expect("home");
    assert!(location(&res).starts_with("/rota/login"), "{}", location(&res));

    let res = client.get(f.app.url(&to_login)).send().await.expect("login page");
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("rota_csrf=") && c.contains("Path=/rota;")),
        "the sign-in form's cookie is Rota's alone: {cookies:?}"
    );
    let html = res.text().await.expect("html");
    let addresses = assert_all_under_rota("the sign-in page", &html);
    assert!(html.contains(r#"action="/rota/login""#), "{html}");
    let css = addresses
        .iter()
        .find(|a| a.ends_with("/style.css"))
        .expect("the page links its stylesheet");
    assert!(css.starts_with("/rota/static/"), "{css}");
    let res = client.get(f.app.url(css)).send().await.expect("css");
    assert_eq!(res.status(), StatusCode::OK, "the stylesheet is served under the path");
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    let res = client
        .post(f.app.url("/rota/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("email", "p0@example.com"),
            ("password", PASSWORD),
            ("next", "/teams/platform?at=2026-11-17"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/rota/teams/platform?at=2026-11-17",
        "back where you were going"
    );
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("rota_session=") && c.contains("Path=/rota")),
        "the session cookie is sent to Rota's path only: {cookies:?}"
    );
    assert!(
        !cookies.iter().any(|c| c.contains("Path=/;")),
        "no cookie for the whole host: {cookies:?}"
    );

    // A form posted under the path redirects under it too.
    let inbox = client.get(f.app.url("/rota/inbox")).send().await.expect("inbox");
    let html = inbox.text().await.expect("html");
    assert_all_under_rota("the inbox", &html);
    let res = client
        .post(f.app.url("/rota/inbox/read"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .expect("mark read");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/rota/inbox");

    // Signing out ends the session cookie on the same path.
    let res = client
        .post(f.app.url("/rota/logout"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/rota/login");
    let res = client.get(f.app.url("/rota/inbox")).send().await.expect("inbox");
    assert!(location(&res).starts_with("/rota/login"), "signed out");
}

#[tokio::test]
async fn every_page_an_admin_can_reach_links_only_under_the_path_and_every_link_leads_somewhere() {
    let f = under_rota().await;
    let ada = f.app.user("ada@example.com", "Ada Admin", "Europe/London", true).await;
    f.app.add(&f.team, &ada, TeamRole::Manager).await;
    let client = sign_in_under_rota(&f, "ada@example.com").await;

    // Follow every link from the home page, the team's pages and the
    // directory, as far as they lead (within bounds).
    let start = [
        "/rota/",
        "/rota/teams/platform",
        "/rota/teams/platform/settings",
        "/rota/teams/platform/metrics",
        "/rota/teams/platform/handoffs",
        "/rota/teams/platform/rotations/weekly/handoffs/2026-11-10",
        "/rota/oncall",
        "/rota/admin",
    ];
    let mut queue: VecDeque<String> = start.iter().map(|s| (*s).to_owned()).collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut pages = 0;
    while let Some(address) = queue.pop_front() {
        let res = client.get(f.app.url(&address)).send().await.expect("page");
        let status = res.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "{address} answers {status}: a link Rota wrote leads nowhere"
        );
        if status.is_redirection() {
            let to = location(&res);
            assert!(to.starts_with("/rota/"), "{address} redirects outside /rota: {to}");
            continue;
        }
        let is_html = res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html");
        if !is_html {
            continue;
        }
        let html = res.text().await.expect("html");
        pages += 1;
        assert_all_under_rota(&address, &html);
        for (_, a) in rooted_addresses(&html).into_iter().filter(|(name, _)| name == "href") {
            let a = a.split('#').next().unwrap_or_default().replace("&amp;", "&");
            if a.is_empty() || seen.len() >= 150 || !seen.insert(a.clone()) {
                continue;
            }
            queue.push_back(a);
        }
    }
    for page in [
        "/rota/profile",
        "/rota/swaps",
        "/rota/inbox",
        "/rota/teams/platform/history",
        "/rota/teams/platform/pages",
        "/rota/teams/platform/settings/members",
        "/rota/admin/metrics",
    ] {
        assert!(seen.contains(page), "the crawl reached {page}; it saw {seen:?}");
    }
    assert!(pages >= 20, "only {pages} pages read");
}

#[tokio::test]
async fn calendar_feeds_and_the_api_are_under_the_path() {
    let f = under_rota().await;
    let base = format!("{}/rota", f.app.address);

    let res = Client::new()
        .get(f.app.url("/rota/api/v1/teams/platform"))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .expect("api");
    assert_eq!(res.status(), StatusCode::OK);
    let team: Value = res.json().await.expect("json");
    let feed = team["calendar_url"].as_str().expect("a calendar URL");
    assert!(feed.starts_with(&format!("{base}/calendar/")), "{feed}");
    let res = Client::new().get(feed).send().await.expect("feed");
    assert_eq!(res.status(), StatusCode::OK);
    let ics = res.text().await.expect("ics");
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
    assert!(
        ics.contains(&format!("URL:{base}/teams/platform")),
        "events link the rota under the path: {ics}"
    );

    let res = Client::new()
        .get(f.app.url("/rota/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi");
    let doc: Value = res.json().await.expect("json");
    assert_eq!(
        doc["servers"][0]["url"], base,
        "clients built from the document call the API under the path"
    );
    assert!(doc["paths"]["/api/v1/me"].is_object());

    // An API error under the path is still JSON.
    let res = Client::new()
        .get(f.app.url("/rota/api/v1/teams/nope"))
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .expect("api");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let problem: Value = res.json().await.expect("a JSON problem");
    assert!(problem["error"]["message"].is_string(), "{problem}");

    // The handoff's link in the API leads to the page under the path.
    let res = Client::new()
        .get(
            f.app
                .url("/rota/api/v1/teams/platform/rotations/weekly/handoffs/2026-11-10"),
        )
        .bearer_auth(&f.manager_token)
        .send()
        .await
        .expect("handoff");
    assert_eq!(res.status(), StatusCode::OK);
    let handoff: Value = res.json().await.expect("json");
    assert_eq!(
        handoff["url"],
        format!("{base}/teams/platform/rotations/weekly/handoffs/2026-11-10")
    );
}

#[tokio::test]
async fn an_unknown_address_under_the_path_keeps_the_navigation() {
    let f = under_rota().await;
    let client = sign_in_under_rota(&f, "p0@example.com").await;
    let res = client.get(f.app.url("/rota/no-such-page")).send().await.expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.expect("html");
    assert!(
        html.contains(r#"<nav aria-label="Main""#),
        "signed in, the error keeps the nav: {html}"
    );
    assert!(html.contains(r#"href="/rota/oncall""#), "{html}");
    assert_all_under_rota("the 404 page", &html);

    // Signed out, the plain error page's links stay under the path too.
    let res = browser()
        .get(f.app.url("/rota/no-such-page"))
        .send()
        .await
        .expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.expect("html");
    assert!(html.contains(r#"href="/rota/""#), "{html}");
    assert_all_under_rota("the signed-out 404 page", &html);
}

#[tokio::test]
async fn a_proxy_that_strips_the_path_and_probes_at_the_root_are_served_too() {
    let f = under_rota().await;
    let client = Client::new();
    for probe in ["/healthz", "/rota/healthz", "/readyz"] {
        let res = client.get(f.app.url(probe)).send().await.expect("probe");
        assert_eq!(res.status(), StatusCode::OK, "{probe}");
    }
    // A proxy that strips /rota sends /login; the page still links under
    // /rota, where the browser is.
    let res = client.get(f.app.url("/login")).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains(r#"action="/rota/login""#), "{html}");
    assert_all_under_rota("the sign-in page, stripped", &html);
    // A path that only begins like the base path is not under it.
    let res = client.get(f.app.url("/rotation")).send().await.expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
