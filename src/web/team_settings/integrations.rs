//! The integrations section: the team's calendar feed (and resetting its
//! link) and the chat channel handoffs and pages are posted to (saved by
//! `web::handoffs::webhook`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{Head, Section};
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamManager, WebUser};
use crate::calendar::feed_url;
use crate::error::AppResult;
use crate::ops;
use crate::state::AppState;
use crate::web::handoffs::{WebhookSettings, webhook_settings};
use crate::web::layout::{Layout, flash, render_with};

#[derive(Template)]
#[template(path = "team/settings/integrations.html")]
struct IntegrationsPage {
    layout: Layout,
    head: Head,
    calendar_url: String,
    handoff_webhook: WebhookSettings,
}

pub async fn page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let handoff_webhook = webhook_settings(&mut conn, team, m.0.user().tz()).await?;
    drop(conn);
    let layout = Layout::new(state, session, format!("{} integrations", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &IntegrationsPage {
            layout,
            head: Head::new(team, Section::Integrations, error),
            calendar_url: feed_url(&state.settings.base_url, &team.calendar_secret),
            handoff_webhook,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, StatusCode::OK).await
}

pub async fn reset_team_calendar(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    ops::teams::reset_calendar(&mut tx, &m.0.team, m.0.user().id, state.clock.now()).await?;
    tx.commit().await?;
    flash(
        &session,
        "The team calendar link was reset; the old link no longer works.",
    )
    .await;
    Ok(Redirect::to(&Section::Integrations.url(&m.0.team.slug)).into_response())
}
