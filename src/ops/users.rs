use sqlx::PgConnection;

use crate::db::{self, users::User};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::password;

pub struct NewUserInput<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub timezone: Option<&'a str>,
    pub password: Option<&'a str>,
    pub is_admin: bool,
}

pub async fn create_user(conn: &mut PgConnection, input: NewUserInput<'_>) -> AppResult<User> {
    let email = validate::email(input.email)?;
    let name = validate::name(input.name)?;
    let tz = validate::time_zone(input.timezone.filter(|z| !z.trim().is_empty()).unwrap_or("UTC"))?;
    // No password (`None`) is for accounts that sign in another way; an
    // empty one is a mistake, and an admin always has one.
    let hash = match input.password {
        Some(p) => Some(password::hash(validate::password(p, &[&email, &name])?.to_owned()).await?),
        None if input.is_admin => {
            return Err(AppError::Unprocessable("An admin account needs a password".into()));
        }
        None => None,
    };
    db::users::insert(
        conn,
        db::users::NewUser {
            email: &email,
            name: &name,
            timezone: tz.name(),
            password_hash: hash,
            is_admin: input.is_admin,
        },
    )
    .await?
    .ok_or_else(|| AppError::Conflict(format!("There is already an account for {email}")))
}

/// Sets up an account an import made for an invited person (see
/// `db::users::unclaimed_by_email`): their name, zone and first password,
/// checked as for a new account.
pub async fn set_up_unclaimed(
    conn: &mut PgConnection,
    user: &User,
    name: &str,
    timezone: &str,
    password: &str,
) -> AppResult<User> {
    let name = validate::name(name)?;
    let tz = validate::time_zone(timezone)?;
    let hash = password::hash(validate::password(password, &[&user.email, &name])?.to_owned()).await?;
    db::users::update_profile(
        conn,
        user.id,
        db::users::ProfileUpdate {
            name: &name,
            timezone: tz.name(),
            phone: user.phone.as_deref(),
            chat_handle: user.chat_handle.as_deref(),
        },
    )
    .await?;
    db::users::set_password_hash(conn, user.id, &hash).await?;
    db::users::by_id(conn, user.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("account {} vanished", user.id)))
}

/// The first-run set-up: the first account, an admin. Concurrent attempts
/// queue on a lock, so only one admin is created; afterwards it is refused.
pub async fn set_up_first_admin(conn: &mut PgConnection, input: NewUserInput<'_>) -> AppResult<User> {
    db::users::lock_for_setup(conn).await?;
    if db::users::any_exist(conn).await? {
        return Err(AppError::forbidden("Rota is already set up; sign in instead"));
    }
    create_user(
        conn,
        NewUserInput {
            is_admin: true,
            ..input
        },
    )
    .await
}
