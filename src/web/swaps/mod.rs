//! Swap and cover requests in HTML: asking, one request's page with the
//! actions its reader may take, my requests, and the approvals waiting for
//! a manager. The same actions as `/api/v1/swaps`, through `ops::swaps`.

mod ask;
mod lists;
mod view;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::db::swaps::Request;
use crate::domain::role::Role;
use crate::domain::swap::{RequestKind, State};
use crate::state::AppState;
use crate::web::fmt;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/teams/{team}/swaps/new",
            get(ask::show_request_form).post(ask::request_swap),
        )
        .route("/teams/{team}/swaps/cover", post(ask::ask_for_cover))
        .route("/teams/{team}/swaps", get(lists::team_requests))
        .route("/swaps", get(lists::my_requests))
        .route("/approvals", get(lists::approvals))
        .route("/swaps/{id}", get(view::show_request))
        .route("/swaps/{id}/{action}", post(view::decide_request))
}

/// The zone of the request's team, in which its times are shown.
fn zone_of(r: &Request) -> Tz {
    r.team_timezone.parse().unwrap_or(Tz::UTC)
}

/// "Tue 23 Mar 10:00 to Tue 30 Mar 10:00 GMT", naming both zones'
/// abbreviations when the clocks change in between.
pub fn span(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> String {
    let (a, b) = (fmt::zone_abbrev(from, tz), fmt::zone_abbrev(to, tz));
    if a == b {
        format!("{} to {} {b}", fmt::local(from, tz), fmt::local(to, tz))
    } else {
        format!("{} {a} to {} {b}", fmt::local(from, tz), fmt::local(to, tz))
    }
}

/// A request as one line of a list.
pub struct RequestRow {
    pub id: i64,
    /// "Swap" or "Cover".
    pub kind: &'static str,
    /// Both sides in words: "Ana swaps their primary week of 23 Mar with
    /// Ben's week of 30 Mar".
    pub sentence: String,
    pub team: String,
    /// Each side's exact times: "primary, Tue 23 Mar 10:00 to …".
    pub times: String,
    pub state: &'static str,
}

/// One side of a request: a role over a span.
pub type Side = (Role, DateTime<Utc>, DateTime<Utc>);

/// Both sides of a request as a sentence. A swap names each person's week
/// (the second role only when it differs); a cover says who takes whose.
pub fn both_sides(
    kind: RequestKind,
    requester: &str,
    mine: Side,
    other: Option<&str>,
    theirs: Option<Side>,
    tz: Tz,
) -> String {
    let phrase = |(role, s, e): Side, with_role: bool| fmt::shift(if with_role { role.as_str() } else { "" }, s, e, tz);
    let my_side = phrase(mine, true);
    match (kind, other, theirs) {
        (RequestKind::Swap, Some(o), Some(t)) => {
            format!(
                "{requester} swaps their {my_side} with {o}'s {}",
                phrase(t, t.0 != mine.0)
            )
        }
        (RequestKind::Swap, Some(o), None) => format!("{requester} gives their {my_side} to {o}"),
        (RequestKind::Cover, Some(o), _) => format!("{o} covers {requester}'s {my_side}"),
        (_, None, _) => format!("{requester}'s {my_side}, open to the team"),
    }
}

/// The counterpart's side of a request, when it has one.
fn their_side(r: &Request) -> Option<Side> {
    match (r.counterpart_role, r.counterpart_starts_at, r.counterpart_ends_at) {
        (Some(role), Some(s), Some(e)) => Some((role, s, e)),
        _ => None,
    }
}

impl RequestRow {
    pub fn new(r: &Request, now: DateTime<Utc>) -> Self {
        let tz = zone_of(r);
        let swap = r.kind == RequestKind::Swap;
        let theirs = their_side(r);
        let mut times = format!("{}, {}", r.role, span(r.starts_at, r.ends_at, tz));
        if let Some((role, s, e)) = theirs {
            times.push_str(&format!(" ⇄ {role}, {}", span(s, e, tz)));
        }
        RequestRow {
            id: r.id,
            kind: if swap { "Swap" } else { "Cover" },
            sentence: both_sides(
                r.kind,
                &r.requester_name,
                (r.role, r.starts_at, r.ends_at),
                r.counterpart_name.as_deref(),
                theirs,
                tz,
            ),
            team: format!("{} · {}", r.team_name, r.rotation_name),
            times,
            state: r.state_at(now).as_str(),
        }
    }
}

/// What happens next, or what happened, in words.
fn next_step(r: &Request, state: State) -> String {
    let other = r.counterpart_name.as_deref();
    let decider = r.decided_by_name.as_deref().unwrap_or("a manager");
    match (state, other) {
        (State::Proposed, Some(o)) => format!("Waiting for {o} to accept or decline."),
        (State::Proposed, None) => format!(
            "Open to everyone in {}: the first to volunteer takes it, then a manager approves.",
            r.team_name
        ),
        (State::Accepted, o) => format!(
            "{} accepted; waiting for a manager who is not part of it to approve. The rota changes only then.",
            o.unwrap_or("A volunteer")
        ),
        (State::Applied, _) => format!("Approved by {decider}: the rota has changed."),
        (State::Declined, o) => format!("{} declined.", o.unwrap_or("The person asked")),
        (State::Rejected, _) => format!("Rejected by {decider}."),
        (State::Cancelled, _) => format!("{} cancelled it.", r.requester_name),
        (State::Expired, _) => {
            "Expired: its shift began before it was approved. Ask again, or ask a manager for an override.".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_request_reads_as_both_sides_with_who_holds_which_week() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let mine = (Role::Primary, at("2026-12-29T10:00:00Z"), at("2027-01-05T10:00:00Z"));
        let theirs = (Role::Primary, at("2027-01-05T10:00:00Z"), at("2027-01-12T10:00:00Z"));
        assert_eq!(
            both_sides(RequestKind::Swap, "Priya", mine, Some("Ravi"), Some(theirs), tz),
            "Priya swaps their primary week of 29 Dec with Ravi's week of 5 Jan"
        );
        let secondary = (Role::Secondary, theirs.1, theirs.2);
        assert_eq!(
            both_sides(RequestKind::Swap, "Priya", mine, Some("Ravi"), Some(secondary), tz),
            "Priya swaps their primary week of 29 Dec with Ravi's secondary week of 5 Jan"
        );
        assert_eq!(
            both_sides(RequestKind::Cover, "Priya", mine, Some("Sam"), None, tz),
            "Sam covers Priya's primary week of 29 Dec"
        );
        let part = (Role::Primary, at("2026-12-29T10:00:00Z"), at("2026-12-30T18:00:00Z"));
        assert_eq!(
            both_sides(RequestKind::Cover, "Priya", part, None, None, tz),
            "Priya's primary shift from Tue 29 Dec 10:00 to Wed 30 Dec 18:00, open to the team"
        );
    }
}
