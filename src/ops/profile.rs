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

/// What a person may change about themselves on their profile.
pub struct ProfileInput<'a> {
    pub name: &'a str,
    pub timezone: &'a str,
    /// Empty or missing: none.
    pub phone: Option<&'a str>,
    pub chat_handle: Option<&'a str>,
}

/// Changes the person's name, time zone and contact details.
pub async fn update_profile(
    conn: &mut PgConnection,
    user: &User,
    input: ProfileInput<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let name = validate::name(input.name)?;
    let tz = validate::time_zone(input.timezone)?;
    let phone = given(input.phone).map(validate::phone).transpose()?;
    let chat_handle = given(input.chat_handle)
        .map(|h| validate::line("A chat handle", h, 80))
        .transpose()?;
    if name == user.name && tz.name() == user.timezone && phone == user.phone && chat_handle == user.chat_handle {
        return Ok(());
    }
    db::users::update_profile(
        conn,
        user.id,
        db::users::ProfileUpdate {
            name: &name,
            timezone: tz.name(),
            phone: phone.as_deref(),
            chat_handle: chat_handle.as_deref(),
        },
    )
    .await?;
    // Name and zone always; contact details only when they changed.
    let mut before = json!({"name": user.name, "timezone": user.timezone});
    let mut after = json!({"name": name, "timezone": tz.name()});
    if phone != user.phone {
        before["phone"] = json!(user.phone);
        after["phone"] = json!(phone);
    }
    if chat_handle != user.chat_handle {
        before["chat_handle"] = json!(user.chat_handle);
        after["chat_handle"] = json!(chat_handle);
    }
    db::audit::record_personal(conn, user.id, now, "profile.change", Some(before), Some(after)).await?;
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
    // A reset link from before would undo the new password.
    db::password_resets::use_up_all(conn, user.id, now).await?;
    db::audit::record_personal(conn, user.id, now, "profile.password", None, None).await?;
    Ok(epoch)
}

/// An optional field: `None` when missing or blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Ends every other session of the person; returns the new session epoch
/// for the session that asked.
pub async fn sign_out_others(conn: &mut PgConnection, user: &User, now: DateTime<Utc>) -> AppResult<i32> {
    let epoch = db::users::raise_session_epoch(conn, user.id).await?;
    db::audit::record_personal(conn, user.id, now, "profile.sign_out_others", None, None).await?;
    Ok(epoch)
}

/// Gives the person a new calendar link; the old one stops working.
pub async fn reset_calendar(conn: &mut PgConnection, user: &User, now: DateTime<Utc>) -> AppResult<()> {
    db::users::reset_calendar_secret(conn, user.id).await?;
    db::audit::record_personal(conn, user.id, now, "profile.calendar_reset", None, None).await?;
    Ok(())
}
