//! iCalendar feeds at secret, revocable URLs: a person's shifts, recovery
//! days and leave, and a team's whole rota (`?role=primary` for one role,
//! `?flavour=importable` for tools that import a schedule: the summary is
//! the person's e-mail). UIDs are stable: they name the rotation, role and
//! start instant, so a regenerated week keeps its event. All-day events end
//! the day after they start (RFC 5545 3.6.1: DTEND is exclusive).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Days, Duration};
use icalendar::{Calendar, Component, Event, EventLike, Property};
use serde::Deserialize;

use crate::db;
use crate::db::leave::Leave;
use crate::db::recovery::RecoveryDay;
use crate::db::rotations::HORIZON;
use crate::db::shifts::ShiftView;
use crate::domain::role::Role;
use crate::domain::swap::ChangeKind;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How far back a feed reaches.
const HISTORY: Duration = Duration::weeks(12);

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(show_feed))
}

/// What a feed shows: one role or both, and which flavour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedOptions {
    pub role: Option<Role>,
    /// Shifts only, each titled with the holder's e-mail (Grafana IRM and
    /// other tools import a schedule that way).
    pub importable: bool,
}

#[derive(Deserialize)]
struct FeedQuery {
    role: Option<String>,
    flavour: Option<String>,
}

impl FeedQuery {
    fn options(&self) -> AppResult<FeedOptions> {
        let role = match self.role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => Some(Role::parse(r).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "role=\"{r}\" is not a role; use role=primary or role=secondary"
                ))
            })?),
        };
        let importable = match self.flavour.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None | Some("standard") => false,
            Some("importable") => true,
            Some(other) => {
                return Err(AppError::BadRequest(format!(
                    "flavour=\"{other}\" is not a feed flavour; use flavour=importable or leave it out"
                )));
            }
        };
        Ok(FeedOptions { role, importable })
    }
}

/// Never logged: the access log names the route pattern, not the address.
async fn show_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<FeedQuery>,
) -> AppResult<Response> {
    let options = query.options()?;
    let secret = file.strip_suffix(".ics").unwrap_or(&file);
    let now = state.clock.now();
    let (from, to) = (now - HISTORY, now + HORIZON);
    let mut conn = state.db.acquire().await?;
    let mut recovery = Vec::new();
    let mut leave = Vec::new();
    let (name, mut shifts) = if let Some(user) = db::users::by_calendar_secret(&mut conn, secret).await? {
        let shifts = db::shifts::for_user(&mut conn, user.id, from, to, 10_000).await?;
        recovery = db::recovery::for_user(&mut conn, user.id, from.date_naive(), to.date_naive()).await?;
        leave = db::leave::for_user(&mut conn, user.id, from).await?;
        (format!("On call: {}", user.name), shifts)
    } else if let Some(team) = db::teams::by_calendar_secret(&mut conn, secret).await? {
        let shifts = db::shifts::for_team(&mut conn, team.id, from, to, None).await?;
        (format!("{} rota", team.name), shifts)
    } else {
        return Err(AppError::NotFound(
            "This calendar link is not valid (it may have been reset); copy the current one from your profile".into(),
        ));
    };
    drop(conn);
    if let Some(role) = options.role {
        shifts.retain(|s| s.role == role);
    }
    let body = render(
        &Feed {
            name: &name,
            shifts: &shifts,
            recovery: &recovery,
            leave: &leave,
        },
        &state.settings.base_url,
        options,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

/// What goes into one feed.
pub struct Feed<'a> {
    pub name: &'a str,
    pub shifts: &'a [ShiftView],
    pub recovery: &'a [RecoveryDay],
    pub leave: &'a [Leave],
}

/// `-//Rota//Rota 0.2.0//EN`: who made the feed (RFC 5545 3.7.3).
pub fn prodid() -> String {
    format!("-//Rota//Rota {}//EN", env!("CARGO_PKG_VERSION"))
}

pub fn render(feed: &Feed<'_>, base_url: &str, options: FeedOptions) -> String {
    let host = base_url
        .split("//")
        .nth(1)
        .unwrap_or("rota")
        .split('/')
        .next()
        .unwrap_or("rota");
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", prodid()));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.name(feed.name);
    for s in feed.shifts {
        let role = s.role.label();
        let standing_in = match (&s.replaces_name, s.change_kind) {
            (Some(other), Some(ChangeKind::Swap)) => format!(", swapped with {other}"),
            (Some(other), _) => format!(", covering {other}"),
            (None, _) => String::new(),
        };
        let summary = if options.importable {
            s.email.clone()
        } else {
            format!(
                "{role} on call: {} ({}) — {}{standing_in}",
                s.team_name, s.rotation_name, s.name
            )
        };
        cal.push(
            Event::new()
                .uid(&uid(s, host))
                .summary(&summary)
                .description(&format!(
                    "{role} on call for {} / {}: {} <{}>. Acknowledge pages within {} minutes.",
                    s.team_name, s.rotation_name, s.name, s.email, s.sla_minutes
                ))
                .starts(s.starts_at)
                .ends(s.ends_at)
                .sequence(sequence(s.id))
                .add_property("CATEGORIES", "On-call")
                .url(&format!("{base_url}/teams/{}", s.team_slug))
                .done(),
        );
    }
    if options.importable {
        return cal.done().to_string();
    }
    for r in feed.recovery {
        let form = match r.form.as_str() {
            "home" => "working from home",
            "late_start" => "late start",
            _ => "day off",
        };
        let flagged = if r.state == "flagged" {
            " (its page was corrected)"
        } else {
            ""
        };
        cal.push(
            Event::new()
                .uid(&format!("recovery-{}@{host}", r.id))
                .summary(&format!("Recovery day: {form}{flagged}"))
                .description(&r.reason)
                .starts(r.day)
                .ends(r.day + Days::new(1))
                .add_property("CATEGORIES", "Recovery")
                .add_property("TRANSP", "TRANSPARENT")
                .done(),
        );
    }
    for l in feed.leave {
        cal.push(
            Event::new()
                .uid(&format!("leave-{}@{host}", l.id))
                .summary("Leave")
                .starts(l.start_date)
                .ends(l.end_date + Days::new(1))
                .add_property("CATEGORIES", "Leave")
                .done(),
        );
    }
    cal.done().to_string()
}

fn uid(s: &ShiftView, host: &str) -> String {
    format!("shift-{}-{}-{}@{host}", s.rotation_id, s.role, s.starts_at.timestamp())
}

/// Shift ids only grow, and a changed shift is a new row, so the id orders
/// the versions of one event.
fn sequence(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

pub fn feed_url(base_url: &str, secret: &str) -> String {
    format!("{base_url}/calendar/{secret}.ics")
}
