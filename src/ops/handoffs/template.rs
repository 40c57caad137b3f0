//! The facts a new handoff starts from: the outgoing week's pages and the
//! recovery days they granted, the previous handoff's open items, and the
//! coming week's swaps and leave.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use super::Handoff;
use crate::db;
use crate::db::teams::Team;
use crate::domain::handoff::template::{self, PageLine, TemplateInput, open_items};
use crate::domain::recovery::{classify_engagement, page_zone, sla};
use crate::error::AppResult;

/// The text a handoff nobody has written yet starts from.
pub async fn template(conn: &mut PgConnection, team: &Team, h: &Handoff) -> AppResult<String> {
    let tz = h.tz();
    let (policy, holidays) = db::holidays::rules(conn, team.id).await?;
    let mut pages = db::pages::for_team(conn, team.id, h.week_from, h.boundary.at, None).await?;
    pages.retain(|p| p.rotation_id.is_none_or(|r| r == h.rotation_id));
    pages.reverse();
    let lines = pages
        .iter()
        .map(|p| {
            let (start, end) = p.engagement();
            let responder_tz = page_zone(p.responder_timezone.as_deref(), tz);
            PageLine {
                fired: p.fired_at.with_timezone(&tz).format("%a %-d %b %H:%M").to_string(),
                summary: p.summary.clone(),
                source: p.source.clone(),
                responder: p.responder_name.as_ref().map(|n| match &p.responder_role {
                    Some(role) => format!("{n} ({role})"),
                    None => n.clone(),
                }),
                ack_minutes: p.acknowledged_at.map(|a| (a - p.fired_at).num_minutes()),
                sla: sla(p.fired_at, p.acknowledged_at, p.sla_minutes),
                spent: end - start,
                out_of_hours: classify_engagement(start, end, responder_tz, &policy, &holidays),
            }
        })
        .collect();

    let (first_day, last_day) = (
        h.week_from.with_timezone(&tz).date_naive(),
        h.boundary.at.with_timezone(&tz).date_naive(),
    );
    let recovery_days = db::recovery::for_team(conn, team.id, first_day, last_day + Duration::days(31))
        .await?
        .into_iter()
        .filter(|r| (first_day..=last_day).contains(&r.trigger_date))
        .map(|r| format!("{}, {}", r.name, r.day.format("%a %-d %b")))
        .collect();

    let carried_over = db::handoffs::previous(conn, h.rotation_id, h.boundary.at)
        .await?
        .map(|prev| open_items(&prev.body))
        .unwrap_or_default();

    let input = TemplateInput {
        title: format!(
            "{}, week from {}",
            h.rotation_name,
            h.boundary.week_start.format("%a %-d %b %Y")
        ),
        pages: lines,
        recovery_days,
        swaps_and_leave: coming_week_swaps_and_leave(conn, h).await?,
        carried_over,
    };
    Ok(template::render(&input))
}

/// A shift someone holds in another's place.
#[derive(sqlx::FromRow)]
struct Changed {
    who: String,
    role: String,
    instead: Option<String>,
    kind: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// The coming week's swaps, covers, overrides and leave of the rotation's
/// people, one line each ("Sam covers Alex: primary Thu 12 Nov 18:00 to
/// Fri 13 Nov 09:00"; "Bo on leave 16 Nov to 17 Nov").
pub async fn coming_week_swaps_and_leave(conn: &mut PgConnection, h: &Handoff) -> AppResult<Option<Vec<String>>> {
    let (from, to) = (h.boundary.at, h.week_until);
    let tz = h.boundary.tz;
    let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string();
    let changed: Vec<Changed> = sqlx::query_as(
        "SELECT u.name AS who, s.role, ru.name AS instead, c.kind,
                greatest(s.starts_at, $2) AS starts_at, least(s.ends_at, $3) AS ends_at
         FROM shifts s JOIN users u ON u.id = s.user_id
         JOIN schedule_changes c ON c.id = s.change_id
         LEFT JOIN users ru ON ru.id = s.replaces_user_id
         WHERE s.rotation_id = $1 AND s.ends_at > $2 AND s.starts_at < $3 AND s.replaces_user_id IS NOT NULL
         ORDER BY s.starts_at, s.role",
    )
    .bind(h.rotation_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines: Vec<String> = changed
        .into_iter()
        .map(|c| {
            let verb = if c.kind == "swap" { "swaps in for" } else { "covers" };
            format!(
                "{} {verb} {}: {} {} to {}",
                c.who,
                c.instead.unwrap_or_else(|| "someone".into()),
                c.role,
                at(c.starts_at),
                at(c.ends_at)
            )
        })
        .collect();
    let people: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM shifts WHERE rotation_id = $1 AND ends_at > $2 AND starts_at < $3",
    )
    .bind(h.rotation_id)
    .bind(from - Duration::weeks(1))
    .bind(to + Duration::weeks(1))
    .fetch_all(&mut *conn)
    .await?;
    let leave = db::leave::overlapping(conn, &people, from, to).await?;
    let names = db::users::by_ids(conn, &people).await?;
    for l in leave {
        let name = names
            .iter()
            .find(|u| u.id == l.user_id)
            .map_or("Someone", |u| u.name.as_str());
        lines.push(format!(
            "{name} on leave {} to {}",
            l.start_date.format("%-d %b"),
            l.end_date.format("%-d %b")
        ));
    }
    Ok(Some(lines))
}
