//! Sign-in attempts (`login_attempts`): each is reserved as a failure before
//! its password is checked and marked a success afterwards, so concurrent
//! guesses see each other and every process shares the counts.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

/// What [`reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The client address has as many failures in the window as it may;
    /// nothing was recorded. Holds the oldest of them.
    Refused { oldest_failure: DateTime<Utc> },
    /// Go on: the attempt's row, and the account's failures before it in
    /// the window since its last successful sign-in.
    Reserved { id: i64, account_failures: i64 },
}

/// Reserves an attempt on `email` from `client` at `now`, counting
/// failures since `since`. Serialised per address and per account by
/// advisory locks, so 40 concurrent guesses from one address get exactly
/// `max_client_failures` through.
pub async fn reserve(
    conn: &mut PgConnection,
    client: &str,
    email: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    max_client_failures: u32,
) -> sqlx::Result<Reservation> {
    let email = email.trim();
    let mut tx = conn.begin().await?;
    query("SELECT pg_advisory_xact_lock(hashtextextended('rota sign-in client ' || $1, 0))")
        .bind(client)
        .execute(&mut tx)
        .await?;
    let (failures, oldest): (i64, Option<DateTime<Utc>>) =
        query_as("SELECT count(*), min(at) FROM login_attempts WHERE client = $1 AND NOT succeeded AND at > $2")
            .bind(client)
            .bind(since)
            .fetch_one(&mut tx)
            .await?;
    if failures >= i64::from(max_client_failures) {
        return Ok(Reservation::Refused {
            oldest_failure: oldest.unwrap_or(now),
        });
    }
    query("SELECT pg_advisory_xact_lock(hashtextextended('rota sign-in account ' || lower($1), 0))")
        .bind(email)
        .execute(&mut tx)
        .await?;
    let account_failures: i64 = query_scalar(
        "SELECT count(*) FROM login_attempts
         WHERE email = lower($1) AND NOT succeeded AND at > $2
           AND id > COALESCE((SELECT max(id) FROM login_attempts WHERE email = lower($1) AND succeeded), 0)",
    )
    .bind(email)
    .bind(since)
    .fetch_one(&mut tx)
    .await?;
    let id: i64 = query_scalar(
        "INSERT INTO login_attempts (email, client, succeeded, at) VALUES (lower($1), $2, false, $3) RETURNING id",
    )
    .bind(email)
    .bind(client)
    .bind(now)
    .fetch_one(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation::Reserved { id, account_failures })
}

/// The reserved attempt signed in after all: it no longer counts as a
/// failure, and the account's count starts again.
pub async fn succeeded(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("UPDATE login_attempts SET succeeded = true WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}
