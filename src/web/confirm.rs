//! The page shown before something that cannot be undone (removing a
//! member, revoking a token, deleting a page): what exactly will happen,
//! a button that does it (a POST with the CSRF token, as every form) and a
//! way back. Opening it changes nothing.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tower_sessions::Session;

use crate::db::users::User;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::{Layout, render_with};

/// What a confirmation page says and where its button posts.
pub struct Confirm {
    /// "Remove Ravi Patel from Platform?"
    pub heading: String,
    /// Who or what it is about, in a sentence.
    pub intro: String,
    /// What doing it changes, one sentence each.
    pub consequences: Vec<String>,
    /// Why it would be refused as things stand, if it would.
    pub warnings: Vec<String>,
    pub action: String,
    /// Hidden fields the button sends besides the CSRF token.
    pub fields: Vec<(&'static str, String)>,
    /// "Remove Ravi Patel".
    pub button: String,
    /// Where "Cancel" goes: the page the person came from.
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    layout: Layout,
    c: Confirm,
}

pub async fn confirm_page(state: &AppState, session: &Session, user: &User, c: Confirm) -> AppResult<Response> {
    let layout = Layout::new(state, session, c.heading.clone(), Some(user)).await?;
    Ok(render_with(StatusCode::OK, &ConfirmPage { layout, c }))
}
