//! A bundle's "acknowledge all" link (`domain::storm::BundleLink`), served
//! by the acknowledge link's own routes (`web::ack` tells the two tokens
//! apart): `GET /ack/{token}` lists the bundled pages with one button and
//! changes nothing; the button POSTs the token to `/ack`, which
//! acknowledges every page still open, each as a single acknowledgement is.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use crate::db;
use crate::domain::storm::BundleLink;
use crate::error::AppResult;
use crate::ops::paging::{self, storm};
use crate::state::AppState;
use crate::web::layout::{Layout, render_with};

/// Pages the link's page lists before "and N more".
const SHOWN: usize = 100;

struct PageLine {
    summary: String,
    team: String,
    fired: String,
    /// "open", "acknowledged at 03:09 UTC by Alex", "resolved".
    state: String,
}

struct BundleView {
    /// "Rota told Alex of these 37 pages in one message at 03:08 UTC."
    intro: String,
    pages: Vec<PageLine>,
    more: usize,
    /// Pages still open: what the button acknowledges.
    open: usize,
    button: String,
}

#[derive(Template)]
#[template(path = "ack_bundle.html")]
struct AckBundlePage {
    layout: Layout,
    error: Option<String>,
    done: Option<String>,
    bundle: Option<BundleView>,
    token: String,
}

fn page(
    state: &AppState,
    status: StatusCode,
    (title, error, done): (&str, Option<String>, Option<String>),
    bundle: Option<BundleView>,
    token: &str,
) -> Response {
    let mut response = render_with(
        status,
        &AckBundlePage {
            layout: Layout::bare(title, state.settings.base_path()),
            error,
            done,
            bundle,
            token: token.to_owned(),
        },
    );
    // The token is in the address: keep it out of other sites' logs.
    response
        .headers_mut()
        .insert("referrer-policy", axum::http::HeaderValue::from_static("no-referrer"));
    response
}

/// The bundle the link is for, if the token is genuine and current.
async fn view(state: &AppState, token: &str) -> AppResult<Result<(BundleLink, BundleView), String>> {
    let mut conn = state.db.acquire().await?;
    let key = paging::ack_key(&mut conn).await?;
    let link = match BundleLink::verify(token, &key, state.clock.now()) {
        Ok(l) => l,
        Err(why) => return Ok(Err(why.to_owned())),
    };
    let bundle = db::storm::by_id(&mut conn, link.bundle_id)
        .await?
        .filter(|b| b.user_id == link.user_id);
    let Some(bundle) = bundle else {
        return Ok(Err("These pages have been removed".into()));
    };
    let pages = db::storm::pages(&mut conn, bundle.id).await?;
    let open = pages
        .iter()
        .filter(|p| p.acknowledged_at.is_none() && p.resolved_at.is_none())
        .count();
    let lines = pages
        .iter()
        .take(SHOWN)
        .map(|p| PageLine {
            summary: p.summary.clone(),
            team: p.team_name.clone(),
            fired: p.fired_at.format("%Y-%m-%d %H:%M").to_string(),
            state: match (p.resolved_at, p.acknowledged_at) {
                (Some(_), _) => "resolved".into(),
                (None, Some(at)) => format!(
                    "acknowledged at {} UTC{}",
                    at.format("%H:%M:%S"),
                    p.acknowledged_by_name
                        .as_ref()
                        .map(|b| format!(" by {b}"))
                        .unwrap_or_default()
                ),
                (None, None) => "open".into(),
            },
        })
        .collect();
    let button = match open {
        1 => "Acknowledge the 1 open page".to_owned(),
        n => format!("Acknowledge all {n} pages"),
    };
    Ok(Ok((
        link,
        BundleView {
            intro: format!(
                "Rota told {} of these {} pages in one message at {} UTC.",
                bundle.user_name,
                pages.len(),
                bundle.created_at.format("%H:%M")
            ),
            more: pages.len().saturating_sub(SHOWN),
            pages: lines,
            open,
            button,
        },
    )))
}

const TITLE: &str = "Acknowledge these pages";

/// `GET /ack/{token}` for a bundle: shows it, changes nothing.
pub async fn show(state: &AppState, token: &str) -> AppResult<Response> {
    Ok(match view(state, token).await? {
        Ok((_, v)) => page(state, StatusCode::OK, (TITLE, None, None), Some(v), token),
        Err(why) => page(state, StatusCode::FORBIDDEN, (TITLE, Some(why), None), None, ""),
    })
}

/// `POST /ack` with a bundle's token: acknowledges every page of it that
/// is still open, as the person it told.
pub async fn acknowledge(state: &AppState, token: &str) -> AppResult<Response> {
    let link = match view(state, token).await? {
        Ok((link, _)) => link,
        Err(why) => return Ok(page(state, StatusCode::FORBIDDEN, (TITLE, Some(why), None), None, "")),
    };
    let mut tx = state.db.begin().await?;
    let done = storm::acknowledge_bundle(&mut tx, link.bundle_id, link.user_id, state.clock.now()).await?;
    tx.commit().await?;
    let said = match done.now {
        0 => "Nothing was left to acknowledge: these pages were already acknowledged or resolved.".to_owned(),
        1 => "Acknowledged 1 page.".to_owned(),
        n => format!("Acknowledged {n} pages."),
    };
    let v = view(state, token).await?.ok().map(|(_, v)| v);
    Ok(page(
        state,
        StatusCode::OK,
        ("Acknowledged", None, Some(said)),
        v,
        token,
    ))
}
