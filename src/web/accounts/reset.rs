//! "Forgot your password?": a form that e-mails a reset link, and
//! `/reset/{token}`, where the new password is set.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::accept::link_problem;
use crate::auth::client::ClientAddr;
use crate::auth::csrf::CsrfForm;
use crate::auth::{SignInVia, start_session};
use crate::error::{AppError, AppResult};
use crate::ops::password_resets;
use crate::state::AppState;
use crate::web::layout::{Layout, flash};
use crate::web::sign_in::anonymous_page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forgot-password", get(show_forgot).post(request_reset))
        .route("/reset/{token}", get(show_reset).post(reset_password))
}

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    layout: Layout,
    /// Rota can send e-mail; without it the page says whom to ask.
    can_mail: bool,
    /// The address a link was asked for, once asked.
    sent_to: Option<String>,
    error: Option<String>,
}

async fn show_forgot(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    let can_mail = state.mailer.is_some();
    anonymous_page(
        &state,
        &session,
        &headers,
        "Forgot your password?",
        StatusCode::OK,
        |layout| ForgotPage {
            layout,
            can_mail,
            sent_to: None,
            error: None,
        },
    )
    .await
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// Answers the same whether or not there is such an account, and about as
/// fast: the e-mail goes out after the answer, not before it.
async fn request_reset(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let Some(mailer) = state.mailer.clone() else {
        return Ok(show_forgot(State(state), session, headers).await);
    };
    let mut conn = state.db.acquire().await?;
    let allowed = state.settings.limits.sign_in_failures;
    if let Err(wait) = password_resets::admit_request(&mut conn, &client.limit_key(), now, allowed).await? {
        drop(conn);
        let minutes = wait.div_ceil(60);
        let error = format!(
            "Too many reset requests from your network. Try again in {minutes} minute{}, or ask an admin for a reset link.",
            if minutes == 1 { "" } else { "s" }
        );
        let status = StatusCode::TOO_MANY_REQUESTS;
        let mut page = anonymous_page(&state, &session, &headers, "Forgot your password?", status, |layout| {
            ForgotPage {
                layout,
                can_mail: true,
                sent_to: None,
                error: Some(error),
            }
        })
        .await;
        page.headers_mut().insert(header::RETRY_AFTER, wait.into());
        return Ok(page);
    }
    drop(conn);
    // The link is made and mailed after the answer, so a known address is
    // not told apart from an unknown one by how long the page takes. With
    // passwords off only the break-glass account gets one.
    if state.settings.sign_in.password_allowed_for(&form.email) {
        let (state, email) = (state.clone(), form.email.clone());
        tokio::spawn(async move {
            let issued = match state.db.acquire().await {
                Ok(mut conn) => password_resets::issue(&mut conn, &email, None, now).await,
                Err(e) => Err(e.into()),
            };
            match issued {
                Ok(Some(issued)) => {
                    let link = password_resets::link(&state.settings.base_url, &issued.token);
                    if let Err(why) = password_resets::mail(&mailer, &issued.user, &link, false).await {
                        tracing::warn!(user = issued.user.id, error = %why, "a password reset e-mail could not be sent");
                    }
                }
                Ok(None) => {}
                Err(why) => tracing::warn!(error = %why, "a password reset link could not be made"),
            }
        });
    }
    let sent_to = Some(form.email.trim().to_owned());
    Ok(anonymous_page(
        &state,
        &session,
        &headers,
        "Forgot your password?",
        StatusCode::OK,
        |layout| ForgotPage {
            layout,
            can_mail: true,
            sent_to,
            error: None,
        },
    )
    .await)
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

async fn show_reset(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let opened = password_resets::open(&mut conn, &token, state.clock.now()).await?;
    drop(conn);
    match opened {
        Ok(reset) => Ok(anonymous_page(
            &state,
            &session,
            &headers,
            "Set a new password",
            StatusCode::OK,
            |layout| ResetPage {
                layout,
                email: reset.user.email,
                error: None,
            },
        )
        .await),
        Err(problem) => Ok(link_problem(&state, &session, &headers, problem, false).await),
    }
}

#[derive(Deserialize)]
struct ResetForm {
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    client: ClientAddr,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    if !state.settings.sign_in.password {
        // Passwords are off: a password set here could not sign anyone in
        // (and must not: only the break-glass account keeps one).
        let mut conn = state.db.acquire().await?;
        let opened = password_resets::open(&mut conn, &token, now).await?;
        drop(conn);
        if let Ok(reset) = opened
            && !state.settings.sign_in.password_allowed_for(&reset.user.email)
        {
            return Err(AppError::forbidden(
                "Passwords are turned off here: sign in with the single sign-on button on the sign-in page",
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    let (user, epoch) = match password_resets::complete(&mut tx, &token, &form.password, now).await {
        Ok(Ok(done)) => done,
        Ok(Err(problem)) => return Ok(link_problem(&state, &session, &headers, problem, false).await),
        Err(AppError::Unprocessable(msg)) => {
            drop(tx);
            let mut conn = state.db.acquire().await?;
            let opened = password_resets::open(&mut conn, &token, now).await?;
            drop(conn);
            let reset = match opened {
                Ok(r) => r,
                Err(problem) => return Ok(link_problem(&state, &session, &headers, problem, false).await),
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(
                anonymous_page(&state, &session, &headers, "Set a new password", status, |layout| {
                    ResetPage {
                        layout,
                        email: reset.user.email,
                        error: Some(msg),
                    }
                })
                .await,
            );
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    let via = SignInVia::new("reset", &client, &headers);
    start_session(&state, &session, user.id, epoch, via).await?;
    flash(
        &session,
        "Your new password is set. You were signed out everywhere else; your API tokens still work.",
    )
    .await;
    Ok(Redirect::to("/").into_response())
}
