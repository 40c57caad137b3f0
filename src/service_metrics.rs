//! Prometheus metrics for Rota itself, at `GET /metrics`: requests by
//! route and status, their latency, the database pool, and background jobs.
//!
//! Recorded through the `metrics` facade and exposed by
//! `metrics-exporter-prometheus` (no hand-written exposition format). The
//! recorder is process-wide, as the facade requires; every server in the
//! process shares it. Routes are labelled by their pattern
//! (`/teams/{team}/pages`), never the path, so calendar secrets and ids stay
//! out of the series.
//!
//! The endpoint is open like most exporters unless `ROTA_METRICS_TOKEN` is
//! set; then it wants `Authorization: Bearer <that token>` (give the same
//! token to Prometheus' `authorization` setting).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::secrets;
use crate::state::AppState;

pub const REQUESTS: &str = "rota_http_requests_total";
pub const LATENCY: &str = "rota_http_request_duration_seconds";
pub const POOL: &str = "rota_db_pool_connections";
pub const POOL_MAX: &str = "rota_db_pool_max_connections";
pub const BUILD_INFO: &str = "rota_build_info";
pub const JOB_RUNS: &str = "rota_job_runs_total";
pub const JOB_LATENCY: &str = "rota_job_duration_seconds";
pub const JOB_PANICS: &str = "rota_job_panics_total";

/// The background jobs whose runs are counted, so their series exist (at 0)
/// before a first run.
pub const JOBS: [&str; 3] = ["extend_schedules", "send_mail", "handoff_reminders"];
/// Every supervised job, so its panic series exists (at 0) before a panic.
pub const SUPERVISED_JOBS: [&str; 5] = [
    "extend_schedules",
    "send_mail",
    "handoff_reminders",
    "handoff_webhooks",
    "paging",
];
/// Page messages sent, by contact-method kind and outcome (`delivered`,
/// `sent`, `retrying`, `failed`): a provider that is down shows here.
pub const PAGE_MESSAGES: &str = "rota_page_messages_total";
/// Bundles sent in storms, by kind and outcome (as page messages are).
pub const PAGE_BUNDLES: &str = "rota_page_bundles_total";
/// Pages told of in bundles rather than one message each, by kind.
pub const PAGES_BUNDLED: &str = "rota_pages_bundled_total";

const BUCKETS: [f64; 12] = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use; `None` if another
/// recorder was installed first (then nothing is exported).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "Prometheus metrics unavailable"))
                .ok()?;
            metrics::describe_counter!(REQUESTS, "HTTP requests handled, by method, route and status");
            metrics::describe_histogram!(LATENCY, metrics::Unit::Seconds, "Time to produce a response");
            metrics::describe_gauge!(POOL, "Database connections, by state (idle or in_use)");
            metrics::describe_gauge!(
                BUILD_INFO,
                "Always 1; the labels say which release and commit is running"
            );
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => env!("ROTA_COMMIT")).set(1.0);
            metrics::describe_gauge!(POOL_MAX, "The database pool's maximum size");
            metrics::describe_counter!(
                JOB_RUNS,
                "Background job runs, by job and outcome (ok, skipped, failed)"
            );
            metrics::describe_histogram!(JOB_LATENCY, metrics::Unit::Seconds, "Background job run time");
            metrics::describe_counter!(JOB_PANICS, "Background job panics, by job; each was restarted");
            for job in SUPERVISED_JOBS {
                counter!(JOB_PANICS, "job" => job).increment(0);
            }
            for job in JOBS {
                for outcome in ["ok", "skipped", "failed"] {
                    counter!(JOB_RUNS, "job" => job, "outcome" => outcome).increment(0);
                }
            }
            // Histograms keep every sample until upkeep folds them in; without
            // a scrape they would grow with every request (megabytes a minute
            // at tens of thousands of requests a second).
            let kept = handle.clone();
            let upkeep = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        kept.run_upkeep();
                    }
                });
            if let Err(e) = upkeep {
                tracing::warn!(error = %e, "no metrics upkeep thread; histograms are folded in at each scrape");
            }
            Some(handle)
        })
        .as_ref()
}

/// One request being counted and timed (for a
/// middleware that does more around the same call).
pub struct Timing {
    started: Instant,
    method: String,
    route: String,
}

impl Timing {
    pub fn start(request: &Request) -> Self {
        Timing {
            started: Instant::now(),
            method: request.method().as_str().to_owned(),
            route: request
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned()),
        }
    }

    /// Counts and times the request, and writes its access line.
    pub fn finish(self, response: &Response, request_id: &str, user_id: Option<i64>) {
        let elapsed = self.started.elapsed();
        tracing::info!(
            method = %self.method,
            route = %self.route,
            status = response.status().as_u16(),
            latency_ms = (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            request_id,
            user_id,
            "request"
        );
        let status = response.status().as_u16().to_string();
        counter!(REQUESTS, "method" => self.method.clone(), "route" => self.route.clone(), "status" => status)
            .increment(1);
        histogram!(LATENCY, "method" => self.method, "route" => self.route).record(elapsed.as_secs_f64());
    }
}

/// Records one run of a background job: `Ok(true)` did the work,
/// `Ok(false)` left it to another process.
pub fn job_ran<E>(job: &'static str, started: Instant, outcome: &Result<bool, E>) {
    let outcome = match outcome {
        Ok(true) => "ok",
        Ok(false) => "skipped",
        Err(_) => "failed",
    };
    counter!(JOB_RUNS, "job" => job, "outcome" => outcome).increment(1);
    histogram!(JOB_LATENCY, "job" => job).record(started.elapsed().as_secs_f64());
}

/// Records one attempt to send a page message.
pub fn page_message(kind: &str, outcome: &'static str) {
    counter!(PAGE_MESSAGES, "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

/// Records one attempt to send a bundle, and the `pages` it told of when
/// it went.
pub fn page_bundle(kind: &str, outcome: &'static str, pages: usize) {
    counter!(PAGE_BUNDLES, "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
    if matches!(outcome, "sent" | "delivered") {
        counter!(PAGES_BUNDLED, "kind" => kind.to_owned()).increment(pages as u64);
    }
}

/// Records that a background job panicked (and is being restarted).
pub fn job_panicked(job: &'static str) {
    counter!(JOB_PANICS, "job" => job).increment(1);
}

/// `GET /metrics` in the Prometheus text format.
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(want) = state.settings.metrics_token.as_deref() {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let ok = sent.is_some_and(|s| secrets::constant_time_eq(s.as_bytes(), want.as_bytes()));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                "metrics need the ROTA_METRICS_TOKEN bearer token",
            )
                .into_response();
        }
    }
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are unavailable").into_response();
    };
    let pool = &state.db;
    let idle = pool.num_idle() as f64;
    gauge!(POOL, "state" => "idle").set(idle);
    gauge!(POOL, "state" => "in_use").set(f64::from(pool.size()) - idle);
    gauge!(POOL_MAX).set(f64::from(pool.options().get_max_connections()));
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}
