//! Single sign-on identities, and what an SSO sign-in reads and marks:
//! pending invitations and the account's last sign-in.

use crate::db::sql::{query, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The account linked to the provider's `subject` at `issuer`.
pub async fn linked_user(conn: &mut PgConnection, issuer: &str, subject: &str) -> sqlx::Result<Option<i64>> {
    query_scalar("SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(conn)
        .await
}

/// Links the provider's `subject` to `user_id`; false when someone linked
/// it first (two first sign-ins at once).
pub async fn link(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    query(
        "INSERT INTO oidc_identities (issuer, subject, user_id, linked_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (issuer, subject) DO NOTHING",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Whether the account is already linked to a subject of `issuer`.
pub async fn linked_at(conn: &mut PgConnection, issuer: &str, user_id: i64) -> sqlx::Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM oidc_identities WHERE issuer = $1 AND user_id = $2)")
        .bind(issuer)
        .bind(user_id)
        .fetch_one(conn)
        .await
}
