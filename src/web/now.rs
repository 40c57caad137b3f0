//! "Now": who is on call in each of my teams, my next shifts, the shifts
//! that need cover, what waits for me, and my recovery days.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use tower_sessions::Session;

use crate::auth::WebUser;
use crate::db;
use crate::db::leave::NeedsCover;
use crate::db::rotations::HORIZON;
use crate::db::shifts::ShiftView;
use crate::db::swaps::Request;
use crate::db::teams::{MyTeam, TeamRole};
use crate::db::users::User;
use crate::domain::role::Role;
use crate::domain::swap::State as RequestState;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::fmt;
use crate::web::forms::input_value;
use crate::web::layout::{Layout, render_with};
use crate::web::recovery::{MyRecoveryDay, for_now};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(show_now))
}

pub struct Holder {
    pub name: String,
    pub email: String,
    pub sla_minutes: i32,
    /// Until when, in the reader's zone.
    pub until: String,
    /// The same instant in the team's zone.
    pub until_team: String,
    pub until_relative: String,
    pub is_me: bool,
}

/// How far back "Paging you" looks for open pages that told the reader.
const PAGING_YOU_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// An open page paging the reader.
#[derive(Clone)]
pub struct PagingYou {
    /// The page view, under the base path.
    pub path: String,
    pub team: String,
    pub summary: String,
    pub fired: String,
    pub fired_relative: String,
}

pub struct RotationNow {
    pub name: String,
    pub primary: Option<Holder>,
    pub secondary: Option<Holder>,
}

pub struct TeamNow {
    pub slug: String,
    pub name: String,
    pub zone: String,
    pub role: String,
    pub rotations: Vec<RotationNow>,
    /// For managers: the members' upcoming recovery days.
    pub recovery: Vec<String>,
    /// Handoffs to write, read or chase.
    pub handoffs: Vec<crate::web::handoffs::NowLine>,
}

#[derive(Clone)]
pub struct MyShift {
    pub team: String,
    pub team_slug: String,
    pub rotation: String,
    pub role: String,
    pub starts: String,
    pub ends: String,
    pub relative: String,
    pub current: bool,
}

/// A shift whose holder is on leave for some of it.
#[derive(Clone)]
pub struct CoverNeeded {
    /// "Your primary shift in Platform · Weekly, Tue 23 Mar 10:00 to Tue 30
    /// Mar 10:00, falls in your leave (24 Mar to 26 Mar)".
    pub text: String,
    pub team_slug: String,
    pub shift_id: i64,
    /// The reader's own: they ask for cover (or already have).
    pub mine: bool,
    /// The reader's open request for this shift, if any.
    pub asked: Option<i64>,
    /// For a manager, someone else's: the override form over the leave.
    pub override_link: Option<String>,
}

/// What waits in the reader's requests.
#[derive(Default, Clone)]
pub struct RequestCounts {
    /// Asked of the reader, or covers they could take.
    pub waiting: usize,
    /// The reader's own, still open.
    pub mine_open: usize,
}

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    layout: Layout,
    my_zone: String,
    /// Open pages that told the reader of themselves, each with an
    /// Acknowledge button.
    paging_you: Vec<PagingYou>,
    teams: Vec<TeamNow>,
    my_shifts: Vec<MyShift>,
    needs_cover: Vec<CoverNeeded>,
    requests: RequestCounts,
    /// Requests waiting for the reader's approval (managers and admins).
    approvals: i64,
    recovery_days: Vec<MyRecoveryDay>,
    error: Option<String>,
    is_admin: bool,
}

async fn show_now(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    now_page(&state, &session, &user, None, StatusCode::OK).await
}

/// What "Now" shows one person besides who is on call: read in one go on
/// one connection, and kept for the rest of the minute (`cache`), as
/// everything here is worded to the minute.
#[derive(Clone)]
struct Personal {
    paging_you: Vec<PagingYou>,
    recovery_days: Vec<MyRecoveryDay>,
    team_recovery: HashMap<i64, Vec<String>>,
    team_handoffs: HashMap<i64, Vec<crate::web::handoffs::NowLine>>,
    needs_cover: Vec<CoverNeeded>,
    requests: RequestCounts,
    my_shifts: Vec<MyShift>,
}

/// "Now" for `user`, with a message when a form on it failed. An admin sees
/// the teams they belong to, like anyone, and a link to all of them.
pub async fn now_page(
    state: &AppState,
    session: &Session,
    user: &User,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let my_tz = user.tz();
    let teams = state.my_teams(user.id, false).await?;
    let personal = personal(state, user, &teams, now).await?;
    let Personal {
        paging_you,
        recovery_days,
        mut team_recovery,
        mut team_handoffs,
        needs_cover,
        requests,
        my_shifts,
    } = (*personal).clone();
    let holder = |s: &ShiftView, team_tz: chrono_tz::Tz| Holder {
        name: s.name.clone(),
        email: s.email.clone(),
        sla_minutes: s.sla_minutes,
        until: fmt::local(s.ends_at, my_tz),
        until_team: format!(
            "{} {}",
            fmt::local(s.ends_at, team_tz),
            fmt::zone_abbrev(s.ends_at, team_tz)
        ),
        until_relative: fmt::relative(s.ends_at, now),
        is_me: s.user_id == user.id,
    };
    let mut team_views = Vec::with_capacity(teams.len());
    for t in teams.iter() {
        let tz = t.tz();
        // Every rotation, so a rotation with nobody on call still shows.
        let on_call = state.on_call(t.id, now).await?;
        let rotations = state
            .rotations_of(t.id)
            .await?
            .iter()
            .map(|(rotation, _)| {
                let find = |role: Role| {
                    on_call
                        .iter()
                        .find(|s| s.rotation_id == rotation.id && s.role == role)
                        .map(|s| holder(s, tz))
                };
                RotationNow {
                    name: rotation.name.clone(),
                    primary: find(Role::Primary),
                    secondary: find(Role::Secondary),
                }
            })
            .collect();
        team_views.push(TeamNow {
            slug: t.slug.clone(),
            name: t.name.clone(),
            zone: t.timezone.clone(),
            role: t.role.as_str().to_owned(),
            rotations,
            recovery: team_recovery.remove(&t.id).unwrap_or_default(),
            handoffs: team_handoffs.remove(&t.id).unwrap_or_default(),
        });
    }
    let layout = Layout::new(state, session, "Now", Some(user)).await?;
    let approvals = layout.approvals.unwrap_or(0);
    Ok(render_with(
        status,
        &NowPage {
            layout,
            my_zone: user.timezone.clone(),
            paging_you,
            teams: team_views,
            my_shifts,
            needs_cover,
            requests,
            approvals,
            recovery_days,
            error,
            is_admin: user.is_admin,
        },
    ))
}

/// The reader's own part of "Now", from the cache when read this minute.
async fn personal(state: &AppState, user: &User, teams: &[MyTeam], now: DateTime<Utc>) -> AppResult<Arc<Personal>> {
    let key = (user.id, now.timestamp().div_euclid(60));
    if let Some(found) = state.caches.now_page(&key).and_then(|a| a.downcast::<Personal>().ok()) {
        return Ok(found);
    }
    let seen = state.caches.generation();
    let my_tz = user.tz();
    let team_ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    let mut conn = state.db.acquire().await?;
    let (recovery_days, team_recovery) =
        for_now(&mut conn, user, teams, now.with_timezone(&my_tz).date_naive()).await?;
    let team_handoffs = crate::web::handoffs::for_now(&mut conn, user, teams, now).await?;
    let collisions = db::leave::needs_cover(&mut conn, &team_ids, now, now + HORIZON).await?;
    let my_requests = db::swaps::for_user(&mut conn, user.id, 200).await?;
    let mine = db::shifts::for_user(&mut conn, user.id, now, now + HORIZON, 6).await?;
    let paging = db::pages::paging_user(&mut conn, user.id, now - PAGING_YOU_WINDOW).await?;
    drop(conn);
    let paging_you = paging
        .into_iter()
        .map(|p| PagingYou {
            path: format!("/teams/{}/pages/{}", p.team_slug, p.id),
            team: p.team_name,
            summary: p.summary,
            fired: fmt::local(p.fired_at, my_tz),
            fired_relative: fmt::relative(p.fired_at, now),
        })
        .collect();
    let my_shifts = mine
        .iter()
        .map(|s| MyShift {
            team: s.team_name.clone(),
            team_slug: s.team_slug.clone(),
            rotation: s.rotation_name.clone(),
            role: s.role.as_str().to_owned(),
            starts: fmt::local(s.starts_at, my_tz),
            ends: fmt::local(s.ends_at, my_tz),
            relative: if s.starts_at <= now {
                format!("now, ends {}", fmt::relative(s.ends_at, now))
            } else {
                fmt::relative(s.starts_at, now)
            },
            current: s.starts_at <= now && now < s.ends_at,
        })
        .collect();
    let personal = Arc::new(Personal {
        paging_you,
        recovery_days,
        team_recovery,
        team_handoffs,
        needs_cover: covers_needed(&collisions, teams, &my_requests, user, now),
        requests: count_requests(&my_requests, user.id, now),
        my_shifts,
    });
    state.caches.put_now_page(seen, key, personal.clone());
    Ok(personal)
}

/// The shifts that collide with leave and concern the reader: their own,
/// and for a manager those of their teams.
fn covers_needed(
    rows: &[NeedsCover],
    teams: &[MyTeam],
    my_requests: &[Request],
    user: &User,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<CoverNeeded> {
    let my_tz = user.tz();
    rows.iter()
        .filter_map(|c| {
            let team = teams.iter().find(|t| t.id == c.team_id)?;
            let mine = c.user_id == user.id;
            if !mine && team.role != TeamRole::Manager {
                return None;
            }
            let whose = if mine {
                "Your".to_owned()
            } else {
                format!("{}'s", c.name)
            };
            let shift = format!(
                "{whose} {} shift in {} · {}, {} to {}",
                c.role,
                c.team_name,
                c.rotation_name,
                fmt::local(c.starts_at, my_tz),
                fmt::local(c.ends_at, my_tz),
            );
            let whose_time = if mine { "your" } else { "their" };
            let text = if c.reason == "recovery" {
                format!(
                    "{shift}, falls on {whose_time} recovery day off ({})",
                    fmt::date_short(c.leave_start)
                )
            } else {
                format!(
                    "{shift}, falls in {whose_time} leave ({} to {})",
                    fmt::date_short(c.leave_start),
                    fmt::date_short(c.leave_end)
                )
            };
            let asked = my_requests
                .iter()
                .find(|r| mine && r.shift_id == c.shift_id && r.requester_id == user.id && r.state_at(now).is_open())
                .map(|r| r.id);
            let tz = team.tz();
            let from = c.starts_at.max(c.leave_starts_at).max(now);
            let until = c.ends_at.min(c.leave_ends_at);
            let override_link = (!mine).then(|| {
                format!(
                    "/teams/{}/overrides/new?shift={}&at={}&until={}",
                    c.team_slug,
                    c.shift_id,
                    input_value(from, tz),
                    input_value(until, tz)
                )
            });
            Some(CoverNeeded {
                text,
                team_slug: c.team_slug.clone(),
                shift_id: c.shift_id,
                mine,
                asked,
                override_link,
            })
        })
        .collect()
}

fn count_requests(list: &[Request], me: i64, now: chrono::DateTime<chrono::Utc>) -> RequestCounts {
    let mut counts = RequestCounts::default();
    for r in list {
        let state = r.state_at(now);
        if r.requester_id == me && state.is_open() {
            counts.mine_open += 1;
        } else if state == RequestState::Proposed && r.requester_id != me && r.counterpart_id.is_none_or(|c| c == me) {
            counts.waiting += 1;
        }
    }
    counts
}
