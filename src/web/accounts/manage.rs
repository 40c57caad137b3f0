//! Inviting people, re-sending and withdrawing invitations (admins, and
//! managers for their teams), and an admin's reset link for someone. A new
//! link is e-mailed, or, without SMTP, shown once to pass on.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use tower_sessions::Session;

use super::Back;
use crate::auth::csrf::CsrfForm;
use crate::auth::{Admin, WebUser};
use crate::db::teams::TeamRole;
use crate::db::users::User;
use crate::error::AppResult;
use crate::ops::invitations::{self, Delivery, Invite, Inviter, Issued};
use crate::ops::password_resets;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, fixable, flash, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations", post(invite_form))
        .route("/invitations/{id}/resend", post(resend_form))
        .route("/invitations/{id}/revoke", post(revoke_form))
        .route("/admin/reset-links", post(reset_link_form))
}

/// The page after making a link: it was e-mailed, or here it is, once.
#[derive(Template)]
#[template(path = "accounts/link_made.html")]
struct LinkMadePage {
    layout: Layout,
    heading: String,
    /// Whom it went to, when e-mailed.
    mailed_to: Option<String>,
    /// The link to pass on, when it was not e-mailed, and why not.
    link: Option<String>,
    why_shown: String,
    expires: String,
    error: Option<String>,
    /// The invite form again, after a refusal: (email, team, role).
    retry: Option<(String, String, String)>,
    back: String,
    back_field: String,
}

fn why_shown(delivery: &Delivery) -> String {
    match delivery {
        Delivery::Mailed => String::new(),
        Delivery::NoMail => "Rota cannot send e-mail here (no SMTP server is set up), so pass this link on yourself, \
                             in a way only they read. It is shown only this once."
            .into(),
        Delivery::MailFailed(why) => format!(
            "The e-mail could not be sent ({why}), so pass this link on yourself, in a way only they read. \
             It is shown only this once."
        ),
    }
}

async fn link_made(
    state: &AppState,
    session: &Session,
    me: &User,
    issued: Issued,
    delivery: Delivery,
    back: &Back,
) -> AppResult<Response> {
    let inv = &issued.invitation;
    let link = invitations::link(&state.settings.base_url, &issued.token);
    let layout = Layout::new(state, session, "Invitation", Some(me)).await?;
    let page = LinkMadePage {
        layout,
        heading: format!("Invitation for {}", inv.email),
        mailed_to: (!delivery.shows_link()).then(|| inv.email.clone()),
        link: delivery.shows_link().then_some(link),
        why_shown: why_shown(&delivery),
        expires: fmt::local_with_year(inv.expires_at, me.tz()),
        error: None,
        retry: None,
        back: back.path(),
        back_field: back.field(),
    };
    Ok(render_with(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    team: Option<String>,
    role: Option<String>,
    back: Option<String>,
}

async fn invite_form(
    State(state): State<AppState>,
    session: Session,
    WebUser(me): WebUser,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> AppResult<Response> {
    let back = Back::parse(form.back.as_deref());
    let role = form.role.as_deref().and_then(TeamRole::parse);
    let mut tx = state.db.begin().await?;
    let input = Invite {
        email: &form.email,
        team: form.team.as_deref(),
        role,
    };
    let issued = match invitations::invite(&mut tx, Inviter::Person(&me), input, state.clock.now()).await {
        Ok(issued) => issued,
        Err(e) => {
            drop(tx);
            let status = e.status();
            let message = match fixable(&e) {
                Some((_, m)) => m,
                None if status == StatusCode::FORBIDDEN => e.to_string(),
                None => return Err(e),
            };
            let layout = Layout::new(&state, &session, "Invitation", Some(&me)).await?;
            let page = LinkMadePage {
                layout,
                heading: "Invite someone".into(),
                mailed_to: None,
                link: None,
                why_shown: String::new(),
                expires: String::new(),
                error: Some(message),
                retry: Some((
                    form.email,
                    form.team.unwrap_or_default(),
                    role.unwrap_or(TeamRole::Member).as_str().into(),
                )),
                back: back.path(),
                back_field: back.field(),
            };
            return Ok(render_with(status, &page));
        }
    };
    tx.commit().await?;
    let link = invitations::link(&state.settings.base_url, &issued.token);
    let delivery = invitations::deliver(state.mailer.as_deref(), &issued.invitation, &link).await;
    link_made(&state, &session, &me, issued, delivery, &back).await
}

#[derive(Deserialize)]
struct BackForm {
    back: Option<String>,
}

async fn resend_form(
    State(state): State<AppState>,
    session: Session,
    WebUser(me): WebUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<BackForm>,
) -> AppResult<Response> {
    let back = Back::parse(form.back.as_deref());
    let mut tx = state.db.begin().await?;
    let issued = invitations::resend(&mut tx, Inviter::Person(&me), id, state.clock.now()).await?;
    tx.commit().await?;
    let link = invitations::link(&state.settings.base_url, &issued.token);
    let delivery = invitations::deliver(state.mailer.as_deref(), &issued.invitation, &link).await;
    link_made(&state, &session, &me, issued, delivery, &back).await
}

async fn revoke_form(
    State(state): State<AppState>,
    session: Session,
    WebUser(me): WebUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<BackForm>,
) -> AppResult<Response> {
    let back = Back::parse(form.back.as_deref());
    let mut tx = state.db.begin().await?;
    let inv = invitations::revoke(&mut tx, Inviter::Person(&me), id, state.clock.now()).await?;
    tx.commit().await?;
    flash(
        &session,
        format!(
            "The invitation for {} was withdrawn; its link no longer works",
            inv.email
        ),
    )
    .await;
    Ok(Redirect::to(&back.path()).into_response())
}

#[derive(Deserialize)]
struct ResetLinkForm {
    email: String,
}

/// An admin's reset link for someone: e-mailed, or shown once.
async fn reset_link_form(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    CsrfForm(form): CsrfForm<ResetLinkForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(issued) = password_resets::issue(&mut tx, &form.email, Some(&me), now).await? else {
        drop(tx);
        flash(
            &session,
            format!("There is no active account for {}; nothing was sent", form.email.trim()),
        )
        .await;
        return Ok(Redirect::to("/admin").into_response());
    };
    tx.commit().await?;
    let link = password_resets::link(&state.settings.base_url, &issued.token);
    let delivery = match state.mailer.as_deref() {
        None => Delivery::NoMail,
        Some(mailer) => match password_resets::mail(mailer, &issued.user, &link, true).await {
            Ok(()) => Delivery::Mailed,
            Err(why) => Delivery::MailFailed(why),
        },
    };
    let layout = Layout::new(&state, &session, "Password reset link", Some(&me)).await?;
    let page = LinkMadePage {
        layout,
        heading: format!("Password reset link for {}", issued.user.name),
        mailed_to: (!delivery.shows_link()).then(|| issued.user.email.clone()),
        link: delivery.shows_link().then_some(link),
        why_shown: why_shown(&delivery),
        expires: fmt::local_with_year(now + crate::domain::links::RESET_VALID, me.tz()),
        error: None,
        retry: None,
        back: Back::Admin.path(),
        back_field: Back::Admin.field(),
    };
    Ok(render_with(StatusCode::OK, &page))
}
