//! Handoffs. The shared setting: team Platform (Europe/London) with four
//! members in a Tuesday 10:00 rotation from Tue 3 Nov 2026. At the handoff
//! on Tue 10 Nov 2026 10:00 (GMT, so 10:00Z) Person 0 (primary) and
//! Person 1 (secondary) hand over to Person 1 (primary) and Person 2
//! (secondary); Person 3 is on call neither side of it.

mod access;
mod journey;
mod reminders;
mod timing;
mod webhook;
mod wiring;
mod xss;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::common::{Fixture, TestApp, fixture_on, spawn_app_at, t};

pub const API: &str = "/api/v1/teams/platform/rotations/weekly/handoffs/2026-11-10";
pub const PAGE: &str = "/teams/platform/rotations/weekly/handoffs/2026-11-10";

pub struct Team {
    pub f: Fixture,
    /// API tokens of Person 0 to 3.
    pub tokens: Vec<String>,
}

pub async fn team_at(now: &str) -> Team {
    team_on(spawn_app_at(t(now)).await).await
}

/// The same team on an app started some other way.
pub async fn team_on(app: TestApp) -> Team {
    let f = fixture_on(app, "Europe/London", "2026-11-03", 4).await;
    let mut tokens = Vec::new();
    for m in &f.members {
        tokens.push(f.app.token(m).await);
    }
    Team { f, tokens }
}

impl Team {
    pub fn set_now(&self, now: &str) {
        self.f.app.clock.set(t(now));
    }

    pub async fn put(&self, token: &str, body: &str, submit: bool) -> (StatusCode, Value) {
        self.f
            .app
            .send_json(
                reqwest::Method::PUT,
                token,
                API,
                json!({"body": body, "submit": submit}),
            )
            .await
    }

    pub async fn acknowledge(&self, token: &str) -> (StatusCode, Value) {
        self.f
            .app
            .post_json(token, &format!("{API}/acknowledge"), json!({}))
            .await
    }

    pub async fn handoff(&self) -> Value {
        let (status, body) = self.f.app.get_json(&self.f.manager_token, API).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A page's HTML as `client` sees it.
    pub async fn html(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let res = client.get(self.f.app.url(path)).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }
}
