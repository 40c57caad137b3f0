//! Drills through the API: `POST /teams/{team}/pages` with `"drill": true`
//! (and `"to": "primary" | "me"`) runs one (`ops::paging::drills`).

use axum::Json;
use axum::http::StatusCode;

use crate::api::pages::{NewPage, Reporter};
use crate::cache::Wrote;
use crate::db;
use crate::domain::paging::DrillTo;
use crate::error::{AppError, AppResult};
use crate::ops::classify::{Classifier, PageInfo};
use crate::ops::pages::{named_rotation, only_rotation};
use crate::ops::paging::drills::{self, Drill, NO_PERSON};
use crate::state::AppState;

/// What starting a drill writes that a cache reads.
const WRITES: &[&str] = &["pages"];

/// Starts the drill `body` asks for; nothing is stored when it is refused.
pub async fn run_drill(
    state: &AppState,
    reporter: &Reporter,
    body: &NewPage,
) -> AppResult<(StatusCode, Wrote, Json<PageInfo>)> {
    let (team, bound_rotation, by) = match reporter {
        Reporter::Integration(i) => (&i.team, i.integration.rotation_id, None),
        Reporter::Member(m) => (&m.team, None, Some(m.user())),
    };
    // A drill fires now and is answered like any page: a page's own facts
    // have no place in it, and none is quietly dropped.
    let given: Vec<&str> = [
        ("dedup_key", body.dedup_key.is_some()),
        ("source", body.source.is_some()),
        ("fired_at", body.fired_at.is_some()),
        ("acknowledged_at", body.acknowledged_at.is_some()),
        ("resolved_at", body.resolved_at.is_some()),
        ("worked_until", body.worked_until.is_some()),
        ("responder_email", body.responder_email.is_some()),
        ("link", body.link.is_some()),
        ("severity", body.severity.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if !given.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "A drill fires now, as a new page, and is acknowledged like any other: it takes only summary, rotation and to; leave out {}",
            given.join(", ")
        )));
    }
    let to = body.to.unwrap_or_default();
    if to == DrillTo::Me && by.is_none() {
        return Err(AppError::Unprocessable(NO_PERSON.into()));
    }
    let summary = match body.summary.as_deref().map(str::trim) {
        Some(s) if s.is_empty() || s.chars().count() > 500 || s.chars().any(char::is_control) => {
            return Err(AppError::Unprocessable(
                "summary needs 1 to 500 characters on one line (or leave it out for \"Test page …\")".into(),
            ));
        }
        other => other,
    };
    // Before the transaction: a cache miss takes a connection of its own.
    let rotations = state.rotations_of(team.id).await?;
    let rotation_id = match (&body.rotation, bound_rotation) {
        (Some(slug), _) => Some(named_rotation(&team.name, &rotations, slug)?),
        (None, Some(r)) => Some(r),
        (None, None) => match (to, only_rotation(&team.name, &rotations)) {
            // Any rotation does for a drill to oneself: it pages only them.
            (DrillTo::Me, Err(_)) => None,
            (_, chosen) => chosen?,
        },
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let drill = Drill {
        team,
        rotation_id,
        to,
        by,
        summary,
    };
    let id = drills::start(&mut tx, &drill, now).await?;
    let page = db::pages::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    let info = Classifier::for_team(&mut tx, team).await?.info(&page);
    tx.commit().await?;
    Ok((StatusCode::CREATED, Wrote(WRITES), Json(info)))
}
