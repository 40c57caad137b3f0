//! `/invite/{token}`: the invitee sets up their account and is signed in.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono_tz::Tz;
use serde::Deserialize;
use tower_sessions::Session;

use super::explain;
use crate::auth::client::ClientAddr;
use crate::auth::csrf::CsrfForm;
use crate::auth::{SignInVia, start_session};
use crate::db::invitations::Invitation;
use crate::domain::links::LinkProblem;
use crate::error::{AppError, AppResult};
use crate::ops::invitations::{self, Setup};
use crate::state::AppState;
use crate::web::layout::{Layout, flash};
use crate::web::sign_in::anonymous_page;

pub fn router() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(show_invitation).post(accept_invitation))
}

#[derive(Template)]
#[template(path = "accounts/link_problem.html")]
pub(super) struct LinkProblemPage {
    pub layout: Layout,
    pub message: String,
}

/// The page for a link that does not work.
pub(super) async fn link_problem(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    problem: LinkProblem,
    invitation: bool,
) -> Response {
    let (status, title, message) = explain(problem, invitation, Tz::UTC);
    anonymous_page(state, session, headers, title, status, |layout| LinkProblemPage {
        layout,
        message,
    })
    .await
}

#[derive(Template)]
#[template(path = "accounts/accept.html")]
struct AcceptPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    /// "Mona Manager invited you to join Platform as a member."
    intro: String,
    name: String,
    timezone: String,
    /// The single sign-on provider's name, when there is one.
    sso: Option<String>,
    /// False when passwords are off for this address: then only SSO.
    password_allowed: bool,
}

fn intro(inv: &Invitation) -> String {
    let who = inv.invited_by_name.as_deref().unwrap_or("An admin");
    match &inv.team_name {
        Some(team) => format!("{who} invited you to join {team} as a {}.", inv.role.as_str()),
        None => format!("{who} invited you to Rota."),
    }
}

async fn show_invitation(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let opened = invitations::open(&mut conn, &token, state.clock.now()).await?;
    drop(conn);
    let inv = match opened {
        Ok(inv) => inv,
        Err(problem) => return Ok(link_problem(&state, &session, &headers, problem, true).await),
    };
    Ok(
        anonymous_page(&state, &session, &headers, "Join Rota", StatusCode::OK, |layout| {
            AcceptPage {
                layout,
                error: None,
                intro: intro(&inv),
                password_allowed: state.settings.sign_in.password_allowed_for(&inv.email),
                sso: state.settings.sign_in.oidc.as_ref().map(|o| o.name.clone()),
                email: inv.email,
                name: String::new(),
                timezone: "UTC".into(),
            }
        })
        .await,
    )
}

#[derive(Deserialize)]
struct AcceptForm {
    name: String,
    timezone: String,
    password: String,
}

async fn accept_invitation(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    client: ClientAddr,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    if !state.settings.sign_in.password {
        // Passwords are off: an invitation is accepted through single
        // sign-on only (checked again below for the break-glass address).
        let mut conn = state.db.acquire().await?;
        let opened = invitations::open(&mut conn, &token, now).await?;
        drop(conn);
        if let Ok(inv) = opened
            && !state.settings.sign_in.password_allowed_for(&inv.email)
        {
            return Err(AppError::forbidden(
                "Passwords are turned off here: accept the invitation with the single sign-on button on this page",
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    let setup = Setup {
        name: &form.name,
        timezone: &form.timezone,
        password: &form.password,
    };
    let user = match invitations::accept_with_password(&mut tx, &token, setup, now).await {
        Ok(Ok(user)) => user,
        Ok(Err(problem)) => return Ok(link_problem(&state, &session, &headers, problem, true).await),
        Err(AppError::Unprocessable(msg) | AppError::Conflict(msg)) => {
            drop(tx);
            let mut conn = state.db.acquire().await?;
            let inv = match invitations::open(&mut conn, &token, now).await? {
                Ok(inv) => inv,
                Err(problem) => return Ok(link_problem(&state, &session, &headers, problem, true).await),
            };
            drop(conn);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(
                anonymous_page(&state, &session, &headers, "Join Rota", status, |layout| AcceptPage {
                    layout,
                    error: Some(msg),
                    intro: intro(&inv),
                    sso: state.settings.sign_in.oidc.as_ref().map(|o| o.name.clone()),
                    password_allowed: state.settings.sign_in.password_allowed_for(&inv.email),
                    email: inv.email,
                    name: form.name,
                    timezone: form.timezone,
                })
                .await,
            );
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    let via = SignInVia::new("invitation", &client, &headers);
    start_session(&state, &session, user.id, user.session_epoch, via).await?;
    flash(&session, format!("Welcome to Rota, {}!", user.name)).await;
    Ok(Redirect::to("/").into_response())
}
