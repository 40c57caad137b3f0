//! The team's pages with filters, and the form to log a page by hand.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tower_sessions::Session;

use super::{PageRow, parse_time};
use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::pages::Report;
use crate::domain::recovery::OutOfHours;
use crate::domain::schedule::local_to_instant;
use crate::domain::validate;
use crate::error::{AppError, AppResult, Given};
use crate::ops::classify::Classifier;
use crate::ops::pages::{Derive, default_rotation, record};
use crate::secrets;
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render_with};

/// The list's default period, ending today.
const DEFAULT_DAYS: i64 = 28;

pub struct Choice {
    pub value: String,
    pub name: String,
    pub selected: bool,
}

/// What the "Log a page" form shows.
#[derive(Default)]
pub struct LogValues {
    pub summary: String,
    pub fired_date: String,
    pub fired_time: String,
    pub acknowledged_time: String,
    pub worked_until_time: String,
    pub rotation: String,
}

#[derive(Template)]
#[template(path = "team/pages.html")]
struct PagesPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    is_manager: bool,
    from: String,
    to: String,
    people: Vec<Choice>,
    out_of_hours_only: bool,
    rows: Vec<PageRow>,
    error: Option<String>,
    log: LogValues,
    rotations: Vec<Choice>,
}

#[derive(Deserialize, Default)]
pub struct PagesQuery {
    /// First date shown (YYYY-MM-DD, the reader's zone).
    from: Option<String>,
    /// Last date shown, included.
    to: Option<String>,
    /// A member's user id.
    person: Option<String>,
    /// Present when only pages out of hours are wanted.
    out_of_hours: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn pages_page(
    state: &AppState,
    session: &Session,
    member: &TeamMember<WebUser>,
    q: &PagesQuery,
    log: LogValues,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let user = member.user();
    let tz = user.tz();
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let to = match non_empty(&q.to) {
        Some(s) => Given::Query.date(s)?,
        None => today,
    };
    let from = match non_empty(&q.from) {
        Some(s) => Given::Query.date(s)?,
        None => to - Duration::days(DEFAULT_DAYS - 1),
    };
    if from > to || to - from > Duration::days(800) {
        return Err(AppError::BadRequest(
            "Choose a period whose start is before its end, at most 800 days long".into(),
        ));
    }
    let person: Option<i64> = non_empty(&q.person).and_then(|p| p.parse().ok());
    let out_of_hours_only = q.out_of_hours.is_some();
    let midnight = |d: NaiveDate| local_to_instant(tz, d, NaiveTime::MIN);

    let team = &member.team;
    let mut conn = state.db.acquire().await?;
    let pages = db::pages::for_team(
        &mut conn,
        team.id,
        midnight(from),
        midnight(to + Duration::days(1)),
        person,
    )
    .await?;
    let classifier = Classifier::for_team(&mut conn, team).await?;
    let rows = pages
        .iter()
        .map(|p| (p, classifier.info(p)))
        .filter(|(_, info)| !out_of_hours_only || info.out_of_hours != OutOfHours::Working)
        .map(|(p, info)| PageRow::new(p, &info, tz))
        .collect();
    let people = db::teams::members(&mut conn, team.id)
        .await?
        .into_iter()
        .map(|m| Choice {
            selected: person == Some(m.user_id),
            value: m.user_id.to_string(),
            name: m.name,
        })
        .collect();
    drop(conn);
    let rotations = state
        .rotations_of(team.id)
        .await?
        .into_iter()
        .map(|(r, _)| Choice {
            selected: log.rotation == r.slug,
            value: r.slug,
            name: r.name,
        })
        .collect();
    let log = LogValues {
        fired_date: if log.fired_date.is_empty() {
            today.to_string()
        } else {
            log.fired_date
        },
        ..log
    };
    let layout = Layout::new(state, session, format!("{} pages", team.name), Some(user)).await?;
    Ok(render_with(
        status,
        &PagesPage {
            layout,
            team_name: team.name.clone(),
            team_slug: team.slug.clone(),
            zone: user.timezone.clone(),
            is_manager: member.is_manager(),
            from: from.to_string(),
            to: to.to_string(),
            people,
            out_of_hours_only,
            rows,
            error,
            log,
            rotations,
        },
    ))
}

pub async fn list_pages(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PagesQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    pages_page(
        &state,
        &session,
        &member,
        &q,
        LogValues::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct LogForm {
    summary: String,
    fired_date: String,
    fired_time: String,
    #[serde(default)]
    acknowledged_time: String,
    worked_until_time: String,
    #[serde(default)]
    rotation: String,
}

/// The instants a page logged by hand gives.
struct LoggedTimes {
    fired_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    worked_until: DateTime<Utc>,
}

impl LogForm {
    fn values(&self) -> LogValues {
        LogValues {
            summary: self.summary.clone(),
            fired_date: self.fired_date.clone(),
            fired_time: self.fired_time.clone(),
            acknowledged_time: self.acknowledged_time.clone(),
            worked_until_time: self.worked_until_time.clone(),
            rotation: self.rotation.clone(),
        }
    }

    /// Fired, acknowledged and worked-until instants, from wall-clock times
    /// in `tz`; a time earlier than the firing is on the next day.
    fn instants(&self, tz: Tz) -> AppResult<LoggedTimes> {
        let date = Given::Form.date(&self.fired_date)?;
        let fired_time = parse_time("time it fired", &self.fired_time)?;
        let after_firing = |time: NaiveTime| {
            let day = if time < fired_time {
                date + Duration::days(1)
            } else {
                date
            };
            local_to_instant(tz, day, time)
        };
        let acknowledged_at = match self.acknowledged_time.trim() {
            "" => None,
            s => Some(after_firing(parse_time("time it was acknowledged", s)?)),
        };
        Ok(LoggedTimes {
            fired_at: local_to_instant(tz, date, fired_time),
            acknowledged_at,
            worked_until: after_firing(parse_time("time work ended", &self.worked_until_time)?),
        })
    }
}

pub async fn log_page(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<LogForm>,
) -> AppResult<Response> {
    match record_by_hand(&state, &member, &form).await {
        Ok(id) => {
            flash(&session, "Page logged").await;
            Ok(Redirect::to(&format!("/teams/{}/pages/{id}", member.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                let q = PagesQuery::default();
                pages_page(&state, &session, &member, &q, form.values(), Some(msg), status).await
            }
            None => Err(e),
        },
    }
}

/// Records a page the signed-in person responded to; returns its id.
async fn record_by_hand(state: &AppState, member: &TeamMember<WebUser>, form: &LogForm) -> AppResult<i64> {
    let (user, team) = (member.user(), &member.team);
    let summary = validate::line(
        "What the page was about (e.g. \"API error rate above 5%\")",
        &form.summary,
        500,
    )?;
    let summary = summary.as_str();
    let LoggedTimes {
        fired_at,
        acknowledged_at,
        worked_until,
    } = form.instants(user.tz())?;
    let now = state.clock.now();
    if fired_at > now + Duration::minutes(5) {
        return Err(AppError::Unprocessable(format!(
            "That page would fire in the future; check the date and time (in your zone, {})",
            user.timezone
        )));
    }
    let mut tx = state.db.begin().await?;
    let rotation_id = rotation_named(&mut tx, team, &form.rotation).await?;
    let report = Report {
        team_id: team.id,
        rotation_id,
        source: "manual".into(),
        dedup_key: secrets::random_secret(),
        summary: summary.into(),
        link: None,
        severity: None,
        fired_at,
        acknowledged_at,
        resolved_at: None,
        worked_until: Some(worked_until),
        page: false,
    };
    let id = record(&mut tx, &report, Some(user.id), Derive::Now, now)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a fresh page key was taken")))?;
    tx.commit().await?;
    Ok(id)
}

/// The rotation a form names by slug, or the team's only one when it
/// names none (422 saying which to choose otherwise).
pub(super) async fn rotation_named(
    conn: &mut sqlx::PgConnection,
    team: &crate::db::teams::Team,
    slug: &str,
) -> AppResult<Option<i64>> {
    Ok(match slug.trim() {
        "" => match default_rotation(conn, team.id, &team.name).await {
            Err(AppError::Unprocessable(_)) => {
                return Err(AppError::Unprocessable(format!(
                    "{} has several rotations; choose the one this page is for",
                    team.name
                )));
            }
            other => other?,
        },
        slug => Some(
            db::rotations::by_slug(conn, team.id, slug)
                .await?
                .ok_or_else(|| AppError::Unprocessable(format!("{} has no rotation called \"{slug}\"", team.name)))?
                .id,
        ),
    })
}
