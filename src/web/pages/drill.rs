//! "Send a test page" (a drill, `ops::paging::drills`): on the team page to
//! the rotation's current primary, who is paged as for a real page and
//! escalated from; on the profile's contact methods to oneself, in one of
//! one's teams. Either way the page view follows, marked as a drill.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::list::rotation_named;
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::domain::paging::DrillTo;
use crate::error::{AppError, AppResult};
use crate::ops::paging::drills::{self, Drill};
use crate::state::AppState;
use crate::web::layout::flash;

#[derive(Deserialize)]
pub struct PrimaryDrillForm {
    #[serde(default)]
    rotation: String,
}

/// A drill to the rotation's current primary, from the team page.
pub async fn drill_primary(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<PrimaryDrillForm>,
) -> AppResult<Response> {
    let team = &member.team;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rotation_id = rotation_named(&mut tx, team, &form.rotation).await?;
    let drill = Drill {
        team,
        rotation_id,
        to: DrillTo::Primary,
        by: Some(member.user()),
        summary: None,
    };
    let id = drills::start(&mut tx, &drill, now).await?;
    tx.commit().await?;
    flash(
        &session,
        "Test page sent to the primary: this drill escalates as a real page would, and counts in no metric or recovery day",
    )
    .await;
    Ok(Redirect::to(&format!("/teams/{}/pages/{id}", team.slug)).into_response())
}

#[derive(Deserialize)]
pub struct SelfDrillForm {
    /// The team the drill belongs to (its slug); the only one when empty.
    #[serde(default)]
    team: String,
}

/// A drill to oneself, from the profile's contact methods.
pub async fn drill_me(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<SelfDrillForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mine: Vec<_> = db::teams::for_user(&mut tx, user.id, false).await?;
    let slug = match (form.team.trim(), mine.as_slice()) {
        ("", [only]) => only.slug.clone(),
        ("", []) => {
            return Err(AppError::Unprocessable(
                "A test page belongs to a team, and you are in none yet; ask a manager to add you".into(),
            ));
        }
        ("", _) => return Err(AppError::Unprocessable("Choose the team the test page is for".into())),
        (slug, _) => slug.to_owned(),
    };
    let team = match db::teams::with_role(&mut tx, &slug, user.id).await? {
        Some((team, Some(_))) => team,
        _ => {
            return Err(AppError::Unprocessable(format!(
                "You are not in a team called \"{slug}\"; choose one of yours"
            )));
        }
    };
    let drill = Drill {
        team: &team,
        rotation_id: None,
        to: DrillTo::Me,
        by: Some(&user),
        summary: None,
    };
    let id = drills::start(&mut tx, &drill, now).await?;
    tx.commit().await?;
    flash(
        &session,
        "Test page sent to you alone, by your rules: acknowledge it here or from the message",
    )
    .await;
    Ok(Redirect::to(&format!("/teams/{}/pages/{id}", team.slug)).into_response())
}
