//! The queue of recovery-day derivations pages have made due, drained by
//! `jobs::recovery`.

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// One page's claim on a person's recovery days.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Due {
    pub user_id: i64,
    pub team_id: i64,
    pub fired_at: DateTime<Utc>,
    pub engaged_from: DateTime<Utc>,
    pub engaged_until: DateTime<Utc>,
}

/// Queues derivations, all in one statement.
pub async fn mark(conn: &mut PgConnection, due: &[Due]) -> sqlx::Result<()> {
    if due.is_empty() {
        return Ok(());
    }
    let users: Vec<i64> = due.iter().map(|d| d.user_id).collect();
    let teams: Vec<i64> = due.iter().map(|d| d.team_id).collect();
    let fired: Vec<DateTime<Utc>> = due.iter().map(|d| d.fired_at).collect();
    let from: Vec<DateTime<Utc>> = due.iter().map(|d| d.engaged_from).collect();
    let until: Vec<DateTime<Utc>> = due.iter().map(|d| d.engaged_until).collect();
    query(
        "INSERT INTO recovery_dirty (user_id, team_id, fired_at, engaged_from, engaged_until)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])",
    )
    .bind(users)
    .bind(teams)
    .bind(fired)
    .bind(from)
    .bind(until)
    .execute(conn)
    .await
    .map(drop)
}

/// Takes up to `limit` queued derivations, oldest first, skipping those
/// another process is taking. They are gone once the transaction commits,
/// and back if it rolls back.
pub async fn claim(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Due>> {
    query_as(
        "DELETE FROM recovery_dirty WHERE id IN
            (SELECT id FROM recovery_dirty ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING user_id, team_id, fired_at, engaged_from, engaged_until",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}
