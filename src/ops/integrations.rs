//! Integration tokens: how an alerting tool reports a team's pages.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db;
use crate::db::integrations::Integration;
use crate::db::rotations::Rotation;
use crate::db::teams::Team;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::secrets;

/// A new integration and its token, which exists only here: the database
/// keeps its hash.
pub struct Created {
    pub integration: Integration,
    pub rotation: Option<Rotation>,
    pub token: String,
}

/// Creates a token for `team`, bound to the rotation with slug `rotation`
/// if one is named; a PagerDuty `signing_secret` makes signatures checked.
pub async fn create(
    conn: &mut PgConnection,
    team: &Team,
    label: &str,
    rotation: Option<&str>,
    signing_secret: Option<&str>,
) -> AppResult<Created> {
    let label = validate::line("The token's label (e.g. \"alertmanager\")", label, 80)?;
    let label = label.as_str();
    let rotation = match rotation.map(str::trim).filter(|s| !s.is_empty()) {
        Some(slug) => Some(
            db::rotations::by_slug(conn, team.id, slug)
                .await?
                .ok_or_else(|| AppError::Unprocessable(format!("{} has no rotation called \"{slug}\"", team.name)))?,
        ),
        None => None,
    };
    let token = format!("rota_int_{}", secrets::random_secret());
    let secret = signing_secret.map(str::trim).filter(|s| !s.is_empty());
    let integration = db::integrations::insert(
        conn,
        team.id,
        rotation.as_ref().map(|r| r.id),
        label,
        &secrets::token_hash(&token),
        secret,
    )
    .await?;
    Ok(Created {
        integration,
        rotation,
        token,
    })
}

/// Revokes one of the team's live integration tokens: the alerting tool
/// using it is refused from now on.
pub async fn revoke(conn: &mut PgConnection, team: &Team, actor_id: i64, id: i64, now: DateTime<Utc>) -> AppResult<()> {
    let label = db::integrations::live_for_team(conn, team.id)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .map(|i| i.label);
    if !db::integrations::revoke(conn, team.id, id).await? {
        return Err(AppError::NotFound(
            "No live integration token of this team has that id".into(),
        ));
    }
    db::audit::record(
        conn,
        team.id,
        Some(actor_id),
        now,
        "integration.revoke",
        None,
        Some(serde_json::json!({"id": id, "label": label})),
    )
    .await?;
    Ok(())
}
