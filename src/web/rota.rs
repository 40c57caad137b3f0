//! The team rota: the past 4 and next 12 weeks of each rotation, with the
//! recovery days that fall in them.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::{TeamMember, WebUser};
use crate::calendar::feed_url;
use crate::db;
use crate::db::recovery::RecoveryDay;
use crate::db::shifts::ShiftView;
use crate::domain::schedule::local_to_instant;
use crate::error::{AppError, AppResult};
use crate::web::fmt;
use crate::web::layout::{Layout, render};
use crate::web::recovery::form_label;

const WEEKS_BEFORE: usize = 4;
const WEEKS_AFTER: usize = 12;

pub fn router() -> Router<AppState> {
    Router::new().route("/teams/{team}", get(show_rota))
}

pub struct WeekRow {
    pub label: String,
    pub ends: String,
    pub primary: String,
    pub secondary: String,
    pub current: bool,
    pub mine: bool,
    /// "Recovery: Alex (Tue 3 Mar)" for each recovery day in the week.
    pub recovery: Vec<String>,
    /// The handoff into this week.
    pub handoff: Option<crate::web::handoffs::RotaLink>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// A recovery day in the list under the tables.
pub struct RecoveryRow {
    pub name: String,
    pub date: String,
    pub form: &'static str,
    pub worked_anyway: bool,
    pub flagged: bool,
}

pub struct RotationTable {
    pub name: String,
    pub slug: String,
    pub rows: Vec<WeekRow>,
}

#[derive(Template)]
#[template(path = "team/rota.html")]
struct RotaPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    is_manager: bool,
    tables: Vec<RotationTable>,
    earlier: String,
    later: String,
    showing_now: bool,
    calendar_url: String,
    recovery: Vec<RecoveryRow>,
    period: String,
}

#[derive(Deserialize)]
struct RotaQuery {
    /// A date (YYYY-MM-DD, team zone) to centre the table on.
    at: Option<String>,
}

async fn show_rota(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RotaQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let tz = team.tz();
    let centre_date = match q.at.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| (1970..=2100).contains(&d.year()))
            .ok_or_else(|| AppError::BadRequest(format!("\"{s}\" is not a date between 1970 and 2100 (YYYY-MM-DD)")))?,
        None => now.with_timezone(&tz).date_naive(),
    };
    let centre: DateTime<Utc> = if q.at.is_some() {
        local_to_instant(tz, centre_date, NaiveTime::from_hms_opt(12, 0, 0).expect("noon"))
    } else {
        now
    };
    let from = centre - Duration::weeks(WEEKS_BEFORE as i64 + 2);
    let to = centre + Duration::weeks(WEEKS_AFTER as i64 + 2);
    let rotations = state.rotations_of(team.id).await?;
    let shifts = state.shifts_between(team.id, from, to).await?;
    let me = member.user().id;
    let mut tables: Vec<RotationTable> = rotations
        .iter()
        .map(|(r, _)| {
            let own: Vec<&ShiftView> = shifts.iter().filter(|s| s.rotation_id == r.id).collect();
            RotationTable {
                name: r.name.clone(),
                slug: r.slug.clone(),
                rows: week_rows(&own, centre, now, me, tz),
            }
        })
        .collect();
    // The period the tables show, or the same span around the centre.
    let rows = tables.iter().flat_map(|t| &t.rows);
    let first = rows.clone().map(|w| w.starts_at).min();
    let last = rows.map(|w| w.ends_at).max();
    let first = first.unwrap_or(centre - Duration::weeks(WEEKS_BEFORE as i64));
    let last = last.unwrap_or(centre + Duration::weeks(WEEKS_AFTER as i64 + 1));
    let (first_day, last_day) = (
        first.with_timezone(&tz).date_naive(),
        last.with_timezone(&tz).date_naive(),
    );
    let mut conn = state.db.acquire().await?;
    let days = db::recovery::for_team(&mut conn, team.id, first_day, last_day + Duration::days(1)).await?;
    let handoffs = crate::web::handoffs::rota_links(&mut conn, team, first, last, now).await?;
    drop(conn);
    for t in tables.iter_mut() {
        for row in t.rows.iter_mut() {
            row.handoff = handoffs.get(&(t.slug.clone(), row.starts_at)).cloned();
        }
    }
    for row in tables.iter_mut().flat_map(|t| t.rows.iter_mut()) {
        row.recovery = in_week(&days, row, tz);
    }
    let recovery = days
        .iter()
        .map(|d| RecoveryRow {
            name: d.name.clone(),
            date: d.day.format("%a %-d %b %Y").to_string(),
            form: form_label(&d.form),
            worked_anyway: d.worked_anyway,
            flagged: d.state == crate::ops::recovery::FLAGGED,
        })
        .collect();
    let step = Duration::weeks(WEEKS_AFTER as i64);
    let layout = Layout::new(&session, format!("{} rota", team.name), Some(member.user())).await?;
    Ok(render(&RotaPage {
        layout,
        team_name: team.name.clone(),
        team_slug: team.slug.clone(),
        zone: team.timezone.clone(),
        is_manager: member.is_manager(),
        tables,
        earlier: (centre_date - step).format("%Y-%m-%d").to_string(),
        later: (centre_date + step).format("%Y-%m-%d").to_string(),
        showing_now: q.at.is_none(),
        calendar_url: feed_url(&state.settings.base_url, &team.calendar_secret),
        recovery,
        period: format!("{} to {}", first_day.format("%-d %b %Y"), last_day.format("%-d %b %Y")),
    }))
}

/// The recovery days whose noon (team time) falls in the week of `row`.
fn in_week(days: &[RecoveryDay], row: &WeekRow, tz: chrono_tz::Tz) -> Vec<String> {
    let noon = NaiveTime::from_hms_opt(12, 0, 0).expect("noon");
    days.iter()
        .filter(|d| {
            let at = local_to_instant(tz, d.day, noon);
            row.starts_at <= at && at < row.ends_at
        })
        .map(|d| format!("Recovery: {} ({})", d.name, d.day.format("%a %-d %b")))
        .collect()
}

/// Groups shifts into weeks (a week is one settings version's week index)
/// and keeps the weeks around `centre`.
fn week_rows(
    shifts: &[&ShiftView],
    centre: DateTime<Utc>,
    now: DateTime<Utc>,
    me: i64,
    tz: chrono_tz::Tz,
) -> Vec<WeekRow> {
    let mut weeks: Vec<Vec<&ShiftView>> = Vec::new();
    for s in shifts {
        match weeks
            .iter_mut()
            .find(|w| w[0].version_id == s.version_id && w[0].week_index == s.week_index)
        {
            Some(w) => w.push(s),
            None => weeks.push(vec![s]),
        }
    }
    let span = |w: &Vec<&ShiftView>| {
        let start = w.iter().map(|s| s.starts_at).min().unwrap_or(now);
        let end = w.iter().map(|s| s.ends_at).max().unwrap_or(now);
        (start, end)
    };
    weeks.sort_by_key(|w| span(w).0);
    let here = weeks.iter().position(|w| {
        let (a, b) = span(w);
        a <= centre && centre < b
    });
    let here = here.unwrap_or_else(|| weeks.iter().position(|w| span(w).0 > centre).unwrap_or(weeks.len()));
    let first = here.saturating_sub(WEEKS_BEFORE);
    let last = (here + WEEKS_AFTER + 1).min(weeks.len());
    weeks[first..last]
        .iter()
        .map(|w| {
            let (start, end) = span(w);
            let names = |role: &str| {
                let list: Vec<String> = w.iter().filter(|s| s.role == role).map(|s| s.name.clone()).collect();
                if list.is_empty() {
                    "—".to_owned()
                } else {
                    list.join(", ")
                }
            };
            WeekRow {
                label: fmt::local_with_year(start, tz),
                ends: fmt::local(end, tz),
                primary: names("primary"),
                secondary: names("secondary"),
                current: start <= now && now < end,
                mine: w.iter().any(|s| s.user_id == me),
                recovery: Vec::new(),
                handoff: None,
                starts_at: start,
                ends_at: end,
            }
        })
        .collect()
}
