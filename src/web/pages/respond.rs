//! Paging on the page view: who was told and when (the timeline), and the
//! Acknowledge button for a signed-in member.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use sqlx::PgConnection;
use tower_sessions::Session;

use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ops::paging::{self, Action};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::flash;

/// One line of the timeline, in the reader's zone.
pub struct TimelineRow {
    pub at: String,
    pub who: String,
    pub step: String,
    pub kind: String,
    pub state: String,
    pub detail: String,
}

pub async fn timeline(conn: &mut PgConnection, page_id: i64, tz: Tz) -> AppResult<Vec<TimelineRow>> {
    let events = db::paging::timeline(conn, page_id).await?;
    Ok(events
        .into_iter()
        .map(|e| TimelineRow {
            at: format!("{} {}", fmt::local_with_year(e.at, tz), fmt::zone_abbrev(e.at, tz)),
            who: e.name.or(e.email).unwrap_or_else(|| {
                if e.kind.as_deref() == Some("chat") {
                    "Team chat channel".into()
                } else {
                    "—".into()
                }
            }),
            step: e.step.map_or_else(|| "—".into(), |s| (s + 1).to_string()),
            kind: e.kind.unwrap_or_else(|| "—".into()),
            state: e.state,
            detail: e.detail,
        })
        .collect())
}

/// Who acknowledged and who resolved through Rota, if anyone: names.
pub async fn responded_by(conn: &mut PgConnection, page_id: i64) -> AppResult<(Option<String>, Option<String>)> {
    Ok(db::paging::read_page(conn, page_id)
        .await?
        .map_or((None, None), |p| (p.acknowledged_by_name, p.resolved_by_name)))
}

pub async fn acknowledge_page(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    member: TeamMember<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let page = db::paging::lock_page(&mut tx, id)
        .await?
        .filter(|p| p.team_id == member.team.id)
        .ok_or_else(|| AppError::not_found("page"))?;
    let message = match paging::respond(
        &mut tx,
        page.id,
        member.user().id,
        Action::Acknowledge,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {
            tx.commit().await?;
            "Acknowledged: nobody else is paged for this page"
        }
        Err(AppError::Conflict(_)) => "This page is already resolved",
        Err(e) => return Err(e),
    };
    flash(&session, message).await;
    Ok(Redirect::to(&format!("/teams/{}/pages/{id}", member.team.slug)).into_response())
}
