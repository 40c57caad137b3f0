//! Finding 4: SSRF through outgoing URLs. A team's chat webhook could
//! point at Rota's own server, decimal/hex/short IPv4 forms, IPv4-mapped
//! IPv6 or the cloud metadata service, and the delivery status told a
//! closed port from a silent one. Every test sends traffic only to
//! 127.0.0.1; addresses elsewhere are judged without connecting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rota::jobs::webhooks::deliver_due;
use rota::outgoing::{Class, Failure, Outgoing, Policy, keep_allowed};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{spawn_app_allowing, spawn_app_at, t};
use crate::handoffs::{Team, team_on};

const WEBHOOK: &str = "/api/v1/teams/platform/handoff-webhook";
const NOW: &str = "2026-11-10T08:30:00Z";

/// A receiver on a free local port that counts the connections it
/// accepts and answers each request 200, or says nothing when `silent`.
struct Receiver {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(silent: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if silent {
                        // Hold the connection open without a word.
                        let _ = socket.read_to_end(&mut Vec::new()).await;
                        return;
                    }
                    let mut request = Vec::new();
                    let mut buf = [0; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buf).await {
                        request.extend_from_slice(&buf[..n]);
                        if complete(&request) {
                            break;
                        }
                    }
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Receiver { address, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn port(&self) -> u16 {
        self.address.port()
    }
}

/// Whether an HTTP request's head and its `content-length` body are in.
fn complete(request: &[u8]) -> bool {
    let text = String::from_utf8_lossy(request);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

/// Answers every name with the addresses it was given, as a DNS server
/// an attacker controls would (or one that rebinds).
struct FakeDns(Vec<SocketAddr>);

impl Resolve for FakeDns {
    fn resolve(&self, _: Name) -> Resolving {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

async fn set_webhook(team: &Team, url: &str) -> (StatusCode, Value) {
    team.f
        .app
        .send_json(
            reqwest::Method::PUT,
            &team.f.manager_token,
            WEBHOOK,
            json!({"url": url}),
        )
        .await
}

async fn deliveries(team: &Team) -> Vec<Value> {
    let (status, body) = team.f.app.get_json(&team.f.manager_token, WEBHOOK).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// The ways of writing Rota's own server (or the metadata service) that
/// the review got accepted, at `port`.
fn internal_urls(port: u16) -> Vec<String> {
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "localhost",
        "0.0.0.0",
    ]
    .iter()
    .map(|host| format!("http://{host}:{port}/hook"))
    .collect()
}

#[tokio::test]
async fn a_local_receiver_named_in_allowed_hosts_is_reached() {
    let receiver = Receiver::start(false).await;
    let team = team_on(spawn_app_allowing(t(NOW), &receiver.address.to_string()).await).await;
    let url = format!("http://{}/hook", receiver.address);
    let (status, body) = set_webhook(&team, &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(team.put(&team.tokens[0], "All quiet", true).await.0, StatusCode::OK);
    let app = &team.f.app;
    let report = deliver_due(&app.db, &app.outgoing, t("2026-11-10T08:30:05Z"))
        .await
        .unwrap();
    assert_eq!(report.delivered, 1, "{:?}", deliveries(&team).await);
    assert_eq!(receiver.accepted(), 1);
}

#[tokio::test]
async fn an_address_of_rotas_own_server_is_refused_when_saved_saying_how_to_allow_it() {
    let team = team_on(spawn_app_at(t(NOW)).await).await;
    for url in internal_urls(9000) {
        let (status, body) = set_webhook(&team, &url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        let detail = body["error"]["message"].as_str().unwrap_or_default();
        assert!(detail.contains("Rota does not send to"), "{url}: {body}");
        if !url.contains("0.0.0.0") {
            assert!(
                detail.contains(":9000"),
                "{url} names itself as the entry to allow: {body}"
            );
            assert!(detail.contains("ROTA_OUTGOING_ALLOW_HOSTS="), "{url}: {body}");
        }
    }
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
    ] {
        let (status, body) = set_webhook(&team, url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert!(body.to_string().contains("never sends"), "{url}: {body}");
    }
    for url in ["http://10.0.0.5:8065/hooks/x", "http://192.168.1.10/hooks/x"] {
        let (status, body) = set_webhook(&team, url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert!(
            body.to_string().contains("ROTA_OUTGOING_ALLOW_PRIVATE=true"),
            "{url}: {body}"
        );
    }
    let (status, body) = set_webhook(&team, "https://chat.example.com/hooks/x").await;
    assert_eq!(status, StatusCode::OK, "a public name is still accepted: {body}");
}

#[tokio::test]
async fn a_stored_address_of_rotas_own_server_is_refused_at_send_time_and_nothing_connects() {
    // Addresses saved before the check existed are still in databases.
    let receiver = Receiver::start(false).await;
    let team = team_on(spawn_app_at(t(NOW)).await).await;
    let app = &team.f.app;
    let urls = internal_urls(receiver.port());
    {
        let mut conn = app.db.acquire().await.unwrap();
        rota::db::handoff_webhooks::set_url(&mut conn, team.f.team.id, Some(&urls[0]))
            .await
            .unwrap();
    }
    assert_eq!(team.put(&team.tokens[0], "All quiet", true).await.0, StatusCode::OK);
    sqlx::query(
        "INSERT INTO handoff_webhook_deliveries (team_id, handoff_id, url, payload, created_at, next_attempt_at)
         SELECT team_id, handoff_id, u, payload, created_at, next_attempt_at
         FROM handoff_webhook_deliveries, unnest($1::text[]) AS u",
    )
    .bind(&urls[1..])
    .execute(&app.db)
    .await
    .unwrap();
    let report = deliver_due(&app.db, &app.outgoing, t("2026-11-10T08:30:05Z"))
        .await
        .unwrap();
    assert_eq!(report.failed, urls.len());
    assert_eq!(receiver.accepted(), 0, "nothing connected to the receiver");
    for d in deliveries(&team).await {
        let error = d["last_error"].as_str().unwrap();
        assert!(
            error.starts_with("Could not deliver: the address is not allowed"),
            "{d}"
        );
    }
}

#[tokio::test]
async fn a_name_resolving_to_rotas_own_server_is_refused_when_connecting() {
    // DNS answers 127.0.0.1 for any name: saved while it resolved elsewhere
    // (rebinding), the name is judged at the connection.
    let receiver = Receiver::start(false).await;
    let dns = Arc::new(FakeDns(vec![loopback(receiver.port())]));
    let url = format!("http://chat.example.com:{}/hook", receiver.port());
    let strict = Outgoing::with_resolver(Policy::new(true, "").unwrap(), Duration::from_secs(5), dns.clone()).unwrap();
    assert!(
        strict.policy().check_url(&url.parse().unwrap()).is_ok(),
        "the name itself passes"
    );
    let failure = strict.post_json(&url, &json!({"text": "hi"})).await.unwrap_err();
    assert!(matches!(failure, Failure::NotAllowed), "{failure:?}");
    assert!(
        failure
            .to_string()
            .starts_with("Could not deliver: the address is not allowed")
    );
    assert_eq!(receiver.accepted(), 0, "nothing connected to the receiver");

    // Named with its port, the same name is reached through the same resolver.
    let named = Policy::new(false, &format!("chat.example.com:{}", receiver.port())).unwrap();
    let allowed = Outgoing::with_resolver(named, Duration::from_secs(5), dns).unwrap();
    let response = allowed.post_json(&url, &json!({"text": "hi"})).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(receiver.accepted(), 1);
}

#[tokio::test]
async fn an_answer_mixing_allowed_and_refused_addresses_keeps_only_the_allowed() {
    let policy = Policy::default();
    let public: SocketAddr = "93.184.215.14:0".parse().unwrap();
    let answer = vec![loopback(0), public, "[::ffff:127.0.0.1]:0".parse().unwrap()];
    assert_eq!(keep_allowed(&policy, false, answer), Ok(vec![public]));
    assert_eq!(keep_allowed(&policy, false, vec![loopback(0)]), Err(Class::Loopback));
    assert_eq!(keep_allowed(&policy, true, vec![loopback(0)]), Ok(vec![loopback(0)]));
}

#[test]
fn link_local_and_metadata_are_refused_whatever_the_settings_without_connecting() {
    // Judged, never sent to: only the policy and the address filter run.
    let lenient = Policy::new(true, "chat.internal:80").unwrap();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
    ] {
        let Ok(parsed) = url.parse() else {
            continue; // a zone index is not a URL at all
        };
        assert!(lenient.check_url(&parsed).is_err(), "{url}");
    }
    for ip in ["169.254.169.254", "fe80::1", "fd00:ec2::254"] {
        let addr = SocketAddr::new(ip.parse().unwrap(), 80);
        assert!(
            keep_allowed(&lenient, true, vec![addr]).is_err(),
            "{ip} even when named"
        );
    }
    let err = Policy::new(false, "169.254.169.254:80").unwrap_err();
    assert!(err.contains("never sends"), "{err}");
}

#[test]
fn private_ranges_are_allowed_only_with_the_setting() {
    let strict = Policy::default();
    let private = Policy::new(true, "").unwrap();
    for url in [
        "http://10.0.0.5:8065/hooks/x",
        "http://172.16.0.1/",
        "http://192.168.0.2/",
        "http://[fd12::1]/",
    ] {
        let url = url.parse().unwrap();
        assert!(strict.check_url(&url).is_err(), "{url}");
        assert!(private.check_url(&url).is_ok(), "{url}");
    }
    let ten: SocketAddr = "10.0.0.5:0".parse().unwrap();
    assert!(keep_allowed(&strict, false, vec![ten]).is_err());
    assert_eq!(keep_allowed(&private, false, vec![ten]), Ok(vec![ten]));
    assert!(
        keep_allowed(&private, false, vec![loopback(0)]).is_err(),
        "loopback is not private"
    );
}

#[tokio::test]
async fn a_closed_port_and_a_silent_one_give_the_same_message() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let silent = Receiver::start(true).await;
    let policy = Policy::new(false, &format!("127.0.0.1:{closed_port},127.0.0.1:{}", silent.port())).unwrap();
    let dns = Arc::new(FakeDns(Vec::new()));
    let outgoing = Outgoing::with_resolver(policy, Duration::from_millis(300), dns).unwrap();
    let body = json!({"text": "hi"});
    let refused = outgoing
        .post_json(&format!("http://127.0.0.1:{closed_port}/hook"), &body)
        .await
        .unwrap_err();
    let timed_out = outgoing
        .post_json(&format!("http://127.0.0.1:{}/hook", silent.port()), &body)
        .await
        .unwrap_err();
    assert_eq!(silent.accepted(), 1, "the silent receiver was reached");
    assert_ne!(refused.detail(), timed_out.detail(), "the log tells them apart");
    assert_eq!(refused.to_string(), timed_out.to_string(), "the user does not");
    assert!(refused.to_string().starts_with("Could not deliver"), "{refused}");
}
