//! Invitations: a single-use link (only its SHA-256 is kept) that lets a
//! person set up their account, joining a team if it names one.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::teams::TeamRole;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: i64,
    pub email: String,
    pub team_id: Option<i64>,
    pub team_slug: Option<String>,
    pub team_name: Option<String>,
    pub role: TeamRole,
    pub invited_by: Option<i64>,
    pub invited_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT i.id, i.email, i.team_id, t.slug AS team_slug, t.name AS team_name, i.role,
        i.invited_by, u.name AS invited_by_name, i.created_at, i.expires_at, i.accepted_at, i.revoked_at
 FROM invitations i LEFT JOIN teams t ON t.id = i.team_id LEFT JOIN users u ON u.id = i.invited_by";

/// What a new invitation holds.
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub team_id: Option<i64>,
    pub role: TeamRole,
    pub invited_by: Option<i64>,
    pub token_hash: &'a [u8],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, new: &NewInvitation<'_>) -> sqlx::Result<i64> {
    query_scalar(
        "INSERT INTO invitations (email, team_id, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.email)
    .bind(new.team_id)
    .bind(new.role)
    .bind(new.token_hash)
    .bind(new.invited_by)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Invitation>> {
    query_as(&format!("{SELECT} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The invitation whose link has this hash, in whatever state.
pub async fn by_hash(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<Invitation>> {
    query_as(&format!("{SELECT} WHERE i.token_hash = $1"))
        .bind(hash)
        .fetch_optional(conn)
        .await
}

/// Invitations neither accepted, revoked nor expired at `now`, newest
/// first: all of them (`teams` is `None`), or those into these teams.
pub async fn pending(
    conn: &mut PgConnection,
    teams: Option<&[i64]>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Invitation>> {
    query_as(&format!(
        "{SELECT} WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $1
           AND ($2::bigint[] IS NULL OR i.team_id = ANY($2))
         ORDER BY i.created_at DESC, i.id DESC"
    ))
    .bind(now)
    .bind(teams)
    .fetch_all(conn)
    .await
}

/// The pending invitations for an address, oldest first.
pub async fn pending_for_email(
    conn: &mut PgConnection,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Invitation>> {
    query_as(&format!(
        "{SELECT} WHERE i.email = lower($1) AND i.accepted_at IS NULL AND i.revoked_at IS NULL
           AND i.expires_at > $2
         ORDER BY i.created_at, i.id"
    ))
    .bind(email.trim())
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Withdraws a pending invitation; false when it was not pending.
pub async fn revoke(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = query(
        "UPDATE invitations SET revoked_at = $2
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a pending, unexpired invitation accepted by `user_id`; false when
/// it no longer was (used, revoked or expired meanwhile).
pub async fn mark_accepted(conn: &mut PgConnection, id: i64, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = query(
        "UPDATE invitations SET accepted_at = $3, accepted_by = $2
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the account may still be used (not deactivated).
pub async fn account_is_active(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND deactivated_at IS NULL)")
        .bind(user_id)
        .fetch_one(conn)
        .await
}
