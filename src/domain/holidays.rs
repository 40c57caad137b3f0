//! Holiday calendars imported from iCalendar files.

use chrono::{Duration, NaiveDate};

use super::validate::Invalid;

/// Most days one imported event may cover (a fortnight's closure, say).
const MAX_DAYS_PER_EVENT: i64 = 31;

/// The all-day dates an `.ics` file names, with each event's summary.
/// Timed events count for the date they start on. Multi-day events give
/// each of their days (DTEND is exclusive).
pub fn parse_ics(text: &str) -> Result<Vec<(NaiveDate, String)>, Invalid> {
    let parser = ical::IcalParser::new(text.as_bytes());
    let mut found = Vec::new();
    let mut calendars = 0;
    for cal in parser {
        let cal = cal.map_err(|e| Invalid(format!("That file is not a valid iCalendar (.ics) file: {e}")))?;
        calendars += 1;
        for event in cal.events {
            let prop = |name: &str| {
                event
                    .properties
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.value.clone())
            };
            let Some(start) = prop("DTSTART").as_deref().and_then(date_of) else {
                continue;
            };
            let end = prop("DTEND")
                .as_deref()
                .and_then(date_of)
                .filter(|e| *e > start)
                .unwrap_or(start + Duration::days(1));
            let name = prop("SUMMARY")
                .map(|s| s.replace("\\,", ",").replace("\\;", ";"))
                .unwrap_or_else(|| "Holiday".into());
            let days = (end - start).num_days().min(MAX_DAYS_PER_EVENT);
            for i in 0..days {
                found.push((start + Duration::days(i), name.chars().take(100).collect()));
            }
        }
    }
    if calendars == 0 {
        return Err(Invalid(
            "That file is not an iCalendar (.ics) file: it has no VCALENDAR".into(),
        ));
    }
    found.sort();
    found.dedup_by_key(|(d, _)| *d);
    Ok(found)
}

/// `20260309` or `20260309T090000Z`: the date part.
fn date_of(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_day_and_multi_day_events_become_dates() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260309\r\nDTEND;VALUE=DATE:20260310\r\nSUMMARY:Founders\\, day\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let dates = parse_ics(ics).unwrap();
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(dates[0], (d("2026-03-09"), "Founders, day".to_owned()));
        assert_eq!(
            dates.iter().map(|(d, _)| *d).collect::<Vec<_>>()[1..],
            [d("2026-12-24"), d("2026-12-25"), d("2026-12-26")]
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert!(parse_ics("not a calendar").is_err());
    }
}
