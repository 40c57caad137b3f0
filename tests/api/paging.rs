//! Issue 12: Rota pages the person on call. Local receivers on 127.0.0.1
//! speak ntfy's publish API (JSON to the server root, with the topic) and
//! take generic webhooks.
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
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::common::{TestApp, spawn_app_allowing, t};

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
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            got: Arc::default(),
            failing: Arc::default(),
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
    let rx = Receiver::start().await;
    let app = spawn_app_allowing(t(RECEIVED), rx.host_port()).await;
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
        app,
        rx,
    };
    confirmed_push(&p, &p.alex.clone(), "alex").await;
    confirmed_push(&p, &p.sam.clone(), "sam").await;
    p
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
}
