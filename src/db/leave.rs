//! People's leave, and the shifts that collide with it.

use crate::db::sql::query_as;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Leave {
    pub id: i64,
    pub user_id: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, start_date, end_date, starts_at, ends_at";

/// Records leave starting on `start_date`, or changes its end. `Err` names
/// the other stretch of the person's leave it would overlap.
pub async fn put(
    conn: &mut PgConnection,
    user_id: i64,
    (start_date, end_date): (NaiveDate, NaiveDate),
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<Result<Leave, Leave>> {
    let clash: Option<Leave> = query_as(&format!(
        "SELECT {COLUMNS} FROM leave WHERE user_id = $1 AND start_date <> $2
           AND daterange(start_date, end_date, '[]') && daterange($2, $3, '[]') LIMIT 1"
    ))
    .bind(user_id)
    .bind(start_date)
    .bind(end_date)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(clash) = clash {
        return Ok(Err(clash));
    }
    // Leave starting that day has its end changed; otherwise it is new.
    // The exclusion constraint refuses an overlap that appeared meanwhile.
    let changed: Option<Leave> = query_as(&format!(
        "UPDATE leave SET end_date = $3, starts_at = $4, ends_at = $5 WHERE user_id = $1 AND start_date = $2
         RETURNING {COLUMNS}"
    ))
    .bind(user_id)
    .bind(start_date)
    .bind(end_date)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(changed) = changed {
        return Ok(Ok(changed));
    }
    let after: Leave = query_as(&format!(
        "INSERT INTO leave (user_id, start_date, end_date, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind(user_id)
    .bind(start_date)
    .bind(end_date)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Ok(after))
}

pub async fn delete(conn: &mut PgConnection, user_id: i64, start_date: NaiveDate) -> sqlx::Result<Option<Leave>> {
    query_as(&format!(
        "DELETE FROM leave WHERE user_id = $1 AND start_date = $2 RETURNING {COLUMNS}"
    ))
    .bind(user_id)
    .bind(start_date)
    .fetch_optional(conn)
    .await
}

/// A person's leave that ends after `from`, soonest first.
pub async fn for_user(conn: &mut PgConnection, user_id: i64, from: DateTime<Utc>) -> sqlx::Result<Vec<Leave>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM leave WHERE user_id = $1 AND ends_at > $2 ORDER BY start_date"
    ))
    .bind(user_id)
    .bind(from)
    .fetch_all(conn)
    .await
}

/// Leave of any of `users` overlapping `[from, to)`.
pub async fn overlapping(
    conn: &mut PgConnection,
    users: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Leave>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM leave WHERE user_id = ANY($1) AND ends_at > $2 AND starts_at < $3
         ORDER BY user_id, starts_at"
    ))
    .bind(users)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// A shift whose holder is on leave, or on a recovery day off, for some
/// of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NeedsCover {
    pub shift_id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub rotation_name: String,
    pub role: String,
    pub user_id: i64,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub leave_start: NaiveDate,
    pub leave_end: NaiveDate,
    pub leave_starts_at: DateTime<Utc>,
    pub leave_ends_at: DateTime<Utc>,
    /// `leave`, or `recovery` for a recovery day taken off (a day in the
    /// holder's own zone, as paging skips them).
    pub reason: String,
}

impl NeedsCover {
    /// "on leave", or "on a recovery day off".
    pub fn why(&self) -> &'static str {
        if self.reason == "recovery" {
            "on a recovery day off"
        } else {
            "on leave"
        }
    }
}

/// Shifts of the teams' rotations, not yet over at `now` and starting
/// before `until`, whose holder is on leave during them.
pub async fn needs_cover(
    conn: &mut PgConnection,
    team_ids: &[i64],
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<NeedsCover>> {
    query_as(
        "SELECT s.id AS shift_id, t.id AS team_id, t.slug AS team_slug, t.name AS team_name,
                r.name AS rotation_name, s.role, s.user_id, u.name, s.starts_at, s.ends_at,
                l.start_date AS leave_start, l.end_date AS leave_end,
                l.starts_at AS leave_starts_at, l.ends_at AS leave_ends_at, l.reason
         FROM shifts s
         JOIN rotations r ON r.id = s.rotation_id
         JOIN teams t ON t.id = r.team_id
         JOIN users u ON u.id = s.user_id
         JOIN (SELECT user_id, start_date, end_date, starts_at, ends_at, 'leave' AS reason FROM leave
               UNION ALL
               -- A recovery day taken off, in its holder's zone, as paging
               -- skips them: their shift needs cover as for leave.
               SELECT d.user_id, d.day, d.day, d.day::timestamp AT TIME ZONE w.timezone,
                      (d.day + 1)::timestamp AT TIME ZONE w.timezone, 'recovery'
               FROM recovery_days d JOIN users w ON w.id = d.user_id
               WHERE d.state = 'granted' AND d.form = 'day_off' AND NOT d.worked_anyway
                 AND d.day >= ($2 AT TIME ZONE 'UTC')::date - 1 AND d.day <= ($3 AT TIME ZONE 'UTC')::date + 1
                 AND d.user_id IN (SELECT h.user_id FROM shifts h JOIN rotations hr ON hr.id = h.rotation_id
                                   WHERE hr.team_id = ANY($1) AND h.ends_at > $2 AND h.starts_at < $3)) l
              ON l.user_id = s.user_id AND l.starts_at < s.ends_at AND s.starts_at < l.ends_at
         WHERE r.team_id = ANY($1) AND s.ends_at > $2 AND s.starts_at < $3
         ORDER BY s.starts_at, lower(t.name), r.slug, s.role, l.starts_at",
    )
    .bind(team_ids)
    .bind(now)
    .bind(until)
    .fetch_all(conn)
    .await
}
