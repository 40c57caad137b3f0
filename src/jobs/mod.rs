//! Background work. Several `rota serve` processes may share a database:
//! each run takes a transaction-scoped advisory lock, so only one does the
//! work and the others skip that round.

pub mod webhooks;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::app::{AppState, JOB_INTERVAL};
use crate::db;

/// The advisory lock key of the schedule job ("rota" in ASCII).
const SCHEDULE_LOCK: i64 = 0x726f_7461;

/// Extends every rotation's shifts to the horizon and tidies expired
/// sessions. `None` when another process holds the lock.
pub async fn extend_schedules(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SCHEDULE_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(None);
    }
    let mut written = 0;
    for id in db::rotations::all_ids(&mut tx).await? {
        written += db::rotations::extend(&mut tx, id, now).await?;
    }
    sqlx::query("DELETE FROM tower_sessions.session WHERE expiry_date < $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM login_attempts WHERE at < $1")
        .bind(now - Duration::days(1))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(written))
}

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Runs beside this loop and stops with it.
        let _webhooks = webhooks::start(state.clone());
        let mut tick = tokio::time::interval(JOB_INTERVAL);
        loop {
            tick.tick().await;
            match extend_schedules(&state.db, state.clock.now()).await {
                Ok(Some(n)) => tracing::info!(shifts = n, "schedules extended"),
                Ok(None) => tracing::debug!("another process is extending schedules"),
                Err(e) => tracing::warn!(error = ?e, "extending schedules failed; will retry"),
            }
        }
    })
}
