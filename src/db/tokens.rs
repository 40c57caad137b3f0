use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::users::User;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A live (not revoked) token with its owner: who a request acts as.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    #[sqlx(rename = "token_id")]
    pub id: i64,
    /// Only safe methods (GET, HEAD, OPTIONS) are allowed.
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub user: User,
}

/// What a new token may do, and until when.
pub struct NewToken<'a> {
    pub label: &'a str,
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A read-write token that does not expire.
pub async fn insert(conn: &mut PgConnection, user_id: i64, label: &str, hash: &[u8]) -> sqlx::Result<i64> {
    let token = NewToken {
        label,
        read_only: false,
        expires_at: None,
    };
    insert_with(conn, user_id, &token, hash).await
}

pub async fn insert_with(
    conn: &mut PgConnection,
    user_id: i64,
    token: &NewToken<'_>,
    hash: &[u8],
) -> sqlx::Result<i64> {
    query_scalar(
        "INSERT INTO api_tokens (user_id, label, token_hash, read_only, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(token.label)
    .bind(hash)
    .bind(token.read_only)
    .bind(token.expires_at)
    .fetch_one(conn)
    .await
}

/// The live token with this hash, expired or not (the caller says which).
pub async fn by_hash(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<ApiToken>> {
    query_as(
        "SELECT t.id AS token_id, t.read_only, t.expires_at, t.last_used_at,
                u.id, u.email, u.name, u.timezone, u.is_admin, u.calendar_secret
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

/// Notes that the token was used at `at`, unless that was noted less than
/// a minute before (by this process or another).
pub async fn record_use(conn: &mut PgConnection, token_id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    query(
        "UPDATE api_tokens SET last_used_at = $2
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - interval '1 minute')",
    )
    .bind(token_id)
    .bind(at)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn live_for_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<TokenInfo>> {
    query_as(
        "SELECT id, label, created_at, last_used_at, read_only, expires_at FROM api_tokens
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Revokes one of the user's tokens; false when it was not theirs or not live.
pub async fn revoke(conn: &mut PgConnection, user_id: i64, token_id: i64) -> sqlx::Result<bool> {
    let done = query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
        .bind(token_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live token of the person (a leaver); how many.
pub async fn revoke_all_for(conn: &mut PgConnection, user_id: i64, at: DateTime<Utc>) -> sqlx::Result<u64> {
    query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(at)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}
