//! Holiday calendars imported from iCalendar files.

use chrono::{Datelike, Duration, NaiveDate};

use super::validate::{Invalid, OUT_OF_RANGE, YEARS};

/// Most days one imported event may cover (a fortnight's closure, say).
const MAX_DAYS_PER_EVENT: i64 = 31;
/// Most occurrences one recurring event may give (a yearly holiday over
/// the whole range Rota keeps is 101).
const MAX_OCCURRENCES: u16 = 400;

/// The start dates of an event: DTSTART, and with an RRULE each of its
/// occurrences (RFC 5545 3.8.5.3) within the years Rota keeps.
fn occurrences(start: NaiveDate, rrule: Option<&str>, summary: &str) -> Result<Vec<NaiveDate>, Invalid> {
    let Some(rule) = rrule else { return Ok(vec![start]) };
    // All-day rules recur by date; a midnight UTC start carries them.
    let set: rrule::RRuleSet = format!("DTSTART:{}T000000Z\nRRULE:{rule}", start.format("%Y%m%d"))
        .parse()
        .map_err(|e| {
            Invalid(format!(
                "The repeat rule of \"{summary}\" (RRULE:{rule}) is not one Rota can read: {e}"
            ))
        })?;
    Ok(set
        .all(MAX_OCCURRENCES)
        .dates
        .into_iter()
        .map(|d| d.date_naive())
        .take_while(|d| d.year() <= *YEARS.end())
        .filter(|d| YEARS.contains(&d.year()))
        .collect())
}

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
            let summary = prop("SUMMARY").unwrap_or_default();
            let rrule = prop("RRULE");
            // A recurring holiday may well start in 1970; a single date must
            // fall in the years Rota keeps, as the holiday API says.
            if rrule.is_none() && !YEARS.contains(&start.year()) {
                return Err(Invalid(format!(
                    "\"{summary}\" on {start} {OUT_OF_RANGE}; remove it from the file and import again"
                )));
            }
            let end = prop("DTEND")
                .as_deref()
                .and_then(date_of)
                .filter(|e| *e > start)
                .unwrap_or(start + Duration::days(1));
            let name = prop("SUMMARY")
                .map(|s| s.replace("\\,", ",").replace("\\;", ";"))
                .unwrap_or_else(|| "Holiday".into());
            let days = (end - start).num_days().min(MAX_DAYS_PER_EVENT);
            for first in occurrences(start, rrule.as_deref(), &summary)? {
                for i in 0..days {
                    let day = first + Duration::days(i);
                    if YEARS.contains(&day.year()) {
                        found.push((day, name.chars().take(100).collect()));
                    }
                }
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
    fn a_yearly_rule_gives_every_year_within_the_range_and_a_count_is_kept() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:19700101\r\nDTEND;VALUE=DATE:19700102\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:New Year\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nRRULE:FREQ=YEARLY;COUNT=3\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let dates = parse_ics(ics).unwrap();
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let new_years: Vec<_> = dates.iter().filter(|(_, n)| n == "New Year").map(|(d, _)| *d).collect();
        assert_eq!(new_years.len(), 101, "from 1970, kept from 2000 to 2100");
        assert_eq!(new_years[0], d("2000-01-01"));
        assert_eq!(*new_years.last().unwrap(), d("2100-01-01"));
        let christmas: Vec<_> = dates
            .iter()
            .filter(|(_, n)| n == "Christmas")
            .map(|(d, _)| *d)
            .collect();
        assert_eq!(christmas.len(), 6, "three years of two days");
        assert_eq!(christmas[5], d("2028-12-26"));
    }

    #[test]
    fn dates_outside_the_years_kept_and_unreadable_rules_are_refused() {
        let far = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:99990101\r\nSUMMARY:Far\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let e = parse_ics(far).unwrap_err().0;
        assert!(
            e.contains("Far") && e.contains("9999-01-01") && e.contains(OUT_OF_RANGE),
            "{e}"
        );
        let bad = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=SOMETIMES\r\nSUMMARY:Odd\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(parse_ics(bad).unwrap_err().0.contains("RRULE:FREQ=SOMETIMES"));
    }

    #[test]
    fn other_files_are_refused() {
        assert!(parse_ics("not a calendar").is_err());
    }
}
