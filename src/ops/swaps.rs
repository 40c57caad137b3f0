//! Swap and cover requests: asked, accepted, approved, applied. Nothing in
//! the schedule changes until a manager who is not a party approves, and
//! then in one transaction that re-checks who holds the shifts.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::changes::{Change, NewChange};
use crate::db::shifts::ShiftView;
use crate::db::swaps::{Decision, NewRequest, Request};
use crate::db::teams::{Team, TeamRole};
use crate::db::users::User;
use crate::db::{self};
use crate::domain::role::Role;
use crate::domain::swap::{Action, Refusal, RequestKind, Standing, State, next};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::ops::Ctx;
use crate::ops::changes::{self as rules};
use crate::ops::notify::{notify, when};

/// What a member asks for.
pub struct Ask<'a> {
    pub shift_id: i64,
    /// A swap: the counterpart's shift to take in exchange.
    pub counterpart_shift_id: Option<i64>,
    /// A cover: who covers (`None`: open to the team) and which part.
    pub cover_email: Option<&'a str>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub note: &'a str,
}

/// Creates a swap or cover request, after checking it could be applied.
pub async fn ask(conn: &mut PgConnection, ctx: &Ctx, team: &Team, me: &User, ask: &Ask<'_>) -> AppResult<Request> {
    let now = ctx.clock.now();
    let tz = team.tz();
    let note = validate::text("The note", ask.note, 500)?;
    let note = note.as_str();
    let mine = team_shift(conn, team, ask.shift_id).await?;
    if mine.user_id != me.id {
        return Err(AppError::forbidden(format!(
            "That shift is {}'s: they can ask for a swap or cover, or a manager can override it",
            mine.name
        )));
    }
    let id = if let Some(cp_id) = ask.counterpart_shift_id {
        let theirs = team_shift(conn, team, cp_id).await?;
        if theirs.rotation_id != mine.rotation_id {
            return Err(AppError::Unprocessable(
                "Swaps are within one rotation: pick a week of the same rotation".into(),
            ));
        }
        if theirs.user_id == me.id {
            return Err(AppError::Unprocessable(
                "Both shifts are yours: pick someone else's week".into(),
            ));
        }
        for s in [&mine, &theirs] {
            if s.starts_at <= now {
                return Err(AppError::Conflict(format!(
                    "The week from {} has already started, so it cannot be swapped; ask for a cover from now on, \
                     or ask a manager for an override",
                    when(s.starts_at, tz)
                )));
            }
        }
        let counterpart = db::users::by_id(conn, theirs.user_id)
            .await?
            .ok_or_else(|| AppError::not_found("person"))?;
        rules::may_take(
            conn,
            team,
            &counterpart,
            mine.rotation_id,
            mine.role,
            (mine.starts_at, mine.ends_at),
            Some((theirs.starts_at, theirs.ends_at)),
        )
        .await?;
        rules::may_take(
            conn,
            team,
            me,
            theirs.rotation_id,
            theirs.role,
            (theirs.starts_at, theirs.ends_at),
            Some((mine.starts_at, mine.ends_at)),
        )
        .await?;
        let id = db::swaps::insert(
            conn,
            &NewRequest {
                team_id: team.id,
                rotation_id: mine.rotation_id,
                kind: RequestKind::Swap,
                requester_id: me.id,
                shift_id: mine.id,
                role: mine.role,
                span: (mine.starts_at, mine.ends_at),
                counterpart_id: Some(counterpart.id),
                counterpart_shift: Some((theirs.id, theirs.role, theirs.starts_at, theirs.ends_at)),
                note,
            },
            now,
        )
        .await?;
        let link = format!("/swaps/{id}");
        let msg = format!(
            "{} asks to swap weeks: their {} from {} for your {} from {}",
            me.name,
            mine.role,
            when(mine.starts_at, tz),
            theirs.role,
            when(theirs.starts_at, tz)
        );
        notify(conn, ctx, team.id, &[counterpart.id], &msg, &link).await?;
        id
    } else {
        let from = ask.starts_at.unwrap_or(mine.starts_at);
        let to = ask.ends_at.unwrap_or(mine.ends_at);
        if from >= to {
            return Err(AppError::Unprocessable("The cover must end after it starts".into()));
        }
        if from < mine.starts_at || to > mine.ends_at {
            return Err(AppError::Unprocessable(format!(
                "A cover is part of your shift, which runs from {} to {}; choose times inside it",
                when(mine.starts_at, tz),
                when(mine.ends_at, tz)
            )));
        }
        if from <= now {
            return Err(AppError::Conflict(format!(
                "That time has already begun ({}); choose a start in the future, or ask a manager to override \
                 the rest of the shift from now on",
                when(from, tz)
            )));
        }
        let cover = match ask.cover_email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) => {
                let who = rules::member_by_email(conn, team, email).await?;
                if who.id == me.id {
                    return Err(AppError::Unprocessable(
                        "You cannot cover your own shift: name someone else".into(),
                    ));
                }
                rules::may_take(conn, team, &who, mine.rotation_id, mine.role, (from, to), None).await?;
                Some(who)
            }
            None => None,
        };
        let id = db::swaps::insert(
            conn,
            &NewRequest {
                team_id: team.id,
                rotation_id: mine.rotation_id,
                kind: RequestKind::Cover,
                requester_id: me.id,
                shift_id: mine.id,
                role: mine.role,
                span: (from, to),
                counterpart_id: cover.as_ref().map(|c| c.id),
                counterpart_shift: None,
                note,
            },
            now,
        )
        .await?;
        let link = format!("/swaps/{id}");
        let span = format!("{} {} to {}", mine.role, when(from, tz), when(to, tz));
        match cover {
            Some(c) => {
                let msg = format!("{} asks you to cover their {span}", me.name);
                notify(conn, ctx, team.id, &[c.id], &msg, &link).await?;
            }
            None => {
                let others: Vec<i64> = db::teams::members(conn, team.id)
                    .await?
                    .into_iter()
                    .map(|m| m.user_id)
                    .filter(|u| *u != me.id)
                    .collect();
                let msg = format!(
                    "{} asks the team for cover: {span}; the first to volunteer takes it",
                    me.name
                );
                notify(conn, ctx, team.id, &others, &msg, &link).await?;
            }
        }
        id
    };
    db::swaps::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))
}

/// A shift of one of the team's rotations, or 404.
async fn team_shift(conn: &mut PgConnection, team: &Team, id: i64) -> AppResult<ShiftView> {
    db::shifts::by_id(conn, id)
        .await?
        .filter(|s| s.team_slug == team.slug)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no shift {id} in {}; pick one from the team's shifts (it may have changed: reload and pick again)",
                team.name
            ))
        })
}

/// The request, if `me` may see it (a member of its team, or an admin).
pub async fn visible(conn: &mut PgConnection, me: &User, id: i64) -> AppResult<Request> {
    let request = db::swaps::by_id(conn, id).await?;
    match request {
        Some(r) if me.is_admin || rules::role_in(conn, r.team_id, me.id).await?.is_some() => Ok(r),
        _ => Err(AppError::NotFound(format!("There is no request {id} that you can see"))),
    }
}

/// Takes `action` on request `id` for `me`. Decisions on one request are
/// serialised by its row lock; approvals of one rotation by its lock.
pub async fn act(
    conn: &mut PgConnection,
    ctx: &Ctx,
    me: &User,
    id: i64,
    action: Action,
    reason: Option<&str>,
) -> AppResult<Request> {
    visible(conn, me, id).await?;
    let request = db::swaps::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))?;
    let role = rules::role_in(conn, request.team_id, me.id).await?;
    let standing = Standing {
        requester: request.requester_id == me.id,
        counterpart: request.counterpart_id == Some(me.id),
        may_volunteer: request.kind == RequestKind::Cover
            && request.counterpart_id.is_none()
            && role.is_some()
            && request.requester_id != me.id,
        manages: me.is_admin || role == Some(TeamRole::Manager),
    };
    let now = ctx.clock.now();
    let state = request.state_at(now);
    let to = next(state, action, standing).map_err(|r| match r {
        Refusal::Forbidden(m) => AppError::Forbidden(m),
        Refusal::Conflict(m) => AppError::Conflict(m),
    })?;
    let reason = reason
        .map(|r| validate::text("The reason", r, 500))
        .transpose()?
        .filter(|r| !r.is_empty());
    let reason = reason.as_deref();
    let team = db::teams::by_id(conn, request.team_id)
        .await?
        .ok_or_else(|| AppError::not_found("team"))?;
    let mut counterpart_id = None;
    if action == Action::Accept && request.counterpart_id.is_none() {
        rules::may_take(
            conn,
            &team,
            me,
            request.rotation_id,
            request.role,
            (request.starts_at, request.ends_at),
            None,
        )
        .await?;
        counterpart_id = Some(me.id);
    }
    if to == State::Applied {
        apply(conn, ctx, &team, me, &request).await?;
    }
    let decided = matches!(action, Action::Approve | Action::Reject).then_some(me.id);
    db::swaps::update(
        conn,
        id,
        &Decision {
            state: to,
            counterpart_id,
            decided_by: decided,
            reason: if decided.is_some() { reason } else { None },
        },
        now,
    )
    .await?;
    let request = db::swaps::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))?;
    tell_parties(conn, ctx, &team, me, &request, action).await?;
    Ok(request)
}

/// Re-checks that the shifts are as they were asked for and lays the
/// change; the caller holds the request's lock.
async fn apply(conn: &mut PgConnection, ctx: &Ctx, team: &Team, me: &User, r: &Request) -> AppResult<()> {
    db::rotations::lock(conn, r.rotation_id).await?;
    let changed = || AppError::Conflict("This shift changed since the request — ask again".into());
    let counterpart_id = r.counterpart_id.ok_or_else(changed)?;
    let holder = db::changes::sole_holder(conn, r.rotation_id, r.role, r.starts_at, r.ends_at).await?;
    if holder != Some(r.requester_id) {
        return Err(changed());
    }
    let counterpart = db::users::by_id(conn, counterpart_id).await?.ok_or_else(changed)?;
    let requester = db::users::by_id(conn, r.requester_id).await?.ok_or_else(changed)?;
    let theirs = match (&r.counterpart_role, r.counterpart_starts_at, r.counterpart_ends_at) {
        (Some(role), Some(s), Some(e)) => {
            let holder = db::changes::sole_holder(conn, r.rotation_id, *role, s, e).await?;
            if holder != Some(counterpart_id) {
                return Err(changed());
            }
            Some((*role, s, e))
        }
        _ => None,
    };
    let other = theirs.as_ref().map(|(_, s, e)| (*s, *e));
    rules::may_take(
        conn,
        team,
        &counterpart,
        r.rotation_id,
        r.role,
        (r.starts_at, r.ends_at),
        other,
    )
    .await?;
    if let Some((role, s, e)) = &theirs {
        rules::may_take(
            conn,
            team,
            &requester,
            r.rotation_id,
            *role,
            (*s, *e),
            Some((r.starts_at, r.ends_at)),
        )
        .await?;
    }
    let now = ctx.clock.now();
    let mut changes: Vec<Change> = Vec::new();
    let new = |role: Role, user: i64, s, e| NewChange {
        rotation_id: r.rotation_id,
        role,
        user_id: user,
        starts_at: s,
        ends_at: e,
        kind: r.kind.change(),
        request_id: Some(r.id),
        reason: "",
        created_by: Some(me.id),
    };
    let first = new(r.role, counterpart_id, r.starts_at, r.ends_at);
    changes.push(db::changes::insert(conn, &first, now).await?);
    if let Some((role, s, e)) = &theirs {
        let second = new(*role, r.requester_id, *s, *e);
        changes.push(db::changes::insert(conn, &second, now).await?);
    }
    rules::lay(conn, &changes).await?;
    let side = |role: Role, s: DateTime<Utc>, e: DateTime<Utc>, email: &str| json!({"rotation": r.rotation_slug, "role": role, "starts_at": s, "ends_at": e, "email": email});
    let mut before = vec![side(r.role, r.starts_at, r.ends_at, &r.requester_email)];
    let mut after = vec![side(r.role, r.starts_at, r.ends_at, &counterpart.email)];
    if let Some((role, s, e)) = &theirs {
        before.push(side(*role, *s, *e, &counterpart.email));
        after.push(side(*role, *s, *e, &r.requester_email));
    }
    db::audit::record(
        conn,
        team.id,
        Some(me.id),
        now,
        match r.kind {
            RequestKind::Swap => "swap.apply",
            RequestKind::Cover => "cover.apply",
        },
        Some(json!({"request": r.id, "shifts": before})),
        Some(json!({"request": r.id, "shifts": after})),
    )
    .await?;
    Ok(())
}

/// Tells the other parties what happened, and the managers when a
/// decision is theirs to make.
async fn tell_parties(
    conn: &mut PgConnection,
    ctx: &Ctx,
    team: &Team,
    me: &User,
    r: &Request,
    action: Action,
) -> AppResult<()> {
    let link = format!("/swaps/{}", r.id);
    let what = r.kind.as_str();
    let parties: Vec<i64> = [Some(r.requester_id), r.counterpart_id]
        .into_iter()
        .flatten()
        .filter(|u| *u != me.id)
        .collect();
    let reason = r.reason.as_deref().map(|x| format!(": {x}")).unwrap_or_default();
    match action {
        Action::Accept => {
            let msg = format!("{} accepted your {what} request", me.name);
            notify(conn, ctx, team.id, &[r.requester_id], &msg, &link).await?;
            let managers: Vec<i64> = db::teams::members(conn, team.id)
                .await?
                .into_iter()
                .filter(|m| m.role == TeamRole::Manager && !r.is_party(m.user_id))
                .map(|m| m.user_id)
                .collect();
            let msg = format!(
                "Approval needed: {} and {} agreed a {what} in {}",
                r.requester_name,
                r.counterpart_name.as_deref().unwrap_or("a volunteer"),
                r.rotation_name
            );
            notify(conn, ctx, team.id, &managers, &msg, &link).await?;
        }
        Action::Decline => {
            let msg = format!("{} declined your {what} request", me.name);
            notify(conn, ctx, team.id, &parties, &msg, &link).await?;
        }
        Action::Approve => {
            let msg = format!(
                "Your {what} was approved by {}: your shift moved, see the rota",
                me.name
            );
            notify(conn, ctx, team.id, &parties, &msg, &link).await?;
        }
        Action::Reject => {
            let msg = format!("Your {what} was rejected by {}{reason}", me.name);
            notify(conn, ctx, team.id, &parties, &msg, &link).await?;
        }
        Action::Cancel => {
            let msg = format!("{} cancelled their {what} request", me.name);
            notify(conn, ctx, team.id, &parties, &msg, &link).await?;
        }
    }
    Ok(())
}
