//! Serving Rota under a path, such as `https://tools.example.com/rota`
//! behind a reverse proxy (the path of `ROTA_BASE_URL`, see
//! [`Settings::base_path`](crate::config::Settings::base_path)).
//!
//! Inside Rota every address is rooted at `/`: routes, redirects, `next`
//! after sign-in, links kept in the database. The base path is added where
//! an address leaves for a browser — page links through `Layout::base`,
//! redirects here, cookies through their `Path` — and taken off requests
//! here, before routing. A request without it is served too, so a proxy may
//! forward `/rota/…` as it is or strip `/rota` first, and probes may call
//! `/healthz` on the process directly.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;

/// `app` served under `base` (`"/rota"`) as well as at the root; `app`
/// itself when there is no base path.
pub fn serve_under(base: &str, app: Router) -> Router {
    if base.is_empty() {
        return app;
    }
    let base: Arc<str> = Arc::from(base);
    // A layer on a router runs after it has picked a route, so the path is
    // rewritten in a router of its own, in front of the real one.
    Router::new()
        .fallback_service(app)
        .layer(from_fn_with_state(base, under_base))
}

async fn under_base(State(base): State<Arc<str>>, mut request: Request, next: Next) -> Response {
    if let Some(inside) = strip(&base, request.uri()) {
        *request.uri_mut() = inside.clone();
        request.extensions_mut().insert(OriginalUri(inside));
    }
    let mut response = next.run(request).await;
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
    if let Some(outside) = location.and_then(|l| prefix_location(&base, l)) {
        response.headers_mut().insert(header::LOCATION, outside);
    }
    response
}

/// The address inside Rota of a request for `uri`: `/rota/teams/x` →
/// `/teams/x`, `/rota` → `/`. `None` when `uri` is not under `base`
/// (`/rotation`, or a proxy that already stripped it).
fn strip(base: &str, uri: &Uri) -> Option<Uri> {
    let rest = uri.path().strip_prefix(base)?;
    let path = match rest {
        "" => "/",
        r if r.starts_with('/') => r,
        _ => return None,
    };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// A redirect to an address inside Rota (`/login`), as the browser must
/// follow it (`/rota/login`). Absolute URLs (a sign-in provider) and
/// protocol-relative ones are left alone.
fn prefix_location(base: &str, location: &str) -> Option<HeaderValue> {
    if !location.starts_with('/') || location.starts_with("//") {
        return None;
    }
    HeaderValue::from_str(&format!("{base}{location}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(uri: &str) -> Option<String> {
        strip("/rota", &uri.parse().expect("uri")).map(|u| u.to_string())
    }

    #[test]
    fn requests_under_the_base_path_are_routed_without_it() {
        assert_eq!(inside("/rota").as_deref(), Some("/"));
        assert_eq!(inside("/rota/").as_deref(), Some("/"));
        assert_eq!(
            inside("/rota/teams/platform?at=2026-12-01").as_deref(),
            Some("/teams/platform?at=2026-12-01")
        );
        assert_eq!(inside("/rota/rota").as_deref(), Some("/rota"));
        assert_eq!(inside("/rota?next=/x").as_deref(), Some("/?next=/x"));
    }

    #[test]
    fn requests_outside_the_base_path_are_left_as_they_are() {
        for uri in ["/", "/rotation", "/rotas/x", "/teams/platform", "/healthz"] {
            assert_eq!(inside(uri), None, "{uri}");
        }
    }

    #[test]
    fn redirects_inside_rota_get_the_base_path() {
        let shown = |l: &str| prefix_location("/rota", l).map(|v| v.to_str().expect("ascii").to_owned());
        assert_eq!(shown("/").as_deref(), Some("/rota/"));
        assert_eq!(
            shown("/login?next=%2Fteams").as_deref(),
            Some("/rota/login?next=%2Fteams")
        );
        assert_eq!(shown("https://accounts.example.com/authorize?x=1"), None);
        assert_eq!(shown("//evil.example"), None);
        assert_eq!(shown("relative"), None);
    }
}
