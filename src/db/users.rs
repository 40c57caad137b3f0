use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
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
    /// Set when an admin deactivated the account (a leaver): no sign-in,
    /// no session, no token; history keeps the person.
    #[sqlx(default)]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Optional contact details shown to teammates.
    #[sqlx(default)]
    pub phone: Option<String>,
    #[sqlx(default)]
    pub chat_handle: Option<String>,
}

impl User {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }

    /// The name as history shows it: "Priya Shah (left)" for a leaver.
    pub fn display_name(&self) -> String {
        if self.is_active() {
            self.name.clone()
        } else {
            format!("{} (left)", self.name)
        }
    }
}

const COLUMNS: &str =
    "id, email, name, timezone, is_admin, calendar_secret, session_epoch, deactivated_at, phone, chat_handle";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub password_hash: Option<String>,
    pub is_admin: bool,
}

/// Inserts a user; `None` when the e-mail is taken.
pub async fn insert(conn: &mut PgConnection, new: NewUser<'_>) -> sqlx::Result<Option<User>> {
    query_as(&format!(
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
    query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The users with these ids, in no particular order, in one query.
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<User>> {
    query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// The users with these e-mails (as stored: lower case), in one query:
/// how history names the people its entries recorded by e-mail.
pub async fn by_emails(conn: &mut PgConnection, emails: &[String]) -> sqlx::Result<Vec<User>> {
    query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = ANY($1)"))
        .bind(emails)
        .fetch_all(conn)
        .await
}

pub async fn by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<User>> {
    query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = lower($1)"))
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

/// The account for `email` if nobody has set it up yet: made by an import
/// for a person invited to it, with no password, no sign-in ever and no
/// single sign-on link. Locked until the transaction ends.
pub async fn unclaimed_by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<User>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM users u
         WHERE email = lower($1) AND password_hash IS NULL AND last_sign_in_at IS NULL
           AND deactivated_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM oidc_identities o WHERE o.user_id = u.id)
         FOR UPDATE"
    ))
    .bind(email.trim())
    .fetch_optional(conn)
    .await
}

/// The active account whose personal feed this is (a leaver's feed ends).
pub async fn by_calendar_secret(conn: &mut PgConnection, secret: &str) -> sqlx::Result<Option<User>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE calendar_secret = $1 AND deactivated_at IS NULL"
    ))
    .bind(secret)
    .fetch_optional(conn)
    .await
}

/// The account's id, password hash (if it has one), session epoch and
/// whether it is active.
pub async fn password_hash(
    conn: &mut PgConnection,
    email: &str,
) -> sqlx::Result<Option<(i64, Option<String>, i32, bool)>> {
    query_as("SELECT id, password_hash, session_epoch, deactivated_at IS NULL FROM users WHERE email = lower($1)")
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

pub async fn password_hash_by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
}

pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<User>> {
    query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY lower(name), email"))
        .fetch_all(conn)
        .await
}

pub async fn any_exist(conn: &mut PgConnection) -> sqlx::Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(conn)
        .await
}

pub struct ProfileUpdate<'a> {
    pub name: &'a str,
    pub timezone: &'a str,
    pub phone: Option<&'a str>,
    pub chat_handle: Option<&'a str>,
}

pub async fn update_profile(conn: &mut PgConnection, id: i64, p: ProfileUpdate<'_>) -> sqlx::Result<()> {
    query("UPDATE users SET name = $2, timezone = $3, phone = $4, chat_handle = $5 WHERE id = $1")
        .bind(id)
        .bind(p.name)
        .bind(p.timezone)
        .bind(p.phone)
        .bind(p.chat_handle)
        .execute(conn)
        .await
        .map(drop)
}

/// An account as the admin's list of people shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// Every account, active first, by name.
pub async fn accounts(conn: &mut PgConnection) -> sqlx::Result<Vec<Account>> {
    query_as(
        "SELECT email, name, is_admin, deactivated_at, last_sign_in_at FROM users
         ORDER BY deactivated_at IS NOT NULL, lower(name), email",
    )
    .fetch_all(conn)
    .await
}

/// Marks the account deactivated (a leaver) and ends its sessions (a new
/// epoch); `false` when it already was.
pub async fn deactivate(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<bool> {
    query(
        "UPDATE users SET deactivated_at = $2, session_epoch = session_epoch + 1
         WHERE id = $1 AND deactivated_at IS NULL",
    )
    .bind(id)
    .bind(at)
    .execute(conn)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Brings the account back; `false` when it was not deactivated.
pub async fn reactivate(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    query("UPDATE users SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL")
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Notes a successful sign-in.
pub async fn record_sign_in(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

/// Raises the session epoch: every session signed in before ends; returns
/// the new epoch, for the session that asked.
pub async fn raise_session_epoch(conn: &mut PgConnection, id: i64) -> sqlx::Result<i32> {
    query_scalar("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Sets a new password and ends every session signed in under the old one;
/// returns the new session epoch, for the session that made the change.
pub async fn set_password_hash(conn: &mut PgConnection, id: i64, hash: &str) -> sqlx::Result<i32> {
    query_scalar(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id)
    .bind(hash)
    .fetch_one(conn)
    .await
}

pub async fn reset_calendar_secret(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("UPDATE users SET calendar_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(secrets::random_secret())
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the person's row lock that serialises re-deriving their recovery
/// days, and returns their time zone (`None`: no such user).
pub async fn lock_for_recovery(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    query_scalar("SELECT timezone FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The user's time zone as stored, if the user exists.
pub async fn timezone(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    query_scalar("SELECT timezone FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Serialises concurrent first-run set-ups until the transaction ends, so
/// only one first admin is created.
pub async fn lock_for_setup(conn: &mut PgConnection) -> sqlx::Result<()> {
    query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await
        .map(|_| ())
}

/// When the account last signed in (`Some(None)`: never).
pub async fn last_sign_in_at(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<Option<DateTime<Utc>>>> {
    query_scalar("SELECT last_sign_in_at FROM users WHERE email = lower($1)")
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

/// Locks the account's row until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}
