//! The team metrics page, its CSV downloads, the pay report, rebalancing in
//! one click, and the admins' overview of every team.

mod admin;
pub mod table;
pub mod view;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::csrf::CsrfForm;
use crate::auth::{TeamManager, TeamMember, WebUser};
use crate::db::teams::Team;
use crate::domain::metrics::Period;
use crate::domain::metrics::period::{CHOICES, DEFAULT_WEEKS};
use crate::error::{AppError, AppResult, Given};
use crate::ops::metrics::{pay_report, team_report};
use crate::ops::notify::when;
use crate::ops::rebalance::propose;
use crate::state::AppState;
use crate::web::layout::{Layout, fixable, flash, render};
use table::{Table, csv_response, num};
use view::{Section, sections};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/metrics", get(show_metrics))
        .route("/teams/{team}/metrics/pay.csv", get(download_pay_report))
        .route("/teams/{team}/metrics/rebalance", post(request_rebalance))
        .route("/teams/{team}/metrics/{file}", get(download_table))
        .merge(admin::router())
}

/// The period a page asks for: `weeks` (4, 12 or 52) or `from` and `to`
/// dates (both included) in the team's zone.
#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    weeks: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    fn custom(&self) -> Option<(&str, &str)> {
        fn non_empty(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        non_empty(&self.from).zip(non_empty(&self.to))
    }

    fn weeks(&self) -> u32 {
        self.weeks
            .as_deref()
            .and_then(|w| w.trim().parse().ok())
            .filter(|w| CHOICES.contains(w))
            .unwrap_or(DEFAULT_WEEKS)
    }

    pub fn period(&self, team: &Team, now: DateTime<Utc>) -> AppResult<Period> {
        let tz = team.tz();
        match self.custom() {
            Some((from, to)) => Ok(Period::dates(Given::Query.date(from)?, Given::Query.date(to)?, tz)?),
            None => Ok(Period::weeks_to(now.with_timezone(&tz).date_naive(), self.weeks(), tz)),
        }
    }

    /// The query string that names the same period, for links.
    pub fn query(&self) -> String {
        match self.custom() {
            Some((from, to)) => serde_urlencoded::to_string([("from", from), ("to", to)]).unwrap_or_default(),
            None => format!("weeks={}", self.weeks()),
        }
    }
}

pub struct Choice {
    pub weeks: u32,
    pub selected: bool,
}

pub struct SuggestionRow {
    pub text: String,
    pub shift_id: i64,
    pub counterpart_shift_id: i64,
}

#[derive(Template)]
#[template(path = "team/metrics.html")]
struct MetricsPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    is_manager: bool,
    first_day: String,
    last_day: String,
    previous_first: String,
    previous_last: String,
    custom: bool,
    choices: Vec<Choice>,
    query: String,
    sections: Vec<Section>,
    suggestions: Vec<SuggestionRow>,
}

#[tracing::instrument(skip_all, fields(team = %member.team.slug))]
async fn show_metrics(
    State(state): State<AppState>,
    session: Session,
    member: TeamMember<WebUser>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let tz = team.tz();
    let period = q.period(team, now)?;
    let report = {
        let mut conn = state.db.acquire().await?;
        team_report(&mut conn, &state.caches, team, &period, now).await?
    };
    let previous = period.previous();
    let suggestions = report
        .suggestions
        .iter()
        .map(|s| SuggestionRow {
            text: format!(
                "{} (load {}×) gives their {} week from {} to {} (load {}×) and takes {}'s {} week from {}.",
                s.from_name,
                num(s.from_load),
                s.role,
                when(s.starts_at, tz),
                s.to_name,
                num(s.to_load),
                s.to_name,
                s.counterpart_role,
                when(s.counterpart_starts_at, tz),
            ),
            shift_id: s.shift_id,
            counterpart_shift_id: s.counterpart_shift_id,
        })
        .collect();
    let page = MetricsPage {
        layout: Layout::new(&state, &session, format!("{} metrics", team.name), Some(member.user())).await?,
        team_name: team.name.clone(),
        team_slug: team.slug.clone(),
        zone: team.timezone.clone(),
        is_manager: member.is_manager(),
        first_day: period.first_date().to_string(),
        last_day: period.last_date().to_string(),
        previous_first: previous.first_date().to_string(),
        previous_last: previous.last_date().to_string(),
        custom: q.custom().is_some(),
        choices: CHOICES
            .iter()
            .map(|w| Choice {
                weeks: *w,
                selected: q.custom().is_none() && q.weeks() == *w,
            })
            .collect(),
        query: q.query(),
        sections: sections(&report, tz),
        suggestions,
    };
    Ok(render(&page))
}

/// Any table of the page as CSV: `/teams/{team}/metrics/people.csv?weeks=12`.
async fn download_table(
    State(state): State<AppState>,
    member: TeamMember<WebUser>,
    Path((_, file)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let key = file.strip_suffix(".csv").ok_or_else(|| AppError::not_found("table"))?;
    let period = q.period(team, now)?;
    let report = {
        let mut conn = state.db.acquire().await?;
        team_report(&mut conn, &state.caches, team, &period, now).await?
    };
    let table: Table = sections(&report, team.tz())
        .into_iter()
        .map(|s| s.table)
        .find(|t| t.key == key)
        .ok_or_else(|| AppError::not_found("table"))?;
    let name = format!(
        "{}-{}-{}-to-{}.csv",
        team.slug,
        key,
        period.first_date(),
        period.last_date()
    );
    Ok(csv_response(&name, table.to_csv()?))
}

/// The pay report, for managers: per person per calendar month.
async fn download_pay_report(
    State(state): State<AppState>,
    TeamManager(member): TeamManager<WebUser>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let period = q.period(team, now)?;
    let rows = {
        let mut conn = state.db.acquire().await?;
        pay_report(&mut conn, team, &period, now).await?
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(anyhow::anyhow!("csv: {e}"));
    if rows.is_empty() {
        // Headers even when nobody was on call.
        w.write_record([
            "month",
            "email",
            "name",
            "hours_primary",
            "hours_secondary",
            "out_of_hours_pages",
            "sleep_interruptions",
            "recovery_days_granted",
            "recovery_days_taken",
            "recovery_days_worked_anyway",
        ])
        .map_err(fail)?;
    }
    for r in &rows {
        w.serialize(r).map_err(fail)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
    let name = format!(
        "{}-pay-{}-to-{}.csv",
        team.slug,
        period.first_date(),
        period.last_date()
    );
    Ok(csv_response(&name, String::from_utf8_lossy(&body).into_owned()))
}

#[derive(Deserialize)]
struct RebalanceForm {
    shift_id: i64,
    counterpart_shift_id: i64,
    #[serde(default)]
    back: String,
}

/// One click: the suggestion becomes a swap request in the normal flow.
async fn request_rebalance(
    State(state): State<AppState>,
    session: Session,
    TeamManager(member): TeamManager<WebUser>,
    CsrfForm(form): CsrfForm<RebalanceForm>,
) -> AppResult<Response> {
    let team = &member.team;
    let ctx = state.ctx();
    let mut tx = state.db.begin().await?;
    let outcome = propose(
        &mut tx,
        &ctx,
        team,
        member.user(),
        form.shift_id,
        form.counterpart_shift_id,
    )
    .await;
    let message = match outcome {
        Ok(r) => {
            tx.commit().await?;
            format!(
                "Swap request sent on {}'s behalf: {} is asked to accept it, then it waits for a manager's approval",
                r.requester_name,
                r.counterpart_name.as_deref().unwrap_or("the other person")
            )
        }
        Err(e) => match fixable(&e) {
            Some((_, m)) => format!("That suggestion could not be turned into a request: {m}"),
            None => return Err(e),
        },
    };
    flash(&session, message).await;
    // Back to the same period; only a query of our own making is followed.
    let back = Some(form.back.as_str())
        .filter(|b| b.chars().all(|c| c.is_ascii_alphanumeric() || "=&-".contains(c)))
        .unwrap_or("");
    Ok(Redirect::to(&format!("/teams/{}/metrics?{back}#rebalance", team.slug)).into_response())
}
