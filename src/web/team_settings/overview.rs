//! The settings overview: one line per section saying how things stand,
//! each linking to the section's own page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tower_sessions::Session;

use super::{Head, Section};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::teams::TeamRole;
use crate::error::AppResult;
use crate::ops;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, render_with};

/// One section as the overview lists it.
pub struct SectionSummary {
    pub href: String,
    pub title: &'static str,
    /// "5 people, 2 of them managers; 1 invitation waiting".
    pub summary: String,
}

#[derive(Template)]
#[template(path = "team/settings/overview.html")]
struct OverviewPage {
    layout: Layout,
    head: Head,
    sections: Vec<SectionSummary>,
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
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
    let members = db::teams::members(&mut conn, team.id).await?;
    let managers = members.iter().filter(|x| x.role == TeamRole::Manager).count();
    let invited = ops::invitations::pending_in_team(&mut conn, team, state.clock.now())
        .await?
        .len();
    let rotations: Vec<String> = db::rotations::for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|(r, _)| r.name)
        .collect();
    let tokens = db::integrations::live_for_team(&mut conn, team.id).await?.len();
    let (_, custom_escalation) = ops::paging::policy_for(&mut conn, team.id, None).await?;
    let policy = db::holidays::policy(&mut conn, team.id).await?;
    let holidays = db::holidays::list(&mut conn, team.id).await?.len();
    let webhook = db::handoff_webhooks::url(&mut conn, team.id).await?;
    drop(conn);

    let names: Vec<&str> = rotations.iter().map(String::as_str).collect();
    let summary = |s: Section| match s {
        Section::Overview => String::new(),
        Section::Members => format!(
            "{}, {} of them manager{}; {} waiting; {}.",
            count(members.len(), "person", "people"),
            managers,
            if managers == 1 { "" } else { "s" },
            count(invited, "invitation", "invitations"),
            if team.private {
                "private in the directory"
            } else {
                "everyone sees its on-call in the directory"
            }
        ),
        Section::Rotations => match fmt::and_list(&names) {
            Some(list) => format!("{list}. Who takes part, in which order, and when handoffs are."),
            None => "No rotation yet: create one once the team has two members.".into(),
        },
        Section::Alerting => format!(
            "{} for alerting tools; escalation: {}.",
            count(tokens, "integration token", "integration tokens"),
            if custom_escalation {
                "the team's own"
            } else {
                "the default"
            }
        ),
        Section::OutOfHours => format!(
            "Sleep hours {} to {}; {}.",
            policy.sleep_start.format("%H:%M"),
            policy.sleep_end.format("%H:%M"),
            count(holidays, "holiday", "holidays")
        ),
        Section::Integrations => format!(
            "The team calendar feed; handoffs {} posted to chat.",
            if webhook.is_some() { "are" } else { "are not" }
        ),
    };
    let sections = Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Overview)
        .map(|s| SectionSummary {
            href: s.url(&team.slug),
            title: s.title(),
            summary: summary(s),
        })
        .collect();
    let layout = Layout::new(state, session, format!("{} settings", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &OverviewPage {
            layout,
            head: Head::new(team, Section::Overview, error),
            sections,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, StatusCode::OK).await
}
