use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::users::User;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut PgConnection, user_id: i64, label: &str, hash: &[u8]) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO api_tokens (user_id, label, token_hash) VALUES ($1, $2, $3) RETURNING id")
        .bind(user_id)
        .bind(label)
        .bind(hash)
        .fetch_one(conn)
        .await
}

/// The live token's owner.
pub async fn user_for(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<User>> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.timezone, u.is_admin, u.calendar_secret
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

pub async fn live_for_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<TokenInfo>> {
    sqlx::query_as(
        "SELECT id, label, created_at, last_used_at FROM api_tokens
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Revokes one of the user's tokens; false when it was not theirs or not live.
pub async fn revoke(conn: &mut PgConnection, user_id: i64, token_id: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
            .bind(token_id)
            .bind(user_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
