//! Grafana OnCall (public HTTP API v1). The file bundles the response
//! bodies:
//!
//! ```json
//! {"schedule": <GET /api/v1/schedules/{id}/>,
//!  "shifts":   <GET /api/v1/on_call_shifts/?schedule_id={id}>  (or a list of its pages),
//!  "users":    <GET /api/v1/users/>  (or a list of its pages)}
//! ```
//!
//! A `rolling_users` shift of `frequency` weekly hands over each week at
//! its `start`, a wall-clock time in the shift's `time_zone` (else the
//! schedule's, else UTC); the lists in `rolling_users` take turns in order
//! from `start_rotation_from_user_index`. Shifts of type `override` are
//! overrides of the whole schedule. The rotations are read in the order
//! the schedule lists them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::read::{Pages, People, local, none_or_refuse, typed, zone};
use super::{Layer, Problem, Rejected, Source, SourceOverride, Vendor, turn_words};

const WEEK: i64 = 7 * 86_400;
const USERS_HINT: &str = "the GET /api/v1/users/ response (users)";

#[derive(Deserialize)]
struct Bundle {
    schedule: Schedule,
    shifts: Pages<ShiftsPage>,
    users: Pages<UsersPage>,
}

#[derive(Deserialize)]
struct Schedule {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    shifts: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ShiftsPage {
    results: Vec<Shift>,
}

#[derive(Deserialize)]
struct Shift {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    time_zone: Option<String>,
    start: String,
    duration: i64,
    #[serde(default)]
    rotation_start: Option<String>,
    #[serde(default)]
    frequency: Option<String>,
    #[serde(default)]
    interval: Option<i64>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    by_day: Option<Vec<String>>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    rolling_users: Option<Vec<Vec<String>>>,
    #[serde(default)]
    start_rotation_from_user_index: Option<usize>,
}

#[derive(Deserialize)]
struct UsersPage {
    results: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// Paths of a paged list: `shifts.results[3]`, or `shifts[1].results[3]`.
fn paged<T>(key: &str, pages: &Pages<T>, items: impl Fn(&T) -> usize) -> Vec<String> {
    let mut paths = Vec::new();
    for (p, page) in pages.0.iter().enumerate() {
        for i in 0..items(page) {
            paths.push(if pages.0.len() == 1 {
                format!("{key}.results[{i}]")
            } else {
                format!("{key}[{p}].results[{i}]")
            });
        }
    }
    paths
}

pub fn read(text: &str, now: DateTime<Utc>) -> Result<Source, Rejected> {
    let bundle: Bundle = typed(text)?;
    let mut people = People::default();
    let user_paths = paged("users", &bundle.users, |p| p.results.len());
    for (u, path) in bundle.users.0.iter().flat_map(|p| p.results.iter()).zip(user_paths) {
        let name = u.name.as_deref().or(u.username.as_deref());
        people.know(path, &u.id, u.email.as_deref(), name, u.timezone.as_deref());
    }
    let mut problems = Vec::new();
    let schedule_tz = match &bundle.schedule.time_zone {
        Some(z) => zone("schedule.time_zone", z, &mut problems),
        None => Tz::UTC,
    };
    let shift_paths = paged("shifts", &bundle.shifts, |p| p.results.len());
    let mut shifts: Vec<(String, &Shift)> = shift_paths
        .into_iter()
        .zip(bundle.shifts.0.iter().flat_map(|p| p.results.iter()))
        .collect();
    if let Some(order) = &bundle.schedule.shifts {
        shifts.sort_by_key(|(_, s)| order.iter().position(|id| *id == s.id).unwrap_or(usize::MAX));
    }
    let (mut layers, mut overrides, mut unmapped, mut notes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (path, s) in shifts {
        let label = s.name.clone().unwrap_or_else(|| s.id.clone());
        let named = format!("{path} (\"{label}\")");
        let tz = match &s.time_zone {
            Some(z) => zone(&format!("{path}.time_zone"), z, &mut problems),
            None => schedule_tz,
        };
        let Some((start_local, start)) = local(&format!("{path}.start"), &s.start, tz, &mut problems) else {
            continue;
        };
        let until = match &s.until {
            Some(u) => local(&format!("{path}.until"), u, tz, &mut problems).map(|(_, t)| t),
            None => None,
        };
        match s.kind.as_str() {
            "override" => {
                let who = s
                    .users
                    .iter()
                    .flatten()
                    .chain(s.rolling_users.iter().flatten().flatten())
                    .next();
                let Some(id) = who else {
                    unmapped.push(format!(
                        "{named}: an override without a person, so there is nothing to import"
                    ));
                    continue;
                };
                if let Some(email) = people.by_id(&format!("{path}.users[0]"), id, USERS_HINT) {
                    overrides.push(SourceOverride {
                        path,
                        email,
                        role: None,
                        starts_at: start,
                        ends_at: start + Duration::seconds(s.duration),
                    });
                }
                continue;
            }
            "rolling_users" => {}
            other => {
                unmapped.push(format!(
                    "{named}: a {other} shift; Rota imports weekly rolling_users rotations and overrides, so it is not imported"
                ));
                continue;
            }
        }
        if until.is_some_and(|u| u <= now) {
            notes.push(format!("{named}: ended before now; history is not imported"));
            continue;
        }
        let frequency = s.frequency.as_deref().unwrap_or("none");
        let interval = s.interval.unwrap_or(1);
        if frequency != "weekly" || interval != 1 {
            unmapped.push(format!(
                "{named}: hands over {}; a Rota rotation hands over once a week, so it is not imported",
                match (frequency, interval) {
                    ("weekly", n) => format!("every {n} weeks"),
                    (f, 1) => f.to_owned(),
                    (f, n) => format!("{f}, every {n}"),
                }
            ));
            continue;
        }
        if s.duration != WEEK {
            unmapped.push(format!(
                "{path}.duration: each turn is on call for {} of the week; Rota's weeks cover every hour, so this limit is not carried over",
                turn_words(s.duration)
            ));
        }
        if let Some(days) = s.by_day.as_ref().filter(|d| !d.is_empty()) {
            unmapped.push(format!(
                "{path}.by_day: on call only on {}; Rota's weeks cover every day, so this limit is not carried over",
                days.join(", ")
            ));
        }
        if let Some(u) = until {
            unmapped.push(format!(
                "{path}.until: the rotation ends at {u}; a Rota rotation runs until it is changed, so the end is not carried over"
            ));
        }
        let groups = s.rolling_users.clone().unwrap_or_default();
        let first = s.start_rotation_from_user_index.unwrap_or(0);
        if !groups.is_empty() && first >= groups.len() {
            problems.push(Problem::new(
                format!("{path}.start_rotation_from_user_index"),
                format!(
                    "{first} is past the last of the {} lists in rolling_users",
                    groups.len()
                ),
            ));
            continue;
        }
        // The vendor's order is kept; the turn at `first` leads from `start`.
        let (mut emails, mut before_first) = (Vec::new(), 0);
        for (g, group) in groups.iter().enumerate() {
            let at = format!("{path}.rolling_users[{g}]");
            match group.as_slice() {
                [] => unmapped.push(format!(
                    "{at}: an empty turn; Rota has no week without someone on call, so it is left out and the cycle is a week shorter"
                )),
                [one, rest @ ..] => {
                    if !rest.is_empty() {
                        unmapped.push(format!(
                            "{at}: {} people on call together; Rota has one primary at a time, so only the first is imported for this turn",
                            rest.len() + 1
                        ));
                    }
                    if let Some(email) = people.by_id(&format!("{at}[0]"), one, USERS_HINT) {
                        before_first += usize::from(g < first);
                        emails.push(email);
                    }
                }
            }
        }
        let rotation_start = match &s.rotation_start {
            Some(r) => local(&format!("{path}.rotation_start"), r, tz, &mut problems).map(|(_, t)| t),
            None => None,
        };
        layers.push(Layer {
            path,
            label,
            tz,
            anchor: start_local - Duration::weeks(before_first as i64),
            people: emails,
            starts_at: rotation_start.map_or(start, |r| r.max(start)),
        });
    }
    problems.append(&mut people.problems);
    none_or_refuse(problems)?;
    Ok(Source {
        vendor: Vendor::GrafanaOnCall,
        schedule_name: bundle.schedule.name,
        layers,
        overrides,
        people: people.named,
        unmapped,
        notes,
    })
}
