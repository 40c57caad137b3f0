//! The sign-in sessions' table, `tower_sessions.session` (its schema is
//! tower-sessions-sqlx-store's, created by `db::migrate`): rows of an id, a
//! MessagePack record and an expiry. Read and written here rather than by
//! that crate's store, whose named statements PgBouncer in transaction mode
//! cannot carry (see `sql`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::sql::{query, query_as, query_scalar};

/// Whether a session `id` is stored, expired or not.
pub async fn exists(conn: &mut PgConnection, id: &str) -> sqlx::Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM tower_sessions.session WHERE id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Stores session `id`, replacing what it held.
pub async fn save(conn: &mut PgConnection, id: &str, data: &[u8], expiry: DateTime<Utc>) -> sqlx::Result<()> {
    query(
        "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expiry_date = EXCLUDED.expiry_date",
    )
    .bind(id)
    .bind(data)
    .bind(expiry)
    .execute(conn)
    .await
    .map(drop)
}

/// The record of session `id` if it has not expired at `now`.
pub async fn load(conn: &mut PgConnection, id: &str, now: DateTime<Utc>) -> sqlx::Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> =
        query_as("SELECT data FROM tower_sessions.session WHERE id = $1 AND expiry_date > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(data,)| data))
}

/// Forgets session `id`.
pub async fn delete(conn: &mut PgConnection, id: &str) -> sqlx::Result<()> {
    query("DELETE FROM tower_sessions.session WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}
