//! Derives the recovery days that pages from alerting tools made due
//! (`ops::pages::Derive::Queued`): every second it claims the queued
//! rows (`FOR UPDATE SKIP LOCKED`, so several processes share the queue and
//! none derives a row twice), coalesces them per person and re-derives in
//! the claiming transaction, so a failure leaves them queued.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::db;
use crate::state::AppState;

/// How often the queue is drained: days are derived within about this of
/// their page (the aim is two seconds). Longer coalesces more of a storm
/// into one derivation per person.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The most queued rows one transaction takes.
const BATCH: i64 = 5000;

/// Derives one batch of what is queued; returns how many rows it took.
pub async fn run_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let due = db::recovery_dirty::claim(&mut tx, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    crate::ops::recovery::derive_due(&mut tx, &due, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(due.len())
}

/// Drains everything queued (tests settle with it; the job runs batches).
pub async fn drain(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        match run_once(pool, now).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        let outcome = drain(&state.db, state.clock.now()).await;
        if outcome.as_ref().is_ok_and(|n| *n > 0) || outcome.is_err() {
            crate::service_metrics::job_ran("recovery", started, &outcome.as_ref().map(|_| true));
        }
        if let Err(e) = outcome {
            tracing::warn!(error = ?e, "deriving queued recovery days failed; will retry");
        }
    }
}
