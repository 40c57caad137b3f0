//! Telling people: in-app notifications (and e-mail, where set up), and the
//! one wording of times and dates every message uses.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::db;
use crate::error::AppResult;
use crate::ops::Ctx;

/// Notifies those of `users` who are still members of the team.
pub async fn notify(
    conn: &mut PgConnection,
    ctx: &Ctx,
    team_id: i64,
    users: &[i64],
    message: &str,
    link: &str,
) -> AppResult<()> {
    db::notifications::create(conn, team_id, users, (message, link), ctx.clock.now(), ctx.mail).await?;
    Ok(())
}

/// An instant in a zone: "Tue 3 Mar 10:00".
pub fn when(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

/// An instant in a zone with its year: "Tue 3 Mar 2026 10:00".
pub fn when_in_year(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %-d %b %Y %H:%M").to_string()
}

/// A day with its weekday: "Tue 3 Mar 2026".
pub fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

/// A day with its weekday, the year understood: "Tue 3 Mar".
pub fn day_short(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// A date: "3 Mar 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// A date, the year understood: "3 Mar".
pub fn date_short(d: NaiveDate) -> String {
    d.format("%-d %b").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn one_wording_for_every_message() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 9, 0, 0).unwrap();
        assert_eq!(when(at, tz), "Tue 31 Mar 10:00");
        assert_eq!(when_in_year(at, tz), "Tue 31 Mar 2026 10:00");
        let d = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
        assert_eq!(day(d), "Tue 3 Mar 2026");
        assert_eq!(day_short(d), "Tue 3 Mar");
        assert_eq!(date(d), "3 Mar 2026");
        assert_eq!(date_short(d), "3 Mar");
    }
}
