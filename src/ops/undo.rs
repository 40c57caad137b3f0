//! Undoing an applied swap or cover: a new change that gives the shifts
//! back from now on; the request and the audit log keep what happened.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::changes::NewChange;
use crate::db::swaps::Request;
use crate::db::teams::TeamRole;
use crate::db::users::User;
use crate::db::{self};
use crate::domain::role::Role;
use crate::domain::swap::{ChangeKind, State};
use crate::error::{AppError, AppResult};
use crate::ops::Ctx;
use crate::ops::changes::{self as rules};
use crate::ops::notify::notify;
use crate::ops::swaps::visible;

/// Undoes an applied request from now on, as a new change: the people it
/// moved take back what is left of their shifts. The request and the
/// audit log keep what happened. A manager of the team who was not a
/// party, or an admin, may undo; the shifts must still be as the request
/// left them.
pub async fn undo(conn: &mut PgConnection, ctx: &Ctx, me: &User, id: i64) -> AppResult<Request> {
    visible(conn, me, id).await?;
    let r = db::swaps::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))?;
    let role = rules::role_in(conn, r.team_id, me.id).await?;
    if r.is_party(me.id) {
        return Err(AppError::forbidden(
            "You are a party to this request, so another manager of the team or an admin undoes it",
        ));
    }
    if !(me.is_admin || role == Some(TeamRole::Manager)) {
        return Err(AppError::forbidden(
            "Only a manager of the team or an admin can undo a change",
        ));
    }
    if r.state != State::Applied {
        return Err(AppError::Conflict(format!(
            "This request is {}; only an applied change can be undone",
            r.state_at(ctx.clock.now()).as_str()
        )));
    }
    let team = db::teams::by_id(conn, r.team_id)
        .await?
        .ok_or_else(|| AppError::not_found("team"))?;
    db::rotations::lock(conn, r.rotation_id).await?;
    let now = ctx.clock.now();
    let counterpart_id = r.counterpart_id.ok_or_else(|| AppError::not_found("counterpart"))?;
    // Each side: (role, span from now on, who holds it now, who gets it back).
    let mut sides = vec![(r.role, r.starts_at.max(now), r.ends_at, counterpart_id, r.requester_id)];
    if let (Some(role), Some(s), Some(e)) = (&r.counterpart_role, r.counterpart_starts_at, r.counterpart_ends_at) {
        sides.push((*role, s.max(now), e, r.requester_id, counterpart_id));
    }
    sides.retain(|(_, s, e, _, _)| s < e);
    if sides.is_empty() {
        return Err(AppError::Conflict(
            "That time is over, and nothing changes in the past".into(),
        ));
    }
    let mut changes = Vec::new();
    for (role, s, e, holder, back) in &sides {
        if db::changes::sole_holder(conn, r.rotation_id, *role, *s, *e).await? != Some(*holder) {
            return Err(AppError::Conflict(
                "The shifts changed after this request; use an override to set who holds them".into(),
            ));
        }
        let change = NewChange {
            rotation_id: r.rotation_id,
            role: *role,
            user_id: *back,
            starts_at: *s,
            ends_at: *e,
            kind: ChangeKind::Override,
            request_id: Some(r.id),
            reason: "undoing an approved request",
            created_by: Some(me.id),
        };
        changes.push(db::changes::insert(conn, &change, now).await?);
    }
    let email = |id: i64| {
        if id == r.requester_id {
            r.requester_email.clone()
        } else {
            r.counterpart_email.clone().unwrap_or_default()
        }
    };
    let held = |role: Role, s: DateTime<Utc>, e: DateTime<Utc>, who: i64| json!({"rotation": r.rotation_slug, "role": role, "starts_at": s, "ends_at": e, "email": email(who)});
    let before: Vec<_> = sides
        .iter()
        .map(|(role, s, e, holder, _)| held(*role, *s, *e, *holder))
        .collect();
    let after: Vec<_> = sides
        .iter()
        .map(|(role, s, e, _, back)| held(*role, *s, *e, *back))
        .collect();
    rules::lay(conn, &changes).await?;
    db::audit::record(
        conn,
        team.id,
        Some(me.id),
        now,
        "undo",
        Some(json!({"request": r.id, "shifts": before})),
        Some(json!({"request": r.id, "shifts": after})),
    )
    .await?;
    let what = r.kind.as_str();
    let msg = format!(
        "{} undid your {what} from now on: your shifts are back as they were",
        me.name
    );
    notify(
        conn,
        ctx,
        team.id,
        &[r.requester_id, counterpart_id],
        &msg,
        &format!("/swaps/{id}"),
    )
    .await?;
    db::swaps::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))
}
