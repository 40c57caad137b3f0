//! The members section: who is in the team and in which role, who cannot
//! be paged, invitations, who sees the team in the directory; and removing
//! a member, which first shows what it will do.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use serde::Deserialize;
use tower_sessions::Session;

use super::{Head, Section, done};
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::shifts::ShiftView;
use crate::db::teams::{Member, Team, TeamRole};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::members::{remove_member, set_member};
use crate::state::AppState;
use crate::web::accounts::InvitationsPanel;
use crate::web::confirm::{Confirm, confirm_page};
use crate::web::fmt;
use crate::web::layout::{Layout, render_with};

#[derive(Template)]
#[template(path = "team/settings/members.html")]
struct MembersPage {
    layout: Layout,
    head: Head,
    members: Vec<Member>,
    /// "Ravi cannot be paged", when members have no confirmed contact method.
    unpageable: Option<String>,
    invitations: InvitationsPanel,
    /// Shown in the on-call directory only to its members.
    team_private: bool,
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
    let silent = db::contact_methods::unpageable_in_team(&mut conn, team.id).await?;
    let names: Vec<&str> = silent.iter().map(|(_, name)| name.as_str()).collect();
    let unpageable = fmt::and_list(&names).map(|n| format!("{n} cannot be paged"));
    let pending = ops::invitations::pending_in_team(&mut conn, team, state.clock.now()).await?;
    let invitations = InvitationsPanel::for_team(pending, team, m.0.user().is_admin, m.0.user().tz());
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, format!("{} members", team.name), Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &MembersPage {
            layout,
            head: Head::new(team, Section::Members, error),
            members,
            unpageable,
            invitations,
            team_private: team.private,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    email: String,
    role: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> AppResult<Response> {
    let result = async {
        let role =
            TeamRole::parse(&form.role).ok_or_else(|| AppError::BadRequest("Choose member or manager".into()))?;
        let mut tx = state.db.begin().await?;
        let name = set_member(&mut tx, &m.0.team, m.0.user().id, &form.email, role, state.clock.now()).await?;
        tx.commit().await?;
        Ok(format!("{name} is now a {} of {}", role.as_str(), m.0.team.name))
    }
    .await;
    done(&state, &session, &m, Section::Members, result).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    email: String,
}

/// What removing a member will do, from `ops::members::remove_member`'s
/// rules, with a button that does it. Changes nothing.
pub async fn confirm_removal(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    Query(form): Query<RemoveForm>,
) -> AppResult<Response> {
    let team = &m.0.team;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let members = db::teams::members(&mut conn, team.id).await?;
    let who = members
        .iter()
        .find(|x| x.email.eq_ignore_ascii_case(form.email.trim()))
        .ok_or_else(|| AppError::NotFound(format!("{} is not a member of {}", form.email.trim(), team.name)))?;
    let rotations: Vec<(String, usize)> = db::rotations::for_team(&mut conn, team.id)
        .await?
        .into_iter()
        .filter(|(_, v)| v.participants.contains(&who.user_id))
        .map(|(r, v)| (r.name, v.participants.len() - 1))
        .collect();
    let upcoming = db::shifts::upcoming_for_member(&mut conn, team.id, who.user_id, now).await?;
    drop(conn);
    let on_call_now = upcoming.iter().find(|s| s.starts_at <= now);
    let (consequences, warnings) = removal_effects(team, who, &rotations, on_call_now, m.0.user().tz());
    let confirm = Confirm {
        heading: format!("Remove {} from {}?", who.name, team.name),
        intro: format!(
            "{} ({}) is a {} of {}.",
            who.name,
            who.email,
            who.role.as_str(),
            team.name
        ),
        consequences,
        warnings,
        action: format!("/teams/{}/members/remove", team.slug),
        fields: vec![("email", who.email.clone())],
        button: format!("Remove {}", who.name),
        cancel: Section::Members.url(&team.slug),
    };
    confirm_page(&state, &session, m.0.user(), confirm).await
}

/// What removing `who` does, and why it would be refused as things stand
/// (the checks of `ops::members::remove_member`). `rotations` are the
/// rotations they are in, with how many people each keeps.
fn removal_effects(
    team: &Team,
    who: &Member,
    rotations: &[(String, usize)],
    on_call_now: Option<&ShiftView>,
    reader_tz: Tz,
) -> (Vec<String>, Vec<String>) {
    let names: Vec<&str> = rotations.iter().map(|(n, _)| n.as_str()).collect();
    let consequences = vec![
        match fmt::and_list(&names) {
            Some(list) => format!(
                "They leave the rotation{} {list} from the next handoff; the weeks after it are shared out among the others, and the current week stays as it is.",
                if names.len() == 1 { "" } else { "s" }
            ),
            None => "They are in none of the team's rotations, so the schedule does not change.".into(),
        },
        "The team calendar link is reset, so the one they knew stops working; members copy the new one from the rota page."
            .into(),
        format!(
            "They no longer see {}'s rota, pages or handoffs. Their account stays, and the team's history keeps their name.",
            team.name
        ),
    ];
    let mut warnings = Vec::new();
    if let Some(current) = on_call_now {
        warnings.push(format!(
            "{} is on call now ({} {}, until {}): removing them is refused until that week is covered or has ended.",
            who.name,
            current.rotation_name,
            current.role,
            fmt::local(current.ends_at, reader_tz)
        ));
    }
    for (name, _) in rotations.iter().filter(|(_, left)| *left < 2) {
        warnings.push(format!(
            "Removing {} would leave {name} with one person, so it is refused; add someone to that rotation first.",
            who.name
        ));
    }
    (consequences, warnings)
}

pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = state.db.begin().await?;
        let name = remove_member(&mut tx, &m.0.team, m.0.user().id, &form.email, &state.clock).await?;
        tx.commit().await?;
        Ok(format!("{name} was removed from {}", m.0.team.name))
    }
    .await;
    done(&state, &session, &m, Section::Members, result).await
}
