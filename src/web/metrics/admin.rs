//! The organisation overview for admins: every team side by side over the
//! same weeks, each in its own zone, fifty teams a page (`?page=N`), so a
//! request reads and holds the rows of at most one page of teams.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::PeriodQuery;
use super::table::{Table, csv_response, num, pct, pct_opt, secs};
use crate::auth::{Admin, WebUser};
use crate::db;
use crate::domain::metrics::Period;
use crate::domain::metrics::period::CHOICES;
use crate::error::{AppError, AppResult};
use crate::ops::metrics::{TeamOverview, overview};
use crate::state::AppState;
use crate::web::layout::{Layout, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/metrics", get(show_overview))
        .route("/admin/metrics/teams.csv", get(download_overview))
}

/// Teams on one page of the overview.
pub const TEAMS_PER_PAGE: usize = 50;

/// Which page of teams: `?page=N` from 1 (the first when absent).
#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    fn number(&self) -> AppResult<usize> {
        match self.page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => Ok(1),
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| AppError::BadRequest(format!("The page must be a whole number from 1, not {p:?}"))),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/metrics.html")]
struct OverviewPage {
    layout: Layout,
    weeks: u32,
    choices: Vec<u32>,
    table: Table,
    page: usize,
    pages: usize,
}

/// One page of the overview.
struct Paged {
    table: Table,
    page: usize,
    pages: usize,
}

fn table(teams: &[TeamOverview]) -> Table {
    let mut t = Table::new(
        "teams",
        "Teams side by side",
        "Each team over the same number of weeks ending today in its own zone; the previous period beside it.",
        vec![
            "Team",
            "Slug",
            "People on call",
            "Pages",
            "Previous pages",
            "Out of hours (%)",
            "Sleep interruptions",
            "Previous sleep interruptions",
            "Primary p50 (s)",
            "Primary within SLA (%)",
            "Highest load (× equal share)",
            "People above 1.5×",
            "Recovery days granted",
            "Recovery days taken",
        ],
    );
    for o in teams {
        let f = &o.figures;
        let primary = f.roles.first();
        let rec = [&f.recovery.managers, &f.recovery.others];
        let over = f.people.iter().filter(|p| p.above_fair).count();
        t.push_highlighted(
            vec![
                o.name.clone(),
                o.slug.clone(),
                f.people.len().to_string(),
                f.pages.to_string(),
                o.previous.pages.to_string(),
                pct(if f.pages == 0 {
                    0.0
                } else {
                    f64::from(f.out_of_hours_pages) / f64::from(f.pages)
                }),
                f.sleep_interruptions.to_string(),
                o.previous.sleep_interruptions.to_string(),
                secs(primary.and_then(|r| r.ack_p50_seconds)),
                pct_opt(primary.and_then(|r| r.within_sla_share)),
                num(f.people.iter().map(|p| p.load).fold(0.0, f64::max)),
                over.to_string(),
                rec.iter().map(|u| u.granted).sum::<u32>().to_string(),
                rec.iter().map(|u| u.taken).sum::<u32>().to_string(),
            ],
            over > 0,
        );
    }
    t
}

async fn teams_table(state: &AppState, weeks: u32, page: usize) -> AppResult<Paged> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let teams = db::teams::all(&mut conn).await?;
    let pages = teams.len().div_ceil(TEAMS_PER_PAGE).max(1);
    if page > pages {
        return Err(AppError::NotFound(format!(
            "There is no page {page} of teams: there are {pages}"
        )));
    }
    let first = (page - 1) * TEAMS_PER_PAGE;
    let these = &teams[first..teams.len().min(first + TEAMS_PER_PAGE)];
    let period_of = |tz: chrono_tz::Tz| Period::weeks_to(now.with_timezone(&tz).date_naive(), weeks, tz);
    let table = table(&overview(&mut conn, &state.caches, these, period_of, now).await?);
    Ok(Paged { table, page, pages })
}

async fn show_overview(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    Query(q): Query<PeriodQuery>,
    Query(p): Query<PageQuery>,
) -> AppResult<Response> {
    let weeks = q.weeks();
    let paged = teams_table(&state, weeks, p.number()?).await?;
    let page = OverviewPage {
        layout: Layout::new(&state, &session, "Teams' metrics", Some(&me)).await?,
        weeks,
        choices: CHOICES.to_vec(),
        table: paged.table,
        page: paged.page,
        pages: paged.pages,
    };
    Ok(render(&page))
}

async fn download_overview(
    State(state): State<AppState>,
    Admin(_): Admin<WebUser>,
    Query(q): Query<PeriodQuery>,
    Query(p): Query<PageQuery>,
) -> AppResult<Response> {
    let weeks = q.weeks();
    let paged = teams_table(&state, weeks, p.number()?).await?;
    let name = match paged.pages {
        1 => format!("teams-{weeks}-weeks.csv"),
        _ => format!("teams-{weeks}-weeks-page-{}.csv", paged.page),
    };
    Ok(csv_response(&name, paged.table.to_csv()?))
}
