//! The team settings that concern pages, for managers: the out-of-hours
//! policy, the holiday calendar (by hand or from an `.ics` file) and the
//! integration tokens alerting tools send pages with.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use chrono::NaiveTime;
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use crate::auth::csrf::{CsrfForm, CsrfUpload, NoFields};
use crate::auth::{TeamManager, WebUser};
use crate::db;
use crate::db::teams::Team;
use crate::domain::validate;
use crate::error::{AppError, AppResult, Given};
use crate::ops::policy::{PolicyChange, change_policy};
use crate::ops::recovery::{apply_holidays, import_holidays};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{fixable, flash};
use crate::web::team_settings::{Shown, settings_page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/policy", post(save_policy))
        .route("/teams/{team}/holidays", post(add_holiday))
        .route("/teams/{team}/holidays/remove", post(remove_holiday))
        .route("/teams/{team}/holidays/import", post(import_holiday_file))
        .route("/teams/{team}/integrations", post(create_integration))
        .route("/teams/{team}/integrations/{id}/revoke", post(revoke_integration))
}

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

pub struct IntegrationRow {
    pub id: i64,
    pub label: String,
    pub rotation: String,
    pub signed: bool,
    pub created: String,
}

pub struct Choice {
    pub slug: String,
    pub name: String,
}

/// A token just created, shown this once.
pub struct NewToken {
    pub label: String,
    pub token: String,
}

pub struct HookUrl {
    pub tool: &'static str,
    pub url: String,
}

/// What the settings page shows of the team's page handling.
pub struct Alerting {
    pub policy: PolicyValues,
    pub holidays: Vec<HolidayRow>,
    pub integrations: Vec<IntegrationRow>,
    pub rotations: Vec<Choice>,
    pub hook_urls: Vec<HookUrl>,
    pub new_token: Option<NewToken>,
}

pub async fn load(
    conn: &mut PgConnection,
    team: &Team,
    base_url: &str,
    new_token: Option<NewToken>,
) -> AppResult<Alerting> {
    let hm = |t: NaiveTime| t.format("%H:%M").to_string();
    let policy = db::holidays::policy(conn, team.id).await?;
    let holidays = db::holidays::list(conn, team.id)
        .await?
        .into_iter()
        .map(|h| HolidayRow {
            date: h.date.to_string(),
            label: fmt::day(h.date),
            name: h.name,
        })
        .collect();
    let rotations: Vec<(i64, Choice)> = db::rotations::for_team(conn, team.id)
        .await?
        .into_iter()
        .map(|(r, _)| {
            (
                r.id,
                Choice {
                    slug: r.slug,
                    name: r.name,
                },
            )
        })
        .collect();
    let integrations = db::integrations::live_for_team(conn, team.id)
        .await?
        .into_iter()
        .map(|i| IntegrationRow {
            id: i.id,
            rotation: i
                .rotation_id
                .and_then(|id| rotations.iter().find(|(r, _)| *r == id))
                .map_or_else(|| "not bound to one".into(), |(_, r)| r.name.clone()),
            signed: i.signing_secret.is_some(),
            created: fmt::local_date(i.created_at, team.tz()),
            label: i.label,
        })
        .collect();
    let base = base_url.trim_end_matches('/');
    let hook_urls = ["alertmanager", "grafana", "pagerduty"]
        .into_iter()
        .map(|tool| HookUrl {
            tool,
            url: format!("{base}/api/v1/hooks/{tool}"),
        })
        .chain(std::iter::once(HookUrl {
            tool: "any other tool (JSON)",
            url: format!("{base}/api/v1/teams/{}/pages", team.slug),
        }))
        .collect();
    Ok(Alerting {
        policy: PolicyValues {
            sleep_start: hm(policy.sleep_start),
            sleep_end: hm(policy.sleep_end),
            threshold_minutes: policy.day_threshold.num_minutes(),
        },
        holidays,
        integrations,
        rotations: rotations.into_iter().map(|(_, r)| r).collect(),
        hook_urls,
        new_token,
    })
}

/// Back to the settings page with a flash, or the page again with what to fix.
async fn done(
    state: &AppState,
    session: &Session,
    m: &TeamManager<WebUser>,
    result: AppResult<String>,
) -> AppResult<Response> {
    match result {
        Ok(message) => {
            flash(session, message).await;
            Ok(Redirect::to(&format!("/teams/{}/settings", m.0.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => settings_page(state, session, m, Shown::error(msg), status).await,
            None => Err(e),
        },
    }
}

#[derive(Deserialize)]
struct PolicyForm {
    sleep_start: String,
    sleep_end: String,
    day_threshold_minutes: String,
}

async fn save_policy(
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
    done(&state, &session, &m, result).await
}

#[derive(Deserialize)]
struct HolidayForm {
    date: String,
    name: String,
}

async fn add_holiday(
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
    done(&state, &session, &m, result).await
}

#[derive(Deserialize)]
struct RemoveHolidayForm {
    date: String,
}

async fn remove_holiday(
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
    done(&state, &session, &m, result).await
}

async fn import_holiday_file(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    upload: CsrfUpload,
) -> AppResult<Response> {
    if upload.too_large {
        let msg = "That file is over 1 MiB; export fewer years of holidays and upload that".to_owned();
        return settings_page(&state, &session, &m, Shown::error(msg), StatusCode::PAYLOAD_TOO_LARGE).await;
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
    done(&state, &session, &m, result).await
}

#[derive(Deserialize)]
struct IntegrationForm {
    label: String,
    #[serde(default)]
    rotation: String,
    #[serde(default)]
    signing_secret: String,
}

async fn create_integration(
    State(state): State<AppState>,
    session: Session,
    m: TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<IntegrationForm>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = state.db.begin().await?;
        let created = crate::ops::integrations::create(
            &mut tx,
            &m.0.team,
            &form.label,
            Some(&form.rotation),
            Some(&form.signing_secret),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    match result {
        // Shown this once; only its hash is kept.
        Ok(created) => {
            let shown = Shown {
                new_token: Some(NewToken {
                    label: created.integration.label,
                    token: created.token,
                }),
                ..Shown::default()
            };
            settings_page(&state, &session, &m, shown, StatusCode::CREATED).await
        }
        Err(e) => done(&state, &session, &m, Err(e)).await,
    }
}

async fn revoke_integration(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    m: TeamManager<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = state.db.begin().await?;
        crate::ops::integrations::revoke(&mut tx, &m.0.team, m.0.user().id, id, state.clock.now()).await?;
        tx.commit().await?;
        Ok("Integration token revoked; alerts sent with it are now refused".into())
    }
    .await;
    done(&state, &session, &m, result).await
}
