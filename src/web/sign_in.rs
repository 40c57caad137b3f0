//! Signing in and out, and the one-time setup of the first admin.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::client::ClientAddr;
use crate::auth::csrf::{self, CsrfForm, NoFields};
use crate::auth::{SignInVia, end_session, start_session};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ops::sign_in::{Outcome, attempt};
use crate::ops::users::{NewUserInput, set_up_first_admin};
use crate::state::AppState;
use crate::web::layout::{Layout, flash, render_with};

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
    /// The single sign-on provider's name, for its button.
    sso: Option<String>,
    /// The password form; hidden when passwords are off, behind a link.
    show_password: bool,
    /// The break-glass link to the password form.
    password_link: String,
    /// Where the single sign-on button leads. A link, not a form: the
    /// CSP's `form-action 'self'` would stop a form's redirect to the
    /// provider.
    sso_link: String,
}

impl LoginPage {
    fn new(
        state: &AppState,
        layout: Layout,
        error: Option<String>,
        email: String,
        next: String,
        password: bool,
    ) -> Self {
        let query = serde_urlencoded::to_string([("password", "1"), ("next", next.as_str())]).unwrap_or_default();
        let sso_query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
        LoginPage {
            layout,
            error,
            email,
            sso: state.settings.sign_in.oidc.as_ref().map(|o| o.name.clone()),
            show_password: password || state.settings.sign_in.password,
            password_link: format!("/login?{query}"),
            sso_link: format!("/auth/oidc/start?{sso_query}"),
            next,
        }
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    /// `1` shows the password form when passwords are off (break-glass).
    password: Option<String>,
}

/// Only local paths, so the sign-in page cannot redirect elsewhere.
/// Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so a
/// path with either could still lead off-site: such a path goes home.
pub(super) fn safe_next(next: Option<&str>) -> String {
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
pub async fn anonymous_page<T: Template>(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    title: &str,
    status: StatusCode,
    page: impl FnOnce(Layout) -> T,
) -> Response {
    let (token, cookie) = csrf::anonymous_token(headers, &state.settings);
    let layout = Layout::anonymous(state, session, title, token).await;
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
    let password = q.password.as_deref() == Some("1");
    Ok(
        anonymous_page(&state, &session, &headers, "Sign in", StatusCode::OK, |layout| {
            LoginPage::new(&state, layout, None, String::new(), next, password)
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

/// Signs in, slowed as `domain::sign_in` says: the client address is
/// refused once it has failed too often, while an account under attack only
/// makes each attempt on it wait before the password is checked.
async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let limit = state.settings.limits.sign_in_failures;
    let outcome = attempt(
        &state.db,
        &state.clock,
        &client.limit_key(),
        &form.email,
        &form.password,
        limit,
    )
    .await?;
    // With passwords off, a wrong password gets the same answer as anyone
    // else's right one, so the page does not tell which account is the
    // break-glass one.
    let sign_in = &state.settings.sign_in;
    let password_refused = match outcome {
        Outcome::SignedIn { .. } => !sign_in.password_allowed_for(&form.email),
        Outcome::NoMatch | Outcome::Deactivated => !sign_in.password,
        Outcome::Refused { .. } => false,
    };
    match outcome {
        Outcome::Refused { retry_after_secs: wait } => {
            let minutes = wait.div_ceil(60);
            let msg = format!(
                "Too many failed sign-ins from your network. Try again in {minutes} minute{}, \
                 or set a new one through “Forgot your password?” below.",
                if minutes == 1 { "" } else { "s" }
            );
            let mut page = refuse_sign_in(
                &state,
                &session,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &msg,
                form.email,
                next,
            )
            .await?;
            page.headers_mut().insert(header::RETRY_AFTER, wait.into());
            Ok(page)
        }
        _ if password_refused => {
            let msg = password_off(&state);
            refuse_sign_in(
                &state,
                &session,
                &headers,
                StatusCode::FORBIDDEN,
                &msg,
                form.email,
                next,
            )
            .await
        }
        Outcome::NoMatch => {
            let msg = "That e-mail and password do not match. Check both and try again.";
            refuse_sign_in(
                &state,
                &session,
                &headers,
                StatusCode::UNAUTHORIZED,
                msg,
                form.email,
                next,
            )
            .await
        }
        Outcome::Deactivated => {
            let msg = "This account has been deactivated. If you need it again, ask an admin to reactivate it.";
            refuse_sign_in(&state, &session, &headers, StatusCode::FORBIDDEN, msg, form.email, next).await
        }
        Outcome::SignedIn { user_id, epoch } => {
            start_session(
                &state,
                &session,
                user_id,
                epoch,
                SignInVia::new("password", &client, &headers),
            )
            .await?;
            Ok(Redirect::to(&next).into_response())
        }
    }
}

/// Why a password did not sign in while passwords are off.
fn password_off(state: &AppState) -> String {
    let name = state
        .settings
        .sign_in
        .oidc
        .as_ref()
        .map_or("single sign-on", |o| o.name.as_str());
    format!(
        "Password sign-in is turned off here: use “Sign in with {name}”. \
         Only the break-glass account may use a password; if that is yours, check its e-mail and password."
    )
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
    Ok(anonymous_page(state, session, headers, "Sign in", status, |layout| {
        LoginPage::new(state, layout, Some(message.to_owned()), email, next, true)
    })
    .await)
}

async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    // Deletes the session on the server, not only the cookie.
    end_session(&state, &session).await?;
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
    client: ClientAddr,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let input = NewUserInput {
        email: &form.email,
        name: &form.name,
        timezone: Some(&form.timezone),
        password: Some(&form.password),
        is_admin: true,
    };
    let user = match set_up_first_admin(&mut tx, input).await {
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
                })
                .await,
            );
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    let via = SignInVia::new("setup", &client, &headers);
    start_session(&state, &session, user.id, user.session_epoch, via).await?;
    flash(&session, "Welcome! Create your first team below.").await;
    Ok(Redirect::to("/admin").into_response())
}
