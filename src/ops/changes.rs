//! The rules every schedule change obeys, and managers' overrides.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::changes::{Change, NewChange};
use crate::db::teams::Team;
use crate::db::users::User;
use crate::db::{self};
use crate::domain::validate;
use crate::error::{AppError, AppResult, violated_constraint};
use crate::ops::Ctx;
use crate::ops::swaps::when;

/// Notifies those of `users` who are still members of the team.
pub async fn notify(
    conn: &mut PgConnection,
    ctx: &Ctx,
    team_id: i64,
    users: &[i64],
    message: &str,
    link: &str,
) -> AppResult<()> {
    db::notifications::create(conn, team_id, users, (message, link), ctx.clock.now(), ctx.mail).await?;
    Ok(())
}

/// `user_id`'s role in the team, if they are a member.
pub async fn role_in(conn: &mut PgConnection, team_id: i64, user_id: i64) -> AppResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await?,
    )
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
    role: &str,
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
            l.start_date.format("%-d %b"),
            l.end_date.format("%-d %b %Y")
        )));
    }
    if db::changes::holds_other_role(conn, rotation_id, who.id, role, span, giving_up).await? {
        let other = if role == "primary" { "secondary" } else { "primary" };
        return Err(AppError::Conflict(format!(
            "{} is {other} on call during that time, and nobody holds both roles at once; pick another week or person",
            who.name
        )));
    }
    Ok(())
}

/// Lays the changes; the exclusion constraints stay the last guard.
pub async fn lay(conn: &mut PgConnection, changes: &[Change]) -> AppResult<()> {
    match db::changes::lay(conn, changes).await {
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

/// A manager's direct assignment.
pub struct Override<'a> {
    pub rotation: &'a str,
    pub role: &'a str,
    pub email: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: &'a str,
    /// The manager knows the person is on leave and assigns them anyway.
    pub despite_leave: bool,
}

/// Assigns `role` over the span to someone at once. A span that has begun
/// changes only from now on; the past never changes.
pub async fn override_shift(
    conn: &mut PgConnection,
    ctx: &Ctx,
    team: &Team,
    me: &User,
    o: &Override<'_>,
) -> AppResult<Change> {
    let role = match o.role {
        "primary" | "secondary" => o.role,
        other => {
            return Err(AppError::Unprocessable(format!(
                "\"{other}\" is not a role: use primary or secondary"
            )));
        }
    };
    let reason = validate::line(
        "The reason for the override (it goes in the team's history)",
        o.reason,
        500,
    )?;
    let reason = reason.as_str();
    let rotation = db::rotations::by_slug(conn, team.id, o.rotation)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{} has no rotation \"{}\"", team.name, o.rotation)))?;
    let who = member_by_email(conn, team, o.email).await?;
    db::rotations::lock(conn, rotation.id).await?;
    let now = ctx.clock.now();
    if o.ends_at <= now {
        return Err(AppError::Unprocessable(
            "That time is over, and nothing changes in the past; choose a time from now on".into(),
        ));
    }
    if o.starts_at >= o.ends_at {
        return Err(AppError::Unprocessable("The override must end after it starts".into()));
    }
    let span = (o.starts_at.max(now), o.ends_at);
    if !o.despite_leave {
        may_take(conn, team, &who, rotation.id, role, span, None).await?;
    } else if db::changes::holds_other_role(conn, rotation.id, who.id, role, span, None).await? {
        let other = if role == "primary" { "secondary" } else { "primary" };
        return Err(AppError::Conflict(format!(
            "{} is {other} on call during that time, and nobody holds both roles at once; change that role first",
            who.name
        )));
    }
    let before = holders(conn, rotation.id, role, span).await?;
    let change = db::changes::insert(
        conn,
        &NewChange {
            rotation_id: rotation.id,
            role,
            user_id: who.id,
            starts_at: span.0,
            ends_at: span.1,
            kind: "override",
            request_id: None,
            reason,
            created_by: Some(me.id),
        },
        now,
    )
    .await?;
    lay(conn, std::slice::from_ref(&change)).await?;
    db::audit::record(
        conn,
        team.id,
        Some(me.id),
        now,
        "override",
        Some(json!({"rotation": rotation.slug, "role": role, "shifts": before})),
        Some(
            json!({"rotation": rotation.slug, "role": role, "starts_at": span.0, "ends_at": span.1,
            "email": who.email, "reason": reason, "despite_leave": o.despite_leave}),
        ),
    )
    .await?;
    let tz = team.tz();
    let displaced: Vec<i64> = before
        .iter()
        .filter_map(|h| h["user_id"].as_i64())
        .filter(|u| *u != who.id)
        .collect();
    let msg = format!(
        "{} assigned you {role} in {} from {} to {}: {reason}",
        me.name,
        rotation.name,
        when(span.0, tz),
        when(span.1, tz)
    );
    notify(conn, ctx, team.id, &[who.id], &msg, &format!("/teams/{}", team.slug)).await?;
    let msg = format!(
        "Your shift moved: {} now holds {role} in {} from {} to {} ({reason})",
        who.name,
        rotation.name,
        when(span.0, tz),
        when(span.1, tz)
    );
    notify(conn, ctx, team.id, &displaced, &msg, &format!("/teams/{}", team.slug)).await?;
    Ok(change)
}

/// Who held the role over the span, for the audit log.
async fn holders(
    conn: &mut PgConnection,
    rotation_id: i64,
    role: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> AppResult<Vec<serde_json::Value>> {
    let rows: Vec<(i64, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.user_id, u.email, greatest(s.starts_at, $3), least(s.ends_at, $4)
         FROM shifts s JOIN users u ON u.id = s.user_id
         WHERE s.rotation_id = $1 AND s.role = $2 AND s.ends_at > $3 AND s.starts_at < $4 ORDER BY s.starts_at",
    )
    .bind(rotation_id)
    .bind(role)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, s, e)| json!({"user_id": id, "email": email, "starts_at": s, "ends_at": e}))
        .collect())
}
