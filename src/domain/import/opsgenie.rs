//! Opsgenie (REST API v2). The file bundles the response bodies:
//!
//! ```json
//! {"schedule":  <GET /v2/schedules/{id}>,
//!  "rotations": <GET /v2/schedules/{id}/rotations>  (optional: else the schedule's own),
//!  "overrides": <GET /v2/schedules/{id}/overrides>,
//!  "users":     <GET /v2/users>  (optional: names and zones)}
//! ```
//!
//! A rotation of `type` weekly and `length` 1 hands over each week at its
//! `startDate`, read in the schedule's `timezone`; its user participants
//! (`username` is the e-mail) take turns in order. Overrides name the
//! rotations they apply to, so each goes to that rotation's role.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use super::read::{Pages, People, none_or_refuse, typed, zone};
use super::{Layer, Rejected, Source, SourceOverride, Vendor};
use crate::domain::role::Role;

#[derive(Deserialize)]
struct Bundle {
    schedule: ScheduleBody,
    #[serde(default)]
    rotations: Option<RotationsBody>,
    #[serde(default)]
    overrides: Option<OverridesBody>,
    #[serde(default)]
    users: Pages<UsersBody>,
}

#[derive(Deserialize)]
struct ScheduleBody {
    data: Schedule,
}

#[derive(Deserialize)]
struct Schedule {
    name: String,
    timezone: String,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    rotations: Vec<Rotation>,
}

#[derive(Deserialize)]
struct RotationsBody {
    data: Vec<Rotation>,
}

#[derive(Deserialize)]
struct Rotation {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "startDate")]
    start_date: DateTime<FixedOffset>,
    #[serde(rename = "endDate", default)]
    end_date: Option<DateTime<FixedOffset>>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "one")]
    length: i64,
    participants: Vec<Participant>,
    #[serde(rename = "timeRestriction", default)]
    time_restriction: Option<TimeRestriction>,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize)]
struct Participant {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct TimeRestriction {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    restriction: Option<Interval>,
    #[serde(default)]
    restrictions: Vec<Interval>,
}

#[derive(Deserialize)]
struct Interval {
    #[serde(rename = "startDay", default)]
    start_day: Option<String>,
    #[serde(rename = "startHour")]
    start_hour: u32,
    #[serde(rename = "startMin", default)]
    start_min: u32,
    #[serde(rename = "endDay", default)]
    end_day: Option<String>,
    #[serde(rename = "endHour")]
    end_hour: u32,
    #[serde(rename = "endMin", default)]
    end_min: u32,
}

#[derive(Deserialize)]
struct OverridesBody {
    data: Vec<Override>,
}

#[derive(Deserialize)]
struct Override {
    user: Participant,
    #[serde(rename = "startDate")]
    start_date: DateTime<FixedOffset>,
    #[serde(rename = "endDate")]
    end_date: DateTime<FixedOffset>,
    #[serde(default)]
    rotations: Vec<RotationRef>,
}

#[derive(Deserialize)]
struct RotationRef {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct UsersBody {
    data: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(rename = "fullName", default)]
    full_name: Option<String>,
    #[serde(rename = "timeZone", default)]
    time_zone: Option<String>,
}

pub fn read(text: &str, now: DateTime<Utc>) -> Result<Source, Rejected> {
    let bundle: Bundle = typed(text)?;
    let mut people = People::default();
    for (p, page) in bundle.users.0.iter().enumerate() {
        for (i, u) in page.data.iter().enumerate() {
            let path = format!(
                "users{}.data[{i}]",
                if bundle.users.0.len() == 1 {
                    String::new()
                } else {
                    format!("[{p}]")
                }
            );
            people.know(
                path,
                &u.id,
                Some(&u.username),
                u.full_name.as_deref(),
                u.time_zone.as_deref(),
            );
        }
    }
    let schedule = bundle.schedule.data;
    let mut problems = Vec::new();
    let tz = zone("schedule.data.timezone", &schedule.timezone, &mut problems);
    let (mut unmapped, mut notes) = (Vec::new(), Vec::new());
    if schedule.enabled == Some(false) {
        notes.push("schedule.data.enabled: the schedule is disabled in Opsgenie; Rota's rotation is on at once".into());
    }
    let (rotations, prefix) = match bundle.rotations {
        Some(r) => (r.data, "rotations.data"),
        None => (schedule.rotations, "schedule.data.rotations"),
    };
    // Which imported layer each rotation became, by id and name, for overrides.
    let mut imported: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut layers = Vec::new();
    for (i, r) in rotations.iter().enumerate() {
        let path = format!("{prefix}[{i}]");
        let label = r.name.clone().unwrap_or_else(|| format!("rotation {}", i + 1));
        let named = format!("{path} (\"{label}\")");
        if r.end_date.is_some_and(|e| e <= now) {
            notes.push(format!("{named}: ended before now; history is not imported"));
            continue;
        }
        if r.kind != "weekly" || r.length != 1 {
            unmapped.push(format!(
                "{named}: a {} rotation of length {}; a Rota rotation hands over once a week, so it is not imported",
                r.kind, r.length
            ));
            continue;
        }
        if let Some(t) = &r.time_restriction {
            unmapped.push(format!(
                "{path}.timeRestriction: on call only {}; Rota's weeks cover every hour, so the restriction is not carried over",
                restriction_words(t)
            ));
        }
        if let Some(end) = r.end_date {
            unmapped.push(format!(
                "{path}.endDate: the rotation ends at {end}; a Rota rotation runs until it is changed, so the end is not carried over"
            ));
        }
        let mut emails = Vec::new();
        for (p, x) in r.participants.iter().enumerate() {
            let at = format!("{path}.participants[{p}]");
            match (x.kind.as_str(), &x.username) {
                ("user", Some(u)) => emails.extend(people.by_email(&format!("{at}.username"), u)),
                ("user", None) => problems.push(super::Problem::new(at, "a user participant without a username (e-mail)")),
                (kind, _) => unmapped.push(format!(
                    "{at}: a {kind} participant{}; only people can be in a Rota rotation, so this turn is left out and the cycle is a week shorter",
                    x.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
                )),
            }
        }
        imported.push((r.id.clone(), r.name.clone()));
        layers.push(Layer {
            path,
            label,
            tz,
            anchor: r.start_date.with_timezone(&tz).naive_local(),
            people: emails,
            starts_at: r.start_date.with_timezone(&Utc),
        });
    }
    let mut overrides = Vec::new();
    for (i, o) in bundle.overrides.iter().flat_map(|b| b.data.iter()).enumerate() {
        let path = format!("overrides.data[{i}]");
        let Some(username) = &o.user.username else {
            unmapped.push(format!(
                "{path}.user: overrides by a {} are not people, so not imported",
                o.user.kind
            ));
            continue;
        };
        let Some(email) = people.by_email(&format!("{path}.user.username"), username) else {
            continue;
        };
        let span = (o.start_date.with_timezone(&Utc), o.end_date.with_timezone(&Utc));
        if o.rotations.is_empty() {
            overrides.push(SourceOverride {
                path,
                email,
                role: None,
                starts_at: span.0,
                ends_at: span.1,
            });
            continue;
        }
        for (r, target) in o.rotations.iter().enumerate() {
            let position = imported.iter().position(|(id, name)| {
                (target.id.is_some() && *id == target.id) || (target.id.is_none() && *name == target.name)
            });
            let role = match position {
                Some(0) => Role::Primary,
                Some(1) => Role::Secondary,
                _ => {
                    unmapped.push(format!(
                        "{path}.rotations[{r}]: applies to a rotation that is not imported, so this part is not carried over"
                    ));
                    continue;
                }
            };
            overrides.push(SourceOverride {
                path: format!("{path}.rotations[{r}]"),
                email: email.clone(),
                role: Some(role),
                starts_at: span.0,
                ends_at: span.1,
            });
        }
    }
    problems.append(&mut people.problems);
    none_or_refuse(problems)?;
    Ok(Source {
        vendor: Vendor::Opsgenie,
        schedule_name: schedule.name,
        layers,
        overrides,
        people: people.named,
        unmapped,
        notes,
    })
}

fn restriction_words(t: &TimeRestriction) -> String {
    let hm = |h: u32, m: u32| format!("{h:02}:{m:02}");
    let intervals: Vec<String> = t
        .restriction
        .iter()
        .chain(t.restrictions.iter())
        .map(|i| match (&i.start_day, &i.end_day) {
            (Some(from), Some(to)) => format!(
                "{from} {} to {to} {}",
                hm(i.start_hour, i.start_min),
                hm(i.end_hour, i.end_min)
            ),
            _ => format!(
                "{} to {} each day",
                hm(i.start_hour, i.start_min),
                hm(i.end_hour, i.end_min)
            ),
        })
        .collect();
    format!("{} ({})", intervals.join(", "), t.kind)
}
