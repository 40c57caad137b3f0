//! Issue 12: Rota pages the person on call. Local receivers on 127.0.0.1
//! speak ntfy's publish API (JSON to the server root, with the topic) and
//! take generic webhooks; the worker is driven by the test's clock
//! (`settle_paging`), as `settle_recovery` drives the recovery job.
//!
//! Primary Alex and secondary Sam, SLAs 5 and 30 minutes: the rotation
//! began Tuesday 24 February 2026 (Alex leads week 0, to 3 March 10:00),
//! and the Alertmanager sample fires at 03:07:12 on 3 March.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::common::{TestApp, api, spawn_app_configured, t};

/// The sample's firing, and when Alertmanager tells Rota (48 s later).
const RECEIVED: &str = "2026-03-03T03:08:00Z";

/// One request a receiver took.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    signature: Option<String>,
    authorization: Option<String>,
    raw: Bytes,
    body: Value,
}

/// ntfy (`POST /`, JSON with `topic`) and a webhook receiver (`POST
/// /hook`) on one free local port. It answers 500 to the next `failing`
/// requests, then 200.
#[derive(Clone)]
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Got>>>,
    failing: Arc<AtomicUsize>,
    /// How many requests it has taken, for tests that wait for one.
    count: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            got: Arc::default(),
            failing: Arc::default(),
            count: Arc::new(tokio::sync::watch::channel(0).0),
        };
        async fn take(
            State(r): State<Receiver>,
            uri: axum::http::Uri,
            headers: HeaderMap,
            raw: Bytes,
        ) -> axum::http::StatusCode {
            let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
            r.got.lock().unwrap().push(Got {
                path: uri.path().to_owned(),
                signature: header("x-rota-signature"),
                authorization: header("authorization"),
                body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
                raw,
            });
            r.count.send_modify(|n| *n += 1);
            let fail = r
                .failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::OK
            }
        }
        let app = Router::new()
            .route("/", post(take))
            .route("/hook", post(take))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    fn host_port(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// What ntfy was asked to publish to `topic`.
    fn pushes(&self, topic: &str) -> Vec<Value> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|g| g.path == "/" && g.body["topic"] == topic)
            .map(|g| g.body.clone())
            .collect()
    }

    /// Pages (not tests) pushed to `topic`.
    fn pages(&self, topic: &str) -> Vec<Value> {
        self.pushes(topic).into_iter().filter(|b| b["priority"] == 5).collect()
    }

    fn hooks(&self) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == "/hook")
            .cloned()
            .collect()
    }
}

struct Paging {
    app: TestApp,
    rx: Receiver,
    alex: String,
    sam: String,
    manager: String,
    hook: String,
}

fn code_in(message: &str) -> String {
    let at = message.find(" is ").expect("a code") + 4;
    message[at..at + 6].to_owned()
}

/// Adds an ntfy method on `topic` for the token's owner, confirms it with
/// the code from its test message, and returns its id.
async fn confirmed_push(p: &Paging, token: &str, topic: &str) -> i64 {
    let (status, body) = p
        .app
        .post_json(
            token,
            "/api/v1/me/contact-methods",
            json!({"kind": "ntfy", "label": "phone", "target": format!("{}/{topic}", p.rx.base)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["verified"], false);
    assert_eq!(body["test_message"], "delivered", "{body}");
    let id = body["id"].as_i64().unwrap();
    let test = p.rx.pushes(topic).pop().expect("a test message");
    let code = code_in(test["message"].as_str().unwrap());
    let (status, body) = p
        .app
        .post_json(
            token,
            &format!("/api/v1/me/contact-methods/{id}/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
    id
}

async fn setup() -> Paging {
    setup_with(None).await
}

/// As [`setup`], sending e-mail to `smtp_url` when given.
async fn setup_with(smtp_url: Option<String>) -> Paging {
    let rx = Receiver::start().await;
    let policy = rota::outgoing::Policy::new(false, rx.host_port()).unwrap();
    let app = spawn_app_configured(t(RECEIVED), |s| {
        s.outgoing = policy;
        s.smtp_url = smtp_url;
    })
    .await;
    let team = app.team("platform", "Europe/London").await;
    let mona = app.user("mona@example.com", "Mona", "Europe/London", false).await;
    let alex = app.user("alex@example.com", "Alex", "Europe/London", false).await;
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
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &manager,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alertmanager"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let p = Paging {
        alex: app.token(&alex).await,
        sam: app.token(&sam).await,
        hook: body["token"].as_str().unwrap().to_owned(),
        manager,
        app,
        rx,
    };
    confirmed_push(&p, &p.alex.clone(), "alex").await;
    confirmed_push(&p, &p.sam.clone(), "sam").await;
    p
}

impl Paging {
    /// Alertmanager's firing sample, as Alertmanager sends it; the page's id.
    async fn fire(&self) -> i64 {
        let body = std::fs::read_to_string(format!(
            "{}/tests/fixtures/samples/alertmanager-firing.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let res = api()
            .post(self.app.url("/api/v1/hooks/alertmanager"))
            .bearer_auth(&self.hook)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, body) = crate::common::split(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["pages"][0].as_i64().unwrap()
    }

    /// Moves the clock to `after` past the receipt and runs the worker.
    async fn at(&self, after: Duration) {
        self.app.clock.set(t(RECEIVED) + after);
        self.app.settle_paging().await;
    }

    async fn timeline(&self, page: i64) -> Vec<Value> {
        let (status, body) = self
            .app
            .get_json(&self.manager, &format!("/api/v1/pages/{page}/notifications"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn acknowledged(&self, page: i64) -> (Option<DateTime<Utc>>, Option<String>) {
        sqlx::query_as(
            "SELECT p.acknowledged_at, u.email FROM pages p LEFT JOIN users u ON u.id = p.acknowledged_by WHERE p.id = $1",
        )
        .bind(page)
        .fetch_one(&self.app.db)
        .await
        .unwrap()
    }
}

/// The token an ntfy page message's Acknowledge action posts.
fn ack_token(push: &Value) -> String {
    let action = &push["actions"][0];
    assert_eq!(action["action"], "http");
    assert_eq!(action["label"], "Acknowledge");
    assert_eq!(action["method"], "POST");
    action["body"].as_str().unwrap().trim_start_matches("token=").to_owned()
}

#[tokio::test]
async fn the_primary_is_pushed_at_once_and_the_secondary_after_the_primary_sla() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let alex = p.rx.pages("alex");
    assert_eq!(alex.len(), 1, "{alex:?}");
    assert!(
        alex[0]["title"].as_str().unwrap().contains("Checkout p99 latency"),
        "{}",
        alex[0]
    );
    assert!(alex[0]["click"].as_str().unwrap().starts_with(&p.app.url("/ack/")));
    assert!(p.rx.pages("sam").is_empty());

    // Nobody acknowledges: Sam at the primary's SLA, not a second before.
    p.at(Duration::minutes(5) - Duration::seconds(1)).await;
    assert!(p.rx.pages("sam").is_empty());
    p.at(Duration::minutes(5)).await;
    let sam = p.rx.pages("sam");
    assert_eq!(sam.len(), 1);
    assert_eq!(p.rx.pages("alex").len(), 1, "Alex is not paged twice");

    // Sam acknowledges with the action's POST, signed in nowhere.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(6));
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", ack_token(&sam[0]))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("sam@example.com"));
    assert_eq!(
        p.acknowledged(page).await,
        (Some(t(RECEIVED) + Duration::minutes(6)), Some("sam@example.com".into()))
    );

    // Nothing more: not the managers at 35 minutes, not a repeat.
    p.at(Duration::hours(3)).await;
    assert_eq!((p.rx.pages("alex").len(), p.rx.pages("sam").len()), (1, 1));
    let timeline = p.timeline(page).await;
    let who: Vec<(&str, i64, &str)> = timeline
        .iter()
        .map(|e| {
            (
                e["email"].as_str().unwrap(),
                e["step"].as_i64().unwrap(),
                e["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("alex@example.com", 0, "delivered"),
            ("sam@example.com", 1, "delivered")
        ]
    );
    assert_eq!(timeline[1]["at"], json!("2026-03-03T03:13:00Z"));
    assert_eq!(timeline[1]["kind"], "ntfy");
}

#[tokio::test]
async fn the_primary_acknowledging_in_time_means_the_secondary_is_never_paged() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    p.app.clock.set(t("2026-03-03T03:09:37Z"));
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{page}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged_by"], "alex@example.com");
    assert_eq!(body["acknowledged_at"], "2026-03-03T03:09:37Z");
    p.at(Duration::hours(2)).await;
    assert!(p.rx.pages("sam").is_empty());
    // Acknowledged 2 min 25 s after it fired: the primary's SLA is met.
    let (_, pages) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/pages?from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z",
        )
        .await;
    assert_eq!(pages[0]["sla"], "met", "{pages}");
    // Resolving ends it for good; a second resolve conflicts.
    let path = format!("/api/v1/pages/{page}/resolve");
    assert_eq!(p.app.post_json(&p.alex, &path, json!({})).await.0, StatusCode::OK);
    assert_eq!(p.app.post_json(&p.alex, &path, json!({})).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn opening_the_acknowledge_link_changes_nothing() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let link = p.rx.pages("alex")[0]["click"].as_str().unwrap().to_owned();
    // A mail scanner or chat unfurler follows the link, twice.
    for _ in 0..2 {
        let res = reqwest::Client::new().get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("<button type=\"submit\">Acknowledge</button>"), "{html}");
        assert!(html.contains("method=\"post\""));
    }
    assert_eq!(p.acknowledged(page).await, (None, None));
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1, "the escalation went on");
    // A forged or altered token is refused.
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", format!("{page}.1.99999999999.00"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(p.acknowledged(page).await, (None, None));
}

#[tokio::test]
async fn a_provider_answering_500_is_retried_with_backoff_and_the_failure_is_on_the_timeline() {
    let p = setup().await;
    p.rx.failing.store(2, Ordering::SeqCst);
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Not again before the wait.
    p.at(Duration::seconds(9)).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    p.at(Duration::seconds(10)).await;
    assert_eq!(p.rx.pages("alex").len(), 2);
    p.at(Duration::seconds(29)).await;
    assert_eq!(p.rx.pages("alex").len(), 2);
    p.at(Duration::seconds(30)).await;
    assert_eq!(p.rx.pages("alex").len(), 3);
    let states: Vec<(String, String)> = p
        .timeline(page)
        .await
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert_eq!(states[0].0, "failed");
    assert!(
        states[0].1.contains("500") && states[0].1.contains("trying again in 10 s"),
        "{states:?}"
    );
    assert!(states[1].1.contains("trying again in 20 s"), "{states:?}");
    assert_eq!(states[2].0, "delivered");
    // And in Rota's own metrics.
    let metrics = api()
        .get(p.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("rota_page_messages_total{kind=\"ntfy\",outcome=\"retrying\"}"),
        "{metrics}"
    );
    // The next rule is still on time: Sam at five minutes.
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
}

#[tokio::test]
async fn a_generic_webhook_is_signed_with_the_secret_shown_once() {
    let p = setup().await;
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "label": "pager bridge", "target": format!("{}/hook", p.rx.base)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().expect("the secret, once").to_owned();
    let got = p.rx.hooks().pop().expect("a test message");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&got.raw);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got.signature.as_deref(), Some(expected.as_str()));
    assert_eq!(got.body["event"], "test");
    assert_eq!(got.authorization, None);
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    assert!(list.to_string().find("secret").is_none(), "{list}");
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let p = setup().await;
    let before = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await.1;
    for (body, says) in [
        // Loopback on a port not named in ROTA_OUTGOING_ALLOW_HOSTS.
        (
            json!({"kind": "webhook", "target": "http://127.0.0.1:1/hook"}),
            "ROTA_OUTGOING_ALLOW_HOSTS",
        ),
        (
            json!({"kind": "ntfy", "target": "http://localhost:1/topic"}),
            "ROTA_OUTGOING_ALLOW_HOSTS",
        ),
        (
            json!({"kind": "webhook", "target": "http://169.254.169.254/latest/meta-data"}),
            "never sends",
        ),
        (json!({"kind": "pigeon", "target": "loft 3"}), "kind is one of"),
        (json!({"kind": "sms", "target": "07700 900123"}), "E.164"),
        (json!({"kind": "ntfy", "target": "https://ntfy.sh/"}), "ntfy topic URL"),
    ] {
        let (status, res) = p
            .app
            .post_json(&p.alex, "/api/v1/me/contact-methods", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
        assert!(
            res["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {res}"
        );
    }
    assert_eq!(p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await.1, before);

    // Rules: negative minutes, an unconfirmed method, someone else's.
    let mine = before[0]["id"].as_i64().unwrap();
    let (_, sms) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "sms", "target": "+447700900123"}),
        )
        .await;
    assert_eq!(sms["verified"], false);
    let (_, sams) = p.app.get_json(&p.sam, "/api/v1/me/contact-methods").await;
    let put = |rules: Value| {
        p.app
            .send_json(reqwest::Method::PUT, &p.alex, "/api/v1/me/notification-rules", rules)
    };
    assert_eq!(
        put(json!([{"contact_method_id": mine, "after_minutes": 0}])).await.0,
        StatusCode::OK
    );
    for rules in [
        json!([{"contact_method_id": mine, "after_minutes": 2}, {"contact_method_id": mine, "after_minutes": -1}]),
        json!([{"contact_method_id": sms["id"], "after_minutes": 2}]),
        json!([{"contact_method_id": sams[0]["id"], "after_minutes": 0}]),
    ] {
        let (status, res) = put(rules.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rules}: {res}");
    }
    let (_, rules) = p.app.get_json(&p.alex, "/api/v1/me/notification-rules").await;
    assert_eq!(rules, json!([{"contact_method_id": mine, "after_minutes": 0}]));

    // Escalation: the default follows the SLAs; no steps is refused.
    let path = "/api/v1/teams/platform/escalation";
    let (status, policy) = p.app.get_json(&p.alex, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        policy["steps"],
        json!([{"target": "primary", "after_minutes": 0}, {"target": "secondary", "after_minutes": 5},
               {"target": "managers", "after_minutes": 35}])
    );
    assert_eq!(policy["custom"], false);
    let (status, res) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.manager,
            path,
            json!({"steps": [], "repeat": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("at least one step"));
    assert_eq!(p.app.get_json(&p.alex, path).await.1, policy);
    // Members read it; only managers set it.
    let one = json!({"steps": [{"target": "primary", "after_minutes": 0}], "repeat": 0});
    let (status, _) = p.app.send_json(reqwest::Method::PUT, &p.alex, path, one.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, res) = p.app.send_json(reqwest::Method::PUT, &p.manager, path, one).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["custom"], true);
}

#[tokio::test]
async fn a_page_reported_with_notify_pages_and_one_without_does_not() {
    let p = setup().await;
    let report = |key: &str, notify: bool| json!({"dedup_key": key, "summary": format!("disk full {key}"), "fired_at": RECEIVED, "notify": notify});
    let (status, body) = p
        .app
        .post_json(&p.hook, "/api/v1/teams/platform/pages", report("quiet", false))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty());
    let (status, body) = p
        .app
        .post_json(&p.hook, "/api/v1/teams/platform/pages", report("loud", true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    p.at(Duration::zero()).await;
    let pages = p.rx.pages("alex");
    assert_eq!(pages.len(), 1);
    assert!(pages[0]["title"].as_str().unwrap().contains("disk full loud"));
    // Escalating by hand pages the next step now.
    let id = body["id"].as_i64().unwrap();
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{id}/escalate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p.at(Duration::seconds(1)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
}

#[tokio::test]
async fn the_running_worker_wakes_on_notify_and_pushes_the_primary_within_a_second() {
    let p = setup().await;
    let worker = tokio::spawn(rota::jobs::paging::run(p.app.state.clone()));
    let mut count = p.rx.count.subscribe();
    let before = *count.borrow_and_update();
    let started = std::time::Instant::now();
    p.fire().await;
    tokio::time::timeout(std::time::Duration::from_secs(1), count.wait_for(|n| *n > before))
        .await
        .expect("Alex's push within a second")
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Now idle until the next step (5 minutes away): a new page wakes it.
    let before = *count.borrow_and_update();
    let report = json!({"dedup_key": "disk", "summary": "Disk full", "fired_at": RECEIVED, "notify": true});
    let (status, body) = p.app.post_json(&p.hook, "/api/v1/teams/platform/pages", report).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    tokio::time::timeout(std::time::Duration::from_secs(1), count.wait_for(|n| *n > before))
        .await
        .expect("the second push within a second")
        .unwrap();
    assert_eq!(p.rx.pages("alex").len(), 2);
    worker.abort();
}

#[tokio::test]
async fn a_primary_on_leave_is_skipped_to_the_secondary_and_the_skip_is_on_the_timeline() {
    let p = setup().await;
    let (status, body) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.alex,
            "/api/v1/me/leave/2026-03-03",
            json!({"end_date": "2026-03-04"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty());
    assert_eq!(p.rx.pages("sam").len(), 1, "the secondary at once, not at 5 minutes");
    let timeline = p.timeline(page).await;
    assert_eq!(timeline[0]["state"], "skipped", "{timeline:?}");
    assert_eq!(timeline[0]["email"], "alex@example.com");
    assert!(timeline[0]["detail"].as_str().unwrap().contains("on leave"));
    assert_eq!(timeline[1]["state"], "delivered");
    assert_eq!(timeline[1]["email"], "sam@example.com");
}

#[tokio::test]
async fn a_primary_on_a_recovery_day_off_is_skipped() {
    let p = setup().await;
    sqlx::query(
        "INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, reason)
         SELECT t.id, u.id, 'night', '2026-03-02', '2026-03-03', 'a night page'
         FROM teams t, users u WHERE t.slug = 'platform' AND u.email = 'alex@example.com'",
    )
    .execute(&p.app.db)
    .await
    .unwrap();
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty());
    assert_eq!(p.rx.pages("sam").len(), 1);
    let timeline = p.timeline(page).await;
    assert!(
        timeline[0]["detail"].as_str().unwrap().contains("recovery day off"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn the_page_view_shows_who_was_paged_and_acknowledges_with_one_button() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let sam = p.app.sign_in("sam@example.com").await;
    let path = format!("/teams/platform/pages/{page}");
    let html = sam.get(p.app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Who was paged"), "{html}");
    assert!(html.contains("alex@example.com") && html.contains("delivered"));
    let csrf = crate::common::csrf_of(&html);
    let res = sam
        .post(p.app.url(&format!("{path}/acknowledge")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.acknowledged(page).await.1.as_deref(), Some("sam@example.com"));
    let html = sam.get(p.app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("by sam@example.com"), "{html}");
    assert!(!html.contains("/acknowledge\""), "no button once acknowledged");
}

#[tokio::test]
async fn a_person_adds_confirms_and_removes_a_push_method_on_their_profile() {
    let p = setup().await;
    let alex = p.app.sign_in("alex@example.com").await;
    let page = || async {
        alex.get(p.app.url("/profile/contact-methods"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = page().await;
    let csrf = crate::common::csrf_of(&html);
    // A refused address re-renders the page saying what to fix.
    let res = alex
        .post(p.app.url("/profile/contact-methods"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "webhook"),
            ("target", "http://169.254.169.254/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("never sends"));
    let target = format!("{}/alex-laptop", p.rx.base);
    let res = alex
        .post(p.app.url("/profile/contact-methods"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "ntfy"),
            ("label", "laptop"),
            ("target", &target),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = page().await;
    assert!(
        html.contains("A test message went to laptop") && html.contains("waiting for its code"),
        "{html}"
    );
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == "laptop")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let code = code_in(p.rx.pushes("alex-laptop")[0]["message"].as_str().unwrap());
    let res = alex
        .post(p.app.url(&format!("/profile/contact-methods/{id}/verify")))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(page().await.contains("laptop is confirmed"));
    let res = alex
        .post(p.app.url(&format!("/profile/contact-methods/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!page().await.contains("alex-laptop"));
}

#[tokio::test]
async fn team_settings_flag_who_cannot_be_paged() {
    let p = setup().await;
    let mona = p.app.sign_in("mona@example.com").await;
    let html = mona
        .get(p.app.url("/teams/platform/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Alex and Sam confirmed a push method in setup; Mona has none.
    assert!(html.contains("Mona cannot be paged"), "{html}");
    assert!(!html.contains("Alex cannot") && !html.contains("Sam cannot"));
}

#[tokio::test]
async fn two_workers_on_one_database_send_every_message_once() {
    let p = setup().await;
    for n in 0..40 {
        let report = json!({"dedup_key": format!("storm-{n}"), "summary": format!("storm {n}"),
                            "fired_at": RECEIVED, "notify": true});
        let (status, body) = p.app.post_json(&p.hook, "/api/v1/teams/platform/pages", report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Two processes' workers, at the same moments.
    for after in [Duration::zero(), Duration::minutes(5)] {
        p.app.clock.set(t(RECEIVED) + after);
        let (a, b) = tokio::join!(p.app.settle_paging(), p.app.settle_paging());
        assert!(a.steps + b.steps >= 40, "{a:?} {b:?}");
    }
    assert_eq!(p.rx.pages("alex").len(), 40);
    assert_eq!(p.rx.pages("sam").len(), 40);
    let mut titles: Vec<String> = p.rx.pages("sam").iter().map(|b| b["title"].to_string()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 40, "each page once");
}

#[tokio::test]
async fn a_message_whose_sender_died_mid_send_goes_out_once_when_its_claim_lapses() {
    let p = setup().await;
    let page = p.fire().await;
    // A process runs the step and claims the message, then dies before
    // sending it (its claim is committed; nothing was sent).
    let mut tx = p.app.db.begin().await.unwrap();
    rota::ops::paging::escalate_due(&mut tx, p.app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = p.app.db.acquire().await.unwrap();
    let claimed = rota::db::paging::claim_messages(&mut conn, p.app.clock.now(), Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    drop(conn);
    // Another process finds nothing to send while the claim holds.
    p.at(Duration::seconds(59)).await;
    assert!(p.rx.pages("alex").is_empty());
    // When it lapses, the message goes out, once.
    p.at(Duration::seconds(60)).await;
    p.at(Duration::seconds(61)).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    assert_eq!(p.timeline(page).await.len(), 1);
}

#[tokio::test]
async fn an_email_method_is_confirmed_by_its_code_and_pages_carry_the_acknowledge_link() {
    let (smtp, inbox) = crate::mail::smtp_sink().await;
    let p = setup_with(Some(smtp)).await;
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "email", "target": "alex.pager@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["test_message"], "sent", "{body}");
    let mail = inbox.lock().unwrap().last().cloned().expect("the test message");
    assert!(mail.to.iter().any(|t| t.contains("alex.pager@example.com")), "{mail:?}");
    let code = code_in(&mail.data);
    let id = body["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/contact-methods/{id}/verify");
    let (status, res) = p.app.post_json(&p.alex, &path, json!({"code": "000000"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, res) = p.app.post_json(&p.alex, &path, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    p.fire().await;
    p.at(Duration::zero()).await;
    let page = inbox.lock().unwrap().last().cloned().unwrap();
    assert!(page.data.contains("Checkout p99 latency"), "{page:?}");
    assert!(page.data.contains(&p.app.url("/ack/")), "{page:?}");
}
