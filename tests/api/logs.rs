//! Logs an operator can collect (issue 16): with `ROTA_LOG_FORMAT=json`
//! every request leaves one JSON line naming its route pattern, status,
//! latency, request id and user — never a calendar secret — and the
//! `x-request-id` header is echoed or made.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::Value;
use tracing_subscriber::EnvFilter;

use crate::common::{fixture, t};
use rota::telemetry::{LogFormat, layer};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// What the whole test binary logs, in both formats, from the first call on.
/// A process-wide subscriber, not one for this thread: tracing caches each
/// call site's interest across threads, and a thread-scoped subscriber lost
/// the access lines whenever other tests' servers had hit that site first.
/// Lines of other tests land here too; each check picks its own request id.
fn captured() -> &'static (Captured, Captured) {
    static SINKS: OnceLock<(Captured, Captured)> = OnceLock::new();
    SINKS.get_or_init(|| {
        let (json, text) = (Captured::default(), Captured::default());
        let (j, t) = (json.clone(), text.clone());
        let subscriber = tracing_subscriber::registry()
            .with(layer(LogFormat::Json, false, move || j.clone()).with_filter(EnvFilter::new("info")))
            .with(layer(LogFormat::Text, false, move || t.clone()).with_filter(EnvFilter::new("info")));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in the tests");
        (json, text)
    })
}

#[tokio::test]
async fn json_and_text_logs_carry_one_access_line_per_request_without_secrets_or_colour() {
    captured();
    json_access_lines_name_the_route_status_request_id_and_user_and_no_secret().await;
    text_logs_written_to_a_file_have_no_colour_codes().await;
}

async fn json_access_lines_name_the_route_status_request_id_and_user_and_no_secret() {
    let captured = &captured().0;
    let f = fixture(t("2026-12-02T12:00:00Z"), "UTC", "2026-12-01", 2).await;
    let client = reqwest::Client::new();
    let res = client
        .get(f.app.url("/api/v1/teams/platform/oncall"))
        .bearer_auth(&f.manager_token)
        .header("x-request-id", "req-from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-request-id"], "req-from-the-proxy-1", "echoed");
    let res = client.get(f.app.url("/healthz")).send().await.unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a UUID when the caller sent none: {made}");
    let (_, team) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform").await;
    let feed = team["calendar_url"].as_str().unwrap().to_owned();
    let secret = feed.rsplit('/').next().unwrap().trim_end_matches(".ics").to_owned();
    let res = client
        .get(&feed)
        .header("x-request-id", "req-feed-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    let oncall = access
        .iter()
        .find(|l| l["request_id"] == "req-from-the-proxy-1")
        .unwrap_or_else(|| panic!("no access line for the request: {text}"));
    assert_eq!(oncall["route"], "/api/v1/teams/{team}/oncall");
    assert_eq!(oncall["method"], "GET");
    assert_eq!(oncall["status"], 200);
    assert!(oncall["latency_ms"].is_number());
    assert_eq!(oncall["user_id"], f.manager.id);
    assert_eq!(oncall["level"], "INFO");
    assert!(
        access
            .iter()
            .any(|l| l["request_id"] == made.as_str() && l["route"] == "/healthz")
    );
    let calendar = access
        .iter()
        .find(|l| l["request_id"] == "req-feed-1")
        .expect("the feed request is logged");
    assert_eq!(calendar["route"], "/calendar/{file}");
    assert_eq!(calendar["status"], 200);
    assert!(!text.contains(&secret), "the calendar secret never reaches the log");
    assert!(!text.contains(&f.manager_token), "nor a token");
    assert!(!text.contains('\u{1b}'), "no colour codes");
}

async fn text_logs_written_to_a_file_have_no_colour_codes() {
    let captured = &captured().1;
    let f = fixture(t("2026-12-02T12:00:00Z"), "UTC", "2026-12-01", 2).await;
    let res = reqwest::Client::new()
        .get(f.app.url("/api/v1/me"))
        .bearer_auth(&f.manager_token)
        .header("x-request-id", "req-text-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = captured.text();
    let line = text
        .lines()
        .find(|l| l.contains("req-text-1") && l.contains(" request "))
        .unwrap_or_else(|| panic!("no access line: {text}"));
    assert!(
        line.contains("route=/api/v1/me") && line.contains("status=200"),
        "{line}"
    );
    assert!(!text.contains('\u{1b}'), "{text:?}");
}
