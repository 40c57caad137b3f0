//! Recording pages (from webhooks, the API or by hand), correcting them,
//! and keeping recovery days in step.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db;
use crate::db::pages::{Page, Report};
use crate::error::{AppError, AppResult};
use crate::ops::recovery::rederive;

/// Who holds a role at an instant, with the role's SLA.
#[derive(sqlx::FromRow)]
struct Holder {
    user_id: i64,
    role: String,
    sla_minutes: i32,
}

/// The rotation a report without one belongs to: the team's only rotation.
pub async fn default_rotation(conn: &mut PgConnection, team_id: i64, team_name: &str) -> AppResult<Option<i64>> {
    let ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, slug FROM rotations WHERE team_id = $1 ORDER BY slug")
        .bind(team_id)
        .fetch_all(conn)
        .await?;
    match ids.as_slice() {
        [] => Ok(None),
        [(id, _)] => Ok(Some(*id)),
        many => Err(AppError::Unprocessable(format!(
            "{team_name} has several rotations ({}); name one with \"rotation\", or use an integration token bound to one",
            many.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

async fn primary_at(conn: &mut PgConnection, rotation_id: i64, at: DateTime<Utc>) -> sqlx::Result<Option<Holder>> {
    sqlx::query_as(
        "SELECT s.user_id, s.role, v.primary_sla_minutes AS sla_minutes
         FROM shifts s JOIN rotation_versions v ON v.id = s.version_id
         WHERE s.rotation_id = $1 AND s.role = 'primary' AND s.starts_at <= $2 AND s.ends_at > $2",
    )
    .bind(rotation_id)
    .bind(at)
    .fetch_optional(conn)
    .await
}

/// The role `user_id` held in the team at `at`, if any.
async fn role_at(
    conn: &mut PgConnection,
    team_id: i64,
    user_id: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<Holder>> {
    sqlx::query_as(
        "SELECT s.user_id, s.role,
                CASE s.role WHEN 'primary' THEN v.primary_sla_minutes ELSE v.secondary_sla_minutes END AS sla_minutes
         FROM shifts s JOIN rotation_versions v ON v.id = s.version_id JOIN rotations r ON r.id = s.rotation_id
         WHERE r.team_id = $1 AND s.user_id = $2 AND s.starts_at <= $3 AND s.ends_at > $3
         ORDER BY s.role LIMIT 1",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(at)
    .fetch_optional(conn)
    .await
}

/// Records a report and brings the responder's recovery days up to date.
/// `responder` names who acted, when the report says so; otherwise the
/// rotation's primary at the firing is the responder.
pub async fn record(
    conn: &mut PgConnection,
    report: &Report,
    responder: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    check_order(
        report.fired_at,
        report.acknowledged_at,
        report.resolved_at,
        report.worked_until,
    )?;
    let (id, changed) = db::pages::upsert(conn, report).await?;
    if !changed && responder.is_none() {
        // A retry of what is known changes nothing downstream either.
        return Ok(id);
    }
    // Identical reports arriving together queue here, after the upsert.
    let page = db::pages::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("page vanished")))?;
    let holder = match responder {
        Some(user_id) => Some(
            role_at(conn, page.team_id, user_id, page.fired_at)
                .await?
                .unwrap_or(Holder {
                    user_id,
                    role: String::new(),
                    sla_minutes: 0,
                }),
        ),
        None if page.responder_id.is_none() => match page.rotation_id {
            Some(r) => primary_at(conn, r, page.fired_at).await?,
            None => None,
        },
        None => None,
    };
    if let Some(h) = &holder {
        let role = (!h.role.is_empty()).then_some(h.role.as_str());
        let sla = role.map(|_| h.sla_minutes);
        db::pages::set_responder(conn, id, Some(h.user_id), role, sla).await?;
    }
    let previous = page
        .responder_id
        .filter(|p| Some(*p) != holder.as_ref().map(|h| h.user_id));
    let mut page = page;
    if let Some(h) = &holder {
        page.responder_id = Some(h.user_id);
    }
    refresh_recovery(conn, &page, None, previous, now).await?;
    Ok(id)
}

/// Re-derives the recovery days of the page's responder (and of a previous
/// one) over the dates the page touches, before and after a change.
async fn refresh_recovery(
    conn: &mut PgConnection,
    page: &Page,
    before: Option<&Page>,
    previous_responder: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut span = page.engagement();
    if let Some(b) = before {
        let (s, e) = b.engagement();
        span = (span.0.min(s).min(b.fired_at), span.1.max(e));
    }
    span.0 = span.0.min(page.fired_at);
    let from = (span.0 - Duration::days(1)).date_naive();
    let to = (span.1 + Duration::days(2)).date_naive();
    let people = [
        page.responder_id,
        before.and_then(|b| b.responder_id),
        previous_responder,
    ];
    let mut done = Vec::new();
    for user_id in people.into_iter().flatten() {
        if !done.contains(&user_id) {
            rederive(conn, user_id, from, to, now).await?;
            done.push(user_id);
        }
    }
    Ok(())
}

fn check_order(
    fired: DateTime<Utc>,
    acknowledged: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    worked_until: Option<DateTime<Utc>>,
) -> AppResult<()> {
    for (name, at) in [
        ("acknowledged_at", acknowledged),
        ("resolved_at", resolved),
        ("worked_until", worked_until),
    ] {
        if at.is_some_and(|at| at < fired) {
            return Err(AppError::Unprocessable(format!(
                "{name} is before fired_at; check the times"
            )));
        }
    }
    if worked_until.is_some_and(|w| w - fired > Duration::days(7)) {
        return Err(AppError::Unprocessable(
            "worked_until is more than a week after the page fired".into(),
        ));
    }
    Ok(())
}

/// Corrected times for a page: a field left out keeps its value, `null`
/// clears it.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct Correction {
    pub fired_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub worked_until: Option<Option<DateTime<Utc>>>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Whether `user_id` may correct or delete the page: its responder, or a
/// manager of its team (admins included).
pub async fn may_change(conn: &mut PgConnection, page: &Page, user_id: i64, is_admin: bool) -> AppResult<bool> {
    if is_admin || page.responder_id == Some(user_id) {
        return Ok(true);
    }
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2")
        .bind(page.team_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    match role.as_deref() {
        Some("manager") => Ok(true),
        Some(_) => Err(AppError::forbidden(
            "Only the responder or a manager of the team can change this page",
        )),
        None => Ok(false),
    }
}

pub async fn correct(
    conn: &mut PgConnection,
    id: i64,
    c: &Correction,
    actor_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Page> {
    let before = db::pages::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    let fired = c.fired_at.unwrap_or(before.fired_at);
    let ack = c.acknowledged_at.unwrap_or(before.acknowledged_at);
    let resolved = c.resolved_at.unwrap_or(before.resolved_at);
    let worked = c.worked_until.unwrap_or(before.worked_until);
    check_order(fired, ack, resolved, worked)?;
    db::pages::set_times(conn, id, fired, ack, resolved, worked).await?;
    let after = db::pages::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    db::audit::record(
        conn,
        after.team_id,
        Some(actor_id),
        now,
        "page.correct",
        Some(times(&before)),
        Some(times(&after)),
    )
    .await?;
    refresh_recovery(conn, &after, Some(&before), None, now).await?;
    Ok(after)
}

pub async fn delete(conn: &mut PgConnection, id: i64, actor_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    let before = db::pages::lock(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    db::pages::delete(conn, id).await?;
    db::audit::record(
        conn,
        before.team_id,
        Some(actor_id),
        now,
        "page.delete",
        Some(times(&before)),
        None,
    )
    .await?;
    // Derive as if the page had never been: its responder's window again.
    let mut gone = before.clone();
    gone.responder_id = None;
    refresh_recovery(conn, &gone, Some(&before), None, now).await?;
    Ok(())
}

fn times(p: &Page) -> serde_json::Value {
    json!({
        "page": p.id,
        "summary": p.summary,
        "responder": p.responder_email,
        "fired_at": p.fired_at,
        "acknowledged_at": p.acknowledged_at,
        "resolved_at": p.resolved_at,
        "worked_until": p.worked_until,
    })
}
