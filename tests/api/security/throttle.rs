//! Finding 3: sign-in throttling. An attacker cannot keep an account's owner
//! out; one client address gets a fixed number of failures across all
//! accounts; the count holds under concurrency; `X-Forwarded-For` counts
//! only from a trusted proxy. Rota's waits are noted by the test clock,
//! never slept.

use std::time::Duration;

use reqwest::{Client, StatusCode};

use crate::common::{PASSWORD, TestApp, browser, csrf_of, spawn_app_at, spawn_app_tuned, t};

const NOW: &str = "2026-12-01T09:00:00Z";

/// A server that trusts 127.0.0.1 as its proxy, so each test request can
/// say which client it comes from.
async fn behind_proxy() -> TestApp {
    spawn_app_tuned(t(NOW), |s| {
        s.limits.trusted_proxies = rota::config::parse_trusted_proxies("127.0.0.1").expect("proxy");
    })
    .await
}

/// A browser at the sign-in page, with its CSRF token.
async fn at_login(app: &TestApp) -> (Client, String) {
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let csrf = csrf_of(&page);
    (client, csrf)
}

async fn attempt(
    app: &TestApp,
    (client, csrf): &(Client, String),
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req =
        client
            .post(app.url("/login"))
            .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password)]);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("sign-in answered")
}

fn secs(waits: &[Duration]) -> Vec<u64> {
    waits.iter().map(Duration::as_secs).collect()
}

#[tokio::test]
async fn an_attackers_guesses_never_keep_the_owner_out() {
    let app = behind_proxy().await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let attacker = at_login(&app).await;
    for i in 0..20 {
        let from = format!("203.0.113.{i}");
        let res = attempt(&app, &attacker, "ana@example.com", "guess123456789", Some(&from)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let owner = at_login(&app).await;
    let res = attempt(&app, &owner, "ana@example.com", PASSWORD, Some("198.51.100.7")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the owner signs in");
    // Each attempt after the third waited longer, up to 10 s, before its
    // password was checked; the owner waited too, and then got in.
    let mut expected = vec![1, 2, 4, 8];
    expected.extend([10; 14]);
    assert_eq!(secs(&app.clock.waits()), expected);
}

#[tokio::test]
async fn one_address_is_refused_after_ten_failures_across_accounts() {
    let app = behind_proxy().await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    for i in 0..5 {
        app.user(&format!("p{i}@example.com"), "Someone", "UTC", false).await;
    }
    let attacker = at_login(&app).await;
    // The entries left of the right-most one are the client's own words:
    // changing them does not make a new address.
    let from = |i: usize| format!("192.0.2.{i}, 203.0.113.5");
    for i in 0..10 {
        let email = format!("p{}@example.com", i % 7);
        let res = attempt(&app, &attacker, &email, "guess123456789", Some(&from(i))).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let res = attempt(&app, &attacker, "p0@example.com", "guess123456789", Some(&from(10))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "900");
    let page = res.text().await.expect("html");
    assert!(
        page.contains("Too many failed sign-ins from your network. Try again in 15 minutes"),
        "{page}"
    );
    // The address is refused outright, even with a right password ...
    let res = attempt(&app, &attacker, "ana@example.com", PASSWORD, Some(&from(11))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... while everyone else signs in as usual.
    let owner = at_login(&app).await;
    let res = attempt(&app, &owner, "ana@example.com", PASSWORD, Some("198.51.100.7")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Once the failures are 15 minutes old the address may try again.
    app.clock.set(t("2026-12-01T09:15:01Z"));
    let res = attempt(&app, &attacker, "ana@example.com", PASSWORD, Some(&from(12))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forty_concurrent_guesses_from_one_address_check_only_ten_passwords() {
    let app = spawn_app_at(t(NOW)).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let mut browsers = Vec::new();
    for _ in 0..40 {
        browsers.push(at_login(&app).await);
    }
    let mut guesses = tokio::task::JoinSet::new();
    for (i, b) in browsers.into_iter().enumerate() {
        let app_url = app.url("/login");
        guesses.spawn(async move {
            let email = format!("user{i}@example.com");
            let (client, csrf) = b;
            client
                .post(app_url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email.as_str()),
                    ("password", "guess123456789"),
                ])
                .send()
                .await
                .expect("answered")
                .status()
        });
    }
    let statuses = guesses.join_all().await;
    let count = |s: StatusCode| statuses.iter().filter(|x| **x == s).count();
    assert_eq!(count(StatusCode::UNAUTHORIZED), 10, "{statuses:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 30, "{statuses:?}");
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM login_attempts WHERE client = '127.0.0.1'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(checked, 10);
}

#[tokio::test]
async fn concurrent_guesses_on_one_account_each_wait_their_turn() {
    let app = behind_proxy().await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    // Each guess that gets through costs a password hash, slow in a debug
    // build: 16 are enough to show the count.
    let mut browsers = Vec::new();
    for _ in 0..16 {
        browsers.push(at_login(&app).await);
    }
    let mut guesses = tokio::task::JoinSet::new();
    for (i, (client, csrf)) in browsers.into_iter().enumerate() {
        let url = app.url("/login");
        guesses.spawn(async move {
            client
                .post(url)
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", "ana@example.com"),
                    ("password", "guess123456789"),
                ])
                .send()
                .await
                .expect("answered")
                .status()
        });
    }
    let statuses = guesses.join_all().await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    // Each saw the guesses before it: none slipped through without its wait.
    let mut waits = secs(&app.clock.waits());
    waits.sort_unstable();
    let mut expected = vec![1, 2, 4, 8];
    expected.extend([10; 9]);
    assert_eq!(waits, expected);
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_a_trusted_proxy() {
    let app = spawn_app_at(t(NOW)).await;
    app.user("ana@example.com", "Ana", "UTC", false).await;
    let attacker = at_login(&app).await;
    for i in 0..10 {
        let from = format!("203.0.113.{i}");
        let res = attempt(
            &app,
            &attacker,
            &format!("u{i}@example.com"),
            "guess123456789",
            Some(&from),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let res = attempt(
        &app,
        &attacker,
        "u10@example.com",
        "guess123456789",
        Some("198.51.100.99"),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a new X-Forwarded-For is no new address"
    );
}
