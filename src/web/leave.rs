//! A person's leave: what is recorded, adding more, and removing it. Shifts
//! that fall in it show as needing cover on the rota and on Now.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::WebUser;
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::db;
use crate::db::leave::Leave;
use crate::db::users::User;
use crate::error::{AppError, AppResult, Given};
use crate::ops;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::forms::shown_on_page;
use crate::web::layout::{Layout, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leave", get(show_leave).post(record_leave))
        .route("/leave/{start}/delete", post(delete_leave))
}

pub struct LeaveRow {
    /// YYYY-MM-DD, the key the delete button sends.
    pub start: String,
    /// "Wed 24 Mar 2027 to Fri 26 Mar 2027".
    pub text: String,
    pub current: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LeaveForm {
    start_date: String,
    end_date: String,
}

#[derive(Template)]
#[template(path = "leave.html")]
struct LeavePage {
    layout: Layout,
    zone: String,
    error: Option<String>,
    rows: Vec<LeaveRow>,
    form: LeaveForm,
}

fn dates(l: &Leave) -> String {
    format!("{} to {}", fmt::day(l.start_date), fmt::day(l.end_date))
}

async fn leave_page(
    state: &AppState,
    session: &Session,
    user: &User,
    form: LeaveForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let rows = db::leave::for_user(&mut conn, user.id, now)
        .await?
        .iter()
        .map(|l| LeaveRow {
            start: l.start_date.format("%Y-%m-%d").to_string(),
            text: dates(l),
            current: l.starts_at <= now,
        })
        .collect();
    drop(conn);
    let layout = Layout::new(state, session, "Your leave", Some(user)).await?;
    Ok(render_with(
        status,
        &LeavePage {
            layout,
            zone: user.timezone.clone(),
            error,
            rows,
            form,
        },
    ))
}

async fn show_leave(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    leave_page(&state, &session, &user, LeaveForm::default(), None, StatusCode::OK).await
}

async fn record_leave(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<LeaveForm>,
) -> AppResult<Response> {
    let result = async {
        let start = Given::Form.date(&form.start_date)?;
        let end = Given::Form.date(&form.end_date)?;
        let ctx = state.ctx();
        let mut tx = state.db.begin().await?;
        let leave = ops::leave::put(&mut tx, &ctx, &user, start, end).await?;
        tx.commit().await?;
        Ok::<_, AppError>(leave)
    }
    .await;
    match result {
        Ok(leave) => {
            let clashes = my_shifts_in(&state, &user, &leave).await?;
            let cover = match clashes {
                0 => String::new(),
                1 => ". One of your shifts falls in it: ask for cover on Now".into(),
                n => format!(". {n} of your shifts fall in it: ask for cover on Now"),
            };
            flash(&session, format!("Leave recorded: {}{cover}", dates(&leave))).await;
            Ok(Redirect::to("/leave").into_response())
        }
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => leave_page(&state, &session, &user, form, Some(msg), status).await,
            None => Err(e),
        },
    }
}

/// How many of the person's shifts, not over yet, fall in the leave.
async fn my_shifts_in(state: &AppState, user: &User, leave: &Leave) -> AppResult<usize> {
    let mut conn = state.db.acquire().await?;
    let teams: Vec<i64> = db::teams::for_user(&mut conn, user.id, false)
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    let now = state.clock.now();
    Ok(db::leave::needs_cover(&mut conn, &teams, now, leave.ends_at)
        .await?
        .iter()
        .filter(|c| c.user_id == user.id && c.leave_starts_at == leave.starts_at)
        .count())
}

async fn delete_leave(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(start): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let result = async {
        let start = Given::Path.date(&start)?;
        let mut conn = state.db.acquire().await?;
        ops::leave::delete(&mut conn, &user, start).await
    }
    .await;
    match result {
        Ok(leave) => {
            flash(&session, format!("Leave removed: {}", dates(&leave))).await;
            Ok(Redirect::to("/leave").into_response())
        }
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => leave_page(&state, &session, &user, LeaveForm::default(), Some(msg), status).await,
            None => Err(e),
        },
    }
}
