//! Recording leave, and telling who must find cover.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use sqlx::PgConnection;

use crate::db::leave::Leave;
use crate::db::teams::TeamRole;
use crate::db::users::User;
use crate::db::{self};
use crate::domain::schedule::local_to_instant;
use crate::error::{AppError, AppResult, violated_constraint};
use crate::ops::Ctx;
use crate::ops::notify::when;
use crate::ops::notify::{self, notify};

/// Records leave from `start` to `end` (inclusive, the person's zone), or
/// changes the end of the leave that starts on `start`. The shifts it
/// collides with are marked "needs cover", and the person and their
/// teams' managers are told.
pub async fn put(conn: &mut PgConnection, ctx: &Ctx, me: &User, start: NaiveDate, end: NaiveDate) -> AppResult<Leave> {
    let now = ctx.clock.now();
    let today = now.with_timezone(&me.tz()).date_naive();
    if end < start {
        return Err(AppError::Unprocessable(
            "The leave must end on or after its first day".into(),
        ));
    }
    if end < today {
        return Err(AppError::Unprocessable(
            "That leave is over; record leave that ends today or later".into(),
        ));
    }
    if start.year() > today.year() + 2 || (end - start).num_days() > 366 {
        return Err(AppError::Unprocessable(
            "Record leave up to two years ahead and at most a year at a time".into(),
        ));
    }
    let midnight = NaiveTime::MIN;
    let span = (
        local_to_instant(me.tz(), start, midnight),
        local_to_instant(me.tz(), end + Duration::days(1), midnight),
    );
    let saved = match db::leave::put(conn, me.id, (start, end), span).await {
        Ok(saved) => saved,
        Err(e) if violated_constraint(&e) == Some("leave_no_overlap") => return Err(overlap()),
        Err(e) => return Err(e.into()),
    };
    let leave = saved.map_err(|clash| {
        AppError::Conflict(format!(
            "This overlaps your leave from {} to {}; change that one instead",
            notify::date(clash.start_date),
            notify::date(clash.end_date)
        ))
    })?;
    tell_managers(conn, ctx, me, &leave).await?;
    Ok(leave)
}

fn overlap() -> AppError {
    AppError::Conflict("This overlaps other leave of yours; change that one instead".into())
}

/// Each team where the leave collides with a shift hears about it once.
async fn tell_managers(conn: &mut PgConnection, ctx: &Ctx, me: &User, leave: &Leave) -> AppResult<()> {
    let teams = db::teams::for_user(conn, me.id, false).await?;
    let ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    let now = ctx.clock.now();
    let collisions = db::leave::needs_cover(conn, &ids, now, leave.ends_at).await?;
    for team in &teams {
        let mine: Vec<_> = collisions
            .iter()
            .filter(|c| c.team_id == team.id && c.user_id == me.id && c.leave_starts_at == leave.starts_at)
            .collect();
        let Some(first) = mine.first() else { continue };
        let managers: Vec<i64> = db::teams::members(conn, team.id)
            .await?
            .into_iter()
            .filter(|m| m.role == TeamRole::Manager || m.user_id == me.id)
            .map(|m| m.user_id)
            .collect();
        let msg = format!(
            "Needs cover: {} is on leave during their {} shift in {} from {}",
            me.name,
            first.role,
            first.rotation_name,
            when(first.starts_at.max(now), team.tz())
        );
        notify(conn, ctx, team.id, &managers, &msg, "/").await?;
    }
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, me: &User, start: NaiveDate) -> AppResult<Leave> {
    db::leave::delete(conn, me.id, start).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "You have no leave starting on {}; see your profile for the leave you recorded",
            notify::date(start)
        ))
    })
}
