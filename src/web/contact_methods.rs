//! The profile's contact methods: list, add (a test message with a code
//! goes out), confirm with the code, remove. Plain forms, no JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::WebUser;
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::db;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::ops::paging::methods::{self, NewContact, Verified};
use crate::ops::paging::send::NO_PHONE;
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render_with};

const PATH: &str = "/profile/contact-methods";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, get(show_methods).post(add_method))
        .route("/profile/contact-methods/{id}/verify", post(verify_method))
        .route("/profile/contact-methods/{id}/delete", post(delete_method))
        .route("/profile/notification-rules", post(save_rules))
}

struct MethodRow {
    id: i64,
    kind: String,
    label: String,
    target: String,
    verified: bool,
    /// Its rules' minutes, as the rules form shows them ("0, 10").
    minutes: String,
}

#[derive(Template)]
#[template(path = "contact_methods.html")]
struct MethodsPage {
    layout: Layout,
    error: Option<String>,
    new_secret: Option<String>,
    methods: Vec<MethodRow>,
    any_verified: bool,
    mail: bool,
    /// SMS and calls are sent (`ROTA_TWILIO_*`).
    phone: bool,
    /// The person's teams (slug, name): a test page belongs to one.
    teams: Vec<(String, String)>,
}

async fn page(
    state: &AppState,
    session: &Session,
    user: &User,
    (error, new_secret): (Option<String>, Option<String>),
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let rules = db::contact_methods::rules(&mut conn, user.id).await?;
    let methods = db::contact_methods::for_user(&mut conn, user.id)
        .await?
        .into_iter()
        .map(|m| MethodRow {
            minutes: rules
                .iter()
                .filter(|r| r.contact_method_id == m.id)
                .map(|r| r.after_minutes.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            id: m.id,
            verified: m.verified_at.is_some(),
            kind: m.kind,
            label: m.label,
            target: m.target,
        })
        .collect::<Vec<MethodRow>>();
    let teams = db::teams::for_user(&mut conn, user.id, false)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    drop(conn);
    let layout = Layout::new(state, session, "How Rota pages you", Some(user)).await?;
    Ok(render_with(
        status,
        &MethodsPage {
            layout,
            error,
            new_secret,
            any_verified: methods.iter().any(|m| m.verified),
            methods,
            mail: state.mailer.is_some(),
            phone: state.twilio.is_some(),
            teams,
        },
    ))
}

async fn show_methods(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    page(&state, &session, &user, (None, None), StatusCode::OK).await
}

/// The page again with what to fix, or the error page.
async fn refused(state: &AppState, session: &Session, user: &User, e: AppError) -> AppResult<Response> {
    match fixable(&e) {
        Some((status, msg)) => page(state, session, user, (Some(msg), None), status).await,
        None => Err(e),
    }
}

#[derive(Deserialize)]
struct AddFields {
    kind: String,
    #[serde(default)]
    label: String,
    target: String,
    #[serde(default)]
    token: String,
}

async fn add_method(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(form): CsrfForm<AddFields>,
) -> AppResult<Response> {
    let new = NewContact {
        kind: &form.kind,
        label: Some(&form.label),
        target: &form.target,
        token: Some(&form.token),
    };
    if let Err(e) = state.admit_phone_test(user.id, &form.kind) {
        return refused(&state, &session, &user, e).await;
    }
    let mut tx = state.db.begin().await?;
    let rules = (&state.settings.outgoing, state.mailer.is_some());
    let added = match methods::add(&mut tx, user.id, &new, rules, state.clock.now()).await {
        Ok(a) => a,
        Err(e) => {
            drop(tx);
            return refused(&state, &session, &user, e).await;
        }
    };
    tx.commit().await?;
    let label = added.method.label.clone();
    let message = match added.method.kind.as_str() {
        "sms" | "voice" if state.twilio.is_none() => format!("{label} is saved, but stays unconfirmed. {NO_PHONE}"),
        _ => match methods::send_test(&state.pager(), &added, &user.email, &user.name).await {
            Ok(_) => format!("A test message went to {label}: enter its code to confirm"),
            Err(why) => format!(
                "The test message to {label} did not arrive ({why}); remove it, check the address and add it again"
            ),
        },
    };
    flash(&session, message).await;
    if added.secret.is_some() {
        // The secret is shown this once, on this page, not in a redirect.
        return page(&state, &session, &user, (None, added.secret), StatusCode::OK).await;
    }
    Ok(Redirect::to(PATH).into_response())
}

#[derive(Deserialize)]
struct CodeFields {
    code: String,
}

async fn verify_method(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<CodeFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let outcome = methods::verify(&mut tx, user.id, id, &form.code, state.clock.now()).await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            drop(tx);
            return refused(&state, &session, &user, e).await;
        }
    };
    // A wrong code is counted, so it is committed too.
    tx.commit().await?;
    match outcome {
        Verified::Yes(m) => {
            flash(&session, format!("{} is confirmed: Rota can page you there", m.label)).await;
            Ok(Redirect::to(PATH).into_response())
        }
        Verified::Wrong(why) => refused(&state, &session, &user, AppError::Unprocessable(why)).await,
    }
}

async fn delete_method(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    if !db::contact_methods::delete(&mut conn, user.id, id).await? {
        return Err(AppError::not_found("contact method"));
    }
    flash(&session, "Removed").await;
    Ok(Redirect::to(PATH).into_response())
}

/// The rules form: `after_<method id>` = minutes, comma-separated; empty
/// leaves the method out.
async fn save_rules(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut rules = Vec::new();
    for (name, value) in &fields {
        let Some(id) = name.strip_prefix("after_").and_then(|i| i.parse::<i64>().ok()) else {
            continue;
        };
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Ok(after_minutes) = part.parse::<i32>() else {
                let e = AppError::Unprocessable(format!("\"{part}\" is not a number of minutes; write them as 0, 10"));
                return refused(&state, &session, &user, e).await;
            };
            rules.push(db::contact_methods::Rule {
                contact_method_id: id,
                after_minutes,
            });
        }
    }
    let mut tx = state.db.begin().await?;
    if let Err(e) = methods::set_rules(&mut tx, user.id, &rules).await {
        drop(tx);
        return refused(&state, &session, &user, e).await;
    }
    tx.commit().await?;
    flash(&session, "Saved: Rota pages you this way from now on").await;
    Ok(Redirect::to(PATH).into_response())
}
