//! How pages look on a phone and a laptop: the menu, the metrics page's
//! length, and the pictures the README shows.

use fantoccini::Locator;

use super::{browser, screenshot, sign_in, spawn_app_at, t, wait_for_text};
use crate::a11y::header_rows;

#[tokio::test]
async fn on_a_phone_the_menu_is_one_button_and_twelve_weeks_of_metrics_fit_four_screens() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;
    sign_in(c, &app, "alex@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;

    c.goto(&app.url("/teams/platform/metrics?weeks=12"))
        .await
        .expect("metrics");
    wait_for_text(c, "This period against the previous one").await;
    let screens = c
        .execute(
            "return document.documentElement.scrollHeight / window.innerHeight;",
            vec![],
        )
        .await
        .expect("measure")
        .as_f64()
        .expect("a number");
    assert!(screens <= 4.0, "12 weeks of metrics are {screens:.1} screens tall");
    let folded = c
        .find_all(Locator::Css("main details.fold:not([open])"))
        .await
        .expect("folds");
    assert!(folded.len() >= 3, "the long tables are folded: {}", folded.len());
    screenshot(c, "phone-metrics").await;
    // Unfolded, a table of weeks reads as a table, its dates whole.
    c.execute(
        "document.querySelector('#weeks details.fold').open = true;\
               document.querySelector('#weeks details.fold').scrollIntoView();",
        vec![],
    )
    .await
    .expect("unfold");
    screenshot(c, "phone-metrics-weeks").await;
    let split = crate::a11y::split_words(c).await;
    assert!(split.is_empty(), "{split:?}");

    // The navigation is one row: the brand and a Menu button, which opens
    // the links without JavaScript.
    assert_eq!(header_rows(c).await, 1);
    let profile = c
        .find(Locator::Css("header details.menu a[href='/profile']"))
        .await
        .expect("the profile link in the menu");
    assert!(!profile.is_displayed().await.expect("displayed"), "closed at first");
    c.find(Locator::Css("header details.menu > summary"))
        .await
        .expect("Menu")
        .click()
        .await
        .expect("open");
    assert!(profile.is_displayed().await.expect("displayed"), "open after a tap");
    screenshot(c, "phone-menu").await;
    profile.click().await.expect("follow");
    wait_for_text(c, "Your profile").await;
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn on_a_laptop_the_links_sit_in_one_row_and_the_metrics_read() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let Some(b) = browser(1280, 900).await else { return };
    let c = &b.client;
    sign_in(c, &app, "alex@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    let menu = c.find(Locator::Css("header details.menu")).await.expect("menu");
    assert!(
        !menu.is_displayed().await.expect("displayed"),
        "no menu button on a laptop"
    );
    assert_eq!(header_rows(c).await, 1);
    c.goto(&app.url("/teams/platform/metrics?weeks=12"))
        .await
        .expect("metrics");
    wait_for_text(c, "This period against the previous one").await;
    screenshot(c, "metrics").await;
    c.goto(&app.url("/oncall")).await.expect("directory");
    wait_for_text(c, "Platform").await;
    screenshot(c, "directory").await;
    b.client.close().await.expect("close");
}
