//! Team settings for managers: a short overview and one page per section
//! (members, rotations, alerting, out of hours, integrations), so each
//! page stays about one thing. Every form keeps the address it always
//! posted to and comes back to the section it lives on, with a flash
//! message, or shows that section again with what to fix.

mod alerting;
mod integrations;
mod members;
mod out_of_hours;
mod overview;
mod rotation_form;
mod rotations;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::auth::{TeamManager, WebUser};
use crate::db::teams::Team;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::{fixable, flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/settings", get(overview::show))
        .route("/teams/{team}/settings/members", get(members::show))
        .route("/teams/{team}/settings/rotations", get(rotations::show))
        .route("/teams/{team}/settings/alerting", get(alerting::show))
        .route("/teams/{team}/settings/out-of-hours", get(out_of_hours::show))
        .route("/teams/{team}/settings/integrations", get(integrations::show))
        .route("/teams/{team}/members", post(members::add_member))
        .route(
            "/teams/{team}/members/remove",
            get(members::confirm_removal).post(members::remove),
        )
        .route("/teams/{team}/rotations", post(rotations::create))
        .route(
            "/teams/{team}/rotations/{rotation}",
            get(rotations::edit).post(rotations::update),
        )
        .route("/teams/{team}/calendar/reset", post(integrations::reset_team_calendar))
        .route("/teams/{team}/policy", post(out_of_hours::save_policy))
        .route("/teams/{team}/holidays", post(out_of_hours::add_holiday))
        .route("/teams/{team}/holidays/remove", post(out_of_hours::remove_holiday))
        .route("/teams/{team}/holidays/import", post(out_of_hours::import_holiday_file))
        .route("/teams/{team}/integrations", post(alerting::create_integration))
        .route(
            "/teams/{team}/integrations/{id}/revoke",
            get(alerting::confirm_revoke).post(alerting::revoke_integration),
        )
}

/// The settings pages, in the order the section navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Members,
    Rotations,
    Alerting,
    OutOfHours,
    Integrations,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Overview,
        Section::Members,
        Section::Rotations,
        Section::Alerting,
        Section::OutOfHours,
        Section::Integrations,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Members => "Members",
            Section::Rotations => "Rotations",
            Section::Alerting => "Alerting",
            Section::OutOfHours => "Out of hours and holidays",
            Section::Integrations => "Integrations",
        }
    }

    /// The section's own address.
    pub fn url(self, team_slug: &str) -> String {
        let tail = match self {
            Section::Overview => "",
            Section::Members => "/members",
            Section::Rotations => "/rotations",
            Section::Alerting => "/alerting",
            Section::OutOfHours => "/out-of-hours",
            Section::Integrations => "/integrations",
        };
        format!("/teams/{team_slug}/settings{tail}")
    }
}

/// One link of the section navigation.
pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What every settings page shows above its own content: the heading,
/// the section navigation (the current one marked) and a form's error.
pub struct Head {
    /// "Platform settings", "Platform: members".
    pub heading: String,
    pub team_name: String,
    pub team_slug: String,
    pub title: &'static str,
    pub nav: Vec<NavLink>,
    pub error: Option<String>,
}

impl Head {
    pub fn new(team: &Team, current: Section, error: Option<String>) -> Self {
        let heading = match current {
            Section::Overview => format!("{} settings", team.name),
            s => format!("{}: {}", team.name, s.title().to_lowercase()),
        };
        Head {
            heading,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            title: current.title(),
            nav: Section::ALL
                .into_iter()
                .map(|s| NavLink {
                    href: s.url(&team.slug),
                    label: s.title(),
                    current: s == current,
                })
                .collect(),
            error,
        }
    }
}

/// The section shown again, with a message saying what to fix.
pub async fn reshow(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    section: Section,
    error: String,
    status: StatusCode,
) -> AppResult<Response> {
    let error = Some(error);
    match section {
        Section::Overview => overview::page(state, session, m, error, status).await,
        Section::Members => members::page(state, session, m, error, status).await,
        Section::Rotations => rotations::page(state, session, m, None, error, status).await,
        Section::Alerting => alerting::page(state, session, m, None, error, status).await,
        Section::OutOfHours => out_of_hours::page(state, session, m, error, status).await,
        Section::Integrations => integrations::page(state, session, m, error, status).await,
    }
}

/// After a form: back to its section with the flash `message`, or the
/// section again with what to fix.
pub async fn done(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    section: Section,
    result: AppResult<String>,
) -> AppResult<Response> {
    match result {
        Ok(message) => {
            flash(session, message).await;
            Ok(Redirect::to(&section.url(&m.0.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => reshow(state, session, m, section, msg, status).await,
            None => Err(e),
        },
    }
}
