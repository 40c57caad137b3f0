//! Issue 12's journey on a phone: a manager sets the team's escalation; an
//! engineer adds a push and an SMS method, confirms each with the code its
//! test message carried, sends themself a test page, and acknowledges a
//! real page from the link in its push.
//!
//! One local receiver on 127.0.0.1 speaks ntfy's publish API (JSON to the
//! server's root, naming the topic) and Twilio's Messages API (form fields,
//! HTTP Basic with the account's SID and token, 201 with a `sid`). The
//! paging worker is run with the test's clock (`settle_paging`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fantoccini::{Client, Locator};
use rota::db::teams::TeamRole;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::common::{TestApp, api, spawn_app_configured, split};
use super::{
    assert_no_sideways_scroll, browser, fill, pick, press, screenshot, sign_in, sign_out, t, text, wait_for_text,
};

/// Tuesday 3 March 2026, 03:08 UTC: Alertmanager's sample fired at 03:07:12
/// and Alex is the primary until 10:00.
const NOW: &str = "2026-03-03T03:08:00Z";
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-auth-token-for-the-journey";
const FROM: &str = "+15005550006";
const ALEX_PHONE: &str = "+447700900123";

/// What the receiver took: ntfy publishes (`ntfy`, the JSON) and Twilio
/// messages (`sms`, the form's fields as a JSON object).
#[derive(Clone)]
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<(&'static str, Value)>>>,
    /// How many requests it has taken, to wait on instead of a timer.
    count: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Receiver {
    /// Starts on a free local port; it stops with the test's runtime.
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let r = Receiver {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            got: Arc::default(),
            count: Arc::new(tokio::sync::watch::channel(0).0),
        };
        async fn ntfy(State(r): State<Receiver>, raw: Bytes) -> StatusCode {
            let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            r.took("ntfy", body);
            StatusCode::OK
        }
        async fn messages(
            State(r): State<Receiver>,
            Path(sid): Path<String>,
            headers: HeaderMap,
            raw: Bytes,
        ) -> (StatusCode, axum::Json<Value>) {
            let basic = format!("Basic {}", STANDARD.encode(format!("{SID}:{AUTH_TOKEN}")));
            let authorized =
                sid == SID && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(basic.as_str());
            let form: HashMap<String, String> = serde_urlencoded::from_bytes(&raw).unwrap_or_default();
            let n = r.took("sms", json!(form));
            if !authorized {
                let error = json!({"code": 20003, "message": "Authenticate", "status": 401});
                return (StatusCode::UNAUTHORIZED, axum::Json(error));
            }
            let sid = format!("SM{n:032x}");
            (
                StatusCode::CREATED,
                axum::Json(json!({"sid": sid, "status": "queued", "to": form.get("To"), "account_sid": SID})),
            )
        }
        let app = Router::new()
            .route("/", post(ntfy))
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    /// Records a request; how many it has taken now.
    fn took(&self, what: &'static str, body: Value) -> usize {
        let n = {
            let mut got = self.got.lock().expect("lock");
            got.push((what, body));
            got.len()
        };
        self.count.send_replace(n);
        n
    }

    fn host_port(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Waits (bounded) until it has taken `n` requests in all.
    async fn wait_for(&self, n: usize) {
        let mut count = self.count.subscribe();
        let taken = tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| *c >= n)).await;
        assert!(
            matches!(taken, Ok(Ok(_))),
            "the receiver took {} of {n} requests: {:?}",
            *self.count.borrow(),
            self.got.lock().expect("lock")
        );
    }

    /// Pushes published to `topic`, in order.
    fn pushes(&self, topic: &str) -> Vec<Value> {
        let got = self.got.lock().expect("lock");
        got.iter()
            .filter(|(what, b)| *what == "ntfy" && b["topic"] == topic)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// SMS bodies sent to `to`, in order.
    fn texts(&self, to: &str) -> Vec<String> {
        let got = self.got.lock().expect("lock");
        got.iter()
            .filter(|(what, b)| *what == "sms" && b["To"] == to)
            .map(|(_, b)| b["Body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// The six-digit code in a test message ("… is 123456. Enter it …").
fn code_in(message: &str) -> String {
    let after = message.rsplit(" is ").next().unwrap_or_default();
    let code: String = after.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "a six-digit code in {message:?}");
    code
}

/// Enters `code` in the one unconfirmed method's form and confirms it.
async fn confirm(c: &Client, code: &str, label: &str) {
    let field = c
        .find(Locator::Css("main form[action$='/verify'] input[name=code]"))
        .await
        .expect("the code field of the unconfirmed method");
    field.send_keys(code).await.expect("type the code");
    press(c, "main form[action$='/verify'] button[type=submit]").await;
    wait_for_text(c, &format!("{label} is confirmed")).await;
}

/// Alex (primary this week) and Sam (secondary), SLAs 5 and 30, with
/// Mona as the manager; Rota sends SMS through the receiver and may push
/// to it. The integration token for Alertmanager.
async fn setup(rx: &Receiver) -> (TestApp, String, String) {
    let policy = rota::outgoing::Policy::new(false, rx.host_port()).expect("allowed hosts");
    let api_url = rx.base.clone();
    let app = spawn_app_configured(t(NOW), |s| {
        s.outgoing = policy;
        s.twilio = Some(rota::config::Twilio {
            account_sid: SID.into(),
            auth_token: AUTH_TOKEN.into(),
            from: FROM.into(),
            api_url,
        });
    })
    .await;
    let team = app.team("platform", "Europe/London").await;
    let mona = app
        .user("mona@example.com", "Mona Manager", "Europe/London", false)
        .await;
    let alex = app
        .user("alex@example.com", "Alex Engineer", "Europe/London", false)
        .await;
    let sam = app.user("sam@example.com", "Sam", "Europe/London", false).await;
    app.add(&team, &mona, TeamRole::Manager).await;
    app.add(&team, &alex, TeamRole::Member).await;
    app.add(&team, &sam, TeamRole::Member).await;
    let manager = app.token(&mona).await;
    let (status, body) = app
        .post_json(
            &manager,
            "/api/v1/teams/platform/rotations",
            json!({"slug": "weekly", "name": "Weekly", "start_date": "2026-02-24",
                   "participants": ["alex@example.com", "sam@example.com"],
                   "primary_sla_minutes": 5, "secondary_sla_minutes": 30}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &manager,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alertmanager"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let hook = body["token"].as_str().expect("the token").to_owned();
    (app, manager, hook)
}

/// Alertmanager's firing sample, as Alertmanager sends it; the page's id.
async fn fire(app: &TestApp, hook: &str) -> i64 {
    let body = std::fs::read_to_string(format!(
        "{}/tests/fixtures/samples/alertmanager-firing.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the sample");
    let res = api()
        .post(app.url("/api/v1/hooks/alertmanager"))
        .bearer_auth(hook)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the hook");
    let (status, body) = split(res).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["pages"][0].as_i64().expect("the page's id")
}

#[tokio::test]
async fn a_manager_sets_the_escalation_and_an_engineer_is_paged_and_acknowledges_on_a_phone() {
    let rx = Receiver::start().await;
    let (app, manager, hook) = setup(&rx).await;
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;

    // The manager finds the escalation through the team's settings.
    sign_in(c, &app, "mona@example.com", super::common::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    press(c, "main a[href='/teams/platform/settings']").await;
    press(c, "nav.settings-nav a[href='/teams/platform/settings/alerting']").await;
    wait_for_text(c, "See or change the escalation").await;
    press(c, "main a[href='/teams/platform/escalation']").await;
    wait_for_text(c, "The default, from the rotation").await;
    fill(c, "steps", "primary 0\nsecondary 5\nmanagers 30").await;
    fill(c, "repeat", "2").await;
    press(c, "form[action='/teams/platform/escalation'] button[type=submit]").await;
    wait_for_text(c, "Escalation saved").await;
    let shown = text(c).await;
    for step in [
        "The team's own policy",
        "The primary, at once",
        "The secondary, after 5 minutes",
        "The team's managers, after 30 minutes",
        "Then from the top again, 2 more times",
    ] {
        assert!(shown.contains(step), "the page shows {step:?}:\n{shown}");
    }
    assert_no_sideways_scroll(c, "the escalation page").await;
    screenshot(c, "phone-escalation").await;
    let (_, policy) = app.get_json(&manager, "/api/v1/teams/platform/escalation").await;
    assert_eq!(
        policy["steps"],
        json!([{"target": "primary", "after_minutes": 0}, {"target": "secondary", "after_minutes": 5},
               {"target": "managers", "after_minutes": 30}])
    );
    assert_eq!(policy["repeat"], 2);
    sign_out(c).await;

    // The engineer opens "How Rota pages you" from their profile, through
    // the phone's menu.
    sign_in(c, &app, "alex@example.com", super::common::PASSWORD).await;
    wait_for_text(c, "On call now").await;
    c.find(Locator::Css("header details.menu > summary"))
        .await
        .expect("the menu")
        .click()
        .await
        .expect("open the menu");
    press(c, "header details.menu a[href='/profile']").await;
    press(c, "main a[href='/profile/contact-methods']").await;
    wait_for_text(c, "How Rota pages you").await;
    wait_for_text(c, "nobody can page you").await;

    // A push through ntfy, confirmed with the code its test carried.
    let topic = format!("{}/alex-phone", rx.base);
    pick(c, "kind", "Push through ntfy (a topic URL)").await;
    fill(c, "label", "phone").await;
    fill(c, "target", &topic).await;
    press(c, "form[action='/profile/contact-methods'] button[type=submit]").await;
    wait_for_text(c, "A test message went to phone").await;
    rx.wait_for(1).await;
    let test = rx.pushes("alex-phone").pop().expect("a test push");
    confirm(c, &code_in(test["message"].as_str().expect("its text")), "phone").await;

    // An SMS, through the Twilio setting, the same way.
    pick(c, "kind", "SMS").await;
    fill(c, "label", "mobile").await;
    fill(c, "target", ALEX_PHONE).await;
    press(c, "form[action='/profile/contact-methods'] button[type=submit]").await;
    wait_for_text(c, "A test message went to mobile").await;
    rx.wait_for(2).await;
    let sms = rx.texts(ALEX_PHONE).pop().expect("a test SMS");
    confirm(c, &code_in(&sms), "mobile").await;
    assert!(!text(c).await.contains("waiting for its code"), "both are confirmed");
    assert_no_sideways_scroll(c, "the contact methods").await;
    screenshot(c, "phone-contact-methods").await;

    // A test page to themself: the page view, marked as a drill, and a
    // push and an SMS that say so.
    press(c, "form[action='/profile/test-page'] button[type=submit]").await;
    wait_for_text(c, "Test page sent to you alone").await;
    wait_for_text(c, "A drill: a test page").await;
    let drill_view = c.current_url().await.expect("url");
    assert!(drill_view.path().starts_with("/teams/platform/pages/"), "{drill_view}");
    app.settle_paging().await;
    rx.wait_for(4).await;
    let drill = rx.pushes("alex-phone").pop().expect("the drill's push");
    assert!(
        drill["title"].as_str().expect("a title").starts_with("DRILL"),
        "{drill}"
    );
    let drill_sms = rx.texts(ALEX_PHONE).pop().expect("the drill's SMS");
    assert!(drill_sms.starts_with("DRILL"), "{drill_sms}");
    assert_no_sideways_scroll(c, "the drill's page view").await;
    screenshot(c, "phone-drill").await;
    press(c, "main form[action$='/acknowledge'] button").await;
    wait_for_text(c, "Acknowledged: nobody else is paged").await;

    // A real page, two minutes later (SMS go at most once a minute to
    // one phone): Alex, the primary, is pushed and texted at once; the
    // push opens a page with one Acknowledge button.
    app.clock.set(t(NOW) + chrono::Duration::minutes(2));
    let page = fire(&app, &hook).await;
    app.settle_paging().await;
    rx.wait_for(6).await;
    let push = rx.pushes("alex-phone").pop().expect("the page's push");
    assert_eq!(push["priority"], 5, "{push}");
    let title = push["title"].as_str().expect("a title");
    assert!(
        !title.starts_with("DRILL") && title.contains("Checkout p99 latency"),
        "{push}"
    );
    let page_sms = rx.texts(ALEX_PHONE).pop().expect("the page's SMS");
    assert!(page_sms.starts_with("Checkout p99 latency"), "{page_sms}");
    let click = push["click"].as_str().expect("a click URL");
    assert!(click.starts_with(&app.url("/ack/")), "{click}");
    c.goto(click).await.expect("the acknowledge link");
    wait_for_text(c, "Checkout p99 latency above 2s").await;
    let buttons = c.find_all(Locator::Css("main button")).await.expect("buttons");
    assert_eq!(buttons.len(), 1, "one button");
    assert_eq!(buttons[0].text().await.expect("its text"), "Acknowledge");
    assert_no_sideways_scroll(c, "the acknowledge page").await;
    screenshot(c, "phone-acknowledge").await;
    press(c, "main form button[type=submit]").await;
    wait_for_text(c, "Acknowledged at").await;
    assert!(
        c.find_all(Locator::Css("main button"))
            .await
            .expect("buttons")
            .is_empty(),
        "no button once acknowledged"
    );
    assert_no_sideways_scroll(c, "the acknowledged page").await;
    screenshot(c, "phone-acknowledged").await;
    let by: Option<String> =
        sqlx::query_scalar("SELECT u.email FROM pages p JOIN users u ON u.id = p.acknowledged_by WHERE p.id = $1")
            .bind(page)
            .fetch_one(&app.db)
            .await
            .expect("the page");
    assert_eq!(by.as_deref(), Some("alex@example.com"));

    // Acknowledged, it escalates no further: past the primary's five
    // minutes nobody else is paged or skipped.
    app.clock.set(t(NOW) + chrono::Duration::minutes(8));
    app.settle_paging().await;
    let (_, timeline) = app
        .get_json(&manager, &format!("/api/v1/pages/{page}/notifications"))
        .await;
    let steps = timeline.as_array().expect("a list");
    assert!(
        !steps.is_empty() && steps.iter().all(|n| n["email"] == "alex@example.com"),
        "{timeline}"
    );
    b.client.close().await.expect("close");
}
