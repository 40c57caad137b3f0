//! Notification e-mail, received by a local SMTP sink.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::common::{fixture_on, spawn_app_with, t};

#[derive(Debug, Clone, Default)]
pub(crate) struct Received {
    pub to: Vec<String>,
    pub data: String,
}

pub(crate) type Inbox = Arc<Mutex<Vec<Received>>>;

/// Just enough SMTP to take messages: every command is accepted.
pub(crate) async fn smtp_sink() -> (String, Inbox) {
    let sink = smtp_sink_stalling_at(None).await;
    (sink.url, sink.inbox)
}

/// A sink and the means to stall it, as a mail server that stops answering.
pub(crate) struct Sink {
    pub url: String,
    pub inbox: Inbox,
    /// Notified when the sink stalls.
    pub stalled: Arc<Notify>,
    /// Notify it to close the stalled connection.
    pub release: Arc<Notify>,
    /// How many messages it has taken so far, to wait for one.
    pub received: tokio::sync::watch::Receiver<usize>,
}

/// Like [`smtp_sink`], but at the `stall_at`-th DATA command (counting
/// from 1) it stops answering, notifies `stalled`, and waits for `release`
/// to close that connection; that message is not received.
pub(crate) async fn smtp_sink_stalling_at(stall_at: Option<usize>) -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let inbox: Inbox = Arc::default();
    let (stalled, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let datas = Arc::new(AtomicUsize::new(0));
    let (count, received) = tokio::sync::watch::channel(0usize);
    let count = Arc::new(count);
    let store = inbox.clone();
    let (on_stall, on_release) = (stalled.clone(), release.clone());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (store, datas, count) = (store.clone(), datas.clone(), count.clone());
            let (on_stall, on_release) = (on_stall.clone(), on_release.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut current = Received::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        let to = line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_owned();
                        current.to.push(to);
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        if Some(datas.fetch_add(1, Ordering::SeqCst) + 1) == stall_at {
                            on_stall.notify_one();
                            on_release.notified().await;
                            return;
                        }
                        let _ = write.write_all(b"354 go ahead\r\n").await;
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            current.data.push_str(&l);
                            current.data.push('\n');
                        }
                        store.lock().unwrap().push(std::mem::take(&mut current));
                        count.send_modify(|n| *n += 1);
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Sink {
        url,
        inbox,
        stalled,
        release,
        received,
    }
}

/// p0's primary week from 2 March 2027.
async fn week8_primary(f: &crate::common::Fixture, token: &str) -> serde_json::Value {
    let (_, list) = f
        .app
        .get_json(
            token,
            "/api/v1/teams/platform/shifts?from=2027-03-02T10:00:00Z&to=2027-03-02T10:00:01Z",
        )
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "primary")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn each_notification_is_mailed_to_the_right_people_only() {
    let (url, inbox) = smtp_sink().await;
    let app = spawn_app_with(t("2027-03-01T12:00:00Z"), Some(url)).await;
    let f = fixture_on(app, "Europe/London", "2027-01-05", 4).await;
    // Someone in another team only, and p1, who leaves the team first.
    let other = f.app.team("payments", "Europe/London").await;
    let outsider = f.app.user("outsider@example.com", "Out Sider", "UTC", false).await;
    f.app.add(&other, &outsider, TeamRole::Member).await;
    let (status, body) = f
        .app
        .send_json(
            reqwest::Method::DELETE,
            &f.manager_token,
            "/api/v1/teams/platform/members/p1@example.com",
            json!(null),
        )
        .await;
    assert!(status.is_success(), "{body}");

    let p0 = f.app.token(&f.members[0]).await;
    let week8 = week8_primary(&f, &p0).await;
    assert_eq!(week8["email"], "p0@example.com");
    // A cover open to the team: every current member but the requester hears.
    let (status, body) = f
        .app
        .post_json(&p0, "/api/v1/teams/platform/swaps", json!({"shift_id": week8["id"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mailer = f.app.mailer.clone().expect("SMTP configured");
    let sent = rota::mail::send_due(&f.app.db, &mailer, f.app.clock.now())
        .await
        .unwrap();
    assert_eq!(sent, 3);
    let mut to: Vec<String> = inbox.lock().unwrap().iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["manager@example.com", "p2@example.com", "p3@example.com"]);
    let first = inbox.lock().unwrap()[0].data.clone();
    assert!(first.contains("asks the team for cover"), "{first}");
    assert!(
        first.contains(&format!("{}/swaps/", f.app.base_url)),
        "a link back: {first}"
    );

    // Sent once: a second run finds nothing due.
    assert_eq!(
        rota::mail::send_due(&f.app.db, &mailer, f.app.clock.now())
            .await
            .unwrap(),
        0
    );

    // p3 volunteers: the requester hears, and the manager is asked to approve.
    let id = body["id"].as_i64().unwrap();
    let p3 = f.app.token(&f.members[3]).await;
    let (status, body) = f
        .app
        .post_json(&p3, &format!("/api/v1/swaps/{id}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["counterpart"]["email"], "p3@example.com");
    inbox.lock().unwrap().clear();
    assert_eq!(
        rota::mail::send_due(&f.app.db, &mailer, f.app.clock.now())
            .await
            .unwrap(),
        2
    );
    let mut to: Vec<String> = inbox.lock().unwrap().iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["manager@example.com", "p0@example.com"]);
}

#[tokio::test]
async fn without_smtp_notifications_stay_in_the_app() {
    let f = crate::common::fixture(t("2027-03-01T12:00:00Z"), "Europe/London", "2027-01-05", 4).await;
    assert!(f.app.mailer.is_none());
    let p0 = f.app.token(&f.members[0]).await;
    let week8 = week8_primary(&f, &p0).await;
    f.app
        .post_json(&p0, "/api/v1/teams/platform/swaps", json!({"shift_id": week8["id"]}))
        .await;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE mail_state <> 'none'")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    let p1 = f.app.token(&f.members[1]).await;
    let (_, mine) = f.app.get_json(&p1, "/api/v1/me/notifications").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
}
