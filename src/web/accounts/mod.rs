//! Accounts from outside: accepting an invitation, resetting a forgotten
//! password, and the admins' and managers' lists of pending invitations.

mod accept;
mod manage;
mod reset;

use axum::Router;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::db::invitations::Invitation;
use crate::db::teams::Team;
use crate::domain::links::LinkProblem;
use crate::state::AppState;
use crate::web::fmt;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accept::router())
        .merge(manage::router())
        .merge(reset::router())
}

/// A pending invitation as the lists show it.
pub struct PendingRow {
    pub id: i64,
    pub email: String,
    pub team: String,
    pub role: &'static str,
    pub invited_by: String,
    pub expires: String,
}

/// The pending invitations and the form to invite someone, as the admin
/// page (any team, either role) and a team's settings (that team, as a
/// member) show them.
pub struct InvitationsPanel {
    pub rows: Vec<PendingRow>,
    /// The teams to choose from (slug, name); empty with `fixed_team`.
    pub teams: Vec<(String, String)>,
    /// The one team invitations go into (a manager's settings page).
    pub fixed_team: Option<String>,
    /// Whether the inviter may choose the manager role.
    pub choose_role: bool,
    /// Where the forms come back to (see [`Back`]).
    pub back: String,
}

impl InvitationsPanel {
    /// For the admin page: every pending invitation, any team.
    pub fn for_admin(pending: Vec<Invitation>, teams: &[Team], tz: Tz) -> Self {
        InvitationsPanel {
            rows: rows(pending, tz),
            teams: teams.iter().map(|t| (t.slug.clone(), t.name.clone())).collect(),
            fixed_team: None,
            choose_role: true,
            back: "admin".into(),
        }
    }

    /// For a team's settings page.
    pub fn for_team(pending: Vec<Invitation>, team: &Team, is_admin: bool, tz: Tz) -> Self {
        InvitationsPanel {
            rows: rows(pending, tz),
            teams: Vec::new(),
            fixed_team: Some(team.slug.clone()),
            choose_role: is_admin,
            back: format!("team:{}", team.slug),
        }
    }
}

fn rows(pending: Vec<Invitation>, tz: Tz) -> Vec<PendingRow> {
    pending
        .into_iter()
        .map(|i| PendingRow {
            id: i.id,
            email: i.email,
            team: i.team_name.unwrap_or_else(|| "no team".into()),
            role: i.role.as_str(),
            invited_by: i.invited_by_name.unwrap_or_else(|| "the command line".into()),
            expires: fmt::local_with_year(i.expires_at, tz),
        })
        .collect()
}

/// Where a form on the admin page or a team's settings goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Back {
    Admin,
    Team(String),
}

impl Back {
    /// Reads a form's `back` field; anything else goes to the home page's
    /// nearest equivalent for the caller, the admin page.
    fn parse(s: Option<&str>) -> Back {
        match s.and_then(|s| s.strip_prefix("team:")) {
            Some(slug) if crate::domain::validate::slug(slug).is_ok() => Back::Team(slug.to_owned()),
            _ => Back::Admin,
        }
    }

    fn path(&self) -> String {
        match self {
            Back::Admin => "/admin".into(),
            Back::Team(slug) => format!("/teams/{slug}/settings/members"),
        }
    }

    fn field(&self) -> String {
        match self {
            Back::Admin => "admin".into(),
            Back::Team(slug) => format!("team:{slug}"),
        }
    }
}

/// What a person who opened a link that does not work is told: what
/// happened and what to do; and the status that goes with it.
fn explain(problem: LinkProblem, invitation: bool, tz: Tz) -> (axum::http::StatusCode, &'static str, String) {
    use axum::http::StatusCode;
    let ask = if invitation {
        "Ask whoever invited you (or an admin) to send you a new invitation."
    } else {
        "Ask for a new one with “Forgot your password?” on the sign-in page, or ask an admin."
    };
    match problem {
        LinkProblem::Unknown => (
            StatusCode::NOT_FOUND,
            "This link does not work",
            format!(
                "Rota does not know this link: it may have been cut short or changed when it was copied. \
                 Open it straight from the e-mail, or copy all of it. {ask}"
            ),
        ),
        LinkProblem::Expired { at } => (
            StatusCode::GONE,
            "This link has expired",
            format!("This link stopped working on {}. {ask}", when(at, tz)),
        ),
        LinkProblem::Used if invitation => (
            StatusCode::GONE,
            "This invitation has been used",
            "This invitation has already been used to set up an account. Sign in with it; \
             if you forgot the password, use “Forgot your password?” on the sign-in page."
                .into(),
        ),
        LinkProblem::Used => (
            StatusCode::GONE,
            "This link has been used",
            format!("This link has already been used (or a newer one was), and works only once. {ask}"),
        ),
        LinkProblem::Revoked => (
            StatusCode::GONE,
            "This link was withdrawn",
            format!("This link was withdrawn or replaced by a newer one: use the newest e-mail you have. {ask}"),
        ),
    }
}

fn when(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", fmt::local_with_year(at, tz), tz.name())
}
