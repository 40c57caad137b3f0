//! The organisation overview for admins: every team side by side over the
//! same weeks, each in its own zone.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use tower_sessions::Session;

use super::PeriodQuery;
use super::table::{Table, csv_response, num, pct, pct_opt, secs};
use crate::auth::{Admin, WebUser};
use crate::db;
use crate::domain::metrics::Period;
use crate::domain::metrics::period::CHOICES;
use crate::error::AppResult;
use crate::ops::metrics::{TeamOverview, overview};
use crate::state::AppState;
use crate::web::layout::{Layout, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/metrics", get(show_overview))
        .route("/admin/metrics/teams.csv", get(download_overview))
}

#[derive(Template)]
#[template(path = "admin/metrics.html")]
struct OverviewPage {
    layout: Layout,
    weeks: u32,
    choices: Vec<u32>,
    table: Table,
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

async fn teams_table(state: &AppState, weeks: u32) -> AppResult<Table> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let teams = db::teams::all(&mut conn).await?;
    let period_of = |tz: chrono_tz::Tz| Period::weeks_to(now.with_timezone(&tz).date_naive(), weeks, tz);
    Ok(table(&overview(&mut conn, &teams, period_of, now).await?))
}

async fn show_overview(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let weeks = q.weeks();
    let page = OverviewPage {
        layout: Layout::new(&state, &session, "Teams' metrics", Some(&me)).await?,
        weeks,
        choices: CHOICES.to_vec(),
        table: teams_table(&state, weeks).await?,
    };
    Ok(render(&page))
}

async fn download_overview(
    State(state): State<AppState>,
    Admin(_): Admin<WebUser>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let weeks = q.weeks();
    let t = teams_table(&state, weeks).await?;
    Ok(csv_response(&format!("teams-{weeks}-weeks.csv"), t.to_csv()?))
}
