//! The chat webhook: a local receiver gets the post; when it answers 500
//! the submission still succeeds and the post is retried. The receivers
//! run on 127.0.0.1, which Rota sends to only when the address is named in
//! its allowed hosts, as the app here is told.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Duration;
use reqwest::StatusCode;
use rota::jobs::webhooks::{MAX_ATTEMPTS, Report, deliver_due};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{PAGE, Team, team_on};
use crate::common::{spawn_app_allowing, t};

const WEBHOOK: &str = "/api/v1/teams/platform/handoff-webhook";

/// The handoff team on an app that may post to `allow_hosts`.
async fn team_allowing(now: &str, allow_hosts: &str) -> Team {
    team_on(spawn_app_allowing(t(now), allow_hosts).await).await
}

/// A chat server on a free local port that records what it is sent and
/// answers with the status it is told to.
#[derive(Clone)]
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<Value>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            posts: Arc::default(),
            status: Arc::new(AtomicU16::new(status)),
        };
        let app = Router::new()
            .route(
                "/hook",
                post(|State(r): State<Receiver>, Json(body): Json<Value>| async move {
                    r.posts.lock().unwrap().push(body);
                    axum::http::StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
                }),
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    /// `host:port`, as `ROTA_OUTGOING_ALLOW_HOSTS` names it.
    fn host_port(&self) -> &str {
        self.url.trim_start_matches("http://").trim_end_matches("/hook")
    }

    fn posts(&self) -> Vec<Value> {
        self.posts.lock().unwrap().clone()
    }
}

async fn set_webhook(team: &Team, url: &str) -> Value {
    let (status, body) = team
        .f
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.f.manager_token,
            WEBHOOK,
            json!({"url": url}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn deliveries(team: &Team) -> Vec<Value> {
    let (status, body) = team.f.app.get_json(&team.f.manager_token, WEBHOOK).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_submitted_handoff_is_posted_and_a_500_is_retried_without_blocking_submission() {
    let chat = Receiver::start(500).await;
    let team = team_allowing("2026-11-10T08:30:00Z", chat.host_port()).await;
    let app = &team.f.app;

    // Only managers set it, and only to a web address.
    let (status, _) = app
        .send_json(reqwest::Method::PUT, &team.tokens[0], WEBHOOK, json!({"url": chat.url}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            &team.f.manager_token,
            WEBHOOK,
            json!({"url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(set_webhook(&team, &chat.url).await["url"], chat.url);

    // Submitting succeeds at once; nothing is sent during the request.
    let (status, body) = team.put(&team.tokens[0], "All quiet. Watch the *queue*.", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "submitted");
    assert!(chat.posts().is_empty());

    // The job posts it; the chat server answers 500.
    let now = t("2026-11-10T08:30:05Z");
    let report = deliver_due(&app.db, &app.outgoing, now).await.unwrap();
    assert_eq!(
        report,
        Report {
            delivered: 0,
            failed: 1
        }
    );
    assert_eq!(chat.posts().len(), 1);
    let d = &deliveries(&team).await[0];
    assert_eq!(d["state"], "retrying", "{d}");
    assert_eq!(d["last_status"], 500);
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["next_attempt_at"], "2026-11-10T08:30:35Z", "after 30 seconds");
    let manager = app.sign_in("manager@example.com").await;
    let (_, settings) = team.html(&manager, "/teams/platform/settings/integrations").await;
    assert!(
        settings.contains("retrying") && settings.contains("The chat server answered 500"),
        "{settings}"
    );

    // Not again before its time; then again, and now it is taken.
    assert_eq!(
        deliver_due(&app.db, &app.outgoing, now).await.unwrap(),
        Report::default()
    );
    chat.status.store(200, Ordering::SeqCst);
    let report = deliver_due(&app.db, &app.outgoing, now + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(
        report,
        Report {
            delivered: 1,
            failed: 0
        }
    );
    let posts = chat.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0], posts[1], "the retry posts the same thing");
    // A channel set by address alone is Slack's: a section and a button.
    let headline = "*Handoff:* Person 0 submitted the Weekly handoff for the week from Tue 10 Nov 2026 (platform), for Person 1 and Person 2.";
    assert_eq!(posts[1]["text"], headline);
    let section = &posts[1]["blocks"][0]["text"];
    assert_eq!(section["type"], "mrkdwn");
    assert_eq!(section["text"], format!("{headline}\n\nAll quiet. Watch the *queue*."));
    let button = &posts[1]["blocks"][1]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["text"], "Read and acknowledge it in Rota");
    assert_eq!(button["url"], format!("{}{PAGE}", app.base_url));
    let d = &deliveries(&team).await[0];
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2);
    let (_, settings) = team.html(&manager, "/teams/platform/settings/integrations").await;
    assert!(settings.contains("delivery-delivered"), "{settings}");

    // Delivered once: later runs and later edits post nothing more.
    assert_eq!(
        deliver_due(&app.db, &app.outgoing, now + Duration::hours(5))
            .await
            .unwrap(),
        Report::default()
    );
    assert_eq!(
        team.put(&team.tokens[0], "All quiet, edited", false).await.0,
        StatusCode::OK
    );
    assert_eq!(deliveries(&team).await.len(), 1);
}

#[tokio::test]
async fn a_handoff_goes_to_a_mattermost_channel_through_the_same_formatter() {
    let chat = Receiver::start(200).await;
    let team = team_allowing("2026-11-10T08:30:00Z", chat.host_port()).await;
    let (status, body) = team
        .f
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.f.manager_token,
            "/api/v1/teams/platform/chat",
            json!({"kind": "mattermost", "url": chat.url}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The old address-only route keeps the channel's kind.
    assert_eq!(set_webhook(&team, &chat.url).await["url"], chat.url);
    let note = "# Quiet week\n<!channel> @all see [the runbook](https://evil.example)";
    assert_eq!(team.put(&team.tokens[0], note, true).await.0, StatusCode::OK);
    let report = deliver_due(&team.f.app.db, &team.f.app.outgoing, t("2026-11-10T08:31:00Z"))
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let post = &chat.posts()[0];
    let a = &post["attachments"][0];
    assert_eq!(a["color"], "#2d6cdf");
    assert_eq!(
        a["title"],
        "Person 0 submitted the Weekly handoff for the week from Tue 10 Nov 2026 (platform), for Person 1 and Person 2."
    );
    let link = format!("{}{PAGE}", team.f.app.base_url);
    assert_eq!(a["title_link"], link);
    assert_eq!(
        a["text"],
        format!(
            "\\# Quiet week\n\\<!channel\\> @\u{200B}all see \\[the runbook\\](https://evil.example)\n\n[Read and acknowledge it in Rota]({link})"
        )
    );
}

#[tokio::test]
async fn two_processes_post_a_handoff_once() {
    let chat = Receiver::start(200).await;
    let team = team_allowing("2026-11-10T08:30:00Z", chat.host_port()).await;
    set_webhook(&team, &chat.url).await;
    assert_eq!(team.put(&team.tokens[0], "Once", true).await.0, StatusCode::OK);
    let now = t("2026-11-10T08:31:00Z");
    let (a, b) = tokio::join!(
        deliver_due(&team.f.app.db, &team.f.app.outgoing, now),
        deliver_due(&team.f.app.db, &team.f.app.outgoing, now)
    );
    assert_eq!(a.unwrap().delivered + b.unwrap().delivered, 1);
    assert_eq!(chat.posts().len(), 1);
}

#[tokio::test]
async fn an_unreachable_chat_server_is_retried_with_backoff_then_given_up() {
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    let url = format!("http://{address}/hook?token=s3cret");
    drop(closed);
    let team = team_allowing("2026-11-10T08:30:00Z", &address.to_string()).await;
    set_webhook(&team, &url).await;
    assert_eq!(team.put(&team.tokens[0], "Into the void", true).await.0, StatusCode::OK);
    let mut now = t("2026-11-10T08:30:00Z");
    for attempt in 1..=MAX_ATTEMPTS {
        let report = deliver_due(&team.f.app.db, &team.f.app.outgoing, now).await.unwrap();
        assert_eq!(report.failed, 1, "attempt {attempt}");
        now += Duration::hours(2);
    }
    assert_eq!(
        deliver_due(&team.f.app.db, &team.f.app.outgoing, now).await.unwrap(),
        Report::default()
    );
    let d = &deliveries(&team).await[0];
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["attempts"], MAX_ATTEMPTS);
    let error = d["last_error"].as_str().unwrap();
    assert!(error.starts_with("Could not deliver: no answer"), "{error}");
    assert!(
        !error.contains("s3cret"),
        "the address's secret stays out of errors: {error}"
    );
}
