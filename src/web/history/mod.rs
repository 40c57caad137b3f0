//! A team's history: its audit log, newest first, in words.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use tower_sessions::Session;

use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::audit::{Entry, Order};
use crate::domain::schedule::local_to_instant;
use crate::error::{AppResult, Given};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, render};
use crate::web::swaps::span;

/// One page of history covers this many days.
const DAYS: i64 = 90;
const LIMIT: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/teams/{team}/history", get(show_history))
}

pub struct HistoryRow {
    pub at: String,
    /// Who did it, or "Rota" for its own changes.
    pub who: String,
    pub what: String,
    /// A short before → after.
    pub summary: String,
}

#[derive(Template)]
#[template(path = "team/history.html")]
struct HistoryPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    period: String,
    rows: Vec<HistoryRow>,
    /// The `before` of the next older page.
    older: String,
    /// The next newer page, when this is not the latest.
    newer: Option<String>,
}

#[derive(Deserialize)]
struct HistoryQuery {
    /// Entries before this day (YYYY-MM-DD, team zone); default now.
    before: Option<String>,
}

async fn show_history(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HistoryQuery>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let team = &member.team;
    let tz = team.tz();
    let (to, newer) = match q.before.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let day = Given::Query.date(s)?;
            let at = local_to_instant(tz, day, NaiveTime::MIN);
            let later = day + Duration::days(DAYS);
            let newer = if local_to_instant(tz, later, NaiveTime::MIN) < now {
                format!("/teams/{}/history?before={}", team.slug, later.format("%Y-%m-%d"))
            } else {
                format!("/teams/{}/history", team.slug)
            };
            (at, (at < now).then_some(newer))
        }
        None => (now + Duration::seconds(1), None),
    };
    // Whole days, so the older page starts where this one ends.
    let day_start = |at: DateTime<Utc>| local_to_instant(tz, at.with_timezone(&tz).date_naive(), NaiveTime::MIN);
    let mut from = day_start(to - Duration::days(DAYS));
    let mut conn = state.db.acquire().await?;
    let entries = db::audit::for_team(&mut conn, team.id, (from, to), Order::NewestFirst, LIMIT).await?;
    drop(conn);
    // A busy period shows its newest changes; the older page starts there.
    if entries.len() as i64 >= LIMIT
        && let Some(oldest) = entries.last()
    {
        from = day_start(oldest.at);
    }
    let rows = entries.iter().map(|e| row(e, tz)).collect();
    let layout = Layout::new(&state, &session, format!("{} history", team.name), Some(member.user())).await?;
    Ok(render(&HistoryPage {
        layout,
        team_name: team.name.clone(),
        team_slug: team.slug.clone(),
        zone: team.timezone.clone(),
        period: format!("{} to {}", fmt::local_date(from, tz), fmt::local_date(to.min(now), tz)),
        rows,
        older: from.with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string(),
        newer,
    }))
}

fn row(e: &Entry, tz: Tz) -> HistoryRow {
    let (what, summary) = describe(&e.action, e.before.as_ref(), e.after.as_ref(), tz);
    HistoryRow {
        at: fmt::local_with_year(e.at, tz),
        who: match &e.actor_name {
            Some(name) if e.actor_left => format!("{name} (left)"),
            Some(name) => name.clone(),
            None => "Rota".into(),
        },
        what,
        summary,
    }
}

fn text<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("?")
}

fn instant(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// "primary, Tue 23 Mar 10:00 to Tue 30 Mar 10:00 GMT" from a value with
/// `starts_at` and `ends_at`.
fn when(v: &Value, tz: Tz) -> String {
    match (instant(v, "starts_at"), instant(v, "ends_at")) {
        (Some(s), Some(e)) => span(s, e, tz),
        _ => "?".into(),
    }
}

/// The action in words, and a short summary of before → after.
pub fn describe(action: &str, before: Option<&Value>, after: Option<&Value>, tz: Tz) -> (String, String) {
    let shifts = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(|v| v.get("shifts"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (what, summary) = match action {
        "swap.apply" | "cover.apply" | "undo" => {
            let (b, a) = (shifts(before), shifts(after));
            let parts: Vec<String> = b
                .iter()
                .zip(&a)
                .map(|(b, a)| {
                    format!(
                        "{} {}: {} → {}",
                        text(Some(b), "role"),
                        when(b, tz),
                        text(Some(b), "email"),
                        text(Some(a), "email")
                    )
                })
                .collect();
            let what = match action {
                "swap.apply" => "Swap applied",
                "cover.apply" => "Cover applied",
                _ => "Change undone",
            };
            let request = after.and_then(|a| a.get("request")).and_then(Value::as_i64);
            let id = request.map(|r| format!("request #{r}: ")).unwrap_or_default();
            (what, format!("{id}{}", parts.join("; ")))
        }
        "override" => {
            let held: Vec<String> = shifts(before)
                .iter()
                .map(|s| text(Some(s), "email").to_owned())
                .collect();
            let held = if held.is_empty() {
                "nobody".to_owned()
            } else {
                held.join(", ")
            };
            let knowingly = after
                .and_then(|a| a.get("despite_leave"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let summary = format!(
                "{} in {}, {}: {held} → {}; reason: {}{}",
                text(after, "role"),
                text(after, "rotation"),
                after.map(|a| when(a, tz)).unwrap_or_default(),
                text(after, "email"),
                text(after, "reason"),
                if knowingly {
                    " (assigned knowing they are on leave)"
                } else {
                    ""
                }
            );
            ("Override", summary)
        }
        "leave.reassign" => {
            let week =
                |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).map(|w| when(w, tz)).unwrap_or_default();
            let summary = format!(
                "{} {}: {} → {}; {} takes {} instead",
                text(after, "role"),
                week(after, "week"),
                text(before, "email"),
                text(after, "email"),
                text(before, "email"),
                week(after, "owed_week")
            );
            ("Leave: week reassigned", summary)
        }
        "rotation.create" => ("Rotation created", text(after, "rotation").to_owned()),
        "rotation.update" => {
            let from = after.and_then(|a| instant(a, "effective_from"));
            let summary = match from {
                Some(f) => format!("{}, from {}", text(after, "rotation"), fmt::local_with_year(f, tz)),
                None => text(after, "rotation").to_owned(),
            };
            ("Rotation changed", summary)
        }
        "member.add" => (
            "Member added",
            format!("{} as {}", text(after, "email"), text(after, "role")),
        ),
        "member.role" => (
            "Member's role changed",
            format!(
                "{}: {} → {}",
                text(after, "email"),
                text(before, "role"),
                text(after, "role")
            ),
        ),
        "member.remove" => (
            "Member removed",
            format!("{} ({})", text(before, "email"), text(before, "role")),
        ),
        "holidays.change" => {
            let count = |key: &str| {
                after
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            };
            (
                "Holidays changed",
                format!("{} added, {} removed", count("added"), count("removed")),
            )
        }
        "policy.change" => {
            let policy = |v: Option<&Value>| {
                let minutes = v
                    .and_then(|v| v.get("day_threshold_minutes"))
                    .and_then(Value::as_i64)
                    .map_or_else(|| "?".to_owned(), |m| m.to_string());
                format!(
                    "sleep hours {}–{}, weekend and holiday threshold {minutes} min",
                    text(v, "sleep_start"),
                    text(v, "sleep_end")
                )
            };
            (
                "Out-of-hours policy changed",
                format!("{} → {}", policy(before), policy(after)),
            )
        }
        "integration.revoke" => ("Integration token revoked", text(after, "label").to_owned()),
        "calendar.reset" => ("Team calendar link reset", "the old link no longer works".to_owned()),
        "page.correct" => ("Page corrected", text(after, "summary").to_owned()),
        "page.delete" => ("Page deleted", text(before, "summary").to_owned()),
        other => return (other.to_owned(), String::new()),
    };
    (what.to_owned(), summary)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_swap_reads_as_who_gave_what_to_whom() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let side = |email: &str| {
            json!({"rotation": "weekly", "role": "primary", "email": email,
                   "starts_at": "2027-03-23T10:00:00Z", "ends_at": "2027-03-30T09:00:00Z"})
        };
        let before = json!({"request": 7, "shifts": [side("ana@example.com")]});
        let after = json!({"request": 7, "shifts": [side("ben@example.com")]});
        let (what, summary) = describe("swap.apply", Some(&before), Some(&after), tz);
        assert_eq!(what, "Swap applied");
        assert_eq!(
            summary,
            "request #7: primary Tue 23 Mar 10:00 GMT to Tue 30 Mar 10:00 BST: ana@example.com → ben@example.com"
        );
    }

    #[test]
    fn an_override_names_the_reason_and_a_knowing_assignment_in_leave() {
        let tz: Tz = "UTC".parse().unwrap();
        let before = json!({"rotation": "weekly", "role": "secondary", "shifts": []});
        let after = json!({"rotation": "weekly", "role": "secondary", "email": "cy@example.com",
            "starts_at": "2027-03-02T12:00:00Z", "ends_at": "2027-03-09T10:00:00Z",
            "reason": "Ana is ill", "despite_leave": true});
        let (what, summary) = describe("override", Some(&before), Some(&after), tz);
        assert_eq!(what, "Override");
        assert!(
            summary.starts_with("secondary in weekly, Tue 2 Mar 12:00 to Tue 9 Mar 10:00 UTC: nobody → cy@example.com")
        );
        assert!(summary.ends_with("reason: Ana is ill (assigned knowing they are on leave)"));
        assert_eq!(describe("something.new", None, None, tz).0, "something.new");
        assert_eq!(
            describe(
                "member.remove",
                Some(&json!({"email": "a@b", "role": "member"})),
                None,
                tz
            )
            .1,
            "a@b (member)"
        );
    }

    #[test]
    fn a_policy_change_reads_as_before_and_after_and_a_revoked_token_by_its_label() {
        let tz: Tz = "UTC".parse().unwrap();
        let before = json!({"sleep_start": "22:00", "sleep_end": "08:00", "day_threshold_minutes": 60});
        let after = json!({"sleep_start": "23:00", "sleep_end": "07:00", "day_threshold_minutes": 90});
        let (what, summary) = describe("policy.change", Some(&before), Some(&after), tz);
        assert_eq!(what, "Out-of-hours policy changed");
        assert_eq!(
            summary,
            "sleep hours 22:00–08:00, weekend and holiday threshold 60 min → \
             sleep hours 23:00–07:00, weekend and holiday threshold 90 min"
        );
        let revoked = json!({"id": 3, "label": "alertmanager"});
        assert_eq!(
            describe("integration.revoke", None, Some(&revoked), tz),
            ("Integration token revoked".to_owned(), "alertmanager".to_owned())
        );
        assert_eq!(describe("calendar.reset", None, None, tz).0, "Team calendar link reset");
    }
}
