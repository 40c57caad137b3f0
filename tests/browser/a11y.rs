//! Every main page, on a phone, in light and dark: axe-core finds no
//! serious or critical problem, nothing scrolls sideways, and the suite
//! keeps a screenshot of each.

use std::path::PathBuf;

use fantoccini::{Client, Locator};

use super::{browser, color_scheme, is_dark, screenshot, sign_in, sign_out, spawn_app_at, t, wait_for_text};
use crate::assert_no_sideways_scroll;

/// axe-core, installed from npm by `.ci/run` (`npm ci --prefix tests/browser`).
pub(super) fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `npm ci --prefix tests/browser` (.ci/run does)",
            path.display()
        )
    })
}

/// The serious and critical problems axe-core finds on the page.
pub(super) async fn axe_problems(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("load axe-core");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done({
               passes: r.passes.length,
               problems: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
                      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))}));",
            vec![],
        )
        .await
        .expect("axe-core ran");
    assert!(
        found["passes"].as_u64().unwrap_or(0) > 0,
        "axe-core checked nothing: {found}"
    );
    found["problems"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Runs axe-core on the page: no serious or critical violations.
pub(super) async fn assert_accessible(c: &Client, axe: &str, what: &str) {
    let problems = axe_problems(c, axe).await;
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

/// Visits `path` and checks it as a page a person reads.
async fn check(c: &Client, axe: &str, base: &str, path: &str, label: &str) {
    c.goto(&format!("{base}{path}")).await.expect("page");
    let title = c.title().await.expect("title");
    assert!(
        title.ends_with("· Rota") && !title.starts_with("Not Found"),
        "{path}: title {title:?}"
    );
    let h1 = c.find(Locator::Css("main h1")).await;
    assert!(h1.is_ok(), "{path} has a heading");
    assert_no_sideways_scroll(c, path).await;
    assert_accessible(c, axe, &format!("{path} ({label})")).await;
}

fn slug(path: &str) -> String {
    let s: String = path
        .trim_matches('/')
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    if s.is_empty() { "now".into() } else { s }
}

#[tokio::test]
async fn every_main_page_is_accessible_and_fits_a_phone_in_light_and_dark() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let ids: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT min(id) FROM pages), (SELECT min(id) FROM swap_requests),
                (SELECT min(s.id) FROM shifts s JOIN users u ON u.id = s.user_id
                  WHERE u.email = 'priya@example.com' AND s.starts_at > '2026-11-27T12:00:00Z'::timestamptz)",
    )
    .fetch_one(&app.db)
    .await
    .expect("ids");
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;
    let axe = axe_source();
    let base = app.url("");

    // The pages before anyone signs in: sign-in, forgotten password, and
    // the links an invitation and a password reset send (and a bad one).
    let now = app.clock.now();
    let invite = rota::cli::accounts::invite(&app.db, &base, "nia@example.com", Some("platform"), None, now)
        .await
        .expect("invitation");
    let rota::cli::accounts::Reset::Link(reset) =
        rota::cli::accounts::reset_password(&app.db, &base, "priya@example.com", None, now)
            .await
            .expect("reset link")
    else {
        panic!("a reset link");
    };
    let anonymous = [
        "/login".to_owned(),
        "/forgot-password".into(),
        invite.trim_start_matches(&base).to_owned(),
        reset.trim_start_matches(&base).to_owned(),
        "/invite/forged".into(),
    ];
    for scheme in ["light", "dark"] {
        color_scheme(&b, scheme).await;
        for path in &anonymous {
            check(c, &axe, &base, path, scheme).await;
        }
    }
    let as_manager = [
        "/".to_owned(),
        "/teams/platform".into(),
        "/teams/platform/pages".into(),
        format!("/teams/platform/pages/{}", ids.0),
        "/teams/platform/settings".into(),
        "/teams/platform/swaps".into(),
        "/teams/platform/history".into(),
        "/teams/platform/metrics".into(),
        "/teams/platform/handoffs".into(),
        "/teams/platform/rotations/weekly/handoffs/2026-11-24".into(),
        "/teams/platform/overrides/new?rotation=weekly&role=primary".into(),
        "/swaps".into(),
        format!("/swaps/{}", ids.1),
        "/approvals".into(),
        "/inbox".into(),
        "/leave".into(),
        "/profile".into(),
    ];
    sign_in(c, &app, "alex@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    // Focus is visible: Tab from the top lands on the skip link, outlined.
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys("\u{E004}")
        .await
        .expect("Tab");
    let focus = c
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e);
             return [e.textContent.trim(), s.outlineStyle, s.outlineWidth];",
            vec![],
        )
        .await
        .expect("focus");
    assert_eq!(focus[0], "Skip to content", "{focus}");
    assert!(
        focus[1] != "none" && focus[2] != "0px",
        "the focused link shows it: {focus}"
    );
    for scheme in ["light", "dark"] {
        color_scheme(&b, scheme).await;
        assert_eq!(is_dark(c).await, scheme == "dark");
        for path in &as_manager {
            check(c, &axe, &base, path, scheme).await;
            screenshot(c, &format!("phone-{scheme}-manager-{}", slug(path))).await;
        }
    }
    sign_out(c).await;
    sign_in(c, &app, "priya@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    let as_member = ["/".to_owned(), format!("/teams/platform/swaps/new?shift={}", ids.2)];
    for scheme in ["light", "dark"] {
        color_scheme(&b, scheme).await;
        for path in &as_member {
            check(c, &axe, &base, path, scheme).await;
            screenshot(c, &format!("phone-{scheme}-member-{}", slug(path))).await;
        }
    }
    // The check can fail: an unlabelled field and an image without text.
    c.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=bare><img src=/x.png>');",
        vec![],
    )
    .await
    .expect("break the page");
    let problems = axe_problems(c, &axe).await;
    assert!(problems.iter().any(|p| p.contains("label")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("image-alt")), "{problems:?}");
    sign_out(c).await;
    sign_in(c, &app, rota::demo::ADMIN_EMAIL, rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    for scheme in ["light", "dark"] {
        color_scheme(&b, scheme).await;
        for path in ["/admin", "/admin/metrics"] {
            check(c, &axe, &base, path, scheme).await;
        }
    }
    b.client.close().await.expect("close");
}
