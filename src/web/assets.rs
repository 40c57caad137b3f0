//! Static files, embedded in the binary and served under checksummed URLs
//! so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/style.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

/// Each asset's URL with its content hash.
static URLS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let hash = Sha256::digest(a.body);
            let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
            (a.name, format!("/static/{short}/{}", a.name))
        })
        .collect()
});

/// The cache-busting URL of a static file.
pub fn url(name: &str) -> String {
    URLS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| u.clone())
        .unwrap_or_else(|| format!("/static/{name}"))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{hash}/{name}", get(serve_asset)).route(
        "/favicon.ico",
        get(|| async { serve(url("favicon.svg").rsplit('/').next().unwrap_or(""), false) }),
    )
}

async fn serve_asset(Path((hash, name)): Path<(String, String)>) -> Response {
    let current = url(&name).contains(&format!("/{hash}/"));
    serve(&name, current)
}

fn serve(name: &str, immutable: bool) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.body,
    )
        .into_response()
}
