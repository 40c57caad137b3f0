//! Journeys through the features that came after the first: swaps, the
//! metrics page. Links and buttons are activated from the keyboard.

use fantoccini::Locator;

use super::common::{PASSWORD, fixture};
use super::{browser, press, screenshot, sign_in, sign_out, t, text, wait_for_text};
use crate::assert_no_sideways_scroll;

#[tokio::test]
async fn a_swap_is_asked_accepted_and_approved_in_the_browser() {
    // Mon 1 Mar 2027: p0 is primary from Tue 2 Mar, p2 from Tue 16 Mar.
    let f = fixture(t("2027-03-01T12:00:00Z"), "Europe/London", "2027-01-05", 4).await;
    let primary_week = |email: &'static str, starts: &'static str| {
        let db = f.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT s.id FROM shifts s JOIN users u ON u.id = s.user_id
                 WHERE u.email = $1 AND s.role = 'primary' AND s.starts_at = $2::timestamptz",
            )
            .bind(email)
            .bind(starts)
            .fetch_one(&db)
            .await
            .expect("a primary week")
        }
    };
    let week8 = primary_week("p0@example.com", "2027-03-02T10:00:00Z").await;
    let week10 = primary_week("p2@example.com", "2027-03-16T10:00:00Z").await;
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;

    sign_in(c, &f.app, "p0@example.com", PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&f.app.url("/teams/platform")).await.expect("rota");
    press(c, &format!("a[href='/teams/platform/swaps/new?shift={week8}']")).await;
    wait_for_text(c, "Swap or cover").await;
    c.find(Locator::XPath("//label[input[@name='kind' and @value='swap']]"))
        .await
        .expect("the swap choice")
        .click()
        .await
        .expect("choose swap");
    c.find(Locator::Id("counterpart_shift"))
        .await
        .expect("select")
        .select_by_value(&week10.to_string())
        .await
        .expect("their week");
    c.find(Locator::Id("note"))
        .await
        .expect("note")
        .send_keys("My sister's wedding")
        .await
        .expect("type");
    press(c, "main form button[type=submit]").await;
    wait_for_text(c, "Request sent to Person 2").await;
    assert_no_sideways_scroll(c, "the request page").await;
    screenshot(c, "phone-swap-requested").await;
    sign_out(c).await;

    sign_in(c, &f.app, "p2@example.com", PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&f.app.url("/swaps")).await.expect("requests");
    press(c, "main a[href^='/swaps/']").await;
    wait_for_text(c, "sister").await;
    press(c, "form[action$='/accept'] button").await;
    wait_for_text(c, "Accepted").await;
    sign_out(c).await;

    sign_in(c, &f.app, "manager@example.com", PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&f.app.url("/teams/platform")).await.expect("rota");
    assert!(
        !text(c).await.contains("swapped with"),
        "nothing changes before approval"
    );
    c.goto(&f.app.url("/approvals")).await.expect("approvals");
    press(c, "main a[href^='/swaps/']").await;
    wait_for_text(c, "sister").await;
    press(c, "form[action$='/approve'] button").await;
    wait_for_text(c, "Approved: the rota has changed").await;
    c.goto(&f.app.url("/teams/platform")).await.expect("rota");
    wait_for_text(c, "Person 2 (swapped with Person 0)").await;
    wait_for_text(c, "Person 0 (swapped with Person 2)").await;
    assert_no_sideways_scroll(c, "the rota with a swap").await;
    screenshot(c, "phone-rota-swapped").await;
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn the_metrics_page_shows_its_charts_with_their_numbers() {
    let app = super::spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let Some(b) = browser(1280, 900).await else { return };
    let c = &b.client;
    sign_in(c, &app, "alex@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&app.url("/teams/platform")).await.expect("rota");
    screenshot(c, "desktop-rota").await;
    press(c, "a[href='/teams/platform/metrics']").await;
    wait_for_text(c, "Pages per week").await;
    let charts = c.find_all(Locator::Css("main svg")).await.expect("charts");
    assert!(!charts.is_empty(), "the metrics page draws its charts");
    for chart in &charts {
        let title = chart.find(Locator::Css("title")).await.expect("each chart has a title");
        assert!(!title.html(true).await.expect("title text").trim().is_empty());
    }
    assert!(
        c.find(Locator::Css("main table")).await.is_ok(),
        "the numbers as a table"
    );
    screenshot(c, "desktop-metrics").await;
    c.goto(&app.url("/")).await.expect("now");
    screenshot(c, "desktop-now").await;
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn a_handoff_is_written_then_acknowledged_in_the_browser() {
    // Tue 10 Nov 2026, 08:30 London: Person 0 hands over to Person 1 at 10:00.
    let f = fixture(t("2026-11-10T08:30:00Z"), "Europe/London", "2026-11-03", 4).await;
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;
    let page = "/teams/platform/rotations/weekly/handoffs/2026-11-10";

    sign_in(c, &f.app, "p0@example.com", PASSWORD).await;
    wait_for_text(c, "On call now").await;
    press(c, &format!("main a[href='{page}']")).await;
    wait_for_text(c, "What happened").await;
    let body = c.find(Locator::Id("body")).await.expect("the editor");
    body.clear().await.expect("clear");
    body.send_keys("## What happened\n\nThe zeppelin exporter flapped twice.\n")
        .await
        .expect("type");
    press(c, "button[name=action][value=submit]").await;
    wait_for_text(c, "Handoff submitted").await;
    assert_no_sideways_scroll(c, "a submitted handoff").await;
    screenshot(c, "phone-handoff-submitted").await;
    sign_out(c).await;

    sign_in(c, &f.app, "p1@example.com", PASSWORD).await;
    wait_for_text(c, "Read and acknowledge").await;
    press(c, "main a[href$='/handoffs/2026-11-10']").await;
    wait_for_text(c, "zeppelin exporter").await;
    press(c, &format!("form[action='{page}/acknowledge'] button")).await;
    wait_for_text(c, "You acknowledged the handoff").await;
    c.goto(&f.app.url("/teams/platform/handoffs?q=zeppelin"))
        .await
        .expect("search");
    let mark = c.find(Locator::Css("main mark")).await.expect("a highlighted match");
    assert_eq!(mark.text().await.expect("text").to_lowercase(), "zeppelin");
    b.client.close().await.expect("close");
}
