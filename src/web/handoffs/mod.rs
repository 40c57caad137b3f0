//! Handoffs in HTML: one handoff with its editor and acknowledgement, the
//! team's history and search, the chat webhook in the team settings, and
//! what "Now" and the rota show of them.

mod list;
mod view;
mod webhook;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::db::teams::{MyTeam, Team};
use crate::db::users::User;
use crate::error::AppResult;
use crate::ops::handoffs::{self as ops, Handoff, NowKind};
use crate::state::AppState;
use crate::web::fmt;

pub use webhook::{WebhookSettings, webhook_settings};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/handoffs", get(list::show_handoffs))
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}",
            get(view::show_handoff).post(view::save_handoff),
        )
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}/acknowledge",
            post(view::acknowledge_handoff),
        )
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}/versions/{number}",
            get(view::show_version),
        )
        .route("/teams/{team}/handoff-webhook", post(webhook::save_webhook))
        .route("/teams/{team}/chat", post(webhook::save_webhook))
}

/// "Weekly, week from Tue 10 Nov 2026".
fn title(h: &Handoff) -> String {
    format!("{}, week from {}", h.rotation_name, fmt::day(h.boundary.week_start))
}

/// An instant in the reader's zone with the zone's abbreviation.
fn when(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} {}", fmt::local_with_year(at, tz), fmt::zone_abbrev(at, tz))
}

/// When a deadline falls: "the end of Wed 11 Nov" for a midnight, else the
/// time.
fn deadline(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    if local.time() == chrono::NaiveTime::MIN {
        format!(
            "the end of {}",
            (local.date_naive() - Duration::days(1)).format("%a %-d %b")
        )
    } else {
        fmt::local(at, tz)
    }
}

/// A handoff to act on, as a line on "Now".
#[derive(Clone)]
pub struct NowLine {
    pub text: String,
    pub path: String,
    pub link_text: &'static str,
    pub overdue: bool,
}

/// The handoffs `user` should act on, as lines on "Now", by team id.
pub async fn for_now(
    conn: &mut PgConnection,
    user: &User,
    teams: &[MyTeam],
    now: DateTime<Utc>,
) -> AppResult<HashMap<i64, Vec<NowLine>>> {
    let tz = user.tz();
    let slugs: HashMap<i64, &str> = teams.iter().map(|t| (t.id, t.slug.as_str())).collect();
    let mut lines: HashMap<i64, Vec<NowLine>> = HashMap::new();
    for (team_id, items) in ops::for_now(conn, user, teams, now).await? {
        let slug = slugs.get(&team_id).copied().unwrap_or_default();
        for item in items {
            let h = &item.handoff;
            let overdue = item.status == crate::domain::handoff::Status::Overdue;
            let due = format!(
                "{} ({})",
                fmt::local(h.timing.due_at, tz),
                fmt::relative(h.timing.due_at, now)
            );
            let (text, link_text) = match item.kind {
                NowKind::Write if overdue => (format!("Your handoff for {} was due {due}.", title(h)), "Write it now"),
                NowKind::Write
                    if h.timing.recovering && h.people.outgoing_primary.as_ref().is_some_and(|p| p.id == user.id) =>
                {
                    (
                        format!(
                            "Your handoff for {} is due {due}; as you have a recovery day then, it can wait until {}.",
                            title(h),
                            deadline(h.timing.overdue_at, tz)
                        ),
                        "Write it",
                    )
                }
                NowKind::Write => (
                    format!("Your handoff for {} is due {due}.", title(h)),
                    if h.stored.is_some() {
                        "Continue the draft"
                    } else {
                        "Write it"
                    },
                ),
                NowKind::Read => (
                    format!(
                        "{} handed over {}: read it and acknowledge it.",
                        h.stored
                            .as_ref()
                            .and_then(|s| s.submitted_by_name.clone())
                            .unwrap_or_else(|| "The outgoing on-call".into()),
                        title(h)
                    ),
                    "Read and acknowledge",
                ),
                NowKind::Chase => (
                    format!(
                        "The handoff for {} by {} was due {due} and is not submitted.",
                        title(h),
                        h.people
                            .outgoing_primary
                            .as_ref()
                            .map_or("the outgoing on-call", |p| p.name.as_str())
                    ),
                    "See it",
                ),
            };
            lines.entry(team_id).or_default().push(NowLine {
                text,
                path: h.path(slug),
                link_text,
                overdue,
            });
        }
    }
    Ok(lines)
}

/// The handoff into a week of the rota.
#[derive(Clone)]
pub struct RotaLink {
    pub path: String,
    /// "acknowledged", "no handoff written", …; empty before it opens.
    pub status: &'static str,
    /// The status's key, for its class: "acknowledged", "missed", …
    pub key: &'static str,
}

/// The handoff link of each week of `handoffs` starting in `[from, to]`,
/// keyed by rotation slug and the week's start.
pub fn rota_links(
    handoffs: &[ops::Handoff],
    team: &Team,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> HashMap<(String, DateTime<Utc>), RotaLink> {
    handoffs
        .iter()
        .filter(|h| from <= h.boundary.at && h.boundary.at <= to)
        .map(|h| {
            let (status, key) = match h.status(now) {
                crate::domain::handoff::Status::Upcoming => ("", ""),
                s => (s.label(), s.as_str()),
            };
            let link = RotaLink {
                path: h.path(&team.slug),
                status,
                key,
            };
            ((h.rotation_slug.clone(), h.boundary.at), link)
        })
        .collect()
}
