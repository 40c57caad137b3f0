//! Swaps, covers and overrides as pure rules: the state a request moves
//! through, who may move it, and how a change lays over the shifts a role
//! is split into.

use chrono::{DateTime, Utc};

/// Where a request stands. `Applied`, `Declined`, `Rejected`, `Cancelled`
/// and `Expired` are final. Stored as text (see `db::enums`); an unknown
/// stored value is an error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Proposed,
    Accepted,
    Applied,
    Declined,
    Rejected,
    Cancelled,
    Expired,
}

impl State {
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "proposed" => State::Proposed,
            "accepted" => State::Accepted,
            "applied" => State::Applied,
            "declined" => State::Declined,
            "rejected" => State::Rejected,
            "cancelled" => State::Cancelled,
            "expired" => State::Expired,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Proposed => "proposed",
            State::Accepted => "accepted",
            State::Applied => "applied",
            State::Declined => "declined",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, State::Proposed | State::Accepted)
    }

    /// The state as it stands at `now`: an open request whose first affected
    /// span has started can no longer be applied.
    pub fn at(self, first_start: DateTime<Utc>, now: DateTime<Utc>) -> State {
        if self.is_open() && first_start <= now {
            State::Expired
        } else {
            self
        }
    }
}

/// What a request asks for: a `Swap` trades shifts with someone, a
/// `Cover` hands a shift to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Swap,
    Cover,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Swap => "swap",
            RequestKind::Cover => "cover",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        match s {
            "swap" => Some(RequestKind::Swap),
            "cover" => Some(RequestKind::Cover),
            _ => None,
        }
    }

    /// The kind of change the request makes once applied.
    pub fn change(self) -> ChangeKind {
        match self {
            RequestKind::Swap => ChangeKind::Swap,
            RequestKind::Cover => ChangeKind::Cover,
        }
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a schedule change exists: an applied swap or cover, a manager's
/// override, or a turn owed to someone whose week fell in their leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Swap,
    Cover,
    Override,
    Leave,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Swap => "swap",
            ChangeKind::Cover => "cover",
            ChangeKind::Override => "override",
            ChangeKind::Leave => "leave",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        match s {
            "swap" => Some(ChangeKind::Swap),
            "cover" => Some(ChangeKind::Cover),
            "override" => Some(ChangeKind::Override),
            "leave" => Some(ChangeKind::Leave),
            _ => None,
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Approve,
    Reject,
    Cancel,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "accept" => Action::Accept,
            "decline" => Action::Decline,
            "approve" => Action::Approve,
            "reject" => Action::Reject,
            "cancel" => Action::Cancel,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
        }
    }
}

/// How the caller stands to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub requester: bool,
    pub counterpart: bool,
    /// The request is a cover open to the team, and the caller (a member
    /// who did not ask for it) may take it.
    pub may_volunteer: bool,
    /// A manager of the team or an admin.
    pub manages: bool,
}

/// Why an action is refused: `Forbidden` is about who asks, `Conflict`
/// about the request's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Forbidden(String),
    Conflict(String),
}

/// The state `action` leads to, or why it may not be taken. Approval still
/// has to re-check the schedule before it lands.
pub fn next(state: State, action: Action, who: Standing) -> Result<State, Refusal> {
    let forbid = |m: &str| Err(Refusal::Forbidden(m.to_owned()));
    match action {
        Action::Accept | Action::Decline => {
            let volunteering = action == Action::Accept && who.may_volunteer;
            if !who.counterpart && !volunteering {
                return forbid(if who.requester {
                    "You made this request; the person you asked accepts or declines it"
                } else {
                    "Only the person asked can accept or decline this request"
                });
            }
        }
        Action::Approve | Action::Reject => {
            if who.requester || who.counterpart {
                return forbid(
                    "You are a party to this request, so another manager of the team or an admin decides it",
                );
            }
            if !who.manages {
                return forbid("Only a manager of the team or an admin can approve or reject a request");
            }
        }
        Action::Cancel => {
            if !who.requester {
                return forbid("Only the person who made a request can cancel it");
            }
        }
    }
    let wrong = |m: String| Err(Refusal::Conflict(m));
    match (action, state) {
        (Action::Accept, State::Proposed) => Ok(State::Accepted),
        (Action::Decline, State::Proposed) => Ok(State::Declined),
        (Action::Approve, State::Accepted) => Ok(State::Applied),
        (Action::Approve, State::Proposed) => {
            wrong("This request has not been accepted yet; approve it once the other person has accepted".into())
        }
        (Action::Reject, State::Proposed | State::Accepted) => Ok(State::Rejected),
        (Action::Cancel, State::Proposed | State::Accepted) => Ok(State::Cancelled),
        (_, State::Expired) => wrong(
            "This request has expired: its shift started before it was approved. Ask again, or ask a manager for an override"
                .into(),
        ),
        (_, s) => wrong(format!("This request is already {}, so it cannot be {}ed", s.as_str(), verb(action))),
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Accept => "accept",
        Action::Decline => "declin",
        Action::Approve => "approv",
        Action::Reject => "reject",
        Action::Cancel => "cancel",
    }
}

/// One stored shift of one role: a whole week, or the part of it left
/// after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub user: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub version_id: i64,
    pub week_index: i32,
    pub change_id: Option<i64>,
    /// Whom the holder stands in for (the generated week's holder).
    pub replaces: Option<i64>,
}

/// The span of a change is not fully in the generated schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotScheduled;

/// Lays "`user` holds this role over `[from, to)`" over `pieces` (the
/// role's shifts overlapping the span, in time order) and returns what
/// replaces them. Parts outside the span keep their holder; adjacent parts
/// of one week with the same holder merge back into one.
pub fn overlay(
    pieces: &[Piece],
    user: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    change_id: i64,
) -> Result<Vec<Piece>, NotScheduled> {
    let covered = pieces.first().is_some_and(|p| p.starts_at <= from)
        && pieces.last().is_some_and(|p| p.ends_at >= to)
        && pieces.windows(2).all(|w| w[0].ends_at == w[1].starts_at);
    if !covered || from >= to {
        return Err(NotScheduled);
    }
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len() + 2);
    for p in pieces {
        if p.starts_at < from {
            out.push(Piece {
                ends_at: from,
                ..p.clone()
            });
        }
        let base = p.replaces.unwrap_or(p.user);
        out.push(Piece {
            user,
            starts_at: p.starts_at.max(from),
            ends_at: p.ends_at.min(to),
            version_id: p.version_id,
            week_index: p.week_index,
            change_id: Some(change_id),
            replaces: (base != user).then_some(base),
        });
        if p.ends_at > to {
            out.push(Piece {
                starts_at: to,
                ..p.clone()
            });
        }
    }
    Ok(merge(out))
}

fn merge(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for p in pieces {
        match out.last_mut() {
            Some(last)
                if last.ends_at == p.starts_at
                    && last.user == p.user
                    && last.replaces == p.replaces
                    && last.version_id == p.version_id
                    && last.week_index == p.week_index =>
            {
                last.ends_at = p.ends_at;
                if last.replaces.is_none() {
                    last.change_id = last.change_id.or(p.change_id);
                }
            }
            _ => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests;
