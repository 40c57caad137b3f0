//! What every page shares: the navigation, the CSRF token, a one-time
//! message after an action, and the error page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tower_sessions::Session;

use crate::auth::csrf;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::assets;

const FLASH: &str = "flash";

pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    pub is_admin: bool,
    pub csrf: String,
    pub flash: Option<String>,
    pub css: String,
    pub favicon: String,
    /// Unread notifications, for "Inbox (3)".
    pub unread: i64,
    /// Accepted requests waiting for the reader's decision; `None` for
    /// someone who manages no team.
    pub approvals: Option<i64>,
}

impl Layout {
    pub async fn new(
        state: &AppState,
        session: &Session,
        title: impl Into<String>,
        user: Option<&User>,
    ) -> AppResult<Self> {
        // Removing marks the session for saving, so only when there is one.
        let flash: Option<String> = match session.get::<String>(FLASH).await.ok().flatten() {
            Some(_) => session.remove(FLASH).await.ok().flatten(),
            None => None,
        };
        let (unread, approvals) = match user {
            Some(u) => state.nav_counts(u).await?,
            None => (0, None),
        };
        Ok(Layout {
            title: title.into(),
            user_name: user.map(|u| u.name.clone()),
            is_admin: user.is_some_and(|u| u.is_admin),
            csrf: csrf::token(session).await?,
            flash,
            css: assets::url("style.css"),
            favicon: assets::url("favicon.svg"),
            unread,
            approvals,
        })
    }

    /// For a page shown before sign-in: its CSRF token comes from a cookie
    /// (see `csrf::anonymous_token`), so showing it writes no session.
    pub async fn anonymous(session: &Session, title: impl Into<String>, csrf: String) -> Self {
        let flash: Option<String> = match session.get::<String>(FLASH).await.ok().flatten() {
            Some(_) => session.remove(FLASH).await.ok().flatten(),
            None => None,
        };
        Layout {
            csrf,
            flash,
            ..Layout::bare(&title.into())
        }
    }

    /// For a page that signs nobody in and keeps no session (an
    /// acknowledge link).
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.into(),
            user_name: None,
            is_admin: false,
            csrf: String::new(),
            flash: None,
            css: assets::url("style.css"),
            favicon: assets::url("favicon.svg"),
            unread: 0,
            approvals: None,
        }
    }
}

/// A message shown once, on the next page: "Rotation saved".
pub async fn flash(session: &Session, message: impl Into<String>) {
    let _ = session.insert(FLASH, message.into()).await;
}

/// Errors a person can fix re-render the page they came from, with this
/// status and message; others become the error page.
pub fn fixable(e: &AppError) -> Option<(StatusCode, String)> {
    match e {
        AppError::Unprocessable(m) | AppError::Conflict(m) | AppError::NotFound(m) | AppError::BadRequest(m) => {
            Some((e.status(), m.clone()))
        }
        _ => None,
    }
}

/// Renders a page template.
pub fn render<T: Template>(template: &T) -> Response {
    render_with(StatusCode::OK, template)
}

pub fn render_with<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage {
        layout: Layout::bare(title),
        status: status.as_u16(),
        message: message.to_owned(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}
