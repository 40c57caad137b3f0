//! The acknowledge link in every page message: `GET /ack/{token}` shows the
//! page with one Acknowledge button and changes nothing (mail scanners and
//! chat unfurlers follow links); the button POSTs the token to `/ack`. The
//! signed token is the authority — single-purpose, for one page and one
//! person, expiring — so the form needs no session or CSRF cookie and the
//! URL signs nobody in. A storm's bundle has a token of its own on the
//! same routes (`web::ack_bundle`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::db;
use crate::domain::paging::AckLink;
use crate::domain::storm::BundleLink;
use crate::error::{AppError, AppResult};
use crate::ops::paging::{self, Action};
use crate::state::AppState;
use crate::web::ack_bundle;
use crate::web::layout::{Layout, render_with};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ack/{token}", get(show_ack))
        .route("/ack", post(acknowledge))
}

struct PageView {
    summary: String,
    team: String,
    fired: String,
    acknowledged: Option<String>,
    resolved: bool,
    open: bool,
    drill: bool,
}

#[derive(Template)]
#[template(path = "ack.html")]
struct AckPage {
    layout: Layout,
    error: Option<String>,
    page: Option<PageView>,
    token: String,
}

fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    error: Option<String>,
    view: Option<PageView>,
    token: &str,
) -> Response {
    let mut response = render_with(
        status,
        &AckPage {
            layout: Layout::bare(title, state.settings.base_path()),
            error,
            page: view,
            token: token.to_owned(),
        },
    );
    // The token is in the address: keep it out of other sites' logs.
    response
        .headers_mut()
        .insert("referrer-policy", axum::http::HeaderValue::from_static("no-referrer"));
    response
}

/// The page the link is for, if the token is genuine and current.
async fn view(state: &AppState, token: &str) -> AppResult<Result<(AckLink, PageView), String>> {
    let mut conn = state.db.acquire().await?;
    let key = paging::ack_key(&mut conn).await?;
    let link = match AckLink::verify(token, &key, state.clock.now()) {
        Ok(l) => l,
        Err(why) => return Ok(Err(why.to_owned())),
    };
    let Some(p) = db::pages::by_id(&mut conn, link.page_id).await? else {
        return Ok(Err("This page has been removed".into()));
    };
    let settled = db::paging::read_page(&mut conn, link.page_id).await?;
    let acknowledged = p.acknowledged_at.map(|at| {
        let by = settled.and_then(|s| s.acknowledged_by_name);
        format!(
            "at {} UTC{}",
            at.format("%H:%M:%S"),
            by.map(|b| format!(" by {b}")).unwrap_or_default()
        )
    });
    let team = db::teams::by_id(&mut conn, p.team_id)
        .await?
        .map_or_else(|| p.team_slug.clone(), |t| t.name);
    Ok(Ok((
        link,
        PageView {
            summary: p.summary,
            team,
            fired: p.fired_at.format("%Y-%m-%d %H:%M").to_string(),
            open: acknowledged.is_none() && p.resolved_at.is_none(),
            acknowledged,
            resolved: p.resolved_at.is_some(),
            drill: p.drill,
        },
    )))
}

async fn show_ack(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    if BundleLink::is_bundle(&token) {
        return ack_bundle::show(&state, &token).await;
    }
    Ok(match view(&state, &token).await? {
        Ok((_, v)) => page(&state, StatusCode::OK, "Acknowledge this page", None, Some(v), &token),
        Err(why) => page(
            &state,
            StatusCode::FORBIDDEN,
            "Acknowledge this page",
            Some(why),
            None,
            "",
        ),
    })
}

#[derive(Deserialize)]
struct AckForm {
    token: String,
}

async fn acknowledge(State(state): State<AppState>, Form(form): Form<AckForm>) -> AppResult<Response> {
    if BundleLink::is_bundle(&form.token) {
        return ack_bundle::acknowledge(&state, &form.token).await;
    }
    let link = match view(&state, &form.token).await? {
        Ok((link, _)) => link,
        Err(why) => {
            return Ok(page(
                &state,
                StatusCode::FORBIDDEN,
                "Acknowledge this page",
                Some(why),
                None,
                "",
            ));
        }
    };
    let mut tx = state.db.begin().await?;
    let outcome = paging::respond(
        &mut tx,
        link.page_id,
        link.user_id,
        Action::Acknowledge,
        state.clock.now(),
    )
    .await;
    let status = match outcome {
        Ok(_) => {
            tx.commit().await?;
            StatusCode::OK
        }
        Err(AppError::Conflict(_)) => StatusCode::CONFLICT,
        Err(e) => return Err(e),
    };
    let v = view(&state, &form.token).await?.ok().map(|(_, v)| v);
    let title = if status == StatusCode::OK {
        "Acknowledged"
    } else {
        "Already resolved"
    };
    Ok(page(&state, status, title, None, v, &form.token))
}
