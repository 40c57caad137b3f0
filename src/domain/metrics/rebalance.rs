//! Rebalancing: for each person whose load is well above their share,
//! specific future weeks to exchange with the least loaded person.
//!
//! The overloaded person gives up their next primary week and takes one of
//! the least loaded person's weeks in exchange — a secondary week when one
//! fits (so the heavier role moves to the lighter-loaded person), else a
//! later primary week. An exchange is offered only when it obeys what
//! approving it would check: same rotation, both in the future, neither on
//! leave for the span they take, and nobody holding both roles at once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{PersonFigures, Role};

/// A shift not yet started.
#[derive(Debug, Clone)]
pub struct FutureShift {
    pub id: i64,
    pub rotation_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Someone's leave, as instants.
#[derive(Debug, Clone)]
pub struct Away {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// The overloaded person, who would give up `shift_id`.
    pub from_email: String,
    pub from_name: String,
    pub from_load: f64,
    pub shift_id: i64,
    pub role: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The least loaded person, who would give up `counterpart_shift_id`.
    pub to_email: String,
    pub to_name: String,
    pub to_load: f64,
    pub counterpart_shift_id: i64,
    pub counterpart_role: String,
    pub counterpart_starts_at: DateTime<Utc>,
    pub counterpart_ends_at: DateTime<Utc>,
}

/// How many of the overloaded person's next primary weeks are tried.
const TRIES: usize = 4;

fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Whether `who` may take `take`'s span and role while giving up `give`:
/// the same rule as approving a swap applies (no shift of the other role
/// overlapping, apart from those inside what they give up), and no leave.
fn may_take(who: i64, take: &FutureShift, give: &FutureShift, all: &[FutureShift], away: &[Away]) -> bool {
    let span = (take.starts_at, take.ends_at);
    let clash = all.iter().any(|s| {
        s.user_id == who
            && s.rotation_id == take.rotation_id
            && s.role != take.role
            && overlaps((s.starts_at, s.ends_at), span)
            && !(s.starts_at >= give.starts_at && s.ends_at <= give.ends_at)
    });
    let on_leave = away
        .iter()
        .any(|l| l.user_id == who && overlaps((l.starts_at, l.ends_at), span));
    !clash && !on_leave
}

/// Suggestions for the people on `table` above the fair limit who are
/// still members (`member`), each with the least loaded other member.
pub fn suggest(
    table: &[PersonFigures],
    member: impl Fn(i64) -> bool,
    future: &[FutureShift],
    away: &[Away],
    now: DateTime<Utc>,
) -> Vec<Suggestion> {
    let mut over: Vec<&PersonFigures> = table.iter().filter(|p| p.above_fair && member(p.user_id)).collect();
    over.sort_by(|a, b| b.load.total_cmp(&a.load));
    let mut out = Vec::new();
    for o in over {
        let Some(least) = table
            .iter()
            .filter(|p| p.user_id != o.user_id && member(p.user_id) && !p.above_fair)
            .min_by(|a, b| {
                a.load
                    .total_cmp(&b.load)
                    .then(a.hours_on_call.total_cmp(&b.hours_on_call))
                    .then(a.name.cmp(&b.name))
            })
        else {
            continue;
        };
        if let Some((s, t)) = exchange(o.user_id, least.user_id, future, away, now) {
            out.push(Suggestion {
                from_email: o.email.clone(),
                from_name: o.name.clone(),
                from_load: o.load,
                shift_id: s.id,
                role: s.role.as_str().into(),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                to_email: least.email.clone(),
                to_name: least.name.clone(),
                to_load: least.load,
                counterpart_shift_id: t.id,
                counterpart_role: t.role.as_str().into(),
                counterpart_starts_at: t.starts_at,
                counterpart_ends_at: t.ends_at,
            });
        }
    }
    out
}

/// The first feasible exchange of one of `over`'s next primary shifts for
/// one of `least`'s shifts: secondary ones first, then primary, earliest first.
pub fn exchange<'a>(
    over: i64,
    least: i64,
    future: &'a [FutureShift],
    away: &[Away],
    now: DateTime<Utc>,
) -> Option<(&'a FutureShift, &'a FutureShift)> {
    let mut mine: Vec<&FutureShift> = future
        .iter()
        .filter(|s| s.user_id == over && s.role == Role::Primary && s.starts_at > now)
        .collect();
    mine.sort_by_key(|s| s.starts_at);
    let mut theirs: Vec<&FutureShift> = future
        .iter()
        .filter(|s| s.user_id == least && s.starts_at > now)
        .collect();
    theirs.sort_by_key(|s| (s.role != Role::Secondary, s.starts_at));
    for s in mine.into_iter().take(TRIES) {
        for t in theirs.iter().filter(|t| t.rotation_id == s.rotation_id) {
            if may_take(least, s, t, future, away) && may_take(over, t, s, future, away) {
                return Some((s, t));
            }
        }
    }
    None
}
