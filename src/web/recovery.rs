//! Recovery days in HTML: the person's own on "Now", with the choice of how
//! to take each; and, for managers, their team's upcoming ones (read only).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use crate::auth::WebUser;
use crate::auth::csrf::CsrfForm;
use crate::db;
use crate::db::recovery::RecoveryDay;
use crate::db::teams::{MyTeam, TeamRole};
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::ops::recovery::{FLAGGED, FORMS, choose};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{fixable, flash};
use crate::web::now::now_page;

/// How far back "Now" looks for flagged grants, and how far ahead for any.
const FLAGGED_DAYS_BACK: i64 = 30;
const DAYS_AHEAD: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new().route("/recovery-days/{id}", post(choose_recovery_day))
}

/// The words for a form of recovery day.
pub fn form_label(form: &str) -> &'static str {
    match form {
        "home" => "work from home",
        "late_start" => "late start",
        _ => "day off",
    }
}

#[derive(Clone)]
pub struct FormChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// One of the reader's own recovery days.
#[derive(Clone)]
pub struct MyRecoveryDay {
    pub id: i64,
    /// "Recovery day: Tuesday 3 March — day off".
    pub heading: String,
    pub reason: String,
    pub forms: Vec<FormChoice>,
    pub worked_anyway: bool,
    pub flagged: bool,
}

fn long_date(day: NaiveDate, today: NaiveDate) -> String {
    if day.year() == today.year() {
        day.format("%A %-d %B").to_string()
    } else {
        day.format("%A %-d %B %Y").to_string()
    }
}

fn my_day(r: RecoveryDay, today: NaiveDate) -> MyRecoveryDay {
    MyRecoveryDay {
        id: r.id,
        heading: format!("Recovery day: {} — {}", long_date(r.day, today), form_label(&r.form)),
        forms: FORMS
            .iter()
            .map(|f| FormChoice {
                value: f,
                label: form_label(f),
                selected: *f == r.form,
            })
            .collect(),
        worked_anyway: r.worked_anyway,
        flagged: r.state == FLAGGED,
        reason: r.reason,
    }
}

/// The reader's recovery days from `today` on, and flagged ones of the last
/// month; and, for each team they manage, its members' upcoming days as
/// one line each ("Alex, Tue 3 Mar (day off)").
pub async fn for_now(
    conn: &mut PgConnection,
    user: &User,
    teams: &[MyTeam],
    today: NaiveDate,
) -> AppResult<(Vec<MyRecoveryDay>, HashMap<i64, Vec<String>>)> {
    let ahead = today + Duration::days(DAYS_AHEAD);
    let mine = db::recovery::for_user(conn, user.id, today - Duration::days(FLAGGED_DAYS_BACK), ahead)
        .await?
        .into_iter()
        .filter(|r| r.day >= today || r.state == FLAGGED)
        .map(|r| my_day(r, today))
        .collect();
    let managed: Vec<i64> = teams
        .iter()
        .filter(|t| t.role == TeamRole::Manager)
        .map(|t| t.id)
        .collect();
    let mut by_team: HashMap<i64, Vec<String>> = HashMap::new();
    if !managed.is_empty() {
        for r in db::recovery::for_teams(conn, &managed, today, ahead).await? {
            let worked = if r.worked_anyway { ", worked anyway" } else { "" };
            by_team.entry(r.team_id).or_default().push(format!(
                "{}, {} ({}{worked})",
                r.name,
                fmt::day_short(r.day),
                form_label(&r.form)
            ));
        }
    }
    Ok((mine, by_team))
}

#[derive(Deserialize)]
struct ChoiceForm {
    form: String,
    /// A checkbox: present when ticked.
    worked_anyway: Option<String>,
}

async fn choose_recovery_day(
    State(state): State<AppState>,
    session: Session,
    WebUser(user): WebUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ChoiceForm>,
) -> AppResult<Response> {
    let worked_anyway = form.worked_anyway.is_some();
    let result = async {
        let mut tx = state.db.begin().await?;
        let day = choose(&mut tx, id, &user, Some(form.form.as_str()), Some(worked_anyway)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(day)
    }
    .await;
    match result {
        Ok(day) => {
            let worked = if day.worked_anyway { "; you worked anyway" } else { "" };
            flash(
                &session,
                format!(
                    "Recovery day on {}: {}{worked}",
                    fmt::day_short(day.day),
                    form_label(&day.form)
                ),
            )
            .await;
            Ok(Redirect::to("/").into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => now_page(&state, &session, &user, Some(msg), status).await,
            None => Err(e),
        },
    }
}
