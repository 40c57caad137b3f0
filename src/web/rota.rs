//! The team rota: the past 4 and next 12 weeks of each rotation, with who
//! covers whom, the shifts that need cover, and the recovery days that fall
//! in them. Wide screens see the same weeks drawn as a timeline
//! (`timeline`); the table stays for screen readers and phones.

mod timeline;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::{TeamMember, WebUser};
use crate::calendar::feed_url;
use crate::db::leave::NeedsCover;
use crate::db::recovery::RecoveryDay;
use crate::db::shifts::ShiftView;
use crate::domain::role::Role;
use crate::domain::schedule::local_to_instant;
use crate::domain::swap::ChangeKind;
use crate::error::{AppResult, Given};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::forms::input_value;
use crate::web::layout::{Layout, render};
use crate::web::recovery::form_label;

const WEEKS_BEFORE: usize = 4;
const WEEKS_AFTER: usize = 12;
/// How far ahead of now the rota reads shifts: other pages asking for
/// coming shifts use the same span, so the cache the rota filled answers.
pub const AHEAD: Duration = Duration::weeks(WEEKS_AFTER as i64 + 2);

pub fn router() -> Router<AppState> {
    Router::new().route("/teams/{team}", get(show_rota))
}

/// One person's part of a role in a week.
pub struct Holder {
    /// "Ben", or "Ben (Fri 18:00–Sat 10:00, covering Ana)".
    pub text: String,
    /// Just the name: the timeline and the table mark each part with it.
    pub person: String,
    /// Put there by a swap, cover or override.
    pub changed: bool,
    /// "needs cover: on leave 24 Mar to 26 Mar".
    pub needs_cover: Option<String>,
    /// The reader's own shift, not over: where to ask for a swap or cover.
    pub ask_link: Option<String>,
    /// Completes "Swap or cover…" for a screen reader.
    pub ask_label: String,
    /// The reader holds it: the star goes beside their name.
    pub me: bool,
}

/// A role in a week: who holds it, part by part.
pub struct RoleCell {
    pub role: &'static str,
    pub label: &'static str,
    pub holders: Vec<Holder>,
    /// For managers, while the week is not over.
    pub override_link: Option<String>,
}

pub struct WeekRow {
    pub label: String,
    /// The first day, team time (`2026-11-24`): marks the week in the page.
    pub date: String,
    /// "Tue 24 Nov", over the week's column in the timeline.
    head: String,
    /// The week's shifts, for the timeline.
    parts: Vec<timeline::Part>,
    pub ends: String,
    pub roles: [RoleCell; 2],
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
    /// How many of the rows come before the week asked for: folded away,
    /// so a phone opens at this week.
    pub fold: usize,
    pub timeline: Option<timeline::Timeline>,
}

impl RotationTable {
    pub fn earlier(&self) -> &[WeekRow] {
        &self.rows[..self.fold.min(self.rows.len())]
    }

    pub fn from_here(&self) -> &[WeekRow] {
        &self.rows[self.fold.min(self.rows.len())..]
    }
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
    /// "Ravi and Sam cannot be paged", when members have no confirmed
    /// contact method.
    unpageable: Option<String>,
    /// The reader is one of them.
    unpageable_me: bool,
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
        Some(s) => Given::Query.date(s)?,
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
    // Needs cover, recovery days and handoffs: cached for every reader.
    let extras = state.rota_extras(team, from, to).await?;
    let not_over = now.max(from);
    let colliding: Vec<NeedsCover> = extras
        .needs_cover
        .iter()
        .filter(|c| c.ends_at > not_over && c.starts_at < to)
        .cloned()
        .collect();
    let on_leave = leave_notes(&colliding);
    let mut tables: Vec<RotationTable> = rotations
        .iter()
        .map(|(r, _)| {
            let own: Vec<&ShiftView> = shifts.iter().filter(|s| s.rotation_id == r.id).collect();
            let reader = Reader {
                me: member.user().id,
                manager: member.is_manager(),
                now,
                tz,
                team_slug: &team.slug,
                rotation_slug: &r.slug,
                on_leave: &on_leave,
            };
            let (rows, fold) = week_rows(&own, centre, &reader);
            RotationTable {
                name: r.name.clone(),
                slug: r.slug.clone(),
                rows,
                fold,
                timeline: None,
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
    let days: Vec<RecoveryDay> = extras
        .recovery
        .iter()
        .filter(|d| first_day <= d.day && d.day <= last_day)
        .cloned()
        .collect();
    let handoffs = crate::web::handoffs::rota_links(&extras.handoffs, team, first, last, now);
    for t in tables.iter_mut() {
        for row in t.rows.iter_mut() {
            row.handoff = handoffs.get(&(t.slug.clone(), row.starts_at)).cloned();
        }
    }
    for row in tables.iter_mut().flat_map(|t| t.rows.iter_mut()) {
        row.recovery = in_week(&days, row, tz);
    }
    let people = tables.iter().flat_map(|t| &t.rows).flat_map(|w| &w.parts);
    let colours = timeline::colours(
        people
            .map(|p| (p.user_id, p.name.as_str()))
            .chain(days.iter().map(|d| (d.user_id, d.name.as_str()))),
    );
    let drawn = timeline::Context {
        me: member.user().id,
        now,
        tz,
        colours: &colours,
        leave: &colliding,
        recovery: &days,
    };
    for t in tables.iter_mut().filter(|t| !t.rows.is_empty()) {
        t.timeline = Some(timeline::draw(&t.rows, &t.slug, &drawn));
    }
    let recovery = days
        .iter()
        .map(|d| RecoveryRow {
            name: d.name.clone(),
            date: fmt::day(d.day),
            form: form_label(&d.form),
            worked_anyway: d.worked_anyway,
            flagged: d.state == crate::ops::recovery::FLAGGED,
        })
        .collect();
    let step = Duration::weeks(WEEKS_AFTER as i64);
    let layout = Layout::new(&state, &session, format!("{} rota", team.name), Some(member.user())).await?;
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
        period: format!("{} to {}", fmt::date(first_day), fmt::date(last_day)),
        unpageable: fmt::and_list(&extras.unpageable.iter().map(|u| u.1.as_str()).collect::<Vec<_>>())
            .map(|n| format!("{n} cannot be paged")),
        unpageable_me: extras.unpageable.iter().any(|u| u.0 == member.user().id),
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
        .map(|d| format!("Recovery: {} ({})", d.name, fmt::day_short(d.day)))
        .collect()
}

/// "needs cover: on leave 24 Mar to 26 Mar" for each shift in its
/// holder's leave.
fn leave_notes(rows: &[NeedsCover]) -> HashMap<i64, String> {
    rows.iter()
        .map(|c| {
            let note = if c.leave_start == c.leave_end {
                format!("needs cover: {} {}", c.why(), fmt::date_short(c.leave_start))
            } else {
                format!(
                    "needs cover: {} {} to {}",
                    c.why(),
                    fmt::date_short(c.leave_start),
                    fmt::date_short(c.leave_end)
                )
            };
            (c.shift_id, note)
        })
        .collect()
}

/// Who reads the rota, and what the rows need to know for them.
struct Reader<'a> {
    me: i64,
    manager: bool,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    team_slug: &'a str,
    rotation_slug: &'a str,
    on_leave: &'a HashMap<i64, String>,
}

/// "Ben", or with what changed and, for part of a week, when:
/// "Ben (Fri 18:00–Sat 10:00, covering Ana)".
fn holder_text(s: &ShiftView, whole_week: bool, tz: chrono_tz::Tz) -> String {
    let mut notes = Vec::new();
    if !whole_week {
        let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %H:%M").to_string();
        notes.push(format!("{}–{}", at(s.starts_at), at(s.ends_at)));
    }
    if let Some(other) = &s.replaces_name {
        notes.push(match s.change_kind {
            Some(ChangeKind::Swap) => format!("swapped with {other}"),
            Some(ChangeKind::Leave) => format!("instead of {other}"),
            Some(ChangeKind::Cover | ChangeKind::Override) | None => format!("covering {other}"),
        });
    }
    let name = if s.holder_left {
        format!("{} (left)", s.name)
    } else {
        s.name.clone()
    };
    if notes.is_empty() {
        name
    } else {
        format!("{name} ({})", notes.join(", "))
    }
}

/// One role of one week.
fn role_cell(week: &[&ShiftView], role: Role, (start, end): (DateTime<Utc>, DateTime<Utc>), r: &Reader) -> RoleCell {
    let parts: Vec<&&ShiftView> = week.iter().filter(|s| s.role == role).collect();
    let whole = parts.len() == 1 && parts[0].starts_at <= start && parts[0].ends_at >= end;
    let holders = parts
        .iter()
        .map(|s| {
            let mine = s.user_id == r.me && s.ends_at > r.now;
            Holder {
                text: holder_text(s, whole, r.tz),
                person: s.name.clone(),
                changed: s.replaces_user_id.is_some(),
                needs_cover: r.on_leave.get(&s.id).cloned(),
                ask_link: mine.then(|| format!("/teams/{}/swaps/new?shift={}", r.team_slug, s.id)),
                ask_label: format!("your {role} shift from {}", fmt::local_with_year(s.starts_at, r.tz)),
                me: s.user_id == r.me,
            }
        })
        .collect();
    let override_link = (r.manager && end > r.now).then(|| {
        format!(
            "/teams/{}/overrides/new?rotation={}&role={role}&at={}",
            r.team_slug,
            r.rotation_slug,
            input_value(start, r.tz)
        )
    });
    RoleCell {
        role: role.as_str(),
        label: role.label(),
        holders,
        override_link,
    }
}

/// Groups shifts into weeks (a week is one settings version's week index)
/// and keeps the weeks around `centre`; with how many come before it.
fn week_rows(shifts: &[&ShiftView], centre: DateTime<Utc>, r: &Reader) -> (Vec<WeekRow>, usize) {
    let now = r.now;
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
    let rows = weeks[first..last]
        .iter()
        .map(|w| {
            let (start, end) = span(w);
            let day = start.with_timezone(&r.tz).date_naive();
            WeekRow {
                label: fmt::local_with_year(start, r.tz),
                date: day.format("%Y-%m-%d").to_string(),
                head: fmt::day_short(day),
                parts: w.iter().map(|s| part(s)).collect(),
                ends: fmt::local(end, r.tz),
                roles: [
                    role_cell(w, Role::Primary, (start, end), r),
                    role_cell(w, Role::Secondary, (start, end), r),
                ],
                current: start <= now && now < end,
                mine: w.iter().any(|s| s.user_id == r.me),
                recovery: Vec::new(),
                handoff: None,
                starts_at: start,
                ends_at: end,
            }
        })
        .collect();
    (rows, here.min(last) - first)
}

fn part(s: &ShiftView) -> timeline::Part {
    timeline::Part {
        role: s.role,
        user_id: s.user_id,
        name: s.name.clone(),
        shift_id: s.id,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        change: s.change_kind,
        replaces: s.replaces_name.clone(),
    }
}
