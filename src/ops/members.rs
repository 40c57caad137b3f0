use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::clock::Clock;
use crate::db::{self, teams::Team, teams::TeamRole};
use crate::error::{AppError, AppResult};
use crate::ops::notify;
use crate::ops::rotations::change_settings;

/// Adds a person to the team or changes their role; their name, for the
/// sentence that says so.
pub async fn set_member(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    email: &str,
    role: TeamRole,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let user = db::users::by_email(conn, email).await?.ok_or_else(|| {
        AppError::Unprocessable(format!(
            "There is no account for {}; an admin can create one under Admin, then add them here",
            email.trim()
        ))
    })?;
    if !user.is_active() {
        return Err(AppError::Conflict(format!(
            "{} has left (their account is deactivated); an admin can reactivate it under Admin first",
            user.name
        )));
    }
    let before = db::teams::set_member(conn, team.id, user.id, role).await?;
    if before != Some(role) {
        db::audit::record(
            conn,
            team.id,
            Some(actor_id),
            now,
            if before.is_some() { "member.role" } else { "member.add" },
            before.map(|r| json!({"email": user.email, "role": r.as_str()})),
            Some(json!({"email": user.email, "role": role.as_str()})),
        )
        .await?;
    }
    Ok(user.name)
}

/// Removes a person from the team and from its rotations from the next
/// handoff on, and resets the team's calendar link they knew. Refused (409)
/// while they are on call, or when a rotation would be left with fewer than
/// two people. Gives the removed person's name.
pub async fn remove_member(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    email: &str,
    clock: &Clock,
) -> AppResult<String> {
    let user = db::users::by_email(conn, email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{} is not a member of {}", email.trim(), team.name)))?;
    // Membership first, then the team's rotations in id order (the order the
    // extension job takes them), so concurrent changes queue, not deadlock.
    db::teams::lock_membership(conn, team.id, user.id).await?;
    db::rotations::lock_team(conn, team.id).await?;
    let now = clock.now();
    let members = db::teams::members(conn, team.id).await?;
    let Some(member) = members.iter().find(|m| m.user_id == user.id) else {
        return Err(AppError::NotFound(format!(
            "{} is not a member of {}",
            user.email, team.name
        )));
    };
    let upcoming = db::shifts::upcoming_for_member(conn, team.id, user.id, now).await?;
    if let Some(current) = upcoming.iter().find(|s| s.starts_at <= now) {
        return Err(AppError::Conflict(format!(
            "{} is on call now ({} {}, until {}); ask someone to cover that week, or remove them after the handoff",
            user.name,
            current.rotation_name,
            current.role,
            notify::when(current.ends_at, team.tz())
        )));
    }
    for (rotation, version) in db::rotations::for_team(conn, team.id).await? {
        if !version.participants.contains(&user.id) {
            continue;
        }
        let remaining: Vec<i64> = version.participants.iter().copied().filter(|p| *p != user.id).collect();
        if remaining.len() < 2 {
            return Err(AppError::Conflict(format!(
                "Removing {} would leave the rotation {} with one person; add someone to it first",
                user.name, rotation.name
            )));
        }
        change_settings(conn, team, &rotation, actor_id, now, |s| s.participants = remaining).await?;
    }
    let still = db::shifts::upcoming_for_member(conn, team.id, user.id, now).await?;
    if !still.is_empty() {
        let weeks: Vec<String> = still
            .iter()
            .map(|s| {
                format!(
                    "{} from {}",
                    s.rotation_name,
                    notify::date(s.starts_at.with_timezone(&team.tz()).date_naive())
                )
            })
            .collect();
        return Err(AppError::Conflict(format!(
            "{} still has shifts that need cover first: {}",
            user.name,
            weeks.join(", ")
        )));
    }
    db::teams::remove_member(conn, team.id, user.id).await?;
    db::teams::reset_calendar_secret(conn, team.id).await?;
    db::audit::record(
        conn,
        team.id,
        Some(actor_id),
        now,
        "member.remove",
        Some(json!({"email": user.email, "role": member.role})),
        None,
    )
    .await?;
    Ok(user.name)
}
