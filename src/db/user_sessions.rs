//! Each person's sign-ins, for "signed in on … from …" and signing out the
//! others. The session itself lives in tower-sessions' table; a row here is
//! keyed by a random id kept in that session's data.

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignIn {
    pub sign_in_id: String,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewSignIn<'a> {
    pub sign_in_id: &'a str,
    pub user_id: i64,
    pub at: DateTime<Utc>,
    pub method: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut PgConnection, new: NewSignIn<'_>) -> sqlx::Result<()> {
    query(
        "INSERT INTO user_sessions (sign_in_id, user_id, signed_in_at, last_seen_at, method, ip, user_agent)
         VALUES ($1, $2, $3, $3, $4, $5, $6) ON CONFLICT (sign_in_id) DO NOTHING",
    )
    .bind(new.sign_in_id)
    .bind(new.user_id)
    .bind(new.at)
    .bind(new.method)
    .bind(new.ip)
    .bind(new.user_agent)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn seen(conn: &mut PgConnection, sign_in_id: &str, at: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE user_sessions SET last_seen_at = $2 WHERE sign_in_id = $1 AND last_seen_at < $2")
        .bind(sign_in_id)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

/// The person's sign-ins still in use: not ended and seen since `since`.
pub async fn live(conn: &mut PgConnection, user_id: i64, since: DateTime<Utc>) -> sqlx::Result<Vec<SignIn>> {
    query_as(
        "SELECT sign_in_id, signed_in_at, last_seen_at, method, ip, user_agent FROM user_sessions
         WHERE user_id = $1 AND ended_at IS NULL AND last_seen_at >= $2
         ORDER BY last_seen_at DESC",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(conn)
    .await
}

/// Ends one sign-in (signing out).
pub async fn end(conn: &mut PgConnection, sign_in_id: &str, at: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE user_sessions SET ended_at = $2 WHERE sign_in_id = $1 AND ended_at IS NULL")
        .bind(sign_in_id)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

/// Ends every sign-in of the person but `keep` (if any); with the session
/// epoch raised, the sessions themselves are over.
pub async fn end_all_but(
    conn: &mut PgConnection,
    user_id: i64,
    keep: Option<&str>,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    query(
        "UPDATE user_sessions SET ended_at = $3
         WHERE user_id = $1 AND ended_at IS NULL AND sign_in_id IS DISTINCT FROM $2",
    )
    .bind(user_id)
    .bind(keep)
    .bind(at)
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}
