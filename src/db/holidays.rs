//! A team's holiday calendar and its out-of-hours policy.

use crate::db::sql::{query, query_as, query_scalar};
use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, NaiveTime};
use sqlx::PgConnection;

use crate::domain::recovery::Policy;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// Adds or renames a holiday; true when it was new.
pub async fn put(conn: &mut PgConnection, team_id: i64, date: NaiveDate, name: &str) -> sqlx::Result<bool> {
    let inserted: bool = query_scalar(
        "INSERT INTO holidays (team_id, date, name) VALUES ($1, $2, $3)
         ON CONFLICT (team_id, date) DO UPDATE SET name = EXCLUDED.name
         RETURNING (xmax = 0)",
    )
    .bind(team_id)
    .bind(date)
    .bind(name)
    .fetch_one(conn)
    .await?;
    Ok(inserted)
}

pub async fn delete(conn: &mut PgConnection, team_id: i64, date: NaiveDate) -> sqlx::Result<bool> {
    let done = query("DELETE FROM holidays WHERE team_id = $1 AND date = $2")
        .bind(team_id)
        .bind(date)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<Holiday>> {
    query_as("SELECT date, name FROM holidays WHERE team_id = $1 ORDER BY date")
        .bind(team_id)
        .fetch_all(conn)
        .await
}

pub async fn policy(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Policy> {
    let (sleep_start, sleep_end, minutes): (NaiveTime, NaiveTime, i32) =
        query_as("SELECT sleep_start, sleep_end, day_threshold_minutes FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_one(conn)
            .await?;
    Ok(Policy {
        sleep_start,
        sleep_end,
        day_threshold: Duration::minutes(i64::from(minutes)),
    })
}

pub async fn set_policy(conn: &mut PgConnection, team_id: i64, p: &Policy) -> sqlx::Result<()> {
    query("UPDATE teams SET sleep_start = $2, sleep_end = $3, day_threshold_minutes = $4 WHERE id = $1")
        .bind(team_id)
        .bind(p.sleep_start)
        .bind(p.sleep_end)
        .bind(p.day_threshold.num_minutes() as i32)
        .execute(conn)
        .await
        .map(drop)
}

/// The team's policy and holiday dates, in one query.
pub async fn rules(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<(Policy, BTreeSet<NaiveDate>)> {
    let (sleep_start, sleep_end, minutes, dates): (NaiveTime, NaiveTime, i32, Vec<NaiveDate>) = query_as(
        "SELECT sleep_start, sleep_end, day_threshold_minutes,
                ARRAY(SELECT date FROM holidays WHERE team_id = t.id) AS dates
         FROM teams t WHERE id = $1",
    )
    .bind(team_id)
    .fetch_one(conn)
    .await?;
    let policy = Policy {
        sleep_start,
        sleep_end,
        day_threshold: Duration::minutes(i64::from(minutes)),
    };
    Ok((policy, dates.into_iter().collect()))
}
