//! Background work. Several `rota serve` processes may share a database:
//! the schedule job and the handoff reminders take an advisory lock (the
//! schedule job a session-level one, on the direct connection; the
//! reminders one scoped to their transaction), so only one process does a
//! round and the others skip it; the paging, recovery, e-mail and webhook
//! workers claim their rows with `FOR UPDATE SKIP LOCKED` (sends under a
//! lease), so each row is worked once.

pub mod paging;
pub mod recovery;
pub mod shifts;
pub mod supervise;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio::task::{JoinHandle, JoinSet};

use crate::db;
use crate::mail::Mailer;
use crate::ops::notify;
use crate::state::AppState;
use supervise::{BACKOFF, supervise};

/// The advisory lock key of the schedule job ("rota" in ASCII).
const SCHEDULE_LOCK: i64 = 0x726f_7461;

/// The advisory lock key of the handoff reminders ("rmnd" in ASCII).
const REMINDER_LOCK: i64 = 0x726d_6e64;

/// Extends every rotation's shifts to the horizon and tidies expired
/// sessions. `None` when another process holds the lock.
///
/// Locks: the job's own session-level advisory lock for the whole run (so
/// one process runs it), then one short transaction per rotation that needs
/// more weeks, holding only that rotation's row lock, as a request
/// changing that rotation does. No transaction holds two rotations, so the
/// job cannot deadlock with requests or with the reminder job, and a
/// rotation waits only for its own extension.
///
/// A session-level lock needs a session: `pool` reaches Postgres itself
/// (`AppState::direct`), never PgBouncer in transaction mode, which could
/// run the unlock on another server connection than the lock.
pub async fn extend_schedules(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Option<u64>> {
    extend_schedules_on(pool, pool, now).await
}

/// As [`extend_schedules`], the lock on `direct` and the rotations'
/// transactions on `work` (`AppState::db`, PgBouncer or not): the direct
/// pool is small, and its other connections are the listeners'.
pub async fn extend_schedules_on(direct: &PgPool, work: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Option<u64>> {
    let mut conn = direct.acquire().await?;
    if !db::housekeeping::try_lock_session(&mut conn, SCHEDULE_LOCK).await? {
        return Ok(None);
    }
    let outcome = extend_all(work, &mut conn, now).await;
    match db::housekeeping::unlock(&mut conn, SCHEDULE_LOCK).await {
        Ok(()) if outcome.is_ok() => {}
        // The lock must not outlive the run: closing the connection ends it.
        _ => drop(conn.detach()),
    }
    outcome.map(Some)
}

/// Rotations extended at once, each on a connection of its own: the work
/// is mostly waiting on Postgres, so a few side by side take a fraction of
/// the time one after another does, and no transaction holds two.
const EXTEND_AT_ONCE: usize = 3;

async fn extend_all(pool: &PgPool, conn: &mut sqlx::PgConnection, now: DateTime<Utc>) -> anyhow::Result<u64> {
    use sqlx::Connection;
    let due = db::rotations::needing_extension(conn, now + db::rotations::HORIZON).await?;
    let mut workers = JoinSet::new();
    for k in 0..EXTEND_AT_ONCE.min(due.len()) {
        let ids: Vec<i64> = due.iter().copied().skip(k).step_by(EXTEND_AT_ONCE).collect();
        let pool = pool.clone();
        workers.spawn(async move {
            let mut written = 0;
            for id in ids {
                // A connection per rotation, not per worker: on a pool with
                // fewer free connections than workers they take turns.
                let mut tx = pool.begin().await?;
                // Weeks a crash loses are written again by the next run.
                db::housekeeping::commit_without_waiting(&mut tx).await?;
                written += crate::ops::schedule::extend(&mut tx, id, now).await?;
                tx.commit().await?;
            }
            anyhow::Ok(written)
        });
    }
    let mut written = 0;
    while let Some(done) = workers.join_next().await {
        written += done??;
    }
    let mut tx = conn.begin().await?;
    expire_requests(&mut tx, now).await?;
    db::housekeeping::forget_expired_sessions(&mut tx, now).await?;
    db::housekeeping::forget_sign_in_attempts(&mut tx, now - Duration::days(1)).await?;
    tx.commit().await?;
    Ok(written)
}

/// Marks requests whose shift started before approval as expired, and
/// tells the requester.
async fn expire_requests(conn: &mut sqlx::PgConnection, now: DateTime<Utc>) -> anyhow::Result<()> {
    for id in db::swaps::expire(conn, now).await? {
        let Some(r) = db::swaps::by_id(conn, id).await? else {
            continue;
        };
        let msg = format!(
            "Your {} request in {} expired: its shift started before it was approved",
            r.kind, r.rotation_name
        );
        // Expiry is quiet by e-mail: the moment has passed.
        db::notifications::create(
            conn,
            r.team_id,
            &[r.requester_id],
            (&msg, &format!("/swaps/{id}")),
            now,
            false,
        )
        .await?;
    }
    Ok(())
}

/// Sends the handoff reminders that are due: to the outgoing primary on
/// the handoff morning, to the incoming ones once it is submitted. Each is
/// claimed before it is sent, so several processes send it once; a process
/// finding another mid-run skips the round (0).
pub async fn send_handoff_reminders(pool: &PgPool, now: DateTime<Utc>, mail: bool) -> anyhow::Result<usize> {
    use crate::domain::handoff::ReminderKind;
    let mut tx = pool.begin().await?;
    // One process at a time: two runs claiming the same reminders in
    // different orders would wait on each other's claims.
    if !db::housekeeping::try_lock(&mut tx, REMINDER_LOCK).await? {
        return Ok(0);
    }
    let due = crate::ops::handoffs::reminders_due(&mut tx, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sent = 0;
    for r in due {
        if !db::handoffs::mark_reminded(&mut tx, r.rotation_id, r.handoff_at, r.kind.as_str(), r.user_id, now).await? {
            continue;
        }
        let msg = match r.kind {
            ReminderKind::Write => format!(
                "Handoff due: write up your week in {} for the week from {}",
                r.rotation_name,
                notify::day_short(r.week_start)
            ),
            ReminderKind::Read => format!(
                "{} handed {} over to you: read and acknowledge it",
                r.author.as_deref().unwrap_or("The outgoing on-call"),
                r.rotation_name
            ),
        };
        db::notifications::create(&mut tx, r.team_id, &[r.user_id], (&msg, &r.path), now, mail).await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}

/// How long the background job waits between runs.
pub const JOB_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// How often handoff reminders are looked for.
const REMINDER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// How often due notification e-mail is sent.
const MAIL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts every background job, each supervised: a job that panics is
/// started again. Aborting the returned task stops them all.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Dropped with this task, and aborts every job with it.
        let mut jobs = JoinSet::new();
        if let Some(mailer) = state.mailer.clone() {
            let state = state.clone();
            jobs.spawn(supervise("send_mail", BACKOFF, move || {
                send_mail_every(state.clone(), mailer.clone())
            }));
        }
        let s = state.clone();
        jobs.spawn(supervise("handoff_reminders", BACKOFF, move || {
            send_handoff_reminders_every(s.clone())
        }));
        let s = state.clone();
        jobs.spawn(supervise("recovery", BACKOFF, move || recovery::run(s.clone())));
        let s = state.clone();
        jobs.spawn(supervise("handoff_webhooks", BACKOFF, move || webhooks::run(s.clone())));
        let s = state.clone();
        jobs.spawn(supervise("paging", BACKOFF, move || paging::run(s.clone())));
        jobs.spawn(supervise("extend_schedules", BACKOFF, move || {
            extend_schedules_every(state.clone())
        }));
        while jobs.join_next().await.is_some() {}
    })
}

async fn send_mail_every(state: AppState, mailer: Arc<Mailer>) {
    let mut tick = tokio::time::interval(MAIL_INTERVAL);
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        let outcome = crate::mail::send_due(&state.db, &mailer, state.clock.now()).await;
        crate::service_metrics::job_ran("send_mail", started, &outcome.as_ref().map(|_| true));
        if let Err(e) = outcome {
            tracing::warn!(error = ?e, "sending notification e-mail failed; will retry");
        }
    }
}

async fn send_handoff_reminders_every(state: AppState) {
    let mut tick = tokio::time::interval(REMINDER_INTERVAL);
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        let outcome = send_handoff_reminders(&state.db, state.clock.now(), state.mailer.is_some()).await;
        crate::service_metrics::job_ran("handoff_reminders", started, &outcome.as_ref().map(|_| true));
        if let Err(e) = outcome {
            tracing::warn!(error = ?e, "sending handoff reminders failed; will retry");
        }
        let started = std::time::Instant::now();
        let outcome = shifts::send_shift_notices(&state.db, state.clock.now(), state.mailer.is_some()).await;
        crate::service_metrics::job_ran("shift_notices", started, &outcome.as_ref().map(|_| true));
        if let Err(e) = outcome {
            tracing::warn!(error = ?e, "sending shift notifications failed; will retry");
        }
    }
}

async fn extend_schedules_every(state: AppState) {
    let mut tick = tokio::time::interval(JOB_INTERVAL);
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        // Its lock is session-level: not through PgBouncer.
        let outcome = extend_schedules_on(&state.direct, &state.db, state.clock.now()).await;
        crate::service_metrics::job_ran("extend_schedules", started, &outcome.as_ref().map(Option::is_some));
        match outcome {
            Ok(Some(n)) => tracing::info!(shifts = n, "schedules extended"),
            Ok(None) => tracing::debug!("another process is extending schedules"),
            Err(e) => tracing::warn!(error = ?e, "extending schedules failed; will retry"),
        }
    }
}
