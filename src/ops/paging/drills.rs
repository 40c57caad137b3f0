//! Drills ("Send a test page", HumanOps: rehearse before it matters). A
//! drill is a page marked `drill` that fires now and starts escalating at
//! once, so it runs the whole path: to the rotation's current primary it
//! follows the team's escalation policy exactly (secondary, managers,
//! repeats); to oneself it pages only the sender, by their own rules, in
//! one step (`escalations.only_user_id`). Every message says it is a drill.
//! It counts nowhere: no recovery day is derived from it and no metric,
//! handoff or load reads it.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db;
use crate::db::drills::NewDrill;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::domain::paging::DrillTo;
use crate::error::{AppError, AppResult};
use crate::secrets;

/// A drill someone (or a tool) asks for.
pub struct Drill<'a> {
    pub team: &'a Team,
    /// The rotation whose primary and policy it follows; any for a drill
    /// to oneself.
    pub rotation_id: Option<i64>,
    pub to: DrillTo,
    /// Who sends it; `None` for an integration token, which is no person.
    pub by: Option<&'a User>,
    /// What it says; a plain "Test page …" when `None`.
    pub summary: Option<&'a str>,
}

/// What a drill's title (push, e-mail subject, chat post) starts with.
pub const MARK: &str = "DRILL — ";
/// What a drill's text (push, e-mail, SMS) starts with.
pub const TEXT: &str = "DRILL — a test page, nothing is wrong. ";
/// What a drill's call says first.
pub const SPOKEN: &str = "This is a drill: a test page, nothing is wrong. ";

/// What the refusal of a tool's drill to "me" says.
pub const NO_PERSON: &str = "An integration token is no person, so it cannot send a drill to \"me\": use \"to\": \"primary\", or a person's API token";

/// Records the drill, fired at `now`, starts its escalation and audits
/// it; the page's id. Nothing is queued for the recovery job.
pub async fn start(conn: &mut PgConnection, d: &Drill<'_>, now: DateTime<Utc>) -> AppResult<i64> {
    let only_user_id = match (d.to, d.by) {
        (DrillTo::Me, Some(u)) => Some(u.id),
        (DrillTo::Me, None) => return Err(AppError::Unprocessable(NO_PERSON.into())),
        (DrillTo::Primary, _) => None,
    };
    let (responder_id, role) = match (only_user_id, d.rotation_id) {
        (Some(me), _) => (
            Some(me),
            db::shifts::role_at(conn, d.team.id, me, now)
                .await?
                .map(|h| (h.role, h.sla_minutes)),
        ),
        (None, Some(rotation)) => match db::shifts::primary_at(conn, rotation, now).await? {
            Some(h) => (Some(h.user_id), Some((h.role, h.sla_minutes))),
            // Nobody is primary now: the escalation records the skip and
            // goes on to the next step, as for a real page.
            None => (None, None),
        },
        (None, None) => {
            return Err(AppError::Unprocessable(format!(
                "{} has no rotation, so there is no primary to drill; send a test page to yourself instead",
                d.team.name
            )));
        }
    };
    let summary = match (d.summary, d.by, d.to) {
        (Some(s), _, _) => s.to_owned(),
        (None, Some(u), DrillTo::Me) => format!("Test page {} sent themself", u.name),
        (None, Some(u), DrillTo::Primary) => format!("Test page to the primary, sent by {}", u.name),
        (None, None, _) => "Test page to the primary".to_owned(),
    };
    let key = secrets::random_secret();
    let drill = NewDrill {
        team_id: d.team.id,
        rotation_id: d.rotation_id,
        dedup_key: &key,
        summary: &summary,
        responder_id,
        role,
        responder_named: only_user_id.is_some(),
        only_user_id,
    };
    let id = db::drills::insert(conn, &drill, now).await?;
    db::audit::record(
        conn,
        d.team.id,
        d.by.map(|u| u.id),
        now,
        "page.drill",
        None,
        Some(json!({"page": id, "to": d.to})),
    )
    .await?;
    Ok(id)
}
