//! Single sign-on identities, and what an SSO sign-in reads and marks:
//! pending invitations and the account's last sign-in.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The account linked to the provider's `subject` at `issuer`.
pub async fn linked_user(conn: &mut PgConnection, issuer: &str, subject: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2")
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
    sqlx::query(
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

/// Whether the account has been deactivated (a leaver).
pub async fn is_deactivated(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT deactivated_at IS NOT NULL FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .map(|d| d.unwrap_or(true))
}

/// Records when the account last signed in.
pub async fn mark_signed_in(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

/// An invitation waiting for its invitee.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: String,
    pub team_id: Option<i64>,
    pub role: String,
}

/// The newest invitation for `email` that is neither accepted, revoked nor
/// expired at `now`, locked until the transaction ends so it is accepted once.
pub async fn pending_invitation(
    conn: &mut PgConnection,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<PendingInvitation>> {
    sqlx::query_as(
        "SELECT id, email, team_id, role FROM invitations
         WHERE email = lower($1) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         ORDER BY created_at DESC, id DESC
         LIMIT 1
         FOR UPDATE",
    )
    .bind(email.trim())
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Marks the invitation accepted by `user_id`; false when it no longer waits.
pub async fn accept_invitation(
    conn: &mut PgConnection,
    id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE invitations SET accepted_at = $3, accepted_by = $2
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected() == 1)
}
