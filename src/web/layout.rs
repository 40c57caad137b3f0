//! What every page shares: the navigation, the CSRF token, a one-time
//! message after an action, and the error page.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_sessions::Session;

use crate::auth::csrf;
use crate::db::users::User;
use crate::error::{AppError, AppResult, ErrorInfo, default_message};
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
    render_error(status, Layout::bare(title), message)
}

fn render_error(status: StatusCode, layout: Layout, message: &str) -> Response {
    let page = ErrorPage {
        layout,
        status: status.as_u16(),
        message: message.to_owned(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

/// An error answered to someone signed in keeps the navigation, so a
/// wrong link or a refused action is one click from anywhere. Pages that
/// re-rendered themselves with their message are left as they are; the
/// rest (and everyone signed out) get `app`'s plain error page, as do
/// answers that mean the server is short of room (5xx, 429): looking up
/// the reader then would only wait for the database that is busy.
pub async fn errors_with_navigation(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let already_a_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let busy = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    if is_api || already_a_page || busy || !status.is_client_error() {
        return response;
    }
    let Some(session) = session else { return response };
    let Some(user) = crate::auth::signed_in_user(&state, &session).await else {
        return response;
    };
    let message = response
        .extensions()
        .get::<ErrorInfo>()
        .map_or_else(|| default_message(status).to_owned(), |i| i.message.clone());
    let title = status.canonical_reason().unwrap_or("Error");
    let Ok(layout) = Layout::new(&state, &session, title, Some(&user)).await else {
        return response;
    };
    let mut page = render_error(status, layout, &message);
    // The answer's own headers (a 405's Allow, say) hold for the page too.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    page
}
