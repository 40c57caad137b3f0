//! The team's chat channel in the team settings (the integrations section): which Slack,
//! Mattermost or Microsoft Teams incoming webhook submitted handoffs and pages are posted to, and
//! how the latest handoff posts went.

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
use crate::domain::chat::ChatKind;
use crate::error::AppResult;
use crate::ops::chat;
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

/// One choice of chat service in the form.
pub struct KindChoice {
    pub value: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

/// What the settings page shows of the chat channel.
pub struct WebhookSettings {
    pub url: String,
    pub kinds: Vec<KindChoice>,
    pub deliveries: Vec<DeliveryRow>,
}

pub async fn webhook_settings(
    conn: &mut PgConnection,
    team: &Team,
    reader_tz: chrono_tz::Tz,
) -> AppResult<WebhookSettings> {
    let channel = chat::channel(conn, team.id).await?;
    let kind = channel.as_ref().map_or(ChatKind::Slack, |(k, _)| *k);
    let kinds = ChatKind::ALL
        .into_iter()
        .map(|k| KindChoice {
            value: k.as_str(),
            name: k.name(),
            selected: k == kind,
        })
        .collect();
    let url = channel.map(|(_, u)| u).unwrap_or_default();
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
    Ok(WebhookSettings { url, kinds, deliveries })
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
    /// Absent from forms written before channels had kinds: the channel
    /// keeps its kind.
    kind: Option<String>,
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
        let (actor, now, outgoing) = (m.0.user().id, state.clock.now(), &state.settings.outgoing);
        let set = match form.kind.as_deref() {
            Some(kind) if !form.url.trim().is_empty() => {
                chat::set_channel(&mut tx, team, actor, kind, &form.url, outgoing, now).await?;
                true
            }
            Some(_) => {
                chat::remove_channel(&mut tx, team, actor, now).await?;
                false
            }
            None => set_webhook_url(&mut tx, team, actor, Some(&form.url), outgoing, now)
                .await?
                .is_some(),
        };
        tx.commit().await?;
        Ok(set)
    }
    .await;
    match result {
        Ok(set) => {
            let message = if set {
                "Submitted handoffs and pages will be posted to the team's chat channel"
            } else {
                "Nothing is posted to a chat channel any more"
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
