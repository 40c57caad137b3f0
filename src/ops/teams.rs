use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::{self, teams::Team};
use crate::domain::validate;
use crate::error::{AppError, AppResult};

pub async fn create_team(conn: &mut PgConnection, slug: &str, name: &str, timezone: &str) -> AppResult<Team> {
    let slug = validate::slug(slug.trim())?;
    let name = validate::name(name)?;
    let tz = validate::time_zone(timezone)?;
    db::teams::insert(conn, &slug, &name, tz.name()).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "A team called \"{slug}\" already exists; pick another short name"
        ))
    })
}

/// Gives the team a new calendar link; the old one stops working.
pub async fn reset_calendar(conn: &mut PgConnection, team: &Team, actor_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    db::teams::reset_calendar_secret(conn, team.id).await?;
    db::audit::record(conn, team.id, Some(actor_id), now, "calendar.reset", None, None).await?;
    Ok(())
}

/// Makes the team's on-call visible only to its members in the directory,
/// or to everyone again.
pub async fn set_private(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    private: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if team.private == private {
        return Ok(());
    }
    db::teams::set_private(conn, team.id, private).await?;
    db::audit::record(
        conn,
        team.id,
        Some(actor_id),
        now,
        "team.visibility",
        Some(serde_json::json!({"private": team.private})),
        Some(serde_json::json!({"private": private})),
    )
    .await?;
    Ok(())
}
