//! Input that is checked once, on the way in, and trusted after.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, de::Error as _};

/// A failed check, worded for the person who sent the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

pub fn time_zone(name: &str) -> Result<Tz, Invalid> {
    name.trim().parse::<Tz>().map_err(|_| {
        Invalid(format!(
            "\"{name}\" is not a time zone we know; use an IANA name such as Europe/London or America/New_York"
        ))
    })
}

/// Slugs appear in URLs: lowercase letters, digits and single hyphens.
pub fn slug(s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid(format!(
            "\"{s}\" is not a usable short name: use 1–40 lowercase letters, digits and hyphens, e.g. platform-core"
        )))
    }
}

pub fn email(s: &str) -> Result<String, Invalid> {
    let e = s.trim().to_lowercase();
    let valid = e.len() <= 254
        && matches!(e.split_once('@'), Some((user, host)) if !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.'))
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(Invalid(format!("\"{s}\" does not look like an e-mail address")))
    }
}

pub fn name(s: &str) -> Result<String, Invalid> {
    line("A name", s, 100)
}

/// A phone number as people write it ("+44 20 7946 0000"): a leading `+`,
/// digits, spaces, hyphens, dots and brackets, with 6 to 15 digits (the
/// E.164 limit). Stored as written, trimmed.
pub fn phone(s: &str) -> Result<String, Invalid> {
    let t = s.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let allowed = t
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0));
    if allowed && (6..=15).contains(&digits) && t.len() <= 32 {
        Ok(t.to_owned())
    } else {
        Err(Invalid(format!(
            "\"{s}\" does not look like a phone number; write it with the country code, e.g. +44 20 7946 0000"
        )))
    }
}

/// Single-line text a person typed: a name, a label, a reason. Control
/// characters (line breaks, tabs, NUL…) are refused rather than stored,
/// since such text ends up in e-mail headers, chat posts and CSV files.
pub fn line(what: &str, s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "{what} must be a single line without control characters (line breaks, tabs or NUL); remove them"
        )));
    }
    if t.is_empty() || t.chars().count() > max {
        return Err(Invalid(format!("{what} needs 1 to {max} characters")));
    }
    Ok(t.to_owned())
}

/// Text of several lines (a note, a handoff): line breaks and tabs are
/// fine, other control characters are not.
pub fn text(what: &str, s: &str, max: usize) -> Result<String, Invalid> {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Invalid(format!(
            "{what} contains a control character (such as NUL) that cannot be kept; remove it"
        )));
    }
    if s.chars().count() > max {
        return Err(Invalid(format!("{what} can be at most {max} characters")));
    }
    Ok(s.trim().to_owned())
}

/// Passwords need 12 characters and must not be easy to guess: zxcvbn
/// scores each against dictionaries, common passwords, keyboard patterns,
/// dates and the person's own name and e-mail (`about`).
pub fn password<'a>(s: &'a str, about: &[&str]) -> Result<&'a str, Invalid> {
    if s.chars().count() < 12 {
        return Err(Invalid("Use a password of at least 12 characters".into()));
    }
    if s.len() > 1024 {
        return Err(Invalid("That password is too long (1024 bytes at most)".into()));
    }
    let estimate = zxcvbn::zxcvbn(s, about);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .filter(|w| !w.is_empty())
            .map_or_else(String::new, |w| format!(" ({})", w.trim_end_matches('.')));
        return Err(Invalid(format!(
            "That password is too easy to guess{why}. Use a longer phrase of several unrelated words, or a password manager's"
        )));
    }
    Ok(s)
}

/// The years a date or instant may fall in: far outside them nothing can
/// mean anything here, and some date arithmetic overflows.
pub const YEARS: RangeInclusive<i32> = 2000..=2100;

/// A calendar date from outside: YYYY-MM-DD, between the years 2000 and
/// 2100. The one rule (and the one message) for every date Rota reads;
/// whether refusing it is a 400 or a 422 depends on where it came from
/// (see `error::Given`).
pub fn date(s: &str) -> Result<NaiveDate, Invalid> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
        .ok_or_else(|| {
            Invalid(format!(
                "\"{t}\" is not a date between 2000 and 2100; use YYYY-MM-DD, e.g. 2026-03-03"
            ))
        })
}

/// A date and time as a browser's `datetime-local` field sends it
/// (YYYY-MM-DDTHH:MM, seconds optional), in the same years as [`date`].
pub fn datetime_local(s: &str) -> Result<NaiveDateTime, Invalid> {
    let t = s.trim();
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
        .ok_or_else(|| {
            Invalid(format!(
                "\"{t}\" is not a date and time between 2000 and 2100; use YYYY-MM-DDTHH:MM, e.g. 2026-03-03T09:30"
            ))
        })
}

/// How an instant that is well-formed but out of range is described (a
/// 422, where a malformed one is a 400).
pub const OUT_OF_RANGE: &str = "is outside the years 2000 to 2100 that Rota keeps";

/// An instant from outside: RFC 3339 with an offset, between the years 2000
/// and 2100 (instants far outside that cannot mean anything here, and some
/// overflow date arithmetic). A `+` sent unencoded in a query string
/// arrives as a space, so a space there is read as the `+` it was meant to be.
pub fn instant(raw: &str) -> Result<DateTime<Utc>, Invalid> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw).or_else(|e| {
        if raw.contains(' ') {
            DateTime::parse_from_rfc3339(&raw.replace(' ', "+"))
        } else {
            Err(e)
        }
    });
    match parsed {
        Ok(t) if YEARS.contains(&t.year()) => Ok(t.with_timezone(&Utc)),
        Ok(_) => Err(Invalid(format!("\"{raw}\" {OUT_OF_RANGE}"))),
        Err(_) => Err(Invalid(format!(
            "\"{raw}\" is not an RFC 3339 instant; send a date and time with an offset, such as 2026-12-01T10:00:00Z (encode + as %2B in a query string)"
        ))),
    }
}

/// `#[serde(deserialize_with = "…")]` for a required date field: the
/// extractor the value arrives through decides 400 (query) or 422 (body).
pub fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let raw = String::deserialize(d)?;
    typed_date(&raw).map_err(|e| D::Error::custom(e.0))
}

/// A date where the API's schema says `format: date`: one that is well
/// formed but outside the years Rota keeps is valid by the schema, so it is
/// refused as out of range (422, like an instant), not as malformed (400).
fn typed_date(raw: &str) -> Result<NaiveDate, Invalid> {
    date(raw).map_err(|e| match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(_) => Invalid(format!(
            "\"{}\" {OUT_OF_RANGE}; use a date from 2000 to 2100",
            raw.trim()
        )),
        Err(_) => e,
    })
}

/// The same for an optional one (with `#[serde(default)]`).
pub fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(raw) => typed_date(&raw).map(Some).map_err(|e| D::Error::custom(e.0)),
        None => Ok(None),
    }
}

/// `#[serde(deserialize_with = "…")]` for a required instant field.
pub fn de_instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let raw = String::deserialize(d)?;
    instant(&raw).map_err(|e| D::Error::custom(e.0))
}

/// The same for an optional one (with `#[serde(default)]`).
pub fn de_opt_instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(raw) => instant(&raw).map(Some).map_err(|e| D::Error::custom(e.0)),
        None => Ok(None),
    }
}

/// For a correction: a field left out (`None`, with `#[serde(default)]`)
/// is not the same as one sent as `null` (`Some(None)`).
pub fn de_present_instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    de_opt_instant(d).map(Some)
}

pub fn sla_minutes(label: &str, m: i32) -> Result<i32, Invalid> {
    if (1..=1440).contains(&m) {
        Ok(m)
    } else {
        Err(Invalid(format!("The {label} SLA must be between 1 and 1440 minutes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_zones_and_accepts_iana_names() {
        assert!(time_zone("Mars/Olympus").is_err());
        assert_eq!(time_zone("Europe/London").unwrap(), chrono_tz::Europe::London);
    }

    #[test]
    fn slugs_are_url_safe() {
        assert!(slug("platform-core").is_ok());
        for bad in ["", "Platform", "a b", "-a", "a--b", "ünï"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn single_lines_refuse_control_characters() {
        assert_eq!(line("A name", "  Lena Ortiz ", 100).unwrap(), "Lena Ortiz");
        for bad in ["Lena\r\nBcc: x@evil.example", "a\u{0}b", "tab\there", "bell\u{7}"] {
            let e = name(bad).unwrap_err();
            assert!(e.0.contains("control characters"), "{bad:?}: {}", e.0);
        }
        assert!(text("A note", "two\nlines\ttabbed", 100).is_ok());
        assert!(text("A note", "nul\u{0}", 100).is_err());
    }

    #[test]
    fn passwords_need_twelve_characters_and_must_be_hard_to_guess() {
        assert!(password("password12", &[]).unwrap_err().0.contains("12 characters"));
        for weak in ["password1234", "qwertyuiop123", "aaaaaaaaaaaa", "123456789012"] {
            let e = password(weak, &[]).unwrap_err();
            assert!(e.0.contains("too easy to guess"), "{weak}: {}", e.0);
        }
        // The person's own name does not make a password.
        assert!(password("lena@example.com", &["lena@example.com", "Lena Ortiz"]).is_err());
        assert!(password("lena@example.com", &[]).is_ok());
        assert!(password("correct horse battery staple", &[]).is_ok());
        assert!(password("plum-violin-gravel-47", &[]).is_ok());
    }

    #[test]
    fn instants_are_rfc3339_between_2000_and_2100() {
        assert_eq!(
            instant("2026-12-01T10:00:00+01:00").unwrap().to_rfc3339(),
            "2026-12-01T09:00:00+00:00"
        );
        assert!(
            instant("2026-12-01T10:00:00 01:00").is_ok(),
            "a + that arrived as a space"
        );
        let e = instant("2026-01-01").unwrap_err();
        assert!(e.0.contains("RFC 3339"), "{}", e.0);
        for far in [
            "-262143-01-01T00:00:00Z",
            "+262142-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "9999-01-01T00:00:00Z",
        ] {
            assert!(instant(far).is_err(), "{far}");
        }
    }

    #[test]
    fn dates_are_yyyy_mm_dd_between_2000_and_2100() {
        assert_eq!(
            date(" 2026-03-03 ").unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()
        );
        assert!(date("2000-01-01").is_ok() && date("2100-12-31").is_ok());
        for bad in ["1999-12-31", "1970-01-01", "2101-01-01", "2026-02-30", "03/03/2026", ""] {
            let e = date(bad).unwrap_err();
            assert!(e.0.contains("is not a date between 2000 and 2100"), "{bad}: {}", e.0);
        }
        assert!(datetime_local("2026-03-03T03:10").is_ok());
        assert!(datetime_local("2026-03-03T03:10:05").is_ok());
        assert!(datetime_local("1999-03-03T03:10").is_err());
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(email(" Ana@Example.COM ").unwrap(), "ana@example.com");
        assert!(email("ana@localhost").is_err());
    }
}
