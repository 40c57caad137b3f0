//! Supervision for the background jobs: a job that panics is logged,
//! counted in `/metrics` (`rota_job_panics_total{job}`) and started again
//! after a short wait, so one bad row cannot stop a job for the life of the
//! process (issue 11: a panic in the mail job once stopped all e-mail).

use std::any::Any;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// The wait before restarting a job that panicked, doubling while it keeps
/// panicking.
pub const BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before a restart; a run that lasted longer than this
/// before panicking starts the waits afresh.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Runs the job `start` makes, and a new one each time it panics, waiting
/// `backoff` first (doubling, at most [`MAX_BACKOFF`]). Returns when a run
/// ends without panicking. Each run is a task of its own, so tokio catches
/// its panic; dropping this future aborts the run.
pub async fn supervise<F, Fut>(job: &'static str, backoff: Duration, mut start: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut wait = backoff;
    loop {
        let started = Instant::now();
        let mut run = AbortOnDrop(tokio::spawn(start()));
        let Err(e) = (&mut run.0).await else {
            return;
        };
        if !e.is_panic() {
            // Cancelled: the runtime is shutting down.
            return;
        }
        if started.elapsed() > MAX_BACKOFF {
            wait = backoff;
        }
        let panic = panic_message(e.into_panic());
        tracing::error!(job, panic = %panic, restart_in = ?wait, "a background job panicked; restarting it");
        crate::service_metrics::job_panicked(job);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}

/// The text a panic was raised with, if it has one.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_owned(), |s| (*s).to_owned()),
    }
}

/// A task that is aborted when this is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
