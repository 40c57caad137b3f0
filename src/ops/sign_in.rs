//! Signing in with a password, slowed as `domain::sign_in` says: the client
//! address is refused once it has failed too often, while an account under
//! attack only makes each attempt on it wait before the password is checked.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::clock::Clock;
use crate::db;
use crate::db::sign_ins::Reservation;
use crate::domain::sign_in;
use crate::error::AppResult;
use crate::password;

/// How an attempt ended.
#[derive(Debug)]
pub enum Outcome {
    /// The address failed too often: try again after this many seconds.
    Refused { retry_after_secs: u64 },
    /// The e-mail and password do not match (or there is no password).
    NoMatch,
    /// The password is right but an admin deactivated the account.
    Deactivated,
    /// Signed in: the account and its session epoch.
    SignedIn { user_id: i64, epoch: i32 },
}

/// Checks a password sign-in. No connection is held while waiting or
/// hashing: many slow sign-ins must not empty the pool for everyone else.
pub async fn attempt(
    pool: &PgPool,
    clock: &Clock,
    client_key: &str,
    email: &str,
    given: &str,
    failures_allowed: u32,
) -> AppResult<Outcome> {
    let now: DateTime<Utc> = clock.now();
    let mut conn = pool.acquire().await?;
    let reservation = db::sign_ins::reserve(
        &mut conn,
        client_key,
        email,
        now,
        now - sign_in::WINDOW,
        failures_allowed,
    )
    .await?;
    drop(conn);
    let (attempt, account_failures) = match reservation {
        Reservation::Reserved { id, account_failures } => (id, account_failures),
        Reservation::Refused { oldest_failure } => {
            let retry_after_secs = sign_in::retry_after(oldest_failure, now).as_secs();
            return Ok(Outcome::Refused { retry_after_secs });
        }
    };
    let wait = sign_in::account_wait(account_failures);
    if !wait.is_zero() {
        clock.wait(wait).await;
    }
    let mut conn = pool.acquire().await?;
    let found = db::users::password_hash(&mut conn, email).await?;
    drop(conn);
    let (user_id, stored, epoch, active) = match found {
        Some((id, hash, epoch, active)) => (Some(id), hash, epoch, active),
        None => (None, None, 0, false),
    };
    let ok = password::verify(given.to_owned(), stored).await? && user_id.is_some();
    let Some(user_id) = user_id.filter(|_| ok) else {
        return Ok(Outcome::NoMatch);
    };
    let mut conn = pool.acquire().await?;
    db::sign_ins::succeeded(&mut conn, attempt).await?;
    // Said only to whoever knows the password, so it reveals nothing new.
    if !active {
        return Ok(Outcome::Deactivated);
    }
    Ok(Outcome::SignedIn { user_id, epoch })
}
