//! PagerDuty (REST API v2). The file bundles three response bodies:
//!
//! ```json
//! {"schedule":  <GET /schedules/{id}>,
//!  "overrides": <GET /schedules/{id}/overrides?since=…&until=…>,
//!  "users":     <GET /users?limit=100>  (or a list of its pages)}
//! ```
//!
//! A layer hands over every `rotation_turn_length_seconds` from
//! `rotation_virtual_start`, in the schedule's `time_zone`; its `users`
//! take turns in order. Layers stack (a higher one wins where both have
//! someone): Rota reads the first layer listed as primary and the second
//! as secondary, and says so in the report.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use super::read::{Pages, People, none_or_refuse, typed, zone};
use super::{Layer, Rejected, Source, SourceOverride, Vendor, turn_words};

const WEEK: i64 = 7 * 86_400;
const USERS_HINT: &str = "the GET /users response (users)";

#[derive(Deserialize)]
struct Bundle {
    schedule: ScheduleBody,
    #[serde(default)]
    overrides: Option<OverridesBody>,
    users: Pages<UsersBody>,
}

#[derive(Deserialize)]
struct ScheduleBody {
    schedule: Schedule,
}

#[derive(Deserialize)]
struct Schedule {
    name: String,
    time_zone: String,
    #[serde(default)]
    schedule_layers: Vec<ScheduleLayer>,
}

#[derive(Deserialize)]
struct ScheduleLayer {
    #[serde(default)]
    name: Option<String>,
    start: DateTime<FixedOffset>,
    #[serde(default)]
    end: Option<DateTime<FixedOffset>>,
    rotation_virtual_start: DateTime<FixedOffset>,
    rotation_turn_length_seconds: i64,
    users: Vec<LayerUser>,
    #[serde(default)]
    restrictions: Vec<Restriction>,
}

#[derive(Deserialize)]
struct LayerUser {
    user: Reference,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct Restriction {
    #[serde(rename = "type")]
    kind: String,
    start_time_of_day: String,
    duration_seconds: i64,
    #[serde(default)]
    start_day_of_week: Option<u8>,
}

#[derive(Deserialize)]
struct OverridesBody {
    overrides: Vec<Override>,
}

#[derive(Deserialize)]
struct Override {
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    user: Reference,
}

#[derive(Deserialize)]
struct UsersBody {
    users: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

pub fn read(text: &str, now: DateTime<Utc>) -> Result<Source, Rejected> {
    let bundle: Bundle = typed(text)?;
    let mut people = People::default();
    for (p, page) in bundle.users.0.iter().enumerate() {
        for (i, u) in page.users.iter().enumerate() {
            let path = if bundle.users.0.len() == 1 {
                format!("users.users[{i}]")
            } else {
                format!("users[{p}].users[{i}]")
            };
            people.know(
                path,
                &u.id,
                u.email.as_deref(),
                u.name.as_deref(),
                u.time_zone.as_deref(),
            );
        }
    }
    let schedule = bundle.schedule.schedule;
    let mut problems = Vec::new();
    let tz = zone("schedule.schedule.time_zone", &schedule.time_zone, &mut problems);
    let (mut layers, mut unmapped, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for (i, l) in schedule.schedule_layers.iter().enumerate() {
        let path = format!("schedule.schedule.schedule_layers[{i}]");
        let label = l.name.clone().unwrap_or_else(|| format!("layer {}", i + 1));
        let named = format!("{path} (\"{label}\")");
        if l.end.is_some_and(|e| e <= now) {
            notes.push(format!("{named}: ended before now; history is not imported"));
            continue;
        }
        if l.rotation_turn_length_seconds != WEEK {
            unmapped.push(format!(
                "{named}: turns are {}; a Rota rotation hands over once a week, so this layer is not imported",
                turn_words(l.rotation_turn_length_seconds)
            ));
            continue;
        }
        for (r, x) in l.restrictions.iter().enumerate() {
            unmapped.push(format!(
                "{path}.restrictions[{r}]: on call only {}; Rota's weeks cover every hour, so the restriction is not carried over",
                restriction_words(x)
            ));
        }
        if let Some(end) = l.end {
            unmapped.push(format!(
                "{path}.end: the layer ends at {end}; a Rota rotation runs until it is changed, so the end is not carried over"
            ));
        }
        let emails: Vec<String> = l
            .users
            .iter()
            .enumerate()
            .filter_map(|(u, lu)| people.by_id(&format!("{path}.users[{u}].user.id"), &lu.user.id, USERS_HINT))
            .collect();
        layers.push(Layer {
            path,
            label,
            tz,
            anchor: l.rotation_virtual_start.with_timezone(&tz).naive_local(),
            people: emails,
            starts_at: l.start.with_timezone(&Utc),
        });
    }
    let mut overrides = Vec::new();
    for (i, o) in bundle.overrides.iter().flat_map(|b| b.overrides.iter()).enumerate() {
        let path = format!("overrides.overrides[{i}]");
        if let Some(email) = people.by_id(&format!("{path}.user.id"), &o.user.id, USERS_HINT) {
            overrides.push(SourceOverride {
                path,
                email,
                role: None,
                starts_at: o.start.with_timezone(&Utc),
                ends_at: o.end.with_timezone(&Utc),
            });
        }
    }
    if bundle.overrides.is_none() {
        notes.push("The file has no overrides (GET /schedules/{id}/overrides); none are imported".into());
    }
    problems.append(&mut people.problems);
    none_or_refuse(problems)?;
    Ok(Source {
        vendor: Vendor::PagerDuty,
        schedule_name: schedule.name,
        layers,
        overrides,
        people: people.named,
        unmapped,
        notes,
    })
}

fn restriction_words(r: &Restriction) -> String {
    let hours = r.duration_seconds as f64 / 3600.0;
    let from = r.start_time_of_day.get(..5).unwrap_or(&r.start_time_of_day);
    match (r.kind.as_str(), r.start_day_of_week) {
        ("weekly_restriction", Some(day)) => {
            let day = super::read::iso_day_name(day);
            format!("from {day} {from} for {hours} hours each week (weekly_restriction)")
        }
        (kind, _) => format!("from {from} for {hours} hours each day ({kind})"),
    }
}
