//! The alerting section: the webhook addresses alerting tools send pages
//! to, the team's integration tokens (revoking one shows what it will do
//! first), and a link to the escalation policy.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

use super::{Head, Section, done};
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ops::paging;
use crate::state::AppState;
use crate::web::confirm::{Confirm, confirm_page};
use crate::web::fmt;
use crate::web::layout::{Layout, render_with};

pub struct IntegrationRow {
    pub id: i64,
    pub label: String,
    pub rotation: String,
    pub signed: bool,
    pub created: String,
}

pub struct Choice {
    pub slug: String,
    pub name: String,
}

/// A token just created, shown this once.
pub struct NewToken {
    pub label: String,
    pub token: String,
}

pub struct HookUrl {
    pub tool: &'static str,
    pub url: String,
}

#[derive(Template)]
#[template(path = "team/settings/alerting.html")]
struct AlertingPage {
    layout: Layout,
    head: Head,
    hook_urls: Vec<HookUrl>,
    integrations: Vec<IntegrationRow>,
    rotations: Vec<Choice>,
    new_token: Option<NewToken>,
    /// Whether the team set its own escalation policy.
    custom_escalation: bool,
}

fn hook_urls(base_url: &str, team_slug: &str) -> Vec<HookUrl> {
    let base = base_url.trim_end_matches('/');
    ["alertmanager", "grafana", "pagerduty"]
        .into_iter()
        .map(|tool| HookUrl {
            tool,
            url: format!("{base}/api/v1/hooks/{tool}"),
        })
        .chain(std::iter::once(HookUrl {
            tool: "any other tool (JSON)",
            url: format!("{base}/api/v1/teams/{team_slug}/pages"),
        }))
        .collect()
}

pub async fn page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    new_token: Option<NewToken>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let rotations: Vec<(i64, Choice)> = db::rotations::for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|(r, _)| {
            (
                r.id,
                Choice {
                    slug: r.slug,
                    name: r.name,
                },
            )
        })
        .collect();
    let integrations = db::integrations::live_for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|i| IntegrationRow {
            id: i.id,
            rotation: i
                .rotation_id
                .and_then(|id| rotations.iter().find(|(r, _)| *r == id))
                .map_or_else(|| "not bound to one".into(), |(_, r)| r.name.clone()),
            signed: i.signing_secret.is_some(),
            created: fmt::local_date(i.created_at, team.tz()),
            label: i.label,
        })
        .collect();
    let (_, custom_escalation) = paging::policy_for(&mut conn, team.id, None).await?;
    drop(conn);
    let layout = Layout::new(state, session, format!("{} alerting", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &AlertingPage {
            layout,
            head: Head::new(team, Section::Alerting, error),
            hook_urls: hook_urls(&state.settings.base_url, &team.slug),
            integrations,
            rotations: rotations.into_iter().map(|(_, r)| r).collect(),
            new_token,
            custom_escalation,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, None, StatusCode::OK).await
}

/// What revoking the token will do, with a button that does it. Changes
/// nothing.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    m: TeamManager<WebUser>,
) -> AppResult<Response> {
    let team = &m.0.team;
    let mut conn = state.db.acquire().await?;
    let token = db::integrations::live_for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| AppError::NotFound("No live integration token of this team has that id".into()))?;
    drop(conn);
    let confirm = Confirm {
        heading: format!("Revoke the integration token “{}”?", token.label),
        intro: format!(
            "The alerting tool that sends pages to {} with “{}” (created {}) is refused from then on.",
            team.name,
            token.label,
            fmt::local_date(token.created_at, team.tz())
        ),
        consequences: vec![
            "Its alerts are answered 401 and no longer reach Rota: nobody is paged for them until the tool has a new token.".into(),
            "The pages it already recorded stay, with their recovery days.".into(),
            "It cannot be undone: to connect the tool again, create a new token in the alerting settings and paste it into the tool.".into(),
        ],
        warnings: Vec::new(),
        action: format!("/teams/{}/integrations/{}/revoke", team.slug, token.id),
        fields: Vec::new(),
        button: format!("Revoke {}", token.label),
        cancel: Section::Alerting.url(&team.slug),
    };
    confirm_page(&state, &session, m.0.user(), confirm).await
}

#[derive(Deserialize)]
pub struct IntegrationForm {
    label: String,
    #[serde(default)]
    rotation: String,
    #[serde(default)]
    signing_secret: String,
}

pub async fn create_integration(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<IntegrationForm>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = state.db.begin().await?;
        let created = crate::ops::integrations::create(
            &mut tx,
            &m.0.team,
            &form.label,
            Some(&form.rotation),
            Some(&form.signing_secret),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    match result {
        // Shown this once; only its hash is kept.
        Ok(created) => {
            let token = NewToken {
                label: created.integration.label,
                token: created.token,
            };
            page(&state, &session, &m, Some(token), None, StatusCode::CREATED).await
        }
        Err(e) => done(&state, &session, &m, Section::Alerting, Err(e)).await,
    }
}

pub async fn revoke_integration(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    m: TeamManager<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = state.db.begin().await?;
        crate::ops::integrations::revoke(&mut tx, &m.0.team, m.0.user().id, id, state.clock.now()).await?;
        tx.commit().await?;
        Ok("Integration token revoked; alerts sent with it are now refused".into())
    }
    .await;
    done(&state, &session, &m, Section::Alerting, result).await
}
