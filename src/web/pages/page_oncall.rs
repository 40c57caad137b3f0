//! "Page the on-call" on the team page: someone who needs the on-call
//! now writes what is wrong, and the rotation's escalation starts as for
//! a tool's firing alert (the primary by their rules, then the secondary,
//! then the managers).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::list::rotation_named;
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamMember, WebUser};
use crate::db::pages::Report;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::ops::pages::{Derive, record};
use crate::secrets;
use crate::state::AppState;
use crate::web::layout::flash;

/// The source of pages started from Rota itself.
const SOURCE: &str = "rota";

#[derive(Deserialize)]
pub struct PageOnCallForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    rotation: String,
}

pub async fn page_oncall(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<PageOnCallForm>,
) -> AppResult<Response> {
    let (user, team) = (member.user(), &member.team);
    let message = validate::line(
        "What is wrong (e.g. \"Checkout fails for every customer\")",
        &form.message,
        400,
    )?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rotation_id = rotation_named(&mut tx, team, &form.rotation).await?;
    let report = Report {
        team_id: team.id,
        rotation_id,
        source: SOURCE.into(),
        dedup_key: secrets::random_secret(),
        summary: format!("{message} (paged by {})", user.name),
        link: None,
        severity: None,
        fired_at: now,
        acknowledged_at: None,
        resolved_at: None,
        worked_until: None,
        page: true,
    };
    // No responder named: the schedule's primary at this moment is. Its
    // recovery days are derived by the recovery job, as for a tool's page.
    let id = record(&mut tx, &report, None, Derive::Queued, now)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a fresh page key was taken")))?;
    tx.commit().await?;
    flash(
        &session,
        "The on-call is being paged: this page shows who is told, and when",
    )
    .await;
    Ok(Redirect::to(&format!("/teams/{}/pages/{id}", team.slug)).into_response())
}
