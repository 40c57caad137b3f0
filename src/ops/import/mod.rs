//! Importing a schedule from PagerDuty, Opsgenie or Grafana OnCall: the
//! plan (`domain::import`) applied in one transaction. A dry run does all
//! of it inside a savepoint and rolls it back, so what it reports (the
//! weeks as they would stand, the overrides that would not fit) is what
//! an import would do, and nothing changes.

pub mod people;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::db::changes::NewChange;
use crate::db::rotations::{Settings, by_slug};
use crate::db::shifts::ShiftView;
use crate::db::{self, teams::Team};
use crate::domain::import::{self, ImportPlan, PlannedOverride, Rejected, Vendor};
use crate::domain::schedule::Cycle;
use crate::domain::swap::ChangeKind;
use crate::domain::validate;
use crate::error::{AppError, AppResult, violated_constraint};
use crate::ops::invitations::{Inviter, Issued};
use crate::ops::rotations::{DEFAULT_PRIMARY_SLA, DEFAULT_SECONDARY_SLA};
use crate::ops::schedule;
use people::{Joined, join};

/// What the person asked for.
pub struct Request<'a> {
    pub vendor: Vendor,
    /// The file's text.
    pub text: &'a str,
    /// The team's short name.
    pub team: &'a str,
    /// The rotation's short name; by default, from the schedule's name.
    pub rotation: Option<&'a str>,
    /// Replace the settings and people of a rotation with that short name
    /// from its next handoff, rather than refusing.
    pub merge: bool,
    pub dry_run: bool,
}

/// Why nothing was imported.
#[derive(Debug)]
pub enum Refusal {
    /// The file: every problem found, each with where it is.
    File(Rejected),
    /// Anything else: no such team, the rotation exists (409), …
    Other(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Other(e)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Other(e.into())
    }
}

impl Refusal {
    /// 400 for a file that is not the vendor's JSON, 422 for one that
    /// cannot make a rotation; the error's own otherwise.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Refusal::File(r) if r.malformed => StatusCode::BAD_REQUEST,
            Refusal::File(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Other(e) => e.status(),
        }
    }

    /// One sentence, then a line for each problem.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Refusal::File(r) => std::iter::once(if r.malformed {
                "The file is not what the API returns; nothing was imported. Fix these and try again:".to_owned()
            } else {
                "The file cannot become a rotation; nothing was imported. Fix these and try again:".to_owned()
            })
            .chain(r.problems.iter().map(ToString::to_string))
            .collect(),
            Refusal::Other(e) => vec![e.to_string()],
        }
    }
}

/// An override from the file and what became of it.
#[derive(Debug, Clone)]
pub struct OverrideLine {
    pub planned: PlannedOverride,
    /// `None`: applied; else why not.
    pub skipped: Option<String>,
}

/// What an import did, or a dry run would do. (No `Debug`: it holds the
/// invitations' secrets.)
pub struct Report {
    pub dry_run: bool,
    pub merged: bool,
    pub plan: ImportPlan,
    pub team: Team,
    pub rotation_slug: String,
    pub rotation_name: String,
    /// When Rota's weeks begin (for a merge, the next handoff).
    pub effective_from: DateTime<Utc>,
    pub people: Vec<Joined>,
    /// The shifts of the first weeks, as they stand with the overrides.
    pub shifts: Vec<ShiftView>,
    pub overrides: Vec<OverrideLine>,
    /// New people's invitations (the secrets of their links). Empty for a
    /// dry run: nothing was sent or kept.
    pub invitations: Vec<Issued>,
}

/// How many weeks the report shows.
pub const WEEKS_SHOWN: i64 = 4;

/// Reads, plans and applies an import in the caller's transaction. A dry
/// run changes nothing, whatever the caller then does.
pub async fn run(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Report, Refusal> {
    if !by.is_admin() {
        return Err(AppError::forbidden("Only admins can import schedules").into());
    }
    let plan = import::parse(request.vendor, request.text, now).map_err(Refusal::File)?;
    let team = db::teams::by_slug(conn, request.team.trim()).await?.ok_or_else(|| {
        AppError::Unprocessable(format!(
            "There is no team \"{}\"; create it under Admin first, or give the short name of an existing team",
            request.team.trim()
        ))
    })?;
    let slug = match request.rotation.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => validate::slug(s).map_err(AppError::from)?,
        None => plan.rotation_slug.clone(),
    };
    let mut attempt = conn.begin().await?;
    let mut report = apply(&mut attempt, by, request, plan, team, slug, now).await?;
    if request.dry_run {
        attempt.rollback().await?;
        report.invitations.clear();
    } else {
        attempt.commit().await?;
    }
    Ok(report)
}

async fn apply(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    request: &Request<'_>,
    plan: ImportPlan,
    team: Team,
    slug: String,
    now: DateTime<Utc>,
) -> Result<Report, Refusal> {
    let existing = by_slug(conn, team.id, &slug).await?;
    if existing.is_some() && !request.merge {
        return Err(AppError::Conflict(format!(
            "{} already has a rotation \"{slug}\", so nothing was imported. To replace its people and handoff \
             from its next handoff, import again with merge (--merge); to keep both, give another short name (--rotation).",
            team.name
        ))
        .into());
    }
    let (people, invitations) = join(conn, by, &team, &plan.people, now).await?;
    let id_of = |email: &str| people.iter().find(|j| j.user.email == email).map(|j| j.user.id);
    let participants: Vec<i64> = plan.participants.iter().filter_map(|e| id_of(e)).collect();
    let cycle = Cycle {
        handoff: plan.start_date,
        leader: plan.leader,
    };
    let mut settings = Settings {
        tz: plan.tz,
        weekday: plan.weekday,
        time: plan.time,
        participants,
        primary_sla_minutes: DEFAULT_PRIMARY_SLA,
        secondary_sla_minutes: DEFAULT_SECONDARY_SLA,
    };
    let settings_json = |s: &Settings| {
        json!({"timezone": s.tz.name(), "handoff_weekday": crate::domain::schedule::weekday_name(s.weekday),
            "handoff_time": s.time.format("%H:%M").to_string(), "participants": plan.participants,
            "primary_sla_minutes": s.primary_sla_minutes, "secondary_sla_minutes": s.secondary_sla_minutes,
            "start_date": plan.start_date, "imported_from": plan.vendor.as_str()})
    };
    let (rotation, effective_from, merged) = match existing {
        None => {
            let name = match request.rotation {
                Some(_) => validate::name(&plan.rotation_name).unwrap_or_else(|_| slug.clone()),
                None => plan.rotation_name.clone(),
            };
            let rotation = schedule::create_following(
                conn,
                team.id,
                &slug,
                &name,
                plan.start_date,
                &settings,
                Some(cycle),
                now,
            )
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "{} has just got a rotation \"{slug}\"; import again",
                    team.name
                ))
            })?;
            db::audit::record(
                conn,
                team.id,
                by.id(),
                now,
                "rotation.create",
                None,
                Some(json!({"rotation": slug, "settings": settings_json(&settings)})),
            )
            .await?;
            let first = db::rotations::versions(conn, rotation.id).await?;
            let from = first.first().map_or(now, |v| v.effective_from);
            (rotation, from, false)
        }
        Some(found) => {
            let rotation = db::rotations::lock(conn, found.id)
                .await?
                .ok_or_else(|| AppError::not_found("rotation"))?;
            let versions = db::rotations::versions(conn, rotation.id).await?;
            let latest = versions
                .last()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("rotation without settings")))?;
            let before = Settings::of(latest);
            settings.primary_sla_minutes = before.primary_sla_minutes;
            settings.secondary_sla_minutes = before.secondary_sla_minutes;
            let begun = versions.first().is_some_and(|v| v.effective_from <= now);
            let start = if begun { rotation.start_date } else { plan.start_date };
            let applied =
                schedule::apply_settings_following(conn, &rotation, &settings, start, Some(cycle), now).await?;
            db::audit::record(
                conn,
                team.id,
                by.id(),
                now,
                "rotation.update",
                Some(json!({"rotation": slug, "settings": {"participants": before.participants.len()}})),
                Some(
                    json!({"rotation": slug, "settings": settings_json(&settings), "effective_from": applied.effective_from}),
                ),
            )
            .await?;
            (rotation, applied.effective_from, true)
        }
    };
    let mut overrides = Vec::new();
    for planned in &plan.overrides {
        let skipped = lay_override(conn, by, &team, &rotation, &people, planned, plan.vendor, now).await?;
        overrides.push(OverrideLine {
            planned: planned.clone(),
            skipped,
        });
    }
    let shown_from = effective_from.max(now - Duration::weeks(1));
    let shifts = db::shifts::for_team(
        conn,
        team.id,
        shown_from,
        shown_from + Duration::weeks(WEEKS_SHOWN),
        Some(&rotation.slug),
    )
    .await?;
    Ok(Report {
        dry_run: request.dry_run,
        merged,
        rotation_slug: rotation.slug.clone(),
        rotation_name: rotation.name.clone(),
        plan,
        team,
        effective_from,
        people,
        shifts,
        overrides,
        invitations,
    })
}

/// Applies one override, audited like a manager's; `Some(why)` when it
/// cannot be (nobody holds both roles at once; beyond the weeks laid).
#[allow(clippy::too_many_arguments)]
async fn lay_override(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    team: &Team,
    rotation: &db::rotations::Rotation,
    people: &[Joined],
    o: &PlannedOverride,
    vendor: Vendor,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let Some(who) = people.iter().find(|j| j.user.email == o.email).map(|j| &j.user) else {
        return Ok(Some(format!("{} is not among the people imported", o.email)));
    };
    let span = (o.starts_at.max(now), o.ends_at);
    if db::changes::holds_other_role(conn, rotation.id, who.id, o.role, span, None).await? {
        return Ok(Some(format!(
            "{} is {} on call then, and nobody holds both roles at once",
            who.name,
            o.role.other()
        )));
    }
    let before = db::shifts::holders(conn, rotation.id, o.role, span).await?;
    let reason = format!("Imported from {} ({})", vendor.label(), o.path);
    let mut attempt = conn.begin().await?;
    let change = db::changes::insert(
        &mut attempt,
        &NewChange {
            rotation_id: rotation.id,
            role: o.role,
            user_id: who.id,
            starts_at: span.0,
            ends_at: span.1,
            kind: ChangeKind::Override,
            request_id: None,
            reason: &reason,
            created_by: by.id(),
        },
        now,
    )
    .await?;
    match schedule::lay(&mut attempt, std::slice::from_ref(&change)).await {
        Ok(Ok(())) => attempt.commit().await?,
        Ok(Err(_)) => {
            return Ok(Some(
                "it is beyond the weeks Rota has laid out (about six months); add it nearer the time".into(),
            ));
        }
        Err(e) if violated_constraint(&e).is_some() => {
            return Ok(Some("it clashes with another shift of that role".into()));
        }
        Err(e) => return Err(e.into()),
    }
    db::audit::record(
        conn,
        team.id,
        by.id(),
        now,
        "override",
        Some(json!({"rotation": rotation.slug, "role": o.role, "shifts": before})),
        Some(
            json!({"rotation": rotation.slug, "role": o.role, "starts_at": span.0, "ends_at": span.1,
            "email": who.email, "reason": reason, "despite_leave": false}),
        ),
    )
    .await?;
    Ok(None)
}
