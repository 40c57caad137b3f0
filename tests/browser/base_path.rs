//! Rota under a path, as behind a proxy that forwards `/rota/…` (issue 16):
//! a whole visit in Chromium never leaves `/rota/`.

use fantoccini::{Client, Locator};

use super::common::{PASSWORD, fixture_on, spawn_app_tuned};
use super::{browser, fill, press, screenshot, sign_out, submit, t, wait_for_text};

/// The path of the page the browser shows, which must be under `/rota/`.
async fn assert_under_rota(c: &Client, step: &str) -> String {
    let path = c.current_url().await.expect("url").path().to_owned();
    assert!(path.starts_with("/rota/"), "after {step} the browser is at {path}");
    path
}

#[tokio::test]
async fn a_visit_under_rota_signs_in_reads_the_rota_writes_a_handoff_and_stays_under_it() {
    // Tue 10 Nov 2026, 08:30 London: Person 0 hands over to Person 1 at 10:00.
    let app = spawn_app_tuned(t("2026-11-10T08:30:00Z"), |s| {
        s.base_url = format!("{}/rota", s.base_url);
    })
    .await;
    let f = fixture_on(app, "Europe/London", "2026-11-03", 4).await;
    let Some(b) = browser(1280, 900).await else { return };
    let c = &b.client;

    // The rota's address, signed out, leads to sign-in and back.
    c.goto(&f.app.url("/rota/teams/platform")).await.expect("rota");
    assert_eq!(
        assert_under_rota(c, "asking for the rota signed out").await,
        "/rota/login"
    );
    fill(c, "email", "p0@example.com").await;
    fill(c, "password", PASSWORD).await;
    submit(c, "main form button[type=submit]").await;
    wait_for_text(c, "Weekly").await;
    assert_eq!(assert_under_rota(c, "signing in").await, "/rota/teams/platform");
    // The stylesheet came from under the path too.
    let styled = c
        .execute(
            "return document.styleSheets.length > 0 && document.styleSheets[0].cssRules.length > 0;",
            vec![],
        )
        .await
        .expect("style");
    assert_eq!(styled, serde_json::Value::Bool(true), "the page is styled");

    // Through the navigation: the directory, then home.
    press(c, "header nav.wide a[href='/rota/oncall']").await;
    wait_for_text(c, "Who is on call").await;
    assert_eq!(assert_under_rota(c, "the directory link").await, "/rota/oncall");
    press(c, "header a.brand").await;
    wait_for_text(c, "On call now").await;
    assert_eq!(assert_under_rota(c, "the home link").await, "/rota/");

    // The handoff from the Now page, written and submitted.
    let page = "/rota/teams/platform/rotations/weekly/handoffs/2026-11-10";
    press(c, &format!("main a[href='{page}']")).await;
    wait_for_text(c, "What happened").await;
    let body = c.find(Locator::Id("body")).await.expect("the editor");
    body.clear().await.expect("clear");
    body.send_keys("## What happened\n\nThe zeppelin exporter flapped twice.\n")
        .await
        .expect("type");
    press(c, "button[name=action][value=submit]").await;
    wait_for_text(c, "Handoff submitted").await;
    assert_eq!(assert_under_rota(c, "submitting the handoff").await, page);
    screenshot(c, "under-a-path-handoff").await;

    sign_out(c).await;
    assert_eq!(assert_under_rota(c, "signing out").await, "/rota/login");
    b.client.close().await.expect("close");
}
