//! The chat webhook in the team settings (the integrations section): where submitted handoffs are
//! posted, and how the latest posts went.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use super::when;
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::handoff_webhooks::delivery_state;
use crate::db::teams::Team;
use crate::error::AppResult;
use crate::ops::handoffs::set_webhook_url;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{fixable, flash};
use crate::web::team_settings::{Section, reshow};

pub struct DeliveryRow {
    pub handoff: String,
    pub queued: String,
    /// `delivered`, `retrying` or `failed`.
    pub state: &'static str,
    pub detail: String,
}

/// What the settings page shows of the chat webhook.
pub struct WebhookSettings {
    pub url: String,
    pub deliveries: Vec<DeliveryRow>,
}

pub async fn webhook_settings(
    conn: &mut PgConnection,
    team: &Team,
    reader_tz: chrono_tz::Tz,
) -> AppResult<WebhookSettings> {
    let url = db::handoff_webhooks::url(conn, team.id).await?.unwrap_or_default();
    let deliveries = db::handoff_webhooks::recent(conn, team.id, 10)
        .await?
        .into_iter()
        .map(|d| {
            let state = delivery_state(&d);
            let last = match (&d.last_status, &d.last_error) {
                (_, Some(e)) => e.clone(),
                (Some(s), None) => format!("answered {s}"),
                (None, None) => String::new(),
            };
            let attempts = format!("{} attempt{}", d.attempts, if d.attempts == 1 { "" } else { "s" });
            let detail = match state {
                "delivered" => format!(
                    "delivered {} ({attempts})",
                    d.delivered_at.map(|at| when(at, reader_tz)).unwrap_or_default()
                ),
                "failed" => format!("gave up after {attempts}: {last}"),
                _ if d.attempts == 0 => "waiting to be sent".into(),
                _ => format!("{last}; {attempts}, next try {}", when(d.next_attempt_at, reader_tz)),
            };
            DeliveryRow {
                handoff: format!("{}, week from {}", d.rotation_name, fmt::day(d.week_start)),
                queued: when(d.created_at, reader_tz),
                state,
                detail,
            }
        })
        .collect();
    Ok(WebhookSettings { url, deliveries })
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
}

pub async fn save_webhook(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<WebhookForm>,
) -> AppResult<Response> {
    let team = &m.0.team;
    let result = async {
        let mut tx = state.db.begin().await?;
        let url = set_webhook_url(
            &mut tx,
            team,
            m.0.user().id,
            Some(&form.url),
            &state.settings.outgoing,
            state.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(url)
    }
    .await;
    match result {
        Ok(url) => {
            let message = match url {
                Some(_) => "Submitted handoffs will be posted to the chat webhook",
                None => "Submitted handoffs are no longer posted to a chat webhook",
            };
            flash(&session, message).await;
            Ok(Redirect::to(&format!("{}#handoff-webhook-h", Section::Integrations.url(&team.slug))).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => reshow(&state, &session, &m, Section::Integrations, msg, status).await,
            None => Err(e),
        },
    }
}
