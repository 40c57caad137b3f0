//! A person's own account: their name and zone, password and calendar link.
//! Each change is audited as theirs, under no team (nothing secret is
//! written to the log: neither a password, its hash, nor a calendar secret).

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::{self, users::User};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::password;

/// Changes the person's name and time zone.
pub async fn update_profile(
    conn: &mut PgConnection,
    user: &User,
    name: &str,
    timezone: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let name = validate::name(name)?;
    let tz = validate::time_zone(timezone)?;
    if name == user.name && tz.name() == user.timezone {
        return Ok(());
    }
    db::users::update_profile(conn, user.id, &name, tz.name()).await?;
    db::audit::record_personal(
        conn,
        user.id,
        now,
        "profile.change",
        Some(json!({"name": user.name, "timezone": user.timezone})),
        Some(json!({"name": name, "timezone": tz.name()})),
    )
    .await?;
    Ok(())
}

/// Sets a new password once the current one is given, ending every other
/// session; returns the new session epoch, for the session that made the
/// change.
pub async fn change_password(
    conn: &mut PgConnection,
    user: &User,
    current: &str,
    new: &str,
    now: DateTime<Utc>,
) -> AppResult<i32> {
    let stored = db::users::password_hash_by_id(conn, user.id).await?;
    if stored.is_none() {
        // Such an account signs in another way (an invitation, single
        // sign-on); a session alone must not be enough to give it a password.
        return Err(AppError::Unprocessable(
            "Your account has no password to change: it signs in without one. Ask an admin for a password reset link."
                .into(),
        ));
    }
    if !password::verify(current.to_owned(), stored).await? {
        return Err(AppError::Unprocessable(
            "Your current password is not right; nothing was changed".into(),
        ));
    }
    validate::password(new, &[&user.email, &user.name])?;
    let hash = password::hash(new.to_owned()).await?;
    let epoch = db::users::set_password_hash(conn, user.id, &hash).await?;
    db::audit::record_personal(conn, user.id, now, "profile.password", None, None).await?;
    Ok(epoch)
}

/// Gives the person a new calendar link; the old one stops working.
pub async fn reset_calendar(conn: &mut PgConnection, user: &User, now: DateTime<Utc>) -> AppResult<()> {
    db::users::reset_calendar_secret(conn, user.id).await?;
    db::audit::record_personal(conn, user.id, now, "profile.calendar_reset", None, None).await?;
    Ok(())
}
