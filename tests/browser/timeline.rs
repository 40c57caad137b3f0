//! The rota on a wide screen is a timeline, with its table kept for
//! screen readers; on a phone it is the table, opened at this week.

use fantoccini::Client;
use serde_json::Value;

use super::a11y::{axe_problems, axe_source};
use super::{assert_no_sideways_scroll, browser, color_scheme, screenshot, sign_in, spawn_app_at, t, wait_for_text};

/// Width, height and top of the timeline, the table and this week's row,
/// and the window's height.
async fn measure(c: &Client) -> Value {
    c.execute(
        "const box = sel => { const e = document.querySelector(sel);
                              if (!e) return null;
                              const r = e.getBoundingClientRect();
                              return {w: r.width, h: r.height, top: r.top}; };
         return {timeline: box('.timeline'), table: box('.rota-table'),
                 current: box('table.rota tr.current'), inner: window.innerHeight};",
        vec![],
    )
    .await
    .expect("measure")
}

fn seen(b: &Value) -> bool {
    b["w"].as_f64().unwrap_or(0.0) > 100.0 && b["h"].as_f64().unwrap_or(0.0) > 50.0
}

/// Opens the demo rota as Priya in a `width`×`height` window; what the
/// page measures, and axe-core's problems in light and dark.
async fn look(width: u32, height: u32, shot: &str) -> Option<(Value, Vec<String>)> {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let b = browser(width, height).await?;
    let c = &b.client;
    sign_in(c, &app, "priya@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&app.url("/teams/platform")).await.expect("rota");
    assert_no_sideways_scroll(c, "the rota").await;
    let sizes = measure(c).await;
    screenshot(c, shot).await;
    let mut problems = Vec::new();
    // Without axe-core (and outside CI) axe_source says so and we skip it.
    if let Some(axe) = axe_source() {
        for scheme in ["light", "dark"] {
            color_scheme(&b, scheme).await;
            let found = axe_problems(c, &axe).await;
            problems.extend(found.into_iter().map(|p| format!("{scheme}: {p}")));
            screenshot(c, &format!("{shot}-{scheme}")).await;
        }
    }
    b.client.close().await.expect("close");
    Some((sizes, problems))
}

#[tokio::test]
async fn a_wide_screen_sees_the_timeline_and_screen_readers_keep_the_table() {
    let Some((sizes, problems)) = look(1280, 900, "timeline").await else {
        return;
    };
    assert!(seen(&sizes["timeline"]), "the timeline is drawn: {sizes}");
    let table = &sizes["table"];
    assert!(
        table["w"].as_f64().unwrap_or(0.0) <= 1.0 && table["h"].as_f64().unwrap_or(0.0) <= 1.0,
        "the table is out of sight but in the page: {sizes}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn a_phone_sees_the_table_opened_at_this_week() {
    let Some((sizes, problems)) = look(390, 844, "phone-rota").await else {
        return;
    };
    assert!(seen(&sizes["table"]), "the table is shown: {sizes}");
    assert!(
        !seen(&sizes["timeline"]),
        "the timeline is not drawn on a phone: {sizes}"
    );
    let (top, inner) = (
        sizes["current"]["top"].as_f64().expect("this week's row"),
        sizes["inner"].as_f64().expect("window height"),
    );
    assert!(
        (0.0..inner).contains(&top),
        "this week's row starts within the first screen: {top}px of {inner}px"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
