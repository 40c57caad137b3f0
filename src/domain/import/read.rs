//! What the three readers share: typed JSON with the path (and line and
//! column) of what is wrong, paged list responses, and the people a file
//! names.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Person, Problem, Rejected};
use crate::domain::schedule::local_to_instant;
use crate::domain::validate;

/// Reads the whole bundle as `T`. serde_path_to_error names the field at
/// fault (`schedule.schedule_layers[0].start`) and serde_json the line and
/// column, so a person can find it in a file of thousands of lines.
pub(crate) fn typed<T: DeserializeOwned>(text: &str) -> Result<T, Rejected> {
    let mut de = serde_json::Deserializer::from_str(text);
    let (path, inner) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(e) => (String::new(), e),
        },
        // A key it could not read is `?` in the path: the position says where.
        Err(e) => (e.path().to_string().trim_end_matches(".?").to_owned(), e.into_inner()),
    };
    let at = format!("line {}, column {}", inner.line(), inner.column());
    let message = inner.to_string();
    // serde_json ends its message with the position; it goes with the path.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_owned();
    let path = if path.is_empty() || path == "." {
        at
    } else {
        format!("{path} ({at})")
    };
    Err(Rejected {
        malformed: true,
        problems: vec![Problem::new(path, message)],
    })
}

/// A list response as the API returned it: one page, or a JSON array of
/// the pages when there were several.
pub(crate) struct Pages<T>(pub Vec<T>);

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Pages(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pages<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PagesVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for PagesVisitor<T> {
            type Value = Pages<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the API's response body, or a list of them (one per page)")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pages = Vec::new();
                while let Some(page) = seq.next_element()? {
                    pages.push(page);
                }
                Ok(Pages(pages))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|p| Pages(vec![p]))
            }
        }
        d.deserialize_any(PagesVisitor(PhantomData))
    }
}

/// The vendor's users, looked up by id, and everyone the import names.
#[derive(Default)]
pub(crate) struct People {
    known: Vec<Known>,
    pub named: Vec<Person>,
    pub problems: Vec<Problem>,
}

struct Known {
    id: String,
    email: Option<String>,
    name: Option<String>,
    timezone: Option<String>,
    path: String,
}

impl People {
    /// A user from the vendor's users list, found at `path`.
    pub fn know(&mut self, path: String, id: &str, email: Option<&str>, name: Option<&str>, timezone: Option<&str>) {
        self.known.push(Known {
            id: id.to_owned(),
            email: email.map(str::to_owned),
            name: name.map(str::to_owned).filter(|n| !n.trim().is_empty()),
            timezone: timezone.map(str::to_owned),
            path,
        });
    }

    /// The e-mail of the user `id` referred to at `at`; a problem when the
    /// users list does not have them, or has them without an address.
    pub fn by_id(&mut self, at: &str, id: &str, users_hint: &str) -> Option<String> {
        let Some(k) = self.known.iter().find(|k| k.id == id) else {
            self.problems.push(Problem::new(
                at,
                format!("user {id} is not in the users list; add {users_hint} with every page"),
            ));
            return None;
        };
        let Some(raw) = k.email.clone() else {
            let path = k.path.clone();
            self.problems.push(Problem::new(
                path,
                format!("user {id} has no e-mail address, which is how Rota knows people; the API key may lack the right to read it"),
            ));
            return None;
        };
        let (name, timezone, path) = (k.name.clone(), k.timezone.clone(), format!("{}.email", k.path));
        self.note(&path, &raw, name.as_deref(), timezone.as_deref())
    }

    /// The e-mail `raw` found at `at`, with what else is known of them.
    pub fn by_email(&mut self, at: &str, raw: &str) -> Option<String> {
        let known = validate::email(raw).ok().and_then(|e| {
            self.known
                .iter()
                .find(|k| k.email.as_deref().map(str::to_lowercase) == Some(e.clone()))
        });
        let (name, timezone) = known.map_or((None, None), |k| (k.name.clone(), k.timezone.clone()));
        self.note(at, raw, name.as_deref(), timezone.as_deref())
    }

    fn note(&mut self, at: &str, raw: &str, name: Option<&str>, timezone: Option<&str>) -> Option<String> {
        let email = match validate::email(raw) {
            Ok(e) => e,
            Err(e) => {
                self.problems.push(Problem::new(at, e.0));
                return None;
            }
        };
        if !self.named.iter().any(|p| p.email == email) {
            self.named.push(Person {
                email: email.clone(),
                name: name.map(str::to_owned),
                timezone: timezone.and_then(|z| z.parse::<Tz>().ok()),
            });
        }
        Some(email)
    }
}

/// A zone the vendor named; a problem when Rota does not know it.
pub(crate) fn zone(at: &str, name: &str, problems: &mut Vec<Problem>) -> Tz {
    validate::time_zone(name).unwrap_or_else(|e| {
        problems.push(Problem::new(at, e.0));
        Tz::UTC
    })
}

/// `2027-03-02T10:00:00` read as a wall-clock time in `tz`.
pub(crate) fn local(at: &str, s: &str, tz: Tz, problems: &mut Vec<Problem>) -> Option<(NaiveDateTime, DateTime<Utc>)> {
    match NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S") {
        Ok(t) => Some((t, local_to_instant(tz, t.date(), t.time()))),
        Err(_) => {
            problems.push(Problem::new(
                at,
                format!("\"{s}\" is not a date and time as yyyy-MM-ddTHH:mm:ss"),
            ));
            None
        }
    }
}

/// Stops with every problem found, if there were any.
pub(crate) fn none_or_refuse(problems: Vec<Problem>) -> Result<(), Rejected> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Rejected {
            malformed: false,
            problems,
        })
    }
}

/// An ISO weekday number (1 is Monday) in words.
pub(crate) fn iso_day_name(day: u8) -> &'static str {
    match day {
        1 => "Monday",
        2 => "Tuesday",
        3 => "Wednesday",
        4 => "Thursday",
        5 => "Friday",
        6 => "Saturday",
        7 => "Sunday",
        _ => "an unknown day",
    }
}
