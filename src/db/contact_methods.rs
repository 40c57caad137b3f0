//! People's contact methods and notification rules.

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Method {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub label: String,
    pub target: String,
    /// The ntfy access token, or the webhook's signing secret.
    pub secret: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, kind, label, target, secret, verified_at, created_at";

/// The person's methods, oldest first.
pub async fn for_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<Method>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM contact_methods WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// One of the person's methods.
pub async fn of_user(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<Option<Method>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM contact_methods WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A new method awaiting its code; `None` when the person already has it.
pub struct NewMethod<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub label: &'a str,
    pub target: &'a str,
    pub secret: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, m: NewMethod<'_>) -> sqlx::Result<Option<Method>> {
    query_as(&format!(
        "INSERT INTO contact_methods (user_id, kind, label, target, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT ON CONSTRAINT contact_methods_once DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(m.user_id)
    .bind(m.kind)
    .bind(m.label)
    .bind(m.target)
    .bind(m.secret)
    .bind(m.now)
    .fetch_optional(conn)
    .await
}

/// Sets the code a test message carries (its hash), until `expires`.
pub async fn set_code(conn: &mut PgConnection, id: i64, hash: &[u8], expires: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE contact_methods SET code_hash = $2, code_expires_at = $3, code_attempts = 0 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(expires)
        .execute(conn)
        .await
        .map(drop)
}

/// What checking a code needs, with the row locked.
#[derive(Debug, sqlx::FromRow)]
pub struct Code {
    pub code_hash: Option<Vec<u8>>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub code_attempts: i32,
    pub verified_at: Option<DateTime<Utc>>,
}

pub async fn lock_code(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<Option<Code>> {
    query_as(
        "SELECT code_hash, code_expires_at, code_attempts, verified_at FROM contact_methods
         WHERE user_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn count_attempt(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("UPDATE contact_methods SET code_attempts = code_attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn mark_verified(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE contact_methods SET verified_at = $2, code_hash = NULL, code_expires_at = NULL WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

/// Removes one of the person's methods (and its rules); whether it was there.
pub async fn delete(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    query("DELETE FROM contact_methods WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(conn)
        .await
        .map(|d| d.rows_affected() > 0)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Rule {
    pub contact_method_id: i64,
    pub after_minutes: i32,
}

pub async fn rules(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<Rule>> {
    query_as(
        "SELECT contact_method_id, after_minutes FROM notification_rules WHERE user_id = $1
         ORDER BY after_minutes, contact_method_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Replaces the person's rules with `rules`.
pub async fn replace_rules(conn: &mut PgConnection, user_id: i64, rules: &[Rule]) -> sqlx::Result<()> {
    query("DELETE FROM notification_rules WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    query(
        "INSERT INTO notification_rules (user_id, contact_method_id, after_minutes)
         SELECT $1, m, a FROM UNNEST($2::bigint[], $3::int[]) AS r(m, a)
         ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(rules.iter().map(|r| r.contact_method_id).collect::<Vec<_>>())
    .bind(rules.iter().map(|r| r.after_minutes).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(drop)
}

/// The team's members with no confirmed method (who cannot be paged):
/// `(user_id, name)`, in the order of `db::teams::members`.
pub async fn unpageable_in_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    query_as(
        "SELECT u.id, u.name FROM memberships t JOIN users u ON u.id = t.user_id
         WHERE t.team_id = $1
           AND NOT EXISTS (SELECT 1 FROM contact_methods m WHERE m.user_id = u.id AND m.verified_at IS NOT NULL)
         ORDER BY lower(u.name), u.email",
    )
    .bind(team_id)
    .fetch_all(conn)
    .await
}
