//! What needs doing about handoffs now: for one reader (their "Now" page)
//! and for everyone (the reminders due).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgConnection;

use super::{Handoff, between, rotation_rules};
use crate::db;
use crate::db::teams::{MyTeam, TeamRole};
use crate::db::users::User;
use crate::domain::handoff::{REMINDERS_STALE_AFTER, ReminderFacts, ReminderKind, Status, reminders_due as due};
use crate::error::AppResult;

/// How far back "Now" looks for a handoff still not submitted.
const NOW_LOOKS_BACK: Duration = Duration::days(8);
/// How far ahead a boundary can be and its handoff already be open.
const OPEN_AHEAD: Duration = Duration::hours(26);

/// What a reader is asked to do about a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NowKind {
    /// They are the outgoing on-call and it is not submitted.
    Write,
    /// They are one of the incoming and have not acknowledged it.
    Read,
    /// They manage the team and it is overdue.
    Chase,
}

#[derive(Debug, Clone)]
pub struct NowHandoff {
    pub kind: NowKind,
    pub status: Status,
    pub handoff: Handoff,
}

/// The handoffs `user` should act on now, by team id.
pub async fn for_now(
    conn: &mut PgConnection,
    user: &User,
    teams: &[MyTeam],
    now: DateTime<Utc>,
) -> AppResult<HashMap<i64, Vec<NowHandoff>>> {
    let team_ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    if team_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rotations = rotation_rules(conn, Some(&team_ids)).await?;
    let handoffs = between(conn, &rotations, now - NOW_LOOKS_BACK, now + OPEN_AHEAD).await?;
    let mut by_team: HashMap<i64, Vec<NowHandoff>> = HashMap::new();
    for h in handoffs.into_iter().rev() {
        let status = h.status(now);
        let manages = teams.iter().any(|t| t.id == h.team_id && t.role == TeamRole::Manager);
        let kind = match status {
            Status::Open | Status::Draft | Status::Overdue if h.people.is_outgoing(user.id) => Some(NowKind::Write),
            Status::Overdue if manages => Some(NowKind::Chase),
            // The incoming secondary still acknowledges after the primary has.
            Status::Submitted | Status::Acknowledged
                if h.people.incoming_role(user.id).is_some() && h.acknowledged_by(user.id).is_none() =>
            {
                Some(NowKind::Read)
            }
            _ => None,
        };
        if let Some(kind) = kind {
            by_team.entry(h.team_id).or_default().push(NowHandoff {
                kind,
                status,
                handoff: h,
            });
        }
    }
    Ok(by_team)
}

/// A reminder to send: who, about which handoff, and where to read it.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub kind: ReminderKind,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub team_id: i64,
    pub team_slug: String,
    pub rotation_id: i64,
    pub rotation_name: String,
    pub handoff_at: DateTime<Utc>,
    pub week_start: NaiveDate,
    /// The handoff's page, under the base URL.
    pub path: String,
    /// For `Write`: when it becomes overdue.
    pub overdue_at: DateTime<Utc>,
    /// For `Read`: who wrote it.
    pub author: Option<String>,
}

/// Every reminder due now and not yet sent, across all teams: the outgoing
/// primary on the handoff morning (the morning of their next working day if
/// they are on a recovery day), and each incoming one once it is submitted.
///
/// TO WIRE (notifications): for each, call `db::handoffs::mark_reminded`
/// in a transaction and deliver only when it answers true (another process
/// got there first otherwise), then commit. See the README.
pub async fn reminders_due(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<Vec<DueReminder>> {
    let rotations = rotation_rules(conn, None).await?;
    // Deadlines move at most a few days past the boundary; reminders go
    // stale a week after them.
    let from = now - REMINDERS_STALE_AFTER - Duration::days(14);
    let handoffs = between(conn, &rotations, from, now + OPEN_AHEAD).await?;
    let keys: Vec<(i64, DateTime<Utc>)> = handoffs.iter().map(|h| (h.rotation_id, h.boundary.at)).collect();
    let sent = db::handoffs::sent_reminders(conn, &keys).await?;
    let team_ids: Vec<i64> = handoffs.iter().map(|h| h.team_id).collect();
    let slugs: HashMap<i64, String> = db::teams::slugs_of(conn, &team_ids).await?.into_iter().collect();
    let mut out = Vec::new();
    for h in &handoffs {
        let sent_here: Vec<(ReminderKind, i64)> = sent
            .iter()
            .filter(|s| s.rotation_id == h.rotation_id && s.handoff_at == h.boundary.at)
            .filter_map(|s| ReminderKind::parse(&s.kind).map(|k| (k, s.user_id)))
            .collect();
        let acknowledged: Vec<i64> = h.acknowledgements.iter().map(|a| a.user_id).collect();
        let facts = ReminderFacts {
            people: &h.people,
            timing: &h.timing,
            submitted_at: h.submitted_at(),
            acknowledged: &acknowledged,
            sent: &sent_here,
        };
        let team_slug = slugs.get(&h.team_id).cloned().unwrap_or_default();
        for (kind, user_id) in due(&facts, now) {
            let person = [
                &h.people.outgoing_primary,
                &h.people.incoming_primary,
                &h.people.incoming_secondary,
            ]
            .into_iter()
            .flatten()
            .find(|p| p.id == user_id);
            let Some(person) = person else { continue };
            out.push(DueReminder {
                kind,
                user_id,
                email: person.email.clone(),
                name: person.name.clone(),
                team_id: h.team_id,
                path: h.path(&team_slug),
                team_slug: team_slug.clone(),
                rotation_id: h.rotation_id,
                rotation_name: h.rotation_name.clone(),
                handoff_at: h.boundary.at,
                week_start: h.boundary.week_start,
                overdue_at: h.timing.overdue_at,
                author: h.stored.as_ref().and_then(|s| s.submitted_by_name.clone()),
            });
        }
    }
    Ok(out)
}
