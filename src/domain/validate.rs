//! Input that is checked once, on the way in, and trusted after.

use chrono_tz::Tz;

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
    let n = s.trim();
    if n.is_empty() || n.chars().count() > 100 {
        Err(Invalid("A name needs 1 to 100 characters".into()))
    } else {
        Ok(n.to_owned())
    }
}

pub fn password(s: &str) -> Result<&str, Invalid> {
    if s.chars().count() < 10 {
        Err(Invalid("Use a password of at least 10 characters".into()))
    } else if s.len() > 1024 {
        Err(Invalid("That password is too long (1024 bytes at most)".into()))
    } else {
        Ok(s)
    }
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
    fn emails_are_normalised() {
        assert_eq!(email(" Ana@Example.COM ").unwrap(), "ana@example.com");
        assert!(email("ana@localhost").is_err());
    }
}
