//! Integration tokens: how an alerting tool reports pages for one team.

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Integration {
    pub id: i64,
    pub team_id: i64,
    pub rotation_id: Option<i64>,
    pub label: String,
    pub signing_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, team_id, rotation_id, label, signing_secret, created_at, last_used_at";

pub async fn insert(
    conn: &mut PgConnection,
    team_id: i64,
    rotation_id: Option<i64>,
    label: &str,
    hash: &[u8],
    signing_secret: Option<&str>,
) -> sqlx::Result<Integration> {
    query_as(&format!(
        "INSERT INTO integration_tokens (team_id, rotation_id, label, token_hash, signing_secret)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(team_id)
    .bind(rotation_id)
    .bind(label)
    .bind(hash)
    .bind(signing_secret)
    .fetch_one(conn)
    .await
}

/// The live integration with this token hash.
pub async fn by_hash(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<Integration>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM integration_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(hash)
    .fetch_optional(conn)
    .await
}

/// Notes that the integration was used at `at`, unless that was noted less
/// than a minute before (by this process or another).
pub async fn record_use(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    query(
        "UPDATE integration_tokens SET last_used_at = $2
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - interval '1 minute')",
    )
    .bind(id)
    .bind(at)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn live_for_team(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<Integration>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM integration_tokens WHERE team_id = $1 AND revoked_at IS NULL ORDER BY created_at"
    ))
    .bind(team_id)
    .fetch_all(conn)
    .await
}

pub async fn revoke(conn: &mut PgConnection, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let done =
        query("UPDATE integration_tokens SET revoked_at = now() WHERE id = $1 AND team_id = $2 AND revoked_at IS NULL")
            .bind(id)
            .bind(team_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
