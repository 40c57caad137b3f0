//! History in people's words: each audit entry as one sentence with names
//! ("Priya swapped their primary week of 29 Dec with Ravi's week of 5 Jan —
//! approved by Alex"), and a short detail line. Pure: the entry, the names
//! and the zone in, words out.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::names::Names;
use super::team_changes;
use crate::web::fmt;

/// One entry as a reader sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    pub text: String,
    /// Precise times, a reason, a request number; may be empty.
    pub detail: String,
    /// Where to read more: (href, link text).
    pub link: Option<(String, String)>,
}

impl Said {
    pub fn new(text: String) -> Said {
        Said {
            text,
            ..Said::default()
        }
    }

    pub fn detail(mut self, detail: String) -> Said {
        self.detail = detail;
        self
    }

    pub fn link(mut self, href: String, text: &str) -> Said {
        self.link = Some((href, text.to_owned()));
        self
    }
}

/// An audit entry, its actor already named ("Alex", "Mona (left)", "Rota").
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

/// What every sentence needs besides the entry.
pub struct Context<'a> {
    pub names: &'a Names,
    pub tz: Tz,
    pub team_slug: &'a str,
}

pub fn text<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key)).and_then(Value::as_str)
}

pub fn instant(v: Option<&Value>, key: &str) -> Option<DateTime<Utc>> {
    text(v, key)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub fn date(v: Option<&Value>, key: &str) -> Option<NaiveDate> {
    text(v, key).and_then(|s| s.parse().ok())
}

/// "primary week of 29 Dec" from a value with `role`, `starts_at` and
/// `ends_at` ("primary shift" when the times are missing).
fn shift(v: Option<&Value>, role: Option<&str>, tz: Tz) -> String {
    let role = role.or_else(|| text(v, "role")).unwrap_or_default();
    match (instant(v, "starts_at"), instant(v, "ends_at")) {
        (Some(s), Some(e)) => fmt::shift(role, s, e, tz),
        _ => format!("{role} shift").trim_start().to_owned(),
    }
}

fn shifts(v: Option<&Value>) -> Vec<&Value> {
    v.and_then(|v| v.get("shifts"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The entry as a sentence. Every action Rota records has its own; an
/// unknown one still reads as a sentence naming who did it.
pub fn sentence(e: &Entry, cx: &Context) -> Said {
    match e.action {
        "swap.apply" => swap(e, cx),
        "cover.apply" => cover(e, cx),
        "undo" => undo(e, cx),
        "override" => override_(e, cx),
        "leave.reassign" => leave(e, cx),
        a if a.starts_with("handoff.") => handoff(e, cx),
        _ => team_changes::sentence(e, cx).unwrap_or_else(|| unknown(e)),
    }
}

fn unknown(e: &Entry) -> Said {
    let words = e.action.replace(['.', '_'], " ");
    Said::new(format!("{} made a change: {words}", e.actor)).detail(format!("recorded as “{}”", e.action))
}

/// The link to the request an entry came from, and its rotation.
fn request_detail(e: &Entry, cx: &Context, said: Said) -> Said {
    let rotation = text(shifts(e.after).first().copied(), "rotation").map(|s| cx.names.rotation(s));
    let said = match rotation.filter(|_| cx.names.several_rotations) {
        Some(r) => said.detail(r),
        None => said,
    };
    match e.after.and_then(|a| a.get("request")).and_then(Value::as_i64) {
        Some(id) => said.link(format!("/swaps/{id}"), &format!("Request #{id}")),
        None => said,
    }
}

fn swap(e: &Entry, cx: &Context) -> Said {
    let (before, after) = (shifts(e.before), shifts(e.after));
    let (given, taken) = (before.first().copied(), before.get(1).copied());
    let requester = cx.names.person(text(given, "email"));
    let other = cx.names.person(text(after.first().copied(), "email"));
    let mine = shift(given, None, cx.tz);
    let words = match taken {
        Some(theirs) => {
            let same_role = text(Some(theirs), "role") == text(given, "role");
            let theirs = shift(Some(theirs), same_role.then_some(""), cx.tz);
            format!(
                "{requester} swapped their {mine} with {other}'s {theirs} — approved by {}",
                e.actor
            )
        }
        None => format!("{requester} gave their {mine} to {other} — approved by {}", e.actor),
    };
    request_detail(e, cx, Said::new(words))
}

fn cover(e: &Entry, cx: &Context) -> Said {
    let (given, taken) = (shifts(e.before).first().copied(), shifts(e.after).first().copied());
    let requester = cx.names.person(text(given, "email"));
    let covering = cx.names.person(text(taken, "email"));
    let what = shift(given, None, cx.tz);
    let words = format!(
        "{covering} took over {requester}'s {what} as cover — approved by {}",
        e.actor
    );
    request_detail(e, cx, Said::new(words))
}

fn undo(e: &Entry, cx: &Context) -> Said {
    let back: Vec<String> = shifts(e.after)
        .into_iter()
        .map(|s| {
            format!(
                "{} has the {} back",
                cx.names.person(text(Some(s), "email")),
                shift(Some(s), None, cx.tz)
            )
        })
        .collect();
    let id = e.after.and_then(|a| a.get("request")).and_then(Value::as_i64);
    let which = id.map_or_else(|| "an approved change".to_owned(), |id| format!("request #{id}"));
    let words = if back.is_empty() {
        format!("{} undid {which} from now on", e.actor)
    } else {
        format!("{} undid {which} from now on: {}", e.actor, back.join("; "))
    };
    request_detail(e, cx, Said::new(words))
}

fn override_(e: &Entry, cx: &Context) -> Said {
    let who_email = text(e.after, "email");
    let who = cx.names.person(who_email);
    let mut held: Vec<String> = Vec::new();
    for s in shifts(e.before) {
        let email = text(Some(s), "email");
        let name = cx.names.person(email);
        if email != who_email && !held.contains(&name) {
            held.push(name);
        }
    }
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    let instead = fmt::and_list(&held)
        .map(|h| format!(", in place of {h}"))
        .unwrap_or_default();
    let what = shift(e.after, None, cx.tz);
    let rotation = cx.names.in_rotation(text(e.after, "rotation"));
    let words = format!("{} gave {who} the {what}{rotation}{instead}", e.actor);
    let mut detail = format!("Override; reason: {}", text(e.after, "reason").unwrap_or("none given"));
    if e.after.and_then(|a| a.get("despite_leave")).and_then(Value::as_bool) == Some(true) {
        detail.push_str(&format!(" (assigned knowing {who} is on leave)"));
    }
    Said::new(words).detail(detail)
}

fn leave(e: &Entry, cx: &Context) -> Said {
    let away = cx.names.person(text(e.before, "email"));
    let instead = cx.names.person(text(e.after, "email"));
    let role = text(e.after, "role");
    let week = shift(e.after.and_then(|a| a.get("week")), role, cx.tz);
    let owed = shift(e.after.and_then(|a| a.get("owed_week")), role, cx.tz);
    let rotation = e
        .after
        .and_then(|a| a.get("rotation_id"))
        .and_then(Value::as_i64)
        .and_then(|id| cx.names.rotation_ids.get(&id))
        .map(|(slug, _)| slug.as_str());
    let rotation = cx.names.in_rotation(rotation);
    Said::new(format!(
        "{} gave {away}'s {week}{rotation} to {instead}, as {away} is on leave; {away} takes the {owed} instead",
        e.actor
    ))
}

fn handoff(e: &Entry, cx: &Context) -> Said {
    let slug = text(e.after, "rotation");
    let week = date(e.after, "week_start");
    let day = week.map_or_else(
        || "a week".to_owned(),
        |w| format!("the week of {}", fmt::date_short(w)),
    );
    let rotation = cx.names.in_rotation(slug);
    let the = if rotation.is_empty() {
        "the handoff".to_owned()
    } else {
        format!("the {} handoff", cx.names.rotation(slug.unwrap_or_default()))
    };
    let words = match e.action {
        "handoff.submit" => {
            let by_manager = text(e.after, "as") == Some("manager");
            format!(
                "{} submitted {the} for {day}{}",
                e.actor,
                if by_manager { ", as a manager" } else { "" }
            )
        }
        "handoff.edit" => {
            let version = e.after.and_then(|a| a.get("version")).and_then(Value::as_i64);
            let version = version.map(|v| format!(" (version {v})")).unwrap_or_default();
            format!("{} edited {the} for {day}{version}", e.actor)
        }
        "handoff.acknowledge" => {
            let author = slug
                .zip(week)
                .and_then(|(s, w)| cx.names.authors.get(&(s.to_owned(), w)));
            let whose = match author {
                Some(a) if rotation.is_empty() => format!("{a}'s handoff"),
                Some(a) => format!("{a}'s {} handoff", cx.names.rotation(slug.unwrap_or_default())),
                None => the,
            };
            let role = text(e.after, "role").filter(|r| *r == "secondary");
            let role = role.map(|_| ", as the incoming secondary").unwrap_or_default();
            format!("{} acknowledged {whose} for {day}{role}", e.actor)
        }
        other => format!(
            "{} changed {the} for {day} ({})",
            e.actor,
            other.replace(['.', '_'], " ")
        ),
    };
    let said = Said::new(words);
    match (slug, week) {
        (Some(s), Some(w)) => said.link(
            format!("/teams/{}/rotations/{s}/handoffs/{w}", cx.team_slug),
            "Read the handoff",
        ),
        _ => said,
    }
}
