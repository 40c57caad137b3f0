//! Recovery days as granted; derived from pages by `ops::recovery`.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::NaiveDate;
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecoveryDay {
    pub id: i64,
    pub team_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub trigger_kind: String,
    pub trigger_date: NaiveDate,
    pub day: NaiveDate,
    pub form: String,
    pub worked_anyway: bool,
    pub state: String,
    pub reason: String,
}

const SELECT: &str = "SELECT r.id, r.team_id, r.user_id, u.email, u.name, r.trigger_kind, r.trigger_date,
        r.day, r.form, r.worked_anyway, r.state, r.reason
    FROM recovery_days r JOIN users u ON u.id = r.user_id";

/// A person's grants whose trigger lies in `[from, to]`.
pub async fn for_user_triggers(
    conn: &mut PgConnection,
    user_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RecoveryDay>> {
    query_as(&format!(
        "{SELECT} WHERE r.user_id = $1 AND r.trigger_date BETWEEN $2 AND $3 ORDER BY r.trigger_date"
    ))
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// The person's granted recovery days from `from` on, as (id, day).
pub async fn granted_days_from(
    conn: &mut PgConnection,
    user_id: i64,
    from: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate)>> {
    query_as("SELECT id, day FROM recovery_days WHERE user_id = $1 AND day >= $2 AND state = 'granted'")
        .bind(user_id)
        .bind(from)
        .fetch_all(conn)
        .await
}

/// The days a person already has off for recovery from `from` on.
pub async fn days_from(conn: &mut PgConnection, user_id: i64, from: NaiveDate) -> sqlx::Result<Vec<NaiveDate>> {
    query_scalar("SELECT day FROM recovery_days WHERE user_id = $1 AND day >= $2 AND state = 'granted'")
        .bind(user_id)
        .bind(from)
        .fetch_all(conn)
        .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut PgConnection,
    team_id: i64,
    user_id: i64,
    kind: &str,
    trigger_date: NaiveDate,
    day: NaiveDate,
    reason: &str,
) -> sqlx::Result<()> {
    query(
        "INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, reason)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, trigger_kind, trigger_date) DO UPDATE SET state = 'granted'",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(kind)
    .bind(trigger_date)
    .bind(day)
    .bind(reason)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("DELETE FROM recovery_days WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_day(conn: &mut PgConnection, id: i64, day: NaiveDate) -> sqlx::Result<()> {
    query("UPDATE recovery_days SET day = $2 WHERE id = $1")
        .bind(id)
        .bind(day)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_state(conn: &mut PgConnection, id: i64, state: &str) -> sqlx::Result<()> {
    query("UPDATE recovery_days SET state = $2 WHERE id = $1")
        .bind(id)
        .bind(state)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RecoveryDay>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = $1 AND r.day >= $2 AND r.day < $3 ORDER BY r.day, u.name"
    ))
    .bind(team_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// The grants of several teams on days in `[from, to)`, by team and day.
pub async fn for_teams(
    conn: &mut PgConnection,
    team_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RecoveryDay>> {
    query_as(&format!(
        "{SELECT} WHERE r.team_id = ANY($1) AND r.day >= $2 AND r.day < $3 ORDER BY r.team_id, r.day, u.name"
    ))
    .bind(team_ids)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

pub async fn for_user(
    conn: &mut PgConnection,
    user_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RecoveryDay>> {
    query_as(&format!(
        "{SELECT} WHERE r.user_id = $1 AND r.day >= $2 AND r.day < $3 ORDER BY r.day"
    ))
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RecoveryDay>> {
    query_as(&format!("{SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn set_choice(conn: &mut PgConnection, id: i64, form: &str, worked_anyway: bool) -> sqlx::Result<()> {
    query("UPDATE recovery_days SET form = $2, worked_anyway = $3 WHERE id = $1")
        .bind(id)
        .bind(form)
        .bind(worked_anyway)
        .execute(conn)
        .await
        .map(drop)
}
