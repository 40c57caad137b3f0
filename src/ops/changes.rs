//! The rules every schedule change obeys: who may take a role when, and
//! laying a change over the shifts.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::changes::Change;
use crate::db::teams::{Team, TeamRole};
use crate::db::users::User;
use crate::db::{self};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, violated_constraint};
use crate::ops::notify;

/// `user_id`'s role in the team, if they are a member.
pub async fn role_in(conn: &mut PgConnection, team_id: i64, user_id: i64) -> AppResult<Option<TeamRole>> {
    Ok(db::teams::role_of(conn, team_id, user_id).await?)
}

pub async fn member_by_email(conn: &mut PgConnection, team: &Team, email: &str) -> AppResult<User> {
    let not_member = || {
        AppError::Unprocessable(format!(
            "{} is not a member of {}; name a team member (a manager can add them under Team settings)",
            email.trim(),
            team.name
        ))
    };
    let user = db::users::by_email(conn, &email.trim().to_lowercase())
        .await?
        .ok_or_else(not_member)?;
    role_in(conn, team.id, user.id).await?.ok_or_else(not_member)?;
    Ok(user)
}

/// Whether `who` may take `role` over `span`: a member, not on leave, and
/// not holding the other role then (shifts inside `giving_up` aside).
pub async fn may_take(
    conn: &mut PgConnection,
    team: &Team,
    who: &User,
    rotation_id: i64,
    role: Role,
    span: (DateTime<Utc>, DateTime<Utc>),
    giving_up: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> AppResult<()> {
    if role_in(conn, team.id, who.id).await?.is_none() {
        return Err(AppError::Unprocessable(format!(
            "{} is no longer a member of {}; ask someone else",
            who.name, team.name
        )));
    }
    let leave = db::leave::overlapping(conn, &[who.id], span.0, span.1).await?;
    if let Some(l) = leave.first() {
        return Err(AppError::Conflict(format!(
            "{} is on leave from {} to {}; ask someone else, or a manager can override knowingly",
            who.name,
            notify::date_short(l.start_date),
            notify::date(l.end_date)
        )));
    }
    if db::changes::holds_other_role(conn, rotation_id, who.id, role, span, giving_up).await? {
        let other = role.other();
        return Err(AppError::Conflict(format!(
            "{} is {other} on call during that time, and nobody holds both roles at once; pick another week or person",
            who.name
        )));
    }
    Ok(())
}

/// Lays the changes; the exclusion constraints stay the last guard.
pub async fn lay(conn: &mut PgConnection, changes: &[Change]) -> AppResult<()> {
    match crate::ops::schedule::lay(conn, changes).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(AppError::Unprocessable(
            "That time is not in the generated schedule yet (it reaches about six months ahead); choose an earlier time"
                .into(),
        )),
        Err(e) if violated_constraint(&e).is_some_and(|c| c.starts_with("shifts_")) => {
            Err(AppError::Conflict("This shift changed since the request — ask again".into()))
        }
        Err(e) => Err(e.into()),
    }
}
