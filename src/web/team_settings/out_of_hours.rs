//! The out-of-hours section: the sleep hours and weekend threshold that
//! decide which pages earn a recovery day, and the team's holidays (by
//! hand or from an `.ics` file).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveTime;
use serde::Deserialize;
use tower_sessions::Session;

use super::{Head, Section, done, reshow};
use crate::auth::csrf::{CsrfForm, CsrfUpload};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::domain::validate;
use crate::error::{AppError, AppResult, Given};
use crate::ops::policy::{PolicyChange, change_policy};
use crate::ops::recovery::{apply_holidays, import_holidays};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, render_with};

pub struct PolicyValues {
    pub sleep_start: String,
    pub sleep_end: String,
    pub threshold_minutes: i64,
}

pub struct HolidayRow {
    /// YYYY-MM-DD, as the remove form sends it.
    pub date: String,
    pub label: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "team/settings/out_of_hours.html")]
struct OutOfHoursPage {
    layout: Layout,
    head: Head,
    policy: PolicyValues,
    holidays: Vec<HolidayRow>,
}

pub async fn page(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let team = &m.0.team;
    let hm = |t: NaiveTime| t.format("%H:%M").to_string();
    let mut conn = state.db.acquire().await?;
    let policy = db::holidays::policy(&mut conn, team.id).await?;
    let holidays = db::holidays::list(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|h| HolidayRow {
            date: h.date.to_string(),
            label: fmt::day(h.date),
            name: h.name,
        })
        .collect();
    drop(conn);
    let title = format!("{} out of hours", team.name);
    let layout = Layout::new(state, session, title, Some(m.0.user())).await?;
    Ok(render_with(
        status,
        &OutOfHoursPage {
            layout,
            head: Head::new(team, Section::OutOfHours, error),
            policy: PolicyValues {
                sleep_start: hm(policy.sleep_start),
                sleep_end: hm(policy.sleep_end),
                threshold_minutes: policy.day_threshold.num_minutes(),
            },
            holidays,
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: Session, m: TeamManager<WebUser>) -> AppResult<Response> {
    page(&state, &session, &m, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    sleep_start: String,
    sleep_end: String,
    day_threshold_minutes: String,
}

pub async fn save_policy(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> AppResult<Response> {
    let result = async {
        let minutes = form.day_threshold_minutes.trim().parse::<i32>().map_err(|_| {
            AppError::Unprocessable(format!(
                "The weekend and holiday threshold \"{}\" is not a whole number of minutes",
                form.day_threshold_minutes
            ))
        })?;
        let change = PolicyChange {
            sleep_start: Some(&form.sleep_start),
            sleep_end: Some(&form.sleep_end),
            day_threshold_minutes: Some(minutes),
        };
        let mut tx = state.db.begin().await?;
        change_policy(&mut tx, &m.0.team, m.0.user().id, change, state.clock.now()).await?;
        tx.commit().await?;
        Ok("Out-of-hours policy saved. Pages from now on follow it, and so do older ones whenever a page near them is recorded or corrected".into())
    }
    .await;
    done(&state, &session, &m, Section::OutOfHours, result).await
}

#[derive(Deserialize)]
pub struct HolidayForm {
    date: String,
    name: String,
}

pub async fn add_holiday(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<HolidayForm>,
) -> AppResult<Response> {
    let result = async {
        let date = Given::Form.date(&form.date)?;
        let name = validate::name(&form.name)
            .map_err(|_| AppError::Unprocessable("Give the holiday a name of 1 to 100 characters".into()))?;
        let mut tx = state.db.begin().await?;
        let team = &m.0.team;
        apply_holidays(
            &mut tx,
            team,
            m.0.user().id,
            &[(date, name.clone())],
            &[],
            state.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(format!(
            "{name} on {} is a holiday; recovery days avoid it",
            fmt::day(date)
        ))
    }
    .await;
    done(&state, &session, &m, Section::OutOfHours, result).await
}

#[derive(Deserialize)]
pub struct RemoveHolidayForm {
    date: String,
}

pub async fn remove_holiday(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RemoveHolidayForm>,
) -> AppResult<Response> {
    let result = async {
        let date = Given::Form.date(&form.date)?;
        let mut tx = state.db.begin().await?;
        let team = &m.0.team;
        if !apply_holidays(&mut tx, team, m.0.user().id, &[], &[date], state.clock.now()).await? {
            return Err(AppError::NotFound(format!("{date} is not a holiday of {}", team.name)));
        }
        tx.commit().await?;
        Ok(format!("{} is no longer a holiday", fmt::day(date)))
    }
    .await;
    done(&state, &session, &m, Section::OutOfHours, result).await
}

pub async fn import_holiday_file(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    upload: CsrfUpload,
) -> AppResult<Response> {
    if upload.too_large {
        let msg = "That file is over 1 MiB; export fewer years of holidays and upload that".to_owned();
        return reshow(
            &state,
            &session,
            &m,
            Section::OutOfHours,
            msg,
            StatusCode::PAYLOAD_TOO_LARGE,
        )
        .await;
    }
    let result = async {
        if upload.file.is_empty() {
            return Err(AppError::Unprocessable("Choose an .ics file to upload".into()));
        }
        let text = std::str::from_utf8(&upload.file).map_err(|_| {
            AppError::Unprocessable(
                "That file is not text in UTF-8, so not an iCalendar file; export the holidays as .ics and upload that"
                    .into(),
            )
        })?;
        let mut tx = state.db.begin().await?;
        let dates = import_holidays(&mut tx, &m.0.team, m.0.user().id, text, state.clock.now()).await?;
        tx.commit().await?;
        Ok(format!("Imported {dates} holiday dates from the calendar"))
    }
    .await;
    done(&state, &session, &m, Section::OutOfHours, result).await
}
