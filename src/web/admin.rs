//! Instance administration: accounts and teams.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{Admin, WebUser};
use crate::db;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::ops::teams::create_team;
use crate::ops::users::{NewUserInput, create_user};
use crate::state::AppState;
use crate::web::accounts::InvitationsPanel;
use crate::web::fmt;
use crate::web::layout::{Layout, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(show_admin))
        .route("/admin/users", post(create_user_form))
        .route("/admin/teams", post(create_team_form))
        .route(
            "/admin/users/{email}/deactivate",
            get(confirm_deactivate).post(deactivate),
        )
        .route("/admin/users/{email}/reactivate", post(reactivate))
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    error: Option<String>,
    me_id: i64,
    users: Vec<User>,
    teams: Vec<Team>,
    failed_mail: Vec<FailedMail>,
    invitations: InvitationsPanel,
}

/// How far back the admin page lists e-mail Rota gave up on, and how many.
const FAILED_MAIL_DAYS: i64 = 14;
const FAILED_MAIL_SHOWN: i64 = 20;

/// An e-mail Rota gave up on, as the admin page lists it.
struct FailedMail {
    to: String,
    message: String,
    at: String,
    why: String,
}

async fn admin_page(
    state: &AppState,
    session: &Session,
    me: &User,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let users = db::users::all(&mut conn).await?;
    let teams = db::teams::all(&mut conn).await?;
    let since = state.clock.now() - chrono::Duration::days(FAILED_MAIL_DAYS);
    let failed_mail = db::notifications::failed_mail(&mut conn, since, FAILED_MAIL_SHOWN)
        .await?
        .into_iter()
        .map(|m| FailedMail {
            to: m.email,
            message: m.message,
            at: fmt::local_with_year(m.created_at, me.tz()),
            why: m.mail_error.unwrap_or_default(),
        })
        .collect();
    let pending = crate::ops::invitations::visible_to(&mut conn, me, state.clock.now()).await?;
    let invitations = InvitationsPanel::for_admin(pending, &teams, me.tz());
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, "Admin", Some(me)).await?;
    Ok(render_with(
        status,
        &AdminPage {
            layout,
            error,
            me_id: me.id,
            users,
            teams,
            failed_mail,
            invitations,
        },
    ))
}

async fn show_admin(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
) -> AppResult<Response> {
    admin_page(&state, &session, &me, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct UserForm {
    email: String,
    name: String,
    timezone: String,
    password: String,
    admin: Option<String>,
}

async fn create_user_form(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    CsrfForm(form): CsrfForm<UserForm>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let input = NewUserInput {
        email: &form.email,
        name: &form.name,
        timezone: Some(&form.timezone),
        password: Some(&form.password),
        is_admin: form.admin.is_some(),
    };
    match create_user(&mut conn, input).await {
        Ok(u) => {
            flash(
                &session,
                format!("Account created for {}; add them to a team from its settings", u.email),
            )
            .await;
            Ok(Redirect::to("/admin").into_response())
        }
        Err(AppError::Unprocessable(m) | AppError::Conflict(m)) => {
            drop(conn);
            admin_page(&state, &session, &me, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct TeamForm {
    slug: String,
    name: String,
    timezone: String,
}

async fn create_team_form(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    CsrfForm(form): CsrfForm<TeamForm>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    match create_team(&mut conn, &form.slug, &form.name, &form.timezone).await {
        Ok(t) => {
            flash(
                &session,
                format!("Team {} created; add its members and a rotation", t.name),
            )
            .await;
            // Members come first: a rotation needs two of them.
            Ok(Redirect::to(&format!("/teams/{}/settings/members", t.slug)).into_response())
        }
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            drop(conn);
            let status = e.status();
            admin_page(&state, &session, &me, Some(e.to_string()), status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "admin/deactivate.html")]
struct DeactivatePage {
    layout: Layout,
    error: Option<String>,
    name: String,
    email: String,
    /// "Platform and Payments".
    teams: String,
}

async fn deactivate_page(
    state: &AppState,
    session: &Session,
    me: &User,
    email: &str,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let user = db::users::by_email(&mut conn, email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no account for {}", email.trim())))?;
    let teams = db::teams::for_user(&mut conn, user.id, false).await?;
    drop(conn);
    let names: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
    let layout = Layout::new(state, session, &format!("Deactivate {}", user.name), Some(me)).await?;
    Ok(render_with(
        status,
        &DeactivatePage {
            layout,
            error,
            name: user.name,
            email: user.email,
            teams: fmt::and_list(&names).unwrap_or_default(),
        },
    ))
}

async fn confirm_deactivate(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    Path(email): Path<String>,
) -> AppResult<Response> {
    deactivate_page(&state, &session, &me, &email, None, StatusCode::OK).await
}

async fn deactivate(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    Path(email): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    match crate::ops::accounts::deactivate(&mut tx, &me, &email, &state.clock).await {
        Ok(user) => {
            tx.commit().await?;
            flash(
                &session,
                format!(
                    "{} is deactivated: signed out, tokens revoked, out of every rotation from the next handoff",
                    user.name
                ),
            )
            .await;
            Ok(Redirect::to("/admin#users-h").into_response())
        }
        Err(AppError::Conflict(m)) => {
            drop(tx);
            deactivate_page(&state, &session, &me, &email, Some(m), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e),
    }
}

async fn reactivate(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    Path(email): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    match crate::ops::accounts::reactivate(&mut tx, &me, &email, &state.clock).await {
        Ok(user) => {
            tx.commit().await?;
            flash(
                &session,
                format!(
                    "{} can sign in again; add them back to teams and rotations as needed",
                    user.name
                ),
            )
            .await;
            Ok(Redirect::to("/admin#users-h").into_response())
        }
        Err(AppError::Conflict(m)) => {
            drop(tx);
            admin_page(&state, &session, &me, Some(m), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e),
    }
}
