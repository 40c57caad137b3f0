//! How instants read on a page: in the reader's zone, with a relative hint.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

// The wording is the one every message uses (`ops::notify`).
pub use crate::ops::notify::{date, date_short, day, day_short, when as local, when_in_year as local_with_year};

pub fn local_date(at: DateTime<Utc>, tz: Tz) -> String {
    day(at.with_timezone(&tz).date_naive())
}

/// The zone's abbreviation at that instant, e.g. BST or EST.
pub fn zone_abbrev(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Z").to_string()
}

/// "in 3 days", "2 hours ago", "now".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let (n, unit) = match secs.unsigned_abs() {
        s if s < 60 => return "now".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 14 => (s / 86_400, "day"),
        s => (s / (86_400 * 7), "week"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if secs > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// A shift as people say it: "primary week of 29 Dec" for a whole week
/// (167 to 169 hours across a clock change), otherwise "primary shift from
/// Tue 29 Dec 10:00 to Wed 30 Dec 18:00" in `tz`. An empty role leaves the
/// role out.
pub fn shift(role: &str, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> String {
    let role = if role.is_empty() {
        String::new()
    } else {
        format!("{role} ")
    };
    if (167..=169).contains(&(to - from).num_hours()) {
        format!("{role}week of {}", date_short(from.with_timezone(&tz).date_naive()))
    } else {
        format!("{role}shift from {} to {}", local(from, tz), local(to, tz))
    }
}

/// "Ravi", "Ravi and Sam", "Ravi, Sam and Lee"; `None` for no names.
pub fn and_list(names: &[&str]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some((*one).to_owned()),
        [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_week_reads_as_the_week_of_its_first_day_and_a_part_as_its_times() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Across the end of summer time: 169 hours, still a week.
        assert_eq!(
            shift("primary", at("2026-10-20T09:00:00Z"), at("2026-10-27T10:00:00Z"), tz),
            "primary week of 20 Oct"
        );
        assert_eq!(
            shift("", at("2026-12-29T10:00:00Z"), at("2027-01-05T10:00:00Z"), tz),
            "week of 29 Dec"
        );
        assert_eq!(
            shift("secondary", at("2026-12-29T10:00:00Z"), at("2026-12-30T18:00:00Z"), tz),
            "secondary shift from Tue 29 Dec 10:00 to Wed 30 Dec 18:00"
        );
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = DateTime::parse_from_rfc3339("2026-03-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(relative(now + chrono::Duration::days(3), now), "in 3 days");
        assert_eq!(relative(now - chrono::Duration::hours(1), now), "1 hour ago");
        assert_eq!(relative(now, now), "now");
    }
}

/// "Firefox on Linux" from a User-Agent header; "an unknown browser" when
/// it says nothing we recognise.
pub fn browser(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.is_empty() {
        return "an unknown browser".into();
    } else {
        return ua
            .split('/')
            .next()
            .unwrap_or("an unknown browser")
            .chars()
            .take(40)
            .collect();
    };
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, os)| *os);
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod browser_tests {
    use super::browser;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(browser(Some(firefox)), "Firefox on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(browser(Some(iphone)), "Safari on iOS");
        assert_eq!(browser(Some("curl/8.5.0")), "curl");
        assert_eq!(browser(None), "an unknown browser");
    }
}
