//! Password reset links: single use, valid for an hour, only their SHA-256
//! kept.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::users::User;

/// A reset link as stored, with the account it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reset {
    #[sqlx(rename = "reset_id")]
    pub id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The account was deactivated since the link was made.
    pub deactivated: bool,
    #[sqlx(flatten)]
    pub user: User,
}

/// The account a reset link may be made for: one with this address that
/// is not deactivated (a leaver must not get back in this way).
pub async fn account_for_reset(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<User>> {
    query_as(
        "SELECT id, email, name, timezone, is_admin, calendar_secret, session_epoch
         FROM users WHERE email = lower($1) AND deactivated_at IS NULL",
    )
    .bind(email.trim())
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    user_id: i64,
    hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    query_scalar(
        "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(conn)
    .await
}

/// The reset whose link has this hash, in whatever state.
pub async fn by_hash(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<Reset>> {
    query_as(
        "SELECT r.id AS reset_id, r.expires_at, r.used_at, u.deactivated_at IS NOT NULL AS deactivated,
                u.id, u.email, u.name, u.timezone, u.is_admin, u.calendar_secret, u.session_epoch
         FROM password_resets r JOIN users u ON u.id = r.user_id
         WHERE r.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

/// Uses up the link (and every other unused link of the account, so an
/// older e-mail cannot undo the new password); false when this one was
/// already used or had expired meanwhile.
pub async fn use_up(conn: &mut PgConnection, id: i64, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = query(
        "UPDATE password_resets SET used_at = $3
         WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    use_up_all(conn, user_id, now).await?;
    Ok(true)
}

/// Ends every unused link of the account (a new password, a leaver).
pub async fn use_up_all(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}
