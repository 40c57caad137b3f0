//! A team's escalation policy as a page: every member sees who is paged
//! when; managers change it with a plain form ("secondary 5" a line).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, TeamMember, WebUser};
use crate::domain::paging::{Policy, Step, Target};
use crate::error::{AppError, AppResult};
use crate::ops::paging;
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new().route("/teams/{team}/escalation", get(show_escalation).post(save_escalation))
}

#[derive(Template)]
#[template(path = "team/escalation.html")]
struct EscalationPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    error: Option<String>,
    custom: bool,
    steps: Vec<String>,
    steps_text: String,
    repeat: i32,
    is_manager: bool,
}

fn describe(s: &Step) -> String {
    let who = match s.target {
        Target::Primary => "The primary",
        Target::Secondary => "The secondary",
        Target::Managers => "The team's managers",
    };
    match s.after_minutes {
        0 => format!("{who}, at once"),
        1 => format!("{who}, after 1 minute"),
        n => format!("{who}, after {n} minutes"),
    }
}

async fn page(
    state: &AppState,
    session: &Session,
    member: &TeamMember<WebUser>,
    typed: Option<(String, i32)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let (policy, custom) = paging::policy_for(&mut conn, member.team.id, None).await?;
    drop(conn);
    let text = policy
        .steps
        .iter()
        .map(|s| format!("{} {}", s.target.as_str(), s.after_minutes))
        .collect::<Vec<_>>()
        .join("\n");
    let (steps_text, repeat) = typed.unwrap_or((text, policy.repeat));
    let title = format!("{} escalation", member.team.name);
    let layout = Layout::new(state, session, title, Some(member.user())).await?;
    Ok(render_with(
        status,
        &EscalationPage {
            layout,
            team_name: member.team.name.clone(),
            team_slug: member.team.slug.clone(),
            error,
            custom,
            steps: policy.steps.iter().map(describe).collect(),
            steps_text,
            repeat,
            is_manager: member.is_manager(),
        },
    ))
}

async fn show_escalation(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    page(&state, &session, &member, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct EscalationFields {
    steps: String,
    #[serde(default)]
    repeat: String,
}

/// The steps typed, one a line ("secondary 5").
fn parse_steps(text: &str) -> AppResult<Vec<Step>> {
    let mut steps = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let target = match words.next().map(str::to_ascii_lowercase).as_deref() {
            Some("primary") => Target::Primary,
            Some("secondary") => Target::Secondary,
            Some("managers" | "manager") => Target::Managers,
            _ => {
                return Err(AppError::Unprocessable(format!(
                    "\"{line}\": start each line with primary, secondary or managers"
                )));
            }
        };
        let after_minutes = match (words.next().map(str::parse::<i32>), words.next()) {
            (None, None) => 0,
            (Some(Ok(n)), None) => n,
            _ => {
                return Err(AppError::Unprocessable(format!(
                    "\"{line}\": after who, write the minutes as a whole number, e.g. \"secondary 5\""
                )));
            }
        };
        steps.push(Step { target, after_minutes });
    }
    Ok(steps)
}

async fn save_escalation(
    State(state): State<AppState>,
    session: Session,
    TeamManager(m): TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<EscalationFields>,
) -> AppResult<Response> {
    let repeat_typed = form.repeat.trim().parse::<i32>();
    let result = async {
        let repeat = repeat_typed
            .clone()
            .map_err(|_| AppError::Unprocessable("Repeats is a whole number from 0 to 10".into()))?;
        let policy = Policy {
            steps: parse_steps(&form.steps)?,
            repeat,
        };
        let mut tx = state.db.begin().await?;
        paging::set_policy(&mut tx, m.team.id, m.user().id, &policy, state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => {
            flash(&session, "Escalation saved: pages from now on follow it").await;
            Ok(Redirect::to(&format!("/teams/{}/escalation", m.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                let typed = (form.steps.clone(), repeat_typed.unwrap_or(0));
                page(&state, &session, &m, Some(typed), Some(msg), status).await
            }
            None => Err(e),
        },
    }
}
