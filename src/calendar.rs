//! iCalendar feeds at secret, revocable URLs: a person's shifts and a
//! team's whole rota. UIDs are stable: they name the rotation, role and
//! start instant, so a regenerated week keeps its event.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Duration;
use icalendar::{Calendar, Component, Event, EventLike};

use crate::db;
use crate::db::recovery::RecoveryDay;
use crate::db::rotations::HORIZON;
use crate::db::shifts::ShiftView;
use crate::domain::swap::ChangeKind;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How far back a feed reaches.
const HISTORY: Duration = Duration::weeks(12);

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(show_feed))
}

/// Never logged: the tracing layer redacts `/calendar/` paths.
async fn show_feed(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let secret = file.strip_suffix(".ics").unwrap_or(&file);
    let now = state.clock.now();
    let (from, to) = (now - HISTORY, now + HORIZON);
    let mut conn = state.db.acquire().await?;
    let mut recovery = Vec::new();
    let (name, shifts) = if let Some(user) = db::users::by_calendar_secret(&mut conn, secret).await? {
        let shifts = db::shifts::for_user(&mut conn, user.id, from, to, 10_000).await?;
        recovery = db::recovery::for_user(&mut conn, user.id, from.date_naive(), to.date_naive()).await?;
        (format!("On call: {}", user.name), shifts)
    } else if let Some(team) = db::teams::by_calendar_secret(&mut conn, secret).await? {
        let shifts = db::shifts::for_team(&mut conn, team.id, from, to, None).await?;
        (format!("{} rota", team.name), shifts)
    } else {
        return Err(AppError::NotFound(
            "This calendar link is not valid (it may have been reset); copy the current one from your profile".into(),
        ));
    };
    let body = render(&name, &shifts, &recovery, &state.settings.base_url);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

pub fn render(name: &str, shifts: &[ShiftView], recovery: &[RecoveryDay], base_url: &str) -> String {
    let host = base_url
        .split("//")
        .nth(1)
        .unwrap_or("rota")
        .split('/')
        .next()
        .unwrap_or("rota");
    let mut cal = Calendar::new();
    cal.name(name);
    for s in shifts {
        let role = s.role.label();
        let standing_in = match (&s.replaces_name, s.change_kind) {
            (Some(other), Some(ChangeKind::Swap)) => format!(", swapped with {other}"),
            (Some(other), _) => format!(", covering {other}"),
            (None, _) => String::new(),
        };
        cal.push(
            Event::new()
                .uid(&uid(s, host))
                .summary(&format!(
                    "{role} on call: {} ({}) — {}{standing_in}",
                    s.team_name, s.rotation_name, s.name
                ))
                .description(&format!(
                    "{role} on call for {} / {}: {} <{}>. Acknowledge pages within {} minutes.",
                    s.team_name, s.rotation_name, s.name, s.email, s.sla_minutes
                ))
                .starts(s.starts_at)
                .ends(s.ends_at)
                .sequence(sequence(s.id))
                .url(&format!("{base_url}/teams/{}", s.team_slug))
                .done(),
        );
    }
    for r in recovery {
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
                .all_day(r.day)
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
