//! The profile: name, zone, password, API tokens and calendar links.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{WebUser, keep_session};
use crate::calendar::feed_url;
use crate::db;
use crate::db::tokens::TokenInfo;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::ops::profile;
use crate::ops::tokens::{self, NewTokenInput};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show_profile).post(update_profile))
        .route("/profile/password", post(change_password))
        .route("/profile/tokens", post(create_token))
        .route("/profile/tokens/{id}/revoke", post(revoke_token))
        .route("/profile/calendar/reset", post(reset_calendar))
}

pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub last_used: String,
    /// "read-only" or "read-write".
    pub access: &'static str,
    pub expires: String,
    pub expired: bool,
}

pub struct TeamFeed {
    pub name: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    email: String,
    timezone: String,
    error: Option<String>,
    new_token: Option<String>,
    tokens: Vec<TokenRow>,
    calendar_url: String,
    team_feeds: Vec<TeamFeed>,
}

async fn profile_page(
    state: &AppState,
    session: &Session,
    user: &User,
    error: Option<String>,
    new_token: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let tz = user.tz();
    let now = state.clock.now();
    let tokens = db::tokens::live_for_user(&mut conn, user.id)
        .await?
        .into_iter()
        .map(|t: TokenInfo| TokenRow {
            id: t.id,
            label: t.label,
            created: fmt::local_date(t.created_at, tz),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".into(), |at| fmt::local_date(at, tz)),
            access: if t.read_only { "read-only" } else { "read-write" },
            expires: t
                .expires_at
                .map_or_else(|| "never".into(), |at| fmt::local_date(at, tz)),
            expired: t.expires_at.is_some_and(|at| at <= now),
        })
        .collect();
    let team_feeds = db::teams::for_user(&mut conn, user.id, false)
        .await?
        .into_iter()
        .map(|t| TeamFeed {
            name: t.name,
            url: feed_url(&state.settings.base_url, &t.calendar_secret),
        })
        .collect();
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, "Profile", Some(user)).await?;
    Ok(render_with(
        status,
        &ProfilePage {
            layout,
            name: user.name.clone(),
            email: user.email.clone(),
            timezone: user.timezone.clone(),
            error,
            new_token,
            tokens,
            calendar_url: feed_url(&state.settings.base_url, &user.calendar_secret),
            team_feeds,
        },
    ))
}

async fn show_profile(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    profile_page(&state, &session, &user, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ProfileForm {
    name: String,
    timezone: String,
}

async fn update_profile(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    match profile::update_profile(&mut tx, &user, &form.name, &form.timezone, state.clock.now()).await {
        Ok(()) => tx.commit().await?,
        Err(AppError::Unprocessable(msg)) => {
            drop(tx);
            return profile_page(
                &state,
                &session,
                &user,
                Some(msg),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e),
    }
    flash(&session, "Profile saved").await;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let epoch = match profile::change_password(&mut tx, &user, &form.current, &form.new, state.clock.now()).await {
        Ok(epoch) => {
            tx.commit().await?;
            epoch
        }
        Err(AppError::Unprocessable(msg)) => {
            drop(tx);
            return profile_page(
                &state,
                &session,
                &user,
                Some(msg),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    keep_session(&session, epoch).await?;
    flash(&session, "Password changed; you were signed out everywhere else").await;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    label: String,
    /// A checkbox: present ("on") when ticked.
    read_only: Option<String>,
    /// Days until it expires; empty for never.
    #[serde(default)]
    expires_days: String,
}

async fn create_token(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let created = match tokens::parse_expiry_days(&form.expires_days) {
        Ok(expires_in_days) => {
            let input = NewTokenInput {
                label: &form.label,
                read_only: form.read_only.is_some(),
                expires_in_days,
            };
            tokens::create_personal_token(&mut conn, user.id, input, state.clock.now()).await
        }
        Err(e) => Err(e),
    };
    drop(conn);
    match created {
        // Shown this once; only its hash is kept.
        Ok(token) => profile_page(&state, &session, &user, None, Some(token), StatusCode::CREATED).await,
        Err(AppError::Unprocessable(msg)) => {
            profile_page(
                &state,
                &session,
                &user,
                Some(msg),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    tokens::revoke_personal_token(&mut tx, user.id, id, state.clock.now()).await?;
    tx.commit().await?;
    flash(&session, "Token revoked; it no longer works").await;
    Ok(Redirect::to("/profile").into_response())
}

async fn reset_calendar(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    profile::reset_calendar(&mut tx, &user, state.clock.now()).await?;
    tx.commit().await?;
    flash(
        &session,
        "Your calendar link was reset; update your calendar app with the new one",
    )
    .await;
    Ok(Redirect::to("/profile").into_response())
}
