//! A team's pages in HTML: the list with its filters, logging a page by
//! hand, and one page's view with its correction form.

mod drill;
mod list;
mod page_oncall;
mod respond;
mod view;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::db::pages::Page;
use crate::domain::recovery::{OutOfHours, Sla};
use crate::domain::validate::{self, Invalid};
use crate::error::{AppError, AppResult, Given};
use crate::ops::classify::PageInfo;
use crate::state::AppState;
use crate::web::fmt;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/pages", get(list::list_pages).post(list::log_page))
        .route(
            "/teams/{team}/pages/{id}",
            get(view::show_page).post(view::correct_page),
        )
        .route(
            "/teams/{team}/pages/{id}/delete",
            get(view::confirm_delete).post(view::delete_page),
        )
        .route("/teams/{team}/pages/{id}/acknowledge", post(respond::acknowledge_page))
        .route("/teams/{team}/page-oncall", post(page_oncall::page_oncall))
        .route("/teams/{team}/drill", post(drill::drill_primary))
        .route("/profile/test-page", post(drill::drill_me))
}

/// One page as a row of the list, times in the reader's zone.
pub struct PageRow {
    pub id: i64,
    pub fired: String,
    pub summary: String,
    pub source: String,
    pub responder: String,
    pub role: Option<String>,
    /// The CSS class's end: `met`, `missed`, `unacknowledged`, `no_data`.
    pub sla: &'static str,
    pub sla_label: &'static str,
    /// `sleep`, `weekend`, `holiday` or `working`.
    pub out_of_hours: &'static str,
    /// The same in words: "working hours" rather than "working".
    pub out_of_hours_label: &'static str,
    pub engaged_minutes: i64,
    /// A drill: shown, marked, counted nowhere.
    pub drill: bool,
}

impl PageRow {
    pub fn new(page: &Page, info: &PageInfo, tz: Tz) -> Self {
        let sla = if info.acknowledgement_data {
            info.sla
        } else {
            Sla::NoData
        };
        PageRow {
            id: page.id,
            fired: fmt::local_with_year(page.fired_at, tz),
            summary: page.summary.clone(),
            source: page.source.clone(),
            responder: page.responder_name.clone().unwrap_or_else(|| "nobody on call".into()),
            role: page.responder_role.map(|r| r.as_str().to_owned()),
            sla: sla.as_str(),
            sla_label: sla.label(),
            out_of_hours: info.out_of_hours.as_str(),
            out_of_hours_label: match info.out_of_hours {
                OutOfHours::Working => "working hours",
                class => class.as_str(),
            },
            engaged_minutes: info.engaged_minutes,
            drill: page.drill,
        }
    }
}

/// A time of day from a time input: `HH:MM`, or `HH:MM:SS`.
fn parse_time(what: &str, s: &str) -> AppResult<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| AppError::Unprocessable(format!("The {what} \"{s}\" is not a time of day; use HH:MM")))
}

/// How a `datetime-local` input shows an instant in `tz`.
pub(crate) fn datetime_local(at: Option<DateTime<Utc>>, tz: Tz) -> String {
    at.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A `datetime-local` field of a form (422 when it does not hold), named
/// in the message since a form has several.
pub(crate) fn parse_datetime_local(what: &str, s: &str) -> AppResult<NaiveDateTime> {
    validate::datetime_local(s).map_err(|e| Given::Form.refuse(Invalid(format!("The {what} {}", e.0))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_read_with_or_without_seconds() {
        assert_eq!(
            parse_time("t", "03:10").unwrap(),
            NaiveTime::from_hms_opt(3, 10, 0).unwrap()
        );
        assert_eq!(
            parse_time("t", "03:10:05").unwrap(),
            NaiveTime::from_hms_opt(3, 10, 5).unwrap()
        );
        assert!(parse_time("t", "25:00").is_err());
        assert!(parse_datetime_local("t", "2026-03-03T03:10").is_ok());
        assert!(parse_datetime_local("t", "1999-03-03T03:10").is_err());
        assert!(Given::Form.date("2026-02-30").is_err());
    }
}
