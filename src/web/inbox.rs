//! The inbox: notifications about requests, overrides and leave, newest
//! first; the navigation shows how many are unread.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::auth::WebUser;
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::db;
use crate::error::AppResult;
use crate::ops;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, flash, render};

/// How many notifications the inbox shows.
const SHOWN: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(show_inbox))
        .route("/inbox/read", post(mark_all_read))
}

pub struct Item {
    pub message: String,
    pub link: String,
    /// "3 hours ago".
    pub relative: String,
    /// The instant in the reader's zone.
    pub at: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    items: Vec<Item>,
    any_unread: bool,
}

async fn show_inbox(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    let now = state.clock.now();
    let tz = user.tz();
    let mut conn = state.db.acquire().await?;
    let items: Vec<Item> = db::notifications::recent(&mut conn, user.id, SHOWN)
        .await?
        .into_iter()
        .map(|n| Item {
            relative: fmt::relative(n.created_at, now),
            at: fmt::local_with_year(n.created_at, tz),
            unread: n.read_at.is_none(),
            // Rota writes the links; anything else is not followed.
            link: if n.link.starts_with('/') && !n.link.starts_with("//") {
                n.link
            } else {
                "/".into()
            },
            message: n.message,
        })
        .collect();
    drop(conn);
    let layout = Layout::new(&state, &session, "Inbox", Some(&user)).await?;
    Ok(render(&InboxPage {
        any_unread: items.iter().any(|i| i.unread),
        layout,
        items,
    }))
}

async fn mark_all_read(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let n = ops::notifications::mark_all_read(&mut conn, user.id, state.clock.now()).await?;
    let message = match n {
        0 => "Nothing was unread".to_owned(),
        1 => "1 notification marked as read".to_owned(),
        n => format!("{n} notifications marked as read"),
    };
    flash(&session, message).await;
    Ok(Redirect::to("/inbox").into_response())
}
