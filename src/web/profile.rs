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
use crate::web::confirm::{Confirm, confirm_page};
use crate::web::fmt;
use crate::web::layout::{Layout, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show_profile).post(update_profile))
        .route("/profile/password", post(change_password))
        .route("/profile/tokens", post(create_token))
        .route("/profile/tokens/{id}/revoke", get(confirm_revoke).post(revoke_token))
        .route("/profile/calendar/reset", post(reset_calendar))
        .route("/profile/sessions/sign-out-others", post(sign_out_others))
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

/// One of the person's sign-ins, as their profile lists it.
pub struct SessionRow {
    /// "Tue 1 Dec 14:02".
    pub signed_in: String,
    /// "203.0.113.9".
    pub from: String,
    /// "Firefox on Linux".
    pub browser: String,
    /// "2 hours ago".
    pub last_seen: String,
    pub this_one: bool,
    /// "password", "single sign-on", …
    pub method: &'static str,
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
    phone: String,
    chat_handle: String,
    sessions: Vec<SessionRow>,
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
    let since = now - chrono::Duration::from_std(state.settings.session_idle).unwrap_or(chrono::Duration::hours(8));
    let this_one = crate::auth::sign_in_id(session).await;
    let sessions = db::user_sessions::live(&mut conn, user.id, since)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            signed_in: fmt::local(s.signed_in_at, tz),
            from: s.ip.unwrap_or_else(|| "an unknown address".into()),
            browser: fmt::browser(s.user_agent.as_deref()),
            last_seen: fmt::relative(s.last_seen_at, now),
            this_one: this_one.as_deref() == Some(s.sign_in_id.as_str()),
            method: match s.method.as_str() {
                "sso" => "single sign-on",
                "invitation" => "an invitation",
                "reset" => "a password reset",
                "setup" => "the first set-up",
                _ => "password",
            },
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
            phone: user.phone.clone().unwrap_or_default(),
            chat_handle: user.chat_handle.clone().unwrap_or_default(),
            sessions,
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
    #[serde(default)]
    phone: String,
    #[serde(default)]
    chat_handle: String,
}

async fn update_profile(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let input = profile::ProfileInput {
        name: &form.name,
        timezone: &form.timezone,
        phone: Some(&form.phone),
        chat_handle: Some(&form.chat_handle),
    };
    match profile::update_profile(&mut tx, &user, input, state.clock.now()).await {
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
    keep_session(&state, &session, user.id, epoch).await?;
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

/// What revoking the token will do, with a button that does it. Changes
/// nothing.
async fn confirm_revoke(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let token = db::tokens::live_for_user(&mut conn, user.id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::NotFound("No live token of yours by that id".into()))?;
    drop(conn);
    let used = token.last_used_at.map_or_else(
        || "It has never been used.".to_owned(),
        |at| format!("It was last used {}.", fmt::relative(at, state.clock.now())),
    );
    let confirm = Confirm {
        heading: format!("Revoke your API token “{}”?", token.label),
        intro: format!("Created {}. {used}", fmt::local_date(token.created_at, user.tz())),
        consequences: vec![
            "Scripts and tools using it are answered 401 from then on.".into(),
            "It cannot be undone: create a new token on your profile and give it to them instead.".into(),
        ],
        warnings: Vec::new(),
        action: format!("/profile/tokens/{}/revoke", token.id),
        fields: Vec::new(),
        button: format!("Revoke {}", token.label),
        cancel: "/profile#tok-h".into(),
    };
    confirm_page(&state, &session, &user, confirm).await
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

/// Ends every other session of the person (a new session epoch), keeping
/// this one; API tokens are left alone.
async fn sign_out_others(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let epoch = profile::sign_out_others(&mut tx, &user, state.clock.now()).await?;
    tx.commit().await?;
    keep_session(&state, &session, user.id, epoch).await?;
    flash(
        &session,
        "Signed out of every other session; your API tokens still work",
    )
    .await;
    Ok(Redirect::to("/profile#sessions-h").into_response())
}
