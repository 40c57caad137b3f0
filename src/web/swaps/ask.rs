//! Asking for a swap or a cover: the form for one of my shifts, and the
//! one-click cover for a shift that falls in my leave.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use super::span;
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::shifts::ShiftView;
use crate::db::swaps::Request;
use crate::error::{AppError, AppResult};
use crate::ops::swaps::{self as swap_ops, Ask};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::forms::{Choice, input_value, local_instant, next_hour, shown_on_page};
use crate::web::layout::{Layout, flash, render_with};
use crate::web::now::now_page;
use crate::web::rota::AHEAD;

#[derive(Deserialize)]
pub struct ShiftQuery {
    shift: Option<String>,
}

impl ShiftQuery {
    fn id(&self) -> AppResult<i64> {
        self.shift
            .as_deref()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                AppError::BadRequest(
                    "Choose one of your shifts on the team's rota, then “Swap or cover…” beside it".into(),
                )
            })
    }
}

/// What the form holds, as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AskForm {
    /// `swap` or `cover`.
    kind: String,
    counterpart_shift: String,
    /// Empty: open to the team.
    cover_email: String,
    starts_at: String,
    ends_at: String,
    note: String,
}

#[derive(Template)]
#[template(path = "swaps/new.html")]
struct RequestForm {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    shift_id: i64,
    /// "primary in Weekly, Tue 23 Mar 10:00 to Tue 30 Mar 10:00 GMT".
    shift: String,
    started: bool,
    error: Option<String>,
    form: AskForm,
    weeks: Vec<Choice>,
    people: Vec<Choice>,
}

/// The shift, if it is the reader's and not over.
async fn my_shift(
    conn: &mut PgConnection,
    member: &TeamMember<WebUser>,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<ShiftView> {
    let shift = db::shifts::by_id(conn, id)
        .await?
        .filter(|s| s.team_slug == member.team.slug)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no shift {id} in {}; it may have changed: open the rota and pick again",
                member.team.name
            ))
        })?;
    if shift.user_id != member.user().id {
        return Err(AppError::forbidden(format!(
            "That shift is {}'s: they can ask for a swap or cover, or a manager can override it",
            shift.name
        )));
    }
    if shift.ends_at <= now {
        return Err(AppError::Conflict(
            "That shift is over, and the past never changes; pick one of your coming shifts on the rota".into(),
        ));
    }
    Ok(shift)
}

async fn form_page(
    state: &AppState,
    session: &Session,
    member: &TeamMember<WebUser>,
    id: i64,
    typed: Option<AskForm>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let tz = team.tz();
    let me = member.user().id;
    // The rota's window, so the cache the rota filled answers.
    let upcoming = state.shifts_between(team.id, now, now + AHEAD).await?;
    let mut conn = state.db.acquire().await?;
    let shift = my_shift(&mut conn, member, id, now).await?;
    let members = db::teams::members(&mut conn, team.id).await?;
    drop(conn);
    let started = shift.starts_at <= now;
    let form = typed.unwrap_or_else(|| AskForm {
        kind: if started { "cover" } else { "swap" }.into(),
        starts_at: input_value(if started { next_hour(now) } else { shift.starts_at }, tz),
        ends_at: input_value(shift.ends_at, tz),
        ..AskForm::default()
    });
    let weeks = upcoming
        .iter()
        .filter(|s| s.rotation_id == shift.rotation_id && s.user_id != me && s.starts_at > now)
        .map(|s| Choice {
            value: s.id.to_string(),
            label: format!("{}: {}, {}", s.name, s.role, span(s.starts_at, s.ends_at, tz)),
            selected: form.counterpart_shift == s.id.to_string(),
        })
        .collect();
    let people = members
        .into_iter()
        .filter(|m| m.user_id != me)
        .map(|m| Choice {
            selected: form.cover_email == m.email,
            value: m.email,
            label: m.name,
        })
        .collect();
    let layout = Layout::new(state, session, "Swap or cover", Some(member.user())).await?;
    Ok(render_with(
        status,
        &RequestForm {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            zone: team.timezone.clone(),
            shift_id: shift.id,
            shift: format!(
                "{} in {}, {}",
                shift.role,
                shift.rotation_name,
                span(shift.starts_at, shift.ends_at, tz)
            ),
            started,
            error,
            form,
            weeks,
            people,
        },
    ))
}

pub async fn show_request_form(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ShiftQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    form_page(&state, &session, &member, q.id()?, None, None, StatusCode::OK).await
}

pub async fn request_swap(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ShiftQuery>,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<AskForm>,
) -> AppResult<Response> {
    let id = q.id()?;
    match send(&state, &member, id, &form).await {
        Ok(r) => {
            let to = match &r.counterpart_name {
                Some(name) => format!("Request sent to {name}"),
                None => format!(
                    "Request sent to everyone in {}: the first to volunteer covers it",
                    r.team_name
                ),
            };
            flash(&session, to).await;
            Ok(Redirect::to(&format!("/swaps/{}", r.id)).into_response())
        }
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => form_page(&state, &session, &member, id, Some(form), Some(msg), status).await,
            None => Err(e),
        },
    }
}

async fn send(state: &AppState, member: &TeamMember<WebUser>, id: i64, form: &AskForm) -> AppResult<Request> {
    let tz = member.team.tz();
    let ask = match form.kind.as_str() {
        "swap" => {
            let theirs = form.counterpart_shift.trim();
            if theirs.is_empty() {
                return Err(AppError::Unprocessable(
                    "Choose the week you would take in exchange, or ask for a cover instead".into(),
                ));
            }
            let theirs = theirs
                .parse()
                .map_err(|_| AppError::Unprocessable("Choose a week from the list".into()))?;
            Ask {
                shift_id: id,
                counterpart_shift_id: Some(theirs),
                cover_email: None,
                starts_at: None,
                ends_at: None,
                note: &form.note,
            }
        }
        "cover" => Ask {
            shift_id: id,
            counterpart_shift_id: None,
            cover_email: Some(form.cover_email.as_str()),
            starts_at: local_instant("start", &form.starts_at, tz)?,
            ends_at: local_instant("end", &form.ends_at, tz)?,
            note: &form.note,
        },
        _ => return Err(AppError::Unprocessable("Choose a swap or a cover".into())),
    };
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let request = swap_ops::ask(&mut tx, &ctx, &member.team, member.user(), &ask).await?;
    tx.commit().await?;
    Ok(request)
}

#[derive(Deserialize)]
pub struct CoverForm {
    shift: String,
}

/// The part of a shift that falls in a leave and is still ahead; when it
/// has begun, from the next full hour.
fn leave_part(
    shift: (DateTime<Utc>, DateTime<Utc>),
    leave: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let from = shift.0.max(leave.0);
    let to = shift.1.min(leave.1);
    let from = if from <= now { next_hour(now) } else { from };
    (from < to).then_some((from, to))
}

/// "Ask for cover" on Now: an open cover over the part of my shift that
/// falls in my leave.
pub async fn ask_for_cover(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<CoverForm>,
) -> AppResult<Response> {
    let result = async {
        let id: i64 = form
            .shift
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest("Choose a shift from the list on Now".into()))?;
        let ctx = state.ctx();
        let now = ctx.clock.now();
        let me = member.user();
        let mut tx = state.db.begin().await?;
        let shift = my_shift(&mut tx, &member, id, now).await?;
        // Leave, or a recovery day taken off, over what is left of it.
        let away = db::leave::needs_cover(&mut tx, &[member.team.id], shift.starts_at.max(now), shift.ends_at).await?;
        let Some(l) = away.iter().find(|c| c.shift_id == id && c.user_id == me.id) else {
            return Err(AppError::Conflict(
                "You are not on leave or on a recovery day off during that shift any more; to hand it over anyway, use “Swap or cover…” on the rota"
                    .into(),
            ));
        };
        let (from, to) = leave_part(
            (shift.starts_at, shift.ends_at),
            (l.leave_starts_at, l.leave_ends_at),
            now,
        )
        .ok_or_else(|| {
            AppError::Conflict(
                "What is left of that shift in your time off ends within the hour; ask a manager for an override".into(),
            )
        })?;
        let note = if l.reason == "recovery" {
            format!("On a recovery day off {}", fmt::date(l.leave_start))
        } else {
            format!(
                "On leave {} to {}",
                fmt::date_short(l.leave_start),
                fmt::date(l.leave_end)
            )
        };
        let ask = Ask {
            shift_id: id,
            counterpart_shift_id: None,
            cover_email: None,
            starts_at: Some(from),
            ends_at: Some(to),
            note: &note,
        };
        let request = swap_ops::ask(&mut tx, &ctx, &member.team, me, &ask).await?;
        tx.commit().await?;
        Ok::<_, AppError>(request)
    }
    .await;
    match result {
        Ok(r) => {
            flash(
                &session,
                format!(
                    "Cover asked for: everyone in {} can volunteer, then a manager approves",
                    r.team_name
                ),
            )
            .await;
            Ok(Redirect::to(&format!("/swaps/{}", r.id)).into_response())
        }
        Err(e) => match shown_on_page(&e) {
            Some((status, msg)) => now_page(&state, &session, member.user(), Some(msg), status).await,
            None => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_cover_for_leave_takes_the_part_of_the_shift_still_ahead() {
        let shift = (t("2027-03-23T10:00:00Z"), t("2027-03-30T09:00:00Z"));
        let leave = (t("2027-03-24T00:00:00Z"), t("2027-03-27T00:00:00Z"));
        let before = t("2027-03-02T12:00:00Z");
        assert_eq!(leave_part(shift, leave, before), Some(leave));
        let during = t("2027-03-25T12:20:00Z");
        assert_eq!(
            leave_part(shift, leave, during),
            Some((t("2027-03-25T13:00:00Z"), leave.1))
        );
        assert_eq!(leave_part(shift, leave, t("2027-03-26T23:30:00Z")), None);
    }
}
