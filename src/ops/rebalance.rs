//! A manager turns a rebalancing suggestion into a swap request in one click.
//!
//! The request is the overloaded person's: it is made on their behalf, with
//! a note naming the manager, and then follows the normal flow — the
//! counterpart accepts or declines, and once accepted it waits in the
//! managers' approvals like any other. The manager does not skip the
//! counterpart's consent (it is their week too), and the overloaded person,
//! told at once, can cancel it as the requester of any request can.

use sqlx::PgConnection;

use crate::db;
use crate::db::swaps::Request;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::ops::Ctx;
use crate::ops::notify::notify;
use crate::ops::notify::when;
use crate::ops::swaps::{Ask, ask};

/// Asks for the exchange of `shift_id` (the overloaded person's) and
/// `counterpart_shift_id`, on behalf of the first shift's holder.
pub async fn propose(
    conn: &mut PgConnection,
    ctx: &Ctx,
    team: &Team,
    manager: &User,
    shift_id: i64,
    counterpart_shift_id: i64,
) -> AppResult<Request> {
    let shift = db::shifts::by_id(conn, shift_id)
        .await?
        .filter(|s| s.team_slug == team.slug)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no shift {shift_id} in {}; reload the metrics page for fresh suggestions",
                team.name
            ))
        })?;
    let holder = db::users::by_id(conn, shift.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("person"))?;
    let note = format!(
        "Suggested by {} to even out the on-call load (see the team's metrics).",
        manager.name
    );
    let request = ask(
        conn,
        ctx,
        team,
        &holder,
        &Ask {
            shift_id,
            counterpart_shift_id: Some(counterpart_shift_id),
            cover_email: None,
            starts_at: None,
            ends_at: None,
            note: &note,
        },
    )
    .await?;
    if holder.id != manager.id {
        let msg = format!(
            "{} asked on your behalf to swap your {} week from {} with {}'s, to lighten your on-call load; \
             cancel it if it does not suit you",
            manager.name,
            request.role,
            when(request.starts_at, team.tz()),
            request.counterpart_name.as_deref().unwrap_or("a teammate"),
        );
        notify(
            conn,
            ctx,
            team.id,
            &[holder.id],
            &msg,
            &format!("/swaps/{}", request.id),
        )
        .await?;
    }
    Ok(request)
}
