//! A person's notifications in Rota (the inbox).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db;
use crate::error::AppResult;

/// Marks every unread notification of the person read; returns how many.
/// Not audited: it changes only the person's own read marks, which nobody
/// else sees or relies on, and a log row per click would drown the rest.
pub async fn mark_all_read(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(db::notifications::mark_all_read(conn, user_id, now).await?)
}
