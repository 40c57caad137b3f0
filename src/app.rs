//! The router and the middleware stack (the shared state is in `state`).

use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state, map_response_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::sessions::{CachedStore, busy_sessions};
use crate::cache::Wrote;
use crate::error::{ErrorInfo, problem};
use crate::state::AppState;
use crate::{api, calendar, service_metrics, web};

/// Every request body, form or JSON, is refused above this size.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// No inline script or style anywhere; nothing may frame Rota.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The whole application, under the base path when `ROTA_BASE_URL` has
/// one (see [`base_path`](crate::base_path)).
pub fn router(state: AppState) -> Router {
    let base = state.settings.base_path().to_owned();
    crate::base_path::serve_under(&base, routes(state))
}

fn routes(state: AppState) -> Router {
    service_metrics::handle();
    let store = CachedStore::new(state.db.clone(), state.caches.clone());
    let idle = time::Duration::seconds(state.settings.session_idle.as_secs() as i64);
    let sessions = SessionManagerLayer::new(store)
        .with_name("rota_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies)
        .with_path(state.settings.cookie_path().to_owned())
        .with_expiry(Expiry::OnInactivity(idle));

    // Unknown addresses end here too, inside the session layer, so their
    // error page can show the navigation to someone signed in.
    let html = web::router()
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(from_fn_with_state(state.clone(), web::layout::errors_with_navigation))
        .layer(sessions)
        .layer(from_fn(busy_sessions));
    let timeout = state.settings.request_timeout;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(service_metrics::serve))
        .merge(calendar::router())
        .merge(web::assets::router())
        .nest("/api/v1", api::router())
        .merge(html)
        .layer(from_fn_with_state(state.clone(), every_request))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(map_response_with_state(state, shape_errors))
        // Compressing a small answer costs more than sending it.
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(1024))))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Pages and API answers carry personal data and, now and then, a
        // secret shown once: no cache keeps them. Static files and calendar
        // feeds say otherwise themselves.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outermost: every request has an id (the caller's x-request-id, or
        // a new UUID) before anything logs, and the answer carries it back.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The request's id as logged: the `x-request-id` header, at most 128
/// characters.
fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(128).collect())
        .unwrap_or_default()
}

/// The request's span: its method and id. Not the path: calendar feeds,
/// acknowledgement, invitation and reset links carry secrets in it; the
/// access line names the route pattern instead.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), request_id = %request_id(request.headers()))
}

/// What every routed request passes through, outermost first: it is
/// counted and timed, refused if its address holds a NUL, and after a
/// write the caches are made fresh. One middleware rather than three: each
/// costs a boxed copy of the router and a boxed future per request.
async fn every_request(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let timing = service_metrics::Timing::start(&request);
    let id = request_id(request.headers());
    let user = crate::telemetry::RequestUser::default();
    request.extensions_mut().insert(user.clone());
    let response = match refuse_nul_in_address(&request) {
        Some(refused) => refused,
        None => fresh_after_writes(&state, request, next).await,
    };
    timing.finish(&response, &id, user.get());
    response
}

/// After a write request that succeeded, this process reads afresh at once
/// what it wrote (other processes hear of it by NOTIFY): the caches of the
/// tables the handler declared ([`Wrote`]), or every cache. A refused or
/// failed request clears nothing (see `cache` for why that is sound).
async fn fresh_after_writes(state: &AppState, request: Request, next: Next) -> Response {
    let reads_only = request.method().is_safe();
    let response = next.run(request).await;
    let status = response.status();
    if reads_only || status.is_client_error() || status.is_server_error() {
        return response;
    }
    match response.extensions().get::<Wrote>() {
        Some(Wrote(tables)) => state.caches.clear_tables(tables),
        None => state.caches.clear(),
    }
    response
}

/// A NUL character (`%00`) in the path or the query can never name
/// anything, and Postgres cannot store one: refuse it before any handler.
fn refuse_nul_in_address(request: &Request) -> Option<Response> {
    let uri = request.uri();
    let has_nul = |s: &str| s.contains("%00") || s.contains('\0');
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let message = "The address contains a NUL character (%00); remove it and try again".to_owned();
        return Some(problem(StatusCode::BAD_REQUEST, message));
    }
    None
}

/// Ready when the database answers and was not migrated past this build
/// (another replica running a newer Rota): then 503 saying so.
async fn readyz(State(state): State<AppState>) -> Response {
    match crate::db::applied_version(&state.db).await {
        Ok(applied) => match crate::db::newer_database(applied) {
            Some(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
            None => "ready".into_response(),
        },
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

/// Gives every error the shape its audience expects: the JSON problem under
/// `/api`, an HTML page elsewhere, whichever layer produced it (a handler,
/// the body limit, the timeout, an unknown route).
async fn shape_errors(State(state): State<AppState>, uri: Uri, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Probes read the readiness answer as the plain sentence it is.
    if uri.path() == "/readyz" {
        return response;
    }
    let info = response.extensions().get::<ErrorInfo>().cloned();
    let is_api = uri.path().starts_with("/api/");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A page that re-rendered itself with its message is already right.
    if !is_api && content_type.starts_with("text/html") {
        return response;
    }
    match (is_api, info) {
        (true, Some(_)) => response,
        (true, None) => problem(status, crate::error::default_message(status).into()),
        (false, info) => {
            let message = info.map_or_else(|| crate::error::default_message(status).to_owned(), |i| i.message);
            let mut page = web::layout::error_page(status, &message, state.settings.base_path());
            // When to come back (429, 503) holds for the page too.
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                page.headers_mut().insert(header::RETRY_AFTER, retry.clone());
            }
            page
        }
    }
}
