//! Invitations and password reset (issue 13), through the pages, the API
//! and the command line.

mod invitations;
mod reset;

use reqwest::{Client, StatusCode};
use rota::db::teams::{Team, TeamRole};
use rota::db::users::User;

use crate::common::{TestApp, browser, csrf_of, spawn_app_with, t};
use crate::mail::{Sink, smtp_sink_stalling_at};

/// A password zxcvbn accepts and nobody else in the tests uses.
pub const NEW_PASSWORD: &str = "tangerine submarine quietly hums";

/// An app with an admin (with a token), a team `platform` with a manager
/// (with a token) and a member.
pub struct Org {
    pub app: TestApp,
    pub team: Team,
    pub admin_token: String,
    pub manager_token: String,
    pub member: User,
}

pub async fn org(smtp_url: Option<String>) -> Org {
    let app = spawn_app_with(t("2027-03-01T12:00:00Z"), smtp_url).await;
    let team = app.team("platform", "Europe/London").await;
    let admin = app.user("admin@example.com", "Ada Admin", "Europe/London", true).await;
    let manager = app
        .user("manager@example.com", "Mona Manager", "Europe/London", false)
        .await;
    app.add(&team, &manager, TeamRole::Manager).await;
    let member = app.user("p0@example.com", "Person Zero", "Europe/London", false).await;
    app.add(&team, &member, TeamRole::Member).await;
    let admin_token = app.token(&admin).await;
    let manager_token = app.token(&manager).await;
    Org {
        app,
        team,
        admin_token,
        manager_token,
        member,
    }
}

/// An SMTP sink for an app to send to.
pub async fn sink() -> Sink {
    smtp_sink_stalling_at(None).await
}

/// Waits until the sink has taken `n` messages, and returns them.
pub async fn mail_arrives(sink: &mut Sink, n: usize) -> Vec<crate::mail::Received> {
    tokio::time::timeout(std::time::Duration::from_secs(10), sink.received.wait_for(|k| *k >= n))
        .await
        .expect("the e-mail arrives")
        .expect("the sink runs");
    sink.inbox.lock().unwrap().clone()
}

/// The first `{base}/{kind}/<secret>` link in a text (a page or an e-mail).
pub fn link_in(app: &TestApp, text: &str, kind: &str) -> String {
    let start = format!("{}/{kind}/", app.base_url);
    let at = text.find(&start).unwrap_or_else(|| panic!("no {start} link in {text}"));
    let secret: String = text[at + start.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(secret.len(), 43, "{text}");
    format!("{start}{secret}")
}

/// GETs a page and returns its status and text.
pub async fn page(client: &Client, url: &str) -> (StatusCode, String) {
    let res = client.get(url).send().await.expect("page");
    (res.status(), res.text().await.expect("html"))
}

/// Posts a form with the CSRF token of the page at `form_page`.
pub async fn post_form(
    client: &Client,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let (_, html) = page(client, form_page).await;
    let csrf = csrf_of(&html);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let res = client.post(action).form(&all).send().await.expect("post");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status(), res.text().await.expect("body"), location)
}

/// Accepts an invitation through its page as a new browser would; returns
/// that browser, signed in.
pub async fn accept(link: &str, name: &str) -> Client {
    let client = browser();
    let (status, html) = page(&client, link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (status, body, location) = post_form(
        &client,
        link,
        link,
        &[
            ("name", name),
            ("timezone", "Europe/Berlin"),
            ("password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/"));
    client
}

/// Whether `client` is signed in: the home page shows, not a redirect.
pub async fn signed_in(app: &TestApp, client: &Client) -> bool {
    let res = client.get(app.url("/profile")).send().await.expect("profile");
    res.status() == StatusCode::OK
}

/// The role `email` holds in the team, if a member.
pub async fn role_in(app: &TestApp, team: &Team, email: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 AND u.email = $2",
    )
    .bind(team.id)
    .bind(email)
    .fetch_optional(&app.db)
    .await
    .expect("membership")
}
