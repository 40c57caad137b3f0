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
    /// "Ana ⇄ Ben", "Ana → Ben", "Ana → open to the team".
    pub who: String,
    pub team: String,
    /// The requester's side: "primary, Tue 23 Mar 10:00 to …".
    pub what: String,
    pub state: &'static str,
}

impl RequestRow {
    pub fn new(r: &Request, now: DateTime<Utc>) -> Self {
        let tz = zone_of(r);
        let swap = r.kind == RequestKind::Swap;
        let other = r.counterpart_name.as_deref().unwrap_or("open to the team");
        RequestRow {
            id: r.id,
            kind: if swap { "Swap" } else { "Cover" },
            who: format!("{} {} {other}", r.requester_name, if swap { "⇄" } else { "→" }),
            team: format!("{} · {}", r.team_name, r.rotation_name),
            what: format!("{}, {}", r.role, span(r.starts_at, r.ends_at, tz)),
            state: r.state_at(now).as_str(),
        }
    }
}

/// What happens next, or what happened, in words.
fn next_step(r: &Request, state: State) -> String {
    let other = r.counterpart_name.as_deref();
    let decider = r.decided_by_email.as_deref().unwrap_or("a manager");
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
