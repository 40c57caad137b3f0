//! The teams' escalation policies (what a page's escalation follows).

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::domain::paging::{Policy, Step};

/// The team's own policy, if it set one.
pub async fn policy(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Option<Policy>> {
    let row: Option<(Json<Vec<Step>>, i32)> =
        query_as("SELECT steps, repeat FROM escalation_policies WHERE team_id = $1")
            .bind(team_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(steps, repeat)| Policy { steps: steps.0, repeat }))
}

pub async fn set_policy(conn: &mut PgConnection, team_id: i64, p: &Policy, now: DateTime<Utc>) -> sqlx::Result<()> {
    query(
        "INSERT INTO escalation_policies (team_id, steps, repeat, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id) DO UPDATE SET steps = EXCLUDED.steps, repeat = EXCLUDED.repeat,
             updated_at = EXCLUDED.updated_at",
    )
    .bind(team_id)
    .bind(Json(&p.steps))
    .bind(p.repeat)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}
