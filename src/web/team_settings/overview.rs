//! The settings overview: one line per section saying how things stand,
//! each linking to the section's own page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgConnection;
use tower_sessions::Session;

use super::{Head, Section};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::teams::{Team, TeamRole};
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

/// What the overview says of the team, read in one go.
struct Facts {
    members: usize,
    managers: usize,
    invited: usize,
    rotations: Vec<String>,
    tokens: usize,
    custom_escalation: bool,
    sleep: (NaiveTime, NaiveTime),
    holidays: usize,
    webhook: bool,
}

async fn facts(conn: &mut PgConnection, team: &Team, now: DateTime<Utc>) -> AppResult<Facts> {
    let members = db::teams::members(conn, team.id).await?;
    let policy = db::holidays::policy(conn, team.id).await?;
    Ok(Facts {
        members: members.len(),
        managers: members.iter().filter(|x| x.role == TeamRole::Manager).count(),
        invited: ops::invitations::pending_in_team(conn, team, now).await?.len(),
        rotations: db::rotations::for_team(conn, team.id)
            .await?
            .into_iter()
            .map(|(r, _)| r.name)
            .collect(),
        tokens: db::integrations::live_for_team(conn, team.id).await?.len(),
        custom_escalation: ops::paging::policy_for(conn, team.id, None).await?.1,
        sleep: (policy.sleep_start, policy.sleep_end),
        holidays: db::holidays::list(conn, team.id).await?.len(),
        webhook: db::handoff_webhooks::url(conn, team.id).await?.is_some(),
    })
}

/// One line on how the section stands.
fn summary(section: Section, f: &Facts, team: &Team) -> String {
    match section {
        Section::Overview => String::new(),
        Section::Members => format!(
            "{}, {} of them manager{}; {} waiting; {}.",
            count(f.members, "person", "people"),
            f.managers,
            if f.managers == 1 { "" } else { "s" },
            count(f.invited, "invitation", "invitations"),
            if team.private {
                "private in the directory"
            } else {
                "everyone sees its on-call in the directory"
            }
        ),
        Section::Rotations => {
            let names: Vec<&str> = f.rotations.iter().map(String::as_str).collect();
            match fmt::and_list(&names) {
                Some(list) => format!("{list}. Who takes part, in which order, and when handoffs are."),
                None => "No rotation yet: create one once the team has two members.".into(),
            }
        }
        Section::Alerting => format!(
            "{} for alerting tools; escalation: {}.",
            count(f.tokens, "integration token", "integration tokens"),
            if f.custom_escalation {
                "the team's own"
            } else {
                "the default"
            }
        ),
        Section::OutOfHours => format!(
            "Sleep hours {} to {}; {}.",
            f.sleep.0.format("%H:%M"),
            f.sleep.1.format("%H:%M"),
            count(f.holidays, "holiday", "holidays")
        ),
        Section::Integrations => format!(
            "The team calendar feed; handoffs and pages {} posted to chat.",
            if f.webhook { "are" } else { "are not" }
        ),
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
    let facts = facts(&mut conn, team, state.clock.now()).await?;
    drop(conn);
    let sections = Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Overview)
        .map(|s| SectionSummary {
            href: s.url(&team.slug),
            title: s.title(),
            summary: summary(s, &facts, team),
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
