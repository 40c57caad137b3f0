//! One request's page, with the buttons for what its reader may do, and
//! the actions those buttons take.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{next_step, span, zone_of};
use crate::auth::WebUser;
use crate::auth::csrf::CsrfForm;
use crate::db::swaps::Request;
use crate::db::teams::TeamRole;
use crate::db::users::User;
use crate::domain::swap::{Action, RequestKind, Standing, next};
use crate::error::{AppError, AppResult};
use crate::ops::changes::role_in;
use crate::ops::swaps::{act, visible};
use crate::ops::undo::undo;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::forms::shown_on_page;
use crate::web::layout::{Layout, flash, render_with};

/// What the page says about the request.
pub struct Shown {
    pub id: i64,
    /// `swap` or `cover`.
    pub kind: String,
    pub team_name: String,
    pub team_slug: String,
    pub rotation_name: String,
    pub state: &'static str,
    pub next_step: String,
    pub requester: String,
    /// "primary, Tue 23 Mar 10:00 to Tue 30 Mar 10:00 GMT".
    pub requester_side: String,
    /// Who takes it: a name, or "Open to the team".
    pub counterpart: String,
    /// For a swap: the week the requester takes in exchange.
    pub counterpart_side: Option<String>,
    pub note: String,
    /// Both sides in one sentence, as the lists show it.
    pub sentence: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub asked: String,
}

/// The buttons the reader sees: exactly the actions the rules allow them.
#[derive(Default)]
pub struct Buttons {
    pub accept: bool,
    pub volunteer: bool,
    pub decline: bool,
    pub approve: bool,
    pub reject: bool,
    pub cancel: bool,
    /// An applied request not yet over, for a manager who is not a party.
    pub undo: bool,
}

impl Buttons {
    pub fn any(&self) -> bool {
        self.accept || self.volunteer || self.decline || self.approve || self.reject || self.cancel || self.undo
    }
}

#[derive(Template)]
#[template(path = "swaps/show.html")]
struct RequestPage {
    layout: Layout,
    r: Shown,
    can: Buttons,
    error: Option<String>,
    /// The reason as typed, kept when a decision failed.
    reason: String,
}

fn shown(r: &Request, now: chrono::DateTime<chrono::Utc>) -> Shown {
    let tz = zone_of(r);
    let state = r.state_at(now);
    let counterpart_side = match (&r.counterpart_role, r.counterpart_starts_at, r.counterpart_ends_at) {
        (Some(role), Some(s), Some(e)) => Some(format!("{role}, {}", span(s, e, tz))),
        _ => None,
    };
    Shown {
        id: r.id,
        kind: r.kind.as_str().to_owned(),
        team_name: r.team_name.clone(),
        team_slug: r.team_slug.clone(),
        rotation_name: r.rotation_name.clone(),
        state: state.as_str(),
        next_step: next_step(r, state),
        requester: r.requester_name.clone(),
        requester_side: format!("{}, {}", r.role, span(r.starts_at, r.ends_at, tz)),
        counterpart: r
            .counterpart_name
            .clone()
            .unwrap_or_else(|| "Open to the team: nobody has volunteered yet".into()),
        counterpart_side,
        note: r.note.clone(),
        sentence: super::RequestRow::new(r, now).sentence,
        decided_by: r.decided_by_name.clone(),
        reason: r.reason.clone(),
        asked: fmt::relative(r.created_at, now),
    }
}

async fn request_page(
    state: &AppState,
    session: &Session,
    user: &User,
    id: i64,
    error: Option<String>,
    reason: String,
    status: StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let r = visible(&mut conn, user, id).await?;
    let role = role_in(&mut conn, r.team_id, user.id).await?;
    drop(conn);
    let standing = Standing {
        requester: r.requester_id == user.id,
        counterpart: r.counterpart_id == Some(user.id),
        may_volunteer: r.kind == RequestKind::Cover && r.counterpart_id.is_none() && role.is_some(),
        manages: user.is_admin || role == Some(TeamRole::Manager),
    };
    let state_now = r.state_at(now);
    let may = |a: Action| next(state_now, a, standing).is_ok();
    let open_cover = r.counterpart_id.is_none();
    let can = Buttons {
        accept: may(Action::Accept) && !open_cover,
        // Nobody volunteers for their own cover.
        volunteer: may(Action::Accept) && open_cover && !standing.requester,
        decline: may(Action::Decline),
        approve: may(Action::Approve),
        reject: may(Action::Reject),
        cancel: may(Action::Cancel),
        undo: state_now == crate::domain::swap::State::Applied
            && standing.manages
            && !r.is_party(user.id)
            && r.counterpart_ends_at.map_or(r.ends_at, |e| e.max(r.ends_at)) > now,
    };
    let title = format!(
        "{} request #{}",
        match r.kind {
            RequestKind::Swap => "Swap",
            RequestKind::Cover => "Cover",
        },
        r.id
    );
    let layout = Layout::new(state, session, title, Some(user)).await?;
    Ok(render_with(
        status,
        &RequestPage {
            layout,
            r: shown(&r, now),
            can,
            error,
            reason,
        },
    ))
}

pub async fn show_request(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    request_page(&state, &session, &user, id, None, String::new(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    /// Kept with an approval or a rejection.
    reason: String,
}

/// The one-time message after `action` succeeded.
fn done(action: Action, r: &Request) -> String {
    match action {
        Action::Accept => format!("Accepted: a manager of {} approves it next", r.team_name),
        Action::Decline => format!("Declined: {} has been told", r.requester_name),
        Action::Approve => "Approved: the rota has changed".into(),
        Action::Reject => "Rejected: everyone involved has been told".into(),
        Action::Cancel => "Request cancelled".into(),
    }
}

pub async fn decide_request(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> AppResult<Response> {
    let action = match action.as_str() {
        "undo" => None,
        other => Some(Action::parse(other).ok_or_else(|| {
            AppError::NotFound(format!(
                "\"{action}\" is not something to do with a request: accept, decline, approve, reject, cancel or undo"
            ))
        })?),
    };
    let result = async {
        let ctx = state.ctx();
        let mut tx = state.db.begin().await?;
        let r = match action {
            Some(action) => act(&mut tx, &ctx, &user, id, action, Some(&form.reason)).await?,
            None => undo(&mut tx, &ctx, &user, id).await?,
        };
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => {
            let message = match action {
                Some(action) => done(action, &r),
                None => "Undone from now on: the shifts are back with the people who had them".into(),
            };
            flash(&session, message).await;
            Ok(Redirect::to(&format!("/swaps/{id}")).into_response())
        }
        // A request the reader cannot see has no page to show the message on.
        Err(e @ AppError::NotFound(_)) => Err(e),
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => request_page(&state, &session, &user, id, Some(msg), form.reason, status).await,
            None => Err(e),
        },
    }
}
