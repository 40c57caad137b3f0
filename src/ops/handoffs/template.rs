//! The facts a new handoff starts from: the outgoing week's pages and the
//! recovery days they granted, the previous handoff's open items, and the
//! coming week's swaps and leave.

use chrono::Duration;
use chrono_tz::Tz;
use sqlx::PgConnection;

use super::Handoff;
use crate::db;
use crate::db::teams::Team;
use crate::domain::handoff::template::{self, PageLine, TemplateInput, open_items};
use crate::domain::recovery::{classify_engagement, sla};
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
            let responder_tz: Tz = p
                .responder_timezone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(tz);
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

/// The coming week's swaps and leave, one line each, for the template's
/// section of that name.
///
/// TO WIRE (swaps and leave): Rota does not record swaps or leave yet, so
/// this answers `None` and the template asks the writer to list what they
/// know. Once they exist, return `Some(lines)` for the swaps, covers,
/// overrides and leave of the rotation's people that overlap the incoming
/// week (`h.boundary.at` to `h.week_until`), e.g.
/// "Sam covers Alex, Thu 12 Nov 18:00 – Fri 13 Nov 09:00" or
/// "Bo on leave Mon 16 – Tue 17 Nov"; `Some(vec![])` prints "None.".
pub async fn coming_week_swaps_and_leave(_conn: &mut PgConnection, _h: &Handoff) -> AppResult<Option<Vec<String>>> {
    Ok(None)
}
