//! History's sentences for changes to the team rather than to a week:
//! rotations, members and invitations, policies, holidays, integrations
//! and pages.

use serde_json::Value;

use super::sentences::{Context, Entry, Said, date, instant, text};
use crate::domain::chat::ChatKind;
use crate::web::fmt;

/// The entry as a sentence, when it is one of these.
pub fn sentence(e: &Entry, cx: &Context) -> Option<Said> {
    let a = e.actor;
    let who = |v: Option<&Value>| cx.names.person(text(v, "email"));
    let role = |v: Option<&Value>| text(v, "role").unwrap_or("member").to_owned();
    let said = match e.action {
        "rotation.create" => rotation_created(e, cx),
        "rotation.update" => rotation_changed(e, cx),
        "member.add" => Said::new(format!(
            "{a} added {} to the team{}",
            who(e.after),
            if role(e.after) == "manager" {
                " as a manager"
            } else {
                ""
            }
        )),
        "member.role" => Said::new(format!(
            "{a} made {} a {} (was a {})",
            who(e.after),
            role(e.after),
            role(e.before)
        )),
        "member.remove" => Said::new(format!("{a} removed {} from the team", who(e.before))),
        "invitation.create" => Said::new(format!("{a} invited {} to join as a {}", who(e.after), role(e.after))),
        "invitation.resend" => Said::new(format!("{a} sent the invitation to {} again", who(e.after))),
        "invitation.revoke" => Said::new(format!("{a} withdrew the invitation for {}", who(e.after))),
        "invitation.accept" => Said::new(match e.before {
            Some(_) => format!("{a} accepted an invitation, and is now a {}", role(e.after)),
            None => format!("{a} accepted the invitation and joined the team as a {}", role(e.after)),
        }),
        "page.correct" | "page.delete" => page_changed(e, cx),
        "page.acknowledge" | "page.resolve" | "page.escalate" | "page.drill" => page_answered(e, cx),
        _ => return settings(e),
    };
    Some(said)
}

/// The team's settings: visibility, escalation, webhook, holidays, policy,
/// tokens and its calendar link.
fn settings(e: &Entry) -> Option<Said> {
    let a = e.actor;
    let words = match e.action {
        "team.visibility" => {
            if e.after.and_then(|v| v.get("private")) == Some(&Value::Bool(true)) {
                format!("{a} made the team private: only its members see its on-call in the directory")
            } else {
                format!("{a} made the team's on-call visible to everyone in the directory")
            }
        }
        "team.escalation" => format!("{a} changed how pages escalate: {}", escalation(e.after)),
        "team.handoff_webhook" => {
            let set = |v: Option<&Value>| v.and_then(|v| v.get("set")).and_then(Value::as_bool) == Some(true);
            match (set(e.before), set(e.after)) {
                (_, false) => format!("{a} removed the chat webhook for submitted handoffs"),
                (false, true) => format!("{a} set a chat webhook for submitted handoffs"),
                (true, true) => format!("{a} changed the chat webhook for submitted handoffs"),
            }
        }
        "team.chat" => {
            let said = |v: Option<&Value>| {
                let set = v.and_then(|v| v.get("set")).and_then(Value::as_bool) == Some(true);
                let kind = v.and_then(|v| v.get("kind")).and_then(Value::as_str);
                set.then(|| kind.and_then(ChatKind::parse).map_or("chat", ChatKind::name))
            };
            match (said(e.before), said(e.after)) {
                (_, None) => format!("{a} removed the team's chat channel: nothing is posted there any more"),
                (None, Some(k)) => format!("{a} set a {k} channel for handoffs and pages"),
                (Some(b), Some(k)) if b == k => format!("{a} changed the team's {k} channel address"),
                (Some(_), Some(k)) => format!("{a} moved handoffs and pages to a {k} channel"),
            }
        }
        "holidays.change" => format!("{a} changed the holidays: {}", holidays(e.after)),
        "policy.change" => format!("{a} changed the out-of-hours policy: {}", policy(e.before, e.after)),
        "integration.revoke" => format!(
            "{a} revoked the integration token “{}”: the tool using it is refused from now on",
            text(e.after, "label").unwrap_or("without a label")
        ),
        "calendar.reset" => format!("{a} reset the team's calendar link: the old link no longer works"),
        _ => return None,
    };
    Some(Said::new(words))
}

/// Someone acknowledged, resolved or escalated a page, or sent a drill.
fn page_answered(e: &Entry, cx: &Context) -> Said {
    let verb = match e.action {
        "page.acknowledge" => "acknowledged",
        "page.resolve" => "resolved",
        "page.drill" => "sent a test page (a drill, counted nowhere):",
        _ => "escalated",
    };
    let id = e.after.and_then(|v| v.get("page")).and_then(Value::as_i64);
    let said = Said::new(format!(
        "{} {verb} {}",
        e.actor,
        id.map_or_else(|| "a page".to_owned(), |id| format!("page #{id}"))
    ));
    match id {
        Some(id) => said.link(format!("/teams/{}/pages/{id}", cx.team_slug), "See the page"),
        None => said,
    }
}

fn names(cx: &Context, emails: Option<&Value>) -> Vec<String> {
    emails
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|e| cx.names.person(e.as_str())).collect())
        .unwrap_or_default()
}

fn and_list(names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    fmt::and_list(&names).unwrap_or_else(|| "nobody".into())
}

/// "handoffs on Tuesdays at 10:00 (Europe/London)".
fn handoffs(settings: Option<&Value>) -> String {
    format!(
        "handoffs on {}s at {} ({})",
        capitalised(text(settings, "handoff_weekday").unwrap_or("?")),
        text(settings, "handoff_time").unwrap_or("?"),
        text(settings, "timezone").unwrap_or("?")
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn rotation_created(e: &Entry, cx: &Context) -> Said {
    let slug = text(e.after, "rotation").unwrap_or_default();
    let s = e.after.and_then(|a| a.get("settings"));
    let from = date(s, "start_date").map(|d| format!(", the first week from {}", fmt::date(d)));
    Said::new(format!(
        "{} created the rotation {}: {}{}, with {}",
        e.actor,
        cx.names.rotation(slug),
        handoffs(s),
        from.unwrap_or_default(),
        and_list(&names(cx, s.and_then(|s| s.get("participants"))))
    ))
}

/// What changed in a rotation's settings, part by part.
fn rotation_changed(e: &Entry, cx: &Context) -> Said {
    let slug = text(e.after, "rotation").unwrap_or_default();
    let (old, new) = (
        e.before.and_then(|b| b.get("settings")),
        e.after.and_then(|a| a.get("settings")),
    );
    let differs = |key: &str| old.and_then(|o| o.get(key)) != new.and_then(|n| n.get(key));
    let mut parts = Vec::new();
    let (was, now) = (
        names(cx, old.and_then(|o| o.get("participants"))),
        names(cx, new.and_then(|n| n.get("participants"))),
    );
    let joined: Vec<String> = now.iter().filter(|p| !was.contains(p)).cloned().collect();
    let left: Vec<String> = was.iter().filter(|p| !now.contains(p)).cloned().collect();
    if !joined.is_empty() {
        parts.push(format!("added {}", and_list(&joined)));
    }
    if !left.is_empty() {
        parts.push(format!("took {} out", and_list(&left)));
    }
    if joined.is_empty() && left.is_empty() && was != now {
        parts.push(format!("put the people in a new order: {}", and_list(&now)));
    }
    if ["handoff_weekday", "handoff_time", "timezone"]
        .iter()
        .any(|k| differs(k))
    {
        parts.push(handoffs(new));
    }
    for (key, role) in [
        ("primary_sla_minutes", "primary"),
        ("secondary_sla_minutes", "secondary"),
    ] {
        if differs(key)
            && let Some(m) = new.and_then(|n| n.get(key)).and_then(Value::as_i64)
        {
            parts.push(format!("the {role} acknowledges within {m} min"));
        }
    }
    if differs("start_date")
        && let Some(d) = date(new, "start_date")
    {
        parts.push(format!("the first week from {}", fmt::date(d)));
    }
    let from = instant(e.after, "effective_from").map(|f| format!(" from {}", fmt::local_with_year(f, cx.tz)));
    let rotation = cx.names.rotation(slug);
    let words = if parts.is_empty() {
        format!(
            "{} changed the rotation {rotation}{}",
            e.actor,
            from.unwrap_or_default()
        )
    } else {
        format!(
            "{} changed the rotation {rotation}{}: {}",
            e.actor,
            from.unwrap_or_default(),
            parts.join("; ")
        )
    };
    Said::new(words)
}

/// "the primary at once, the secondary after 5 min and the managers after
/// 35 min, repeated once".
fn escalation(policy: Option<&Value>) -> String {
    let steps: Vec<String> = policy
        .and_then(|p| p.get("steps"))
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    let target = text(Some(s), "target").unwrap_or("someone");
                    match s.get("after_minutes").and_then(Value::as_i64) {
                        Some(0) | None => format!("the {target} at once"),
                        Some(m) => format!("the {target} after {m} min"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let repeat = match policy.and_then(|p| p.get("repeat")).and_then(Value::as_i64) {
        Some(0) | None => String::new(),
        Some(1) => ", repeated once".into(),
        Some(n) => format!(", repeated {n} times"),
    };
    format!("{}{repeat}", and_list(&steps))
}

fn holidays(after: Option<&Value>) -> String {
    let list = |key: &str| {
        after
            .and_then(|a| a.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let day = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).map(fmt::date);
    let added: Vec<String> = list("added")
        .iter()
        .map(|h| {
            let when = h.get("date").and_then(day).unwrap_or_default();
            match text(Some(h), "name").filter(|n| !n.is_empty()) {
                Some(name) => format!("{name} ({when})"),
                None => when,
            }
        })
        .collect();
    let removed: Vec<String> = list("removed").iter().filter_map(day).collect();
    // A whole calendar imported at once reads as a count.
    let say = |verb: &str, items: &[String]| match items.len() {
        0 => None,
        1..=4 => Some(format!("{verb} {}", and_list(items))),
        n => Some(format!("{verb} {n} holidays")),
    };
    let parts: Vec<String> = [say("added", &added), say("removed", &removed)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

fn policy(before: Option<&Value>, after: Option<&Value>) -> String {
    let sleep = |v| {
        format!(
            "{}–{}",
            text(v, "sleep_start").unwrap_or("?"),
            text(v, "sleep_end").unwrap_or("?")
        )
    };
    let minutes = |v: Option<&Value>| v.and_then(|v| v.get("day_threshold_minutes")).and_then(Value::as_i64);
    let mut parts = Vec::new();
    if sleep(before) != sleep(after) {
        parts.push(format!("sleep hours {} → {}", sleep(before), sleep(after)));
    }
    if minutes(before) != minutes(after) {
        let m = |v| minutes(v).map_or_else(|| "?".to_owned(), |m| m.to_string());
        parts.push(format!(
            "weekend and holiday threshold {} → {} min",
            m(before),
            m(after)
        ));
    }
    if parts.is_empty() {
        format!("sleep hours {}", sleep(after))
    } else {
        parts.join("; ")
    }
}

fn page_changed(e: &Entry, cx: &Context) -> Said {
    let v = if e.action == "page.delete" { e.before } else { e.after };
    let summary = text(v, "summary").unwrap_or("without a summary");
    let fired = instant(v, "fired_at").map(|f| format!("fired {}", fmt::local_with_year(f, cx.tz)));
    if e.action == "page.delete" {
        return Said::new(format!("{} deleted the page “{summary}”", e.actor)).detail(fired.unwrap_or_default());
    }
    let mut changed = Vec::new();
    for (key, what) in [
        ("fired_at", "fired"),
        ("acknowledged_at", "acknowledged"),
        ("resolved_at", "resolved"),
        ("worked_until", "worked until"),
    ] {
        if instant(e.before, key) != instant(e.after, key) {
            let at = |v| instant(v, key).map_or_else(|| "—".to_owned(), |t| fmt::local(t, cx.tz));
            changed.push(format!("{what} {} → {}", at(e.before), at(e.after)));
        }
    }
    let (was, now) = (text(e.before, "responder"), text(e.after, "responder"));
    if was != now {
        changed.push(format!(
            "responder {} → {}",
            was.map_or_else(|| "nobody".to_owned(), |w| cx.names.person(Some(w))),
            now.map_or_else(|| "nobody".to_owned(), |n| cx.names.person(Some(n)))
        ));
    }
    let said = Said::new(format!("{} corrected the page “{summary}”", e.actor)).detail(changed.join("; "));
    match e.after.and_then(|a| a.get("page")).and_then(Value::as_i64) {
        Some(id) => said.link(format!("/teams/{}/pages/{id}", cx.team_slug), "See the page"),
        None => said,
    }
}
