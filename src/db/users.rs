use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::secrets;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub timezone: String,
    pub is_admin: bool,
    pub calendar_secret: String,
    /// Raised when the password changes; sessions from before are over.
    #[sqlx(default)]
    pub session_epoch: i32,
}

impl User {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }
}

const COLUMNS: &str = "id, email, name, timezone, is_admin, calendar_secret, session_epoch";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub password_hash: Option<String>,
    pub is_admin: bool,
}

/// Inserts a user; `None` when the e-mail is taken.
pub async fn insert(conn: &mut PgConnection, new: NewUser<'_>) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!(
        "INSERT INTO users (email, name, timezone, password_hash, is_admin, calendar_secret)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (email) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(new.email)
    .bind(new.name)
    .bind(new.timezone)
    .bind(new.password_hash)
    .bind(new.is_admin)
    .bind(secrets::random_secret())
    .fetch_optional(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The users with these ids, in no particular order, in one query.
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await
}

pub async fn by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = lower($1)"))
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

pub async fn by_calendar_secret(conn: &mut PgConnection, secret: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE calendar_secret = $1"))
        .bind(secret)
        .fetch_optional(conn)
        .await
}

/// The account's id, password hash (if it has one) and session epoch.
pub async fn password_hash(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<(i64, Option<String>, i32)>> {
    sqlx::query_as("SELECT id, password_hash, session_epoch FROM users WHERE email = lower($1)")
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

pub async fn password_hash_by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
}

pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY lower(name), email"))
        .fetch_all(conn)
        .await
}

pub async fn any_exist(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(conn)
        .await
}

pub async fn update_profile(conn: &mut PgConnection, id: i64, name: &str, timezone: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET name = $2, timezone = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(timezone)
        .execute(conn)
        .await
        .map(drop)
}

/// Sets a new password and ends every session signed in under the old one;
/// returns the new session epoch, for the session that made the change.
pub async fn set_password_hash(conn: &mut PgConnection, id: i64, hash: &str) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id)
    .bind(hash)
    .fetch_one(conn)
    .await
}

pub async fn reset_calendar_secret(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET calendar_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(secrets::random_secret())
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the person's row lock that serialises re-deriving their recovery
/// days, and returns their time zone (`None`: no such user).
pub async fn lock_for_recovery(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT timezone FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The user's time zone as stored, if the user exists.
pub async fn timezone(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT timezone FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Serialises concurrent first-run set-ups until the transaction ends, so
/// only one first admin is created.
pub async fn lock_for_setup(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await
        .map(|_| ())
}
