//! Leavers: an admin deactivates an account (sign-in, sessions and tokens
//! end at once; it leaves every rotation from the next handoff by the rules
//! of removing a member) and can bring the account back later.

use serde_json::json;
use sqlx::PgConnection;

use crate::clock::Clock;
use crate::db::{self, users::User};
use crate::error::{AppError, AppResult};
use crate::ops::{members, notify};

/// Deactivates the account of `email`. Refused (409) while they are on call
/// or hold weeks nobody covers yet, naming them; then nothing changes.
pub async fn deactivate(conn: &mut PgConnection, actor: &User, email: &str, clock: &Clock) -> AppResult<User> {
    let user = account(conn, email).await?;
    // Held to the end: a concurrent deactivation, or a manager adding them
    // to a team meanwhile, waits and then sees the account as it is.
    db::users::lock(conn, user.id).await?;
    let user = account(conn, email).await?;
    if user.id == actor.id {
        return Err(AppError::Conflict(
            "You cannot deactivate your own account; ask another admin".into(),
        ));
    }
    if !user.is_active() {
        return Err(AppError::Conflict(format!("{} is already deactivated", user.email)));
    }
    let now = clock.now();
    let teams = db::teams::for_user(conn, user.id, false).await?;
    for mine in &teams {
        let team = db::teams::by_id(conn, mine.id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("team {} vanished", mine.id)))?;
        let upcoming = db::shifts::upcoming_for_member(conn, team.id, user.id, now).await?;
        if let Some(current) = upcoming.iter().find(|s| s.starts_at <= now) {
            return Err(AppError::Conflict(format!(
                "{} is on call until {} ({}, {} {}) — override that week first, then deactivate",
                user.name,
                notify::when(current.ends_at, team.tz()),
                team.name,
                current.rotation_name,
                current.role,
            )));
        }
        members::remove_member(conn, &team, actor.id, &user.email, clock).await?;
    }
    if !db::users::deactivate(conn, user.id, now).await? {
        return Err(AppError::Conflict(format!("{} is already deactivated", user.email)));
    }
    db::tokens::revoke_all_for(conn, user.id, now).await?;
    db::password_resets::use_up_all(conn, user.id, now).await?;
    db::user_sessions::end_all_but(conn, user.id, None, now).await?;
    let left: Vec<&str> = teams.iter().map(|t| t.slug.as_str()).collect();
    db::audit::record_personal(
        conn,
        actor.id,
        now,
        "account.deactivate",
        None,
        Some(json!({"email": user.email, "teams_left": left})),
    )
    .await?;
    account(conn, &user.email).await
}

/// Brings a deactivated account back: it can sign in again (a new session;
/// old ones and tokens stay ended). Its rotation places do not come back.
pub async fn reactivate(conn: &mut PgConnection, actor: &User, email: &str, clock: &Clock) -> AppResult<User> {
    let user = account(conn, email).await?;
    if !db::users::reactivate(conn, user.id).await? {
        return Err(AppError::Conflict(format!("{} is active already", user.email)));
    }
    db::audit::record_personal(
        conn,
        actor.id,
        clock.now(),
        "account.reactivate",
        None,
        Some(json!({"email": user.email})),
    )
    .await?;
    account(conn, &user.email).await
}

async fn account(conn: &mut PgConnection, email: &str) -> AppResult<User> {
    db::users::by_email(conn, email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no account for {}", email.trim())))
}
