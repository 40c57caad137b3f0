//! "Now": who is on call in each of my teams, my next shifts and my
//! recovery days.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tower_sessions::Session;

use crate::app::AppState;
use crate::auth::WebUser;
use crate::db;
use crate::db::rotations::HORIZON;
use crate::db::shifts::ShiftView;
use crate::db::users::User;
use crate::error::AppResult;
use crate::web::fmt;
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

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    layout: Layout,
    my_zone: String,
    teams: Vec<TeamNow>,
    my_shifts: Vec<MyShift>,
    recovery_days: Vec<MyRecoveryDay>,
    error: Option<String>,
    is_admin: bool,
}

async fn show_now(State(state): State<AppState>, session: Session, WebUser(user): WebUser) -> AppResult<Response> {
    now_page(&state, &session, &user, None, StatusCode::OK).await
}

/// "Now" for `user`, with a message when a form on it failed.
pub async fn now_page(
    state: &AppState,
    session: &Session,
    user: &User,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let my_tz = user.tz();
    let mut conn = state.db.acquire().await?;
    let teams = db::teams::for_user(&mut conn, user.id, user.is_admin).await?;
    let team_ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    let on_call = db::shifts::on_call_in(&mut conn, &team_ids, now).await?;
    // Every rotation of every team in one query, so a rotation with nobody
    // on call still shows.
    let all_rotations: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT team_id, id, name FROM rotations WHERE team_id = ANY($1) ORDER BY lower(name), slug")
            .bind(&team_ids)
            .fetch_all(&mut *conn)
            .await?;
    let (recovery_days, mut team_recovery) =
        for_now(&mut conn, user, &teams, now.with_timezone(&my_tz).date_naive()).await?;
    let mut team_handoffs = crate::web::handoffs::for_now(&mut conn, user, &teams, now).await?;
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
    let team_views = teams
        .iter()
        .map(|t| {
            let tz = t.tz();
            let rotations = all_rotations
                .iter()
                .filter(|(team_id, _, _)| *team_id == t.id)
                .map(|(_, rotation_id, name)| {
                    let find = |role: &str| {
                        on_call
                            .iter()
                            .find(|s| s.rotation_id == *rotation_id && s.role == role)
                            .map(|s| holder(s, tz))
                    };
                    RotationNow {
                        name: name.clone(),
                        primary: find("primary"),
                        secondary: find("secondary"),
                    }
                })
                .collect();
            TeamNow {
                slug: t.slug.clone(),
                name: t.name.clone(),
                zone: t.timezone.clone(),
                role: t.role.clone(),
                rotations,
                recovery: team_recovery.remove(&t.id).unwrap_or_default(),
                handoffs: team_handoffs.remove(&t.id).unwrap_or_default(),
            }
        })
        .collect();
    let mine = db::shifts::for_user(&mut conn, user.id, now, now + HORIZON, 6).await?;
    let my_shifts = mine
        .iter()
        .map(|s| MyShift {
            team: s.team_name.clone(),
            team_slug: s.team_slug.clone(),
            rotation: s.rotation_name.clone(),
            role: s.role.clone(),
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
    let layout = Layout::new(session, "Now", Some(user)).await?;
    Ok(render_with(
        status,
        &NowPage {
            layout,
            my_zone: user.timezone.clone(),
            teams: team_views,
            my_shifts,
            recovery_days,
            error,
            is_admin: user.is_admin,
        },
    ))
}
