//! Managers' overrides: assigning a role over a span at once, audited,
//! with the people it moves told.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::changes::{Change, NewChange};
use crate::db::teams::Team;
use crate::db::users::User;
use crate::db::{self};
use crate::domain::role::Role;
use crate::domain::swap::ChangeKind;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::ops::Ctx;
use crate::ops::changes::{lay, may_take, member_by_email};
use crate::ops::notify::{notify, when};

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
    let Some(role) = Role::parse(o.role) else {
        return Err(AppError::Unprocessable(format!(
            "\"{}\" is not a role: use primary or secondary",
            o.role
        )));
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
        let other = role.other();
        return Err(AppError::Conflict(format!(
            "{} is {other} on call during that time, and nobody holds both roles at once; change that role first",
            who.name
        )));
    }
    let before = db::shifts::holders(conn, rotation.id, role, span).await?;
    let change = db::changes::insert(
        conn,
        &NewChange {
            rotation_id: rotation.id,
            role,
            user_id: who.id,
            starts_at: span.0,
            ends_at: span.1,
            kind: ChangeKind::Override,
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
