//! Issue 12: Rota pages the person on call. Local receivers on 127.0.0.1
//! speak ntfy's publish API (JSON to the server root, with the topic) and
//! take generic webhooks; the worker is driven by the test's clock
//! (`settle_paging`), as `settle_recovery` drives the recovery job.
//!
//! Primary Alex and secondary Sam, SLAs 5 and 30 minutes: the rotation
//! began Tuesday 24 February 2026 (Alex leads week 0, to 3 March 10:00),
//! and the Alertmanager sample fires at 03:07:12 on 3 March.

mod chat;
mod drills;
mod escalation;
mod methods;
mod processes;
mod reliability;
mod shift_notices;
mod storms;
mod twilio;
mod web;

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
    idempotency: Option<String>,
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
    /// An ntfy topic whose pushes are taken and never answered.
    hanging: Arc<Mutex<Option<String>>>,
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
            hanging: Arc::default(),
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
                idempotency: header("idempotency-key"),
                body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
                raw,
            });
            r.count.send_modify(|n| *n += 1);
            let topic = r.got.lock().unwrap().last().map(|g| g.body["topic"].clone());
            let hangs = r.hanging.lock().unwrap().clone();
            if hangs.is_some() && topic.as_ref().and_then(Value::as_str) == hangs.as_deref() {
                std::future::pending::<()>().await;
            }
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
            .route("/hook/{person}", post(take))
            .route("/chat/{kind}", post(take))
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

    /// What the chat channel at `/chat/{kind}` was posted.
    fn chats(&self, kind: &str) -> Vec<Value> {
        let path = format!("/chat/{kind}");
        let got = self.got.lock().unwrap();
        got.iter().filter(|g| g.path == path).map(|g| g.body.clone()).collect()
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
    setup_tuned(|s| s.smtp_url = smtp_url).await
}

/// As [`setup`], with the settings `tune` changes.
async fn setup_tuned(tune: impl FnOnce(&mut rota::config::Settings)) -> Paging {
    let rx = Receiver::start().await;
    let policy = rota::outgoing::Policy::new(false, rx.host_port()).unwrap();
    let app = spawn_app_configured(t(RECEIVED), |s| {
        s.outgoing = policy;
        tune(s);
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

/// A sample body from `tests/fixtures/samples`.
fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

impl Paging {
    /// Alertmanager's firing sample, as Alertmanager sends it; the page's id.
    async fn fire(&self) -> i64 {
        self.alertmanager(&sample("alertmanager-firing.json")).await
    }

    /// `body` sent as Alertmanager sends it; the id of its first page.
    async fn alertmanager(&self, body: &str) -> i64 {
        let res = api()
            .post(self.app.url("/api/v1/hooks/alertmanager"))
            .bearer_auth(&self.hook)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let (status, body) = crate::common::split(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["pages"][0].as_i64().unwrap()
    }

    /// Rota's own `/metrics`, as text.
    async fn metrics(&self) -> String {
        api()
            .get(self.app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
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
