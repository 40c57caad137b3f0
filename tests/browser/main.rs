//! Journeys in real headless Chromium, driven through ChromeDriver. Later
//! capabilities add their journeys here.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them.
//! Without them the suite fails when `ROTA_REQUIRE_BROWSER` is set (as in
//! CI) and is skipped with a message otherwise.

#[path = "../common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::{TestApp, spawn_app_at, t};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod a11y;
mod base_path;
mod journeys;
mod look;
mod paging;
mod sso;
mod timeline;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless browser; the driver and every Chromium process it started
/// end when this is dropped, also when a test fails before `close()`.
struct Browser {
    client: Client,
    /// ChromeDriver's port, for commands WebDriver has no verb for.
    port: u16,
    _driver: Child,
    _chromium: Chromium,
}

/// The Chromium processes of one browser, by their profile directory.
struct Chromium {
    profile: PathBuf,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Killing ChromeDriver (kill_on_drop) leaves the Chromium it
        // started running, with its zygotes and renderers. Every one of
        // them carries this run's own profile directory on its command line.
        let _ = std::process::Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg("--")
            // Anchored at the argument's end, so one profile's path never
            // matches another's that it is a prefix of.
            .arg(format!("--user-data-dir={}( |$)", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn browser(width: u32, height: u32) -> Option<Browser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var_os("ROTA_REQUIRE_BROWSER").is_some() {
            panic!("Chromium and ChromeDriver are required: apt-get install -y chromium chromium-driver");
        }
        eprintln!("skipping browser journeys: install chromium and chromium-driver to run them");
        return None;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let mut driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    // ChromeDriver says when it is ready; wait for that line, not a timer.
    let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await.expect("chromedriver output") {
        if line.contains("started successfully") {
            break;
        }
    }
    let profile = std::env::temp_dir().join(format!("rota-chromium-{}-{port}", std::process::id()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},{height}"),
            ],
            // Headless windows have a minimum width; emulation sets the
            // viewport exactly, as on a phone.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}}
        }
    });
    let caps = caps.as_object().expect("object").clone().into_iter().collect();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Some(Browser {
        client,
        port,
        _driver: driver,
        _chromium: Chromium { profile },
    })
}

async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn fill(c: &Client, id: &str, value: &str) {
    let field = c.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("field #{id}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Chooses the option labelled `label` in the select `#id`.
async fn pick(c: &Client, id: &str, label: &str) {
    let select = c.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("select #{id}"));
    select
        .select_by_label(label)
        .await
        .unwrap_or_else(|_| panic!("#{id} offers {label}"));
}

/// Submits with the keyboard: Enter on the button.
async fn submit(c: &Client, css: &str) {
    press(c, css).await;
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text")
}

/// Waits (bounded) until the page's main content says `needle`: a form
/// post navigates after the click returns.
async fn wait_for_text(c: &Client, needle: &str) {
    let xpath = format!("//main[contains(., '{needle}')]");
    if c.wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::XPath(&xpath))
        .await
        .is_err()
    {
        panic!("the page never said {needle:?}; it says:\n{}", text(c).await);
    }
}

/// The page is no wider than the viewport.
pub(crate) async fn assert_no_sideways_scroll(c: &Client, what: &str) {
    let widths = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("measure");
    let (scroll, inner) = (widths[0].as_i64().unwrap_or(0), widths[1].as_i64().unwrap_or(0));
    assert!(
        scroll <= inner,
        "{what} scrolls sideways: {scroll}px of content in {inner}px"
    );
}

/// Activates a link or button from the keyboard (Enter), as someone who
/// does not use a mouse would.
async fn press(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css} on the page"))
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
}

/// Emulates the reader's colour scheme through ChromeDriver's DevTools
/// bridge, and checks the page sees it.
async fn color_scheme(b: &Browser, scheme: &str) {
    let session = b.client.session_id().await.expect("session").expect("a session id");
    let res = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
            b.port
        ))
        .json(&json!({"cmd": "Emulation.setEmulatedMedia",
                      "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}}))
        .send()
        .await
        .expect("DevTools command");
    assert!(
        res.status().is_success(),
        "emulating {scheme}: {}",
        res.text().await.unwrap_or_default()
    );
}

async fn is_dark(c: &Client) -> bool {
    c.execute("return matchMedia('(prefers-color-scheme: dark)').matches;", vec![])
        .await
        .expect("media query")
        .as_bool()
        .unwrap_or(false)
}

/// Signs out as a person would: on a phone through the Menu button.
async fn sign_out(c: &Client) {
    let menu = c
        .find(Locator::Css("header details.menu > summary"))
        .await
        .expect("the menu");
    if menu.is_displayed().await.expect("displayed") {
        menu.click().await.expect("open the menu");
        press(c, "header details.menu form button").await;
    } else {
        press(c, "header nav.wide form button").await;
    }
    wait_for_text(c, "Sign in").await;
}

async fn sign_in(c: &Client, app: &TestApp, email: &str, password: &str) {
    c.goto(&app.url("/login")).await.expect("login page");
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    submit(c, "main form button[type=submit]").await;
}

#[tokio::test]
async fn first_run_setup_then_team_then_rotation_then_a_member_sees_the_rota() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    let Some(b) = browser(1280, 900).await else { return };
    let c = &b.client;

    c.goto(&app.url("/")).await.expect("home");
    assert!(
        c.current_url().await.expect("url").path().ends_with("/setup"),
        "a fresh install offers setup"
    );
    fill(c, "name", "Ada Admin").await;
    fill(c, "email", "ada@example.com").await;
    fill(c, "timezone", "Europe/London").await;
    fill(c, "password", "a long enough password").await;
    submit(c, "main form button[type=submit]").await;
    wait_for_text(c, "Create your first team").await;

    fill(c, "team-name", "Platform").await;
    fill(c, "team-slug", "platform").await;
    submit(c, "form[action='/admin/teams'] button").await;
    wait_for_text(c, "Team Platform created").await;

    for (email, name) in [("ana@example.com", "Ana Lima"), ("ben@example.com", "Ben Cole")] {
        app.user(email, name, "Europe/London", false).await;
        fill(c, "new-email", email).await;
        submit(c, "form[action='/teams/platform/members'].stack button").await;
        wait_for_text(c, &format!("{name} is now a member")).await;
    }
    // To the rotations section by its link in the section navigation.
    c.find(Locator::Css(
        "nav.settings-nav a[href='/teams/platform/settings/rotations']",
    ))
    .await
    .expect("the section navigation")
    .click()
    .await
    .expect("to rotations");
    wait_for_text(c, "New rotation").await;
    fill(c, "slug", "weekly").await;
    fill(c, "name", "Weekly").await;
    // Participants are picked from the team's members, in order.
    pick(c, "participant-1", "Ana Lima").await;
    pick(c, "participant-2", "Ben Cole").await;
    c.execute("document.getElementById('start_date').value = '2026-11-03';", vec![])
        .await
        .expect("date");
    submit(c, "form[action='/teams/platform/rotations'] button").await;
    wait_for_text(c, "Rotation Weekly created").await;
    screenshot(c, "rota-manager").await;

    // A member signs in and sees the rota with this week marked.
    c.goto(&app.url("/profile")).await.expect("profile");
    sign_out(c).await;
    sign_in(c, &app, "ana@example.com", common::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    let now = text(c).await;
    assert!(now.contains("Platform") && now.contains("Primary"), "{now}");
    screenshot(c, "now").await;
    c.goto(&app.url("/teams/platform")).await.expect("rota");
    // A wide screen draws the timeline; its link opens the table, no script needed.
    press(c, "a[href='#table-weekly']").await;
    let current = c
        .find(Locator::Css("table.rota tr.current"))
        .await
        .expect("the current week is highlighted");
    let row = current.text().await.expect("row");
    assert!(row.contains("Tue 24 Nov 2026 10:00"), "{row}");
    assert!(row.contains("Ana Lima") && row.contains("Ben Cole"), "{row}");
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn the_demo_rota_reads_on_a_phone() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;
    sign_in(c, &app, "priya@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    assert_no_sideways_scroll(c, "Now").await;
    screenshot(c, "phone-now").await;
    for path in ["/teams/platform", "/profile"] {
        c.goto(&app.url(path)).await.expect("page");
        assert_no_sideways_scroll(c, path).await;
    }
    c.goto(&app.url("/teams/platform")).await.expect("rota");
    let rows = c.find_all(Locator::Css("table.rota tbody tr")).await.expect("rows");
    assert_eq!(rows.len(), 17, "four earlier weeks (folded), this one and twelve after");
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn a_night_page_logged_by_hand_grants_a_recovery_day_taken_as_a_late_start() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;
    sign_in(c, &app, "priya@example.com", rota::demo::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.goto(&app.url("/teams/platform/pages")).await.expect("pages");
    fill(c, "summary", "Search index rebuild stuck").await;
    let set = "document.getElementById('fired_date').value = '2026-11-26';\
               document.getElementById('fired_time').value = '02:10';\
               document.getElementById('acknowledged_time').value = '02:14';\
               document.getElementById('worked_until_time').value = '03:30';";
    c.execute(set, vec![]).await.expect("times");
    submit(c, "form[action='/teams/platform/pages'][method='post'] button").await;
    wait_for_text(c, "Page logged").await;
    screenshot(c, "page-logged").await;
    c.goto(&app.url("/")).await.expect("now");
    wait_for_text(c, "Recovery day: Thursday 26 November").await;
    let form = c
        .find(Locator::Css("form[action^='/recovery-days/']"))
        .await
        .expect("the choice form");
    form.find(Locator::Css("select"))
        .await
        .expect("select")
        .select_by_value("late_start")
        .await
        .expect("choose");
    form.find(Locator::Css("button"))
        .await
        .expect("save")
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
    // The confirmation, then the heading, both say how it is taken now.
    wait_for_text(c, "Recovery day on Thu 26 Nov: late start").await;
    wait_for_text(c, "Recovery day: Thursday 26 November — late start").await;
    assert_no_sideways_scroll(c, "Now with a recovery day").await;
    screenshot(c, "phone-now-recovery").await;
    let form: String = sqlx::query_scalar(
        "SELECT r.form FROM recovery_days r JOIN users u ON u.id = r.user_id WHERE u.email = 'priya@example.com' AND r.day = '2026-11-26'",
    )
    .fetch_one(&app.db)
    .await
    .expect("Priya's recovery day");
    assert_eq!(form, "late_start");
    b.client.close().await.expect("close");
}
