//! What the background jobs tidy, and the lock that makes one process do it.

use crate::db::sql::{query, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Takes the transaction-scoped advisory lock `key` if nobody holds it.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Takes the session-level advisory lock `key` if nobody holds it: held
/// across the transactions of one job run, until [`unlock`] (or the
/// connection closes).
pub async fn try_lock_session(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Releases the session-level advisory lock `key`.
pub async fn unlock(conn: &mut PgConnection, key: i64) -> sqlx::Result<()> {
    query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(conn)
        .await
        .map(drop)
}

/// Lets this transaction commit without waiting for its WAL to reach disk:
/// for work a crash may lose because the next run redoes it (the schedule
/// job's weeks), so hundreds of short transactions do not wait for hundreds
/// of flushes.
pub async fn commit_without_waiting(conn: &mut PgConnection) -> sqlx::Result<()> {
    query("SET LOCAL synchronous_commit TO off")
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets sessions that expired before `now`.
pub async fn forget_expired_sessions(conn: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<()> {
    query("DELETE FROM tower_sessions.session WHERE expiry_date < $1")
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets sign-in attempts made before `before` (they no longer count).
pub async fn forget_sign_in_attempts(conn: &mut PgConnection, before: DateTime<Utc>) -> sqlx::Result<()> {
    query("DELETE FROM login_attempts WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await
        .map(drop)
}

/// Whether the database answers, for the readiness probe.
pub async fn ping(pool: &PgPool) -> sqlx::Result<()> {
    query("SELECT 1").execute(&mut *pool.acquire().await?).await.map(drop)
}
