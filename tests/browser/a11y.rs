//! Every main page, on a phone, in light and dark: axe-core finds no
//! serious or critical problem, nothing scrolls sideways, and the suite
//! keeps a screenshot of each.

use std::path::PathBuf;

use fantoccini::{Client, Locator};

use super::{browser, color_scheme, is_dark, screenshot, sign_in, sign_out, spawn_app_at, t, wait_for_text};
use crate::assert_no_sideways_scroll;

/// axe-core, from npm (`npm ci --prefix tests/browser`, which `.ci/run`
/// runs). On a machine without it the suite installs it when npm is there;
/// otherwise the accessibility checks are skipped with a message, unless
/// `ROTA_REQUIRE_BROWSER` is set (CI), where that is a failure.
pub(super) fn axe_source() -> Option<String> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let path = dir.join("node_modules/axe-core/axe.min.js");
        if !path.exists() {
            eprintln!("axe-core is missing; installing it with `npm ci --prefix tests/browser`");
            let installed = std::process::Command::new("npm")
                // A registry that cannot be reached fails in a minute, not many.
                .args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--fetch-timeout=60000",
                    "--fetch-retries=1",
                    "--prefix",
                ])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !installed {
                eprintln!("could not install axe-core (is npm installed?)");
            }
        }
        match std::fs::read_to_string(&path) {
            Ok(source) => Some(source),
            Err(_) if std::env::var_os("ROTA_REQUIRE_BROWSER").is_some() => panic!(
                "{} is missing: run `npm ci --prefix tests/browser` (.ci/run does)",
                path.display()
            ),
            Err(_) => {
                eprintln!(
                    "skipping the accessibility checks: {} is missing; run `npm ci --prefix tests/browser`",
                    path.display()
                );
                None
            }
        }
    })
    .clone()
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

/// Runs axe-core on the page: no serious or critical violations (nothing,
/// with a message already given, when axe-core is not installed).
pub(super) async fn assert_accessible(c: &Client, axe: &Option<String>, what: &str) {
    let Some(axe) = axe else { return };
    let problems = axe_problems(c, axe).await;
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

/// The words in the page's table cells that are split across lines (each
/// word's client rects, taken with a DOM range, must sit on one line).
/// Folded tables are opened first, so they are checked as read.
pub(super) async fn split_words(c: &Client) -> Vec<String> {
    let found = c
        .execute(
            "for (const d of document.querySelectorAll('main details')) d.open = true;
             const split = [];
             for (const cell of document.querySelectorAll('main td, main th')) {
               if (!cell.checkVisibility()) continue;
               const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
               for (let node = walk.nextNode(); node; node = walk.nextNode()) {
                 for (const m of node.textContent.matchAll(/\\S+/g)) {
                   const r = document.createRange();
                   r.setStart(node, m.index);
                   r.setEnd(node, m.index + m[0].length);
                   const tops = new Set(Array.from(r.getClientRects())
                     .filter(x => x.width > 0).map(x => Math.round(x.top)));
                   if (tops.size > 1) split.push(m[0]);
                 }
               }
             }
             return split;",
            vec![],
        )
        .await
        .expect("measure words");
    found
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// How many rows the header's visible items (brand, links, menu button)
/// take: one, on every screen.
pub(super) async fn header_rows(c: &Client) -> usize {
    let tops = c
        .execute(
            "const items = document.querySelectorAll(
               'header.top > a.brand, header.top > nav.wide li, header.top > details.menu > summary');
             return Array.from(items).filter(e => e.getClientRects().length)
               .map(e => { const r = e.getBoundingClientRect(); return Math.round(r.top + r.height / 2); });",
            vec![],
        )
        .await
        .expect("measure the header");
    let mut rows: Vec<i64> = tops
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
        .unwrap_or_default();
    rows.sort_unstable();
    rows.dedup_by(|a, b| (*a - *b).abs() <= 4);
    rows.len()
}

/// Visits `path` and checks it as a page a person reads.
async fn check(c: &Client, axe: &Option<String>, base: &str, path: &str, label: &str) {
    c.goto(&format!("{base}{path}")).await.expect("page");
    let title = c.title().await.expect("title");
    assert!(
        title.ends_with("· Rota") && !title.starts_with("Not Found"),
        "{path}: title {title:?}"
    );
    let h1 = c.find(Locator::Css("main h1")).await;
    assert!(h1.is_ok(), "{path} has a heading");
    assert_no_sideways_scroll(c, path).await;
    let split = split_words(c).await;
    assert!(
        split.is_empty(),
        "{path} ({label}) splits words in table cells: {split:?}"
    );
    assert_eq!(header_rows(c).await, 1, "{path} ({label}): the header is one row");
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
async fn every_main_page_is_accessible_and_reads_on_a_phone_in_light_and_dark() {
    every_main_page_reads(390, 844, "phone").await;
}

#[tokio::test]
async fn every_main_page_is_accessible_and_reads_on_a_laptop_in_light_and_dark() {
    every_main_page_reads(1280, 900, "laptop").await;
}

/// axe-core finds nothing serious, nothing scrolls sideways, no word in a
/// table cell is split and the header is one row, on every main page.
async fn every_main_page_reads(width: u32, height: u32, device: &str) {
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
    // An integration token, for the page that asks before revoking it.
    let mut conn = app.db.acquire().await.expect("conn");
    let platform = rota::db::teams::by_slug(&mut conn, "platform")
        .await
        .expect("team")
        .expect("platform");
    let token = rota::ops::integrations::create(&mut conn, &platform, "alertmanager", None, None)
        .await
        .expect("token");
    drop(conn);
    let Some(b) = browser(width, height).await else { return };
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
        "/teams/platform/settings/members".into(),
        "/teams/platform/settings/rotations".into(),
        "/teams/platform/settings/alerting".into(),
        "/teams/platform/settings/out-of-hours".into(),
        "/teams/platform/settings/integrations".into(),
        "/teams/platform/rotations/weekly".into(),
        "/teams/platform/members/remove?email=ravi%40example.com".into(),
        format!("/teams/platform/integrations/{}/revoke", token.integration.id),
        format!("/teams/platform/pages/{}/delete", ids.0),
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
            screenshot(c, &format!("{device}-{scheme}-manager-{}", slug(path))).await;
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
            screenshot(c, &format!("{device}-{scheme}-member-{}", slug(path))).await;
        }
    }
    // The check can fail: an unlabelled field and an image without text.
    c.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=bare><img src=/x.png>');",
        vec![],
    )
    .await
    .expect("break the page");
    if let Some(axe) = &axe {
        let problems = axe_problems(c, axe).await;
        assert!(problems.iter().any(|p| p.contains("label")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("image-alt")), "{problems:?}");
    }
    // The word check can fail: a cell too narrow for its word, allowed to
    // break anywhere.
    c.execute(
        "const t = document.createElement('table'); t.innerHTML = '<tr><td>Interruptions</td></tr>';
         const td = t.querySelector('td'); td.style.width = '3em'; td.style.maxWidth = '3em';
         td.style.overflowWrap = 'anywhere'; t.style.width = 'auto'; t.style.tableLayout = 'fixed';
         document.querySelector('main').append(t);",
        vec![],
    )
    .await
    .expect("a squeezed cell");
    assert_eq!(split_words(c).await, vec!["Interruptions".to_owned()]);
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
