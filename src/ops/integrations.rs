//! Integration tokens: how an alerting tool reports a team's pages.

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
