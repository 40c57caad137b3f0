//! Signing in and out, and the one-time setup of the first admin.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::csrf::{self, CsrfForm, NoFields};
use crate::auth::{password, start_session};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ops::users::{NewUserInput, create_user};
use crate::web::layout::{Layout, flash, render_with};

/// Failed sign-ins allowed per address in [`THROTTLE_WINDOW`].
const MAX_FAILURES: i64 = 5;
const THROTTLE_WINDOW: Duration = Duration::minutes(15);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/setup", get(show_setup).post(set_up))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths, so the sign-in page cannot redirect elsewhere.
/// Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so a
/// path with either could still lead off-site: such a path goes home.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/teams/platform?at=2026-12-01")),
            "/teams/platform?at=2026-12-01"
        );
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}

/// Renders a page for someone not signed in, with the anonymous CSRF token
/// (and its cookie when the browser has none yet).
async fn anonymous_page<T: Template>(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    title: &str,
    status: StatusCode,
    page: impl FnOnce(Layout) -> T,
) -> Response {
    let (token, cookie) = csrf::anonymous_token(headers, state.settings.secure_cookies);
    let layout = Layout::anonymous(session, title, token).await;
    let mut response = render_with(status, &page(layout));
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn show_login(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    if !db::users::any_exist(&mut conn).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let next = safe_next(q.next.as_deref());
    Ok(
        anonymous_page(&state, &session, &headers, "Sign in", StatusCode::OK, |layout| {
            LoginPage {
                layout,
                error: None,
                email: String::new(),
                next,
            }
        })
        .await,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let next = safe_next(form.next.as_deref());
    let mut conn = state.db.acquire().await?;
    let failures = db::users::recent_failed_logins(&mut conn, &form.email, now - THROTTLE_WINDOW).await?;
    if failures >= MAX_FAILURES {
        let msg = "Too many failed attempts for this address. Wait 15 minutes, or ask an admin to set a new password.";
        return refuse_sign_in(
            &state,
            &session,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            msg,
            form.email,
            next,
        )
        .await;
    }
    let found = db::users::password_hash(&mut conn, &form.email).await?;
    let (user_id, stored, epoch) = match found {
        Some((id, hash, epoch)) => (Some(id), hash, epoch),
        None => (None, None, 0),
    };
    let ok = password::verify(form.password.clone(), stored).await? && user_id.is_some();
    db::users::record_login(&mut conn, &form.email, ok, now).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        let msg = "That e-mail and password do not match. Check both and try again.";
        return refuse_sign_in(
            &state,
            &session,
            &headers,
            StatusCode::UNAUTHORIZED,
            msg,
            form.email,
            next,
        )
        .await;
    };
    start_session(&session, user_id, epoch, now.timestamp()).await?;
    Ok(Redirect::to(&next).into_response())
}

/// The sign-in page again, with what went wrong and the address kept.
async fn refuse_sign_in(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
    email: String,
    next: String,
) -> AppResult<Response> {
    Ok(
        anonymous_page(state, session, headers, "Sign in", status, |layout| LoginPage {
            layout,
            error: Some(message.to_owned()),
            email,
            next,
        })
        .await,
    )
}

async fn sign_out(session: Session, CsrfForm(_): CsrfForm<NoFields>) -> AppResult<Response> {
    // Deletes the session on the server, not only the cookie.
    session
        .flush()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
    Ok(Redirect::to("/login").into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    error: Option<String>,
    name: String,
    email: String,
    timezone: String,
    zones: Vec<&'static str>,
}

fn zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| n.contains('/'))
        .collect()
}

async fn show_setup(State(state): State<AppState>, session: Session, headers: HeaderMap) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    if db::users::any_exist(&mut conn).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(
        anonymous_page(&state, &session, &headers, "Set up Rota", StatusCode::OK, |layout| {
            SetupPage {
                layout,
                error: None,
                name: String::new(),
                email: String::new(),
                timezone: "UTC".into(),
                zones: zones(),
            }
        })
        .await,
    )
}

#[derive(Deserialize)]
struct SetupForm {
    name: String,
    email: String,
    timezone: String,
    password: String,
}

async fn set_up(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    // Serialises concurrent first-run attempts: only one admin is created.
    sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    if db::users::any_exist(&mut tx).await? {
        return Err(AppError::forbidden("Rota is already set up; sign in instead"));
    }
    let input = NewUserInput {
        email: &form.email,
        name: &form.name,
        timezone: Some(&form.timezone),
        password: Some(&form.password),
        is_admin: true,
    };
    let user = match create_user(&mut tx, input).await {
        Ok(u) => u,
        Err(AppError::Unprocessable(msg) | AppError::Conflict(msg)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(
                anonymous_page(&state, &session, &headers, "Set up Rota", status, |layout| SetupPage {
                    layout,
                    error: Some(msg),
                    name: form.name,
                    email: form.email,
                    timezone: form.timezone,
                    zones: zones(),
                })
                .await,
            );
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    start_session(&session, user.id, user.session_epoch, state.clock.now().timestamp()).await?;
    flash(&session, "Welcome! Create your first team below.").await;
    Ok(Redirect::to("/admin").into_response())
}
