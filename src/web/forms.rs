//! What several forms share: the options of a select, the time zones a
//! zone input suggests, instants typed into `datetime-local` inputs in a
//! team's zone, and which errors a form shows on its own page.

use std::sync::LazyLock;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;

use crate::domain::schedule::local_to_instant;
use crate::error::{AppError, AppResult};
use crate::web::layout::fixable;
use crate::web::pages::{datetime_local, parse_datetime_local};

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The zones a time-zone input suggests (`templates/zones.html`, a
/// `<datalist>`): every IANA area/city name and UTC, not the legacy
/// aliases ("EST5EDT", "Cuba") that would crowd the list. Any name
/// chrono-tz knows is still accepted (`validate::time_zone`).
pub fn zone_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        std::iter::once("UTC")
            .chain(
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .map(|z| z.name())
                    .filter(|n| n.contains('/')),
            )
            .collect()
    });
    &NAMES
}

/// An instant typed as a local date and time in `tz`; `None` when left empty.
pub fn local_instant(what: &str, s: &str, tz: Tz) -> AppResult<Option<DateTime<Utc>>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let local = parse_datetime_local(what, s)?;
    Ok(Some(local_to_instant(tz, local.date(), local.time())))
}

/// Like [`local_instant`], for an input that must be filled in.
pub fn required_instant(what: &str, s: &str, tz: Tz) -> AppResult<DateTime<Utc>> {
    local_instant(what, s, tz)?.ok_or_else(|| AppError::Unprocessable(format!("Give the {what} as a date and a time")))
}

/// How a `datetime-local` input shows `at` in `tz`.
pub fn input_value(at: DateTime<Utc>, tz: Tz) -> String {
    datetime_local(Some(at), tz)
}

/// The next full hour after `now`: the soonest a cover of a shift that has
/// begun can start, leaving time to find someone.
pub fn next_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1)
}

/// Errors a form shows on its own page: those a person can fix, and a
/// refusal of who they are (403), which says whom to ask instead.
pub fn shown_on_page(e: &AppError) -> Option<(StatusCode, String)> {
    match e {
        AppError::Forbidden(m) => Some((StatusCode::FORBIDDEN, m.clone())),
        _ => fixable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_zone_list_offers_cities_and_utc_and_each_parses() {
        let names = zone_names();
        assert!(names.contains(&"Europe/London") && names.contains(&"UTC"));
        assert!(!names.contains(&"EST5EDT"));
        assert!(names.iter().all(|n| n.parse::<Tz>().is_ok()));
    }

    #[test]
    fn typed_times_are_read_in_the_team_zone() {
        let tz: Tz = "Europe/London".parse().unwrap();
        assert_eq!(
            local_instant("start", "2027-03-23T10:00", tz).unwrap(),
            Some(t("2027-03-23T10:00:00Z"))
        );
        assert_eq!(
            local_instant("start", "2027-04-06T10:00", tz).unwrap(),
            Some(t("2027-04-06T09:00:00Z")),
            "summer time"
        );
        assert_eq!(local_instant("start", " ", tz).unwrap(), None);
        assert!(required_instant("start", "", tz).is_err());
        assert_eq!(input_value(t("2027-04-06T09:00:00Z"), tz), "2027-04-06T10:00");
    }

    #[test]
    fn a_late_cover_starts_on_the_next_hour() {
        assert_eq!(next_hour(t("2027-03-02T12:20:05Z")), t("2027-03-02T13:00:00Z"));
        assert_eq!(next_hour(t("2027-03-02T12:00:00Z")), t("2027-03-02T13:00:00Z"));
    }
}
