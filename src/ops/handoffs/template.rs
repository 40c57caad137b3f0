//! The facts a new handoff starts from: the outgoing week's pages and the
//! recovery days they granted, the previous handoff's open items, and the
//! coming week's swaps and leave.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use super::Handoff;
use crate::db;
use crate::db::teams::Team;
use crate::domain::handoff::template::{self, PageLine, TemplateInput, open_items};
use crate::domain::recovery::{classify_engagement, judge, page_zone};
use crate::domain::swap::ChangeKind;
use crate::error::AppResult;
use crate::ops::notify;

/// The text a handoff nobody has written yet starts from.
pub async fn template(conn: &mut PgConnection, team: &Team, h: &Handoff) -> AppResult<String> {
    let tz = h.tz();
    let (policy, holidays) = db::holidays::rules(conn, team.id).await?;
    let mut pages = db::pages::for_team(conn, team.id, h.week_from, h.boundary.at, None).await?;
    // Drills rehearse paging; they are not what happened in the week.
    pages.retain(|p| !p.drill && p.rotation_id.is_none_or(|r| r == h.rotation_id));
    pages.reverse();
    let lines = pages
        .iter()
        .map(|p| {
            let (start, end) = p.engagement();
            let responder_tz = page_zone(p.responder_timezone.as_deref(), tz);
            PageLine {
                fired: notify::when(p.fired_at, tz),
                summary: p.summary.clone(),
                source: p.source.clone(),
                responder: p.responder_name.as_ref().map(|n| match &p.responder_role {
                    Some(role) => format!("{n} ({role})"),
                    None => n.clone(),
                }),
                ack_minutes: p.acknowledged_at.map(|a| (a - p.fired_at).num_minutes()),
                sla: judge(p.fired_at, p.acknowledged_at, p.sla_minutes, &p.source, p.paged),
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
        .map(|r| format!("{}, {}", r.name, notify::day_short(r.day)))
        .collect();

    let carried_over = db::handoffs::previous(conn, h.rotation_id, h.boundary.at)
        .await?
        .map(|prev| open_items(&prev.body))
        .unwrap_or_default();

    let input = TemplateInput {
        title: format!("{}, week from {}", h.rotation_name, notify::day(h.boundary.week_start)),
        pages: lines,
        recovery_days,
        swaps_and_leave: coming_week_swaps_and_leave(conn, h).await?,
        carried_over,
    };
    Ok(template::render(&input))
}

/// A shift someone holds in another's place.
/// The coming week's swaps, covers, overrides and leave of the rotation's
/// people, one line each ("Sam covers Alex: primary Thu 12 Nov 18:00 to
/// Fri 13 Nov 09:00"; "Bo on leave 16 Nov to 17 Nov").
pub async fn coming_week_swaps_and_leave(conn: &mut PgConnection, h: &Handoff) -> AppResult<Option<Vec<String>>> {
    let (from, to) = (h.boundary.at, h.week_until);
    let tz = h.boundary.tz;
    let at = |t: DateTime<Utc>| notify::when(t, tz);
    let changed = db::shifts::changed_between(conn, h.rotation_id, from, to).await?;
    let mut lines: Vec<String> = changed
        .into_iter()
        .map(|c| {
            let verb = match c.kind {
                ChangeKind::Swap => "swaps in for",
                ChangeKind::Cover | ChangeKind::Override | ChangeKind::Leave => "covers",
            };
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
    let people =
        db::shifts::people_between(conn, h.rotation_id, from - Duration::weeks(1), to + Duration::weeks(1)).await?;
    let leave = db::leave::overlapping(conn, &people, from, to).await?;
    let names = db::users::by_ids(conn, &people).await?;
    for l in leave {
        let name = names
            .iter()
            .find(|u| u.id == l.user_id)
            .map_or("Someone", |u| u.name.as_str());
        lines.push(format!(
            "{name} on leave {} to {}",
            notify::date_short(l.start_date),
            notify::date_short(l.end_date)
        ));
    }
    Ok(Some(lines))
}
