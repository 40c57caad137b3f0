//! Applied schedule changes (swaps, covers, overrides, owed leave weeks)
//! and the shift rows they rewrite.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::role::Role;
use crate::domain::swap::{ChangeKind, Piece};

/// One stored change: `user_id` holds `role` over `[starts_at, ends_at)`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Change {
    pub id: i64,
    pub rotation_id: i64,
    pub role: Role,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind: ChangeKind,
    pub request_id: Option<i64>,
}

const COLUMNS: &str = "id, rotation_id, role, user_id, starts_at, ends_at, kind, request_id";

pub struct NewChange<'a> {
    pub rotation_id: i64,
    pub role: Role,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind: ChangeKind,
    pub request_id: Option<i64>,
    pub reason: &'a str,
    pub created_by: Option<i64>,
}

pub async fn insert(conn: &mut PgConnection, c: &NewChange<'_>, now: DateTime<Utc>) -> sqlx::Result<Change> {
    query_as(&format!(
        "INSERT INTO schedule_changes (rotation_id, role, user_id, starts_at, ends_at, kind, request_id,
             reason, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(c.rotation_id)
    .bind(c.role)
    .bind(c.user_id)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.kind)
    .bind(c.request_id)
    .bind(c.reason)
    .bind(c.created_by)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    version_id: i64,
    week_index: i32,
    change_id: Option<i64>,
    replaces_user_id: Option<i64>,
}

/// The role's shift rows overlapping `[from, to)`, in time order, each as
/// its row id and the piece of the schedule it holds.
pub async fn pieces(
    conn: &mut PgConnection,
    rotation_id: i64,
    role: Role,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, Piece)>> {
    let rows: Vec<Row> = query_as(
        "SELECT id, user_id, starts_at, ends_at, version_id, week_index, change_id, replaces_user_id
         FROM shifts WHERE rotation_id = $1 AND role = $2 AND ends_at > $3 AND starts_at < $4
         ORDER BY starts_at",
    )
    .bind(rotation_id)
    .bind(role)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let piece = Piece {
                user: r.user_id,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                version_id: r.version_id,
                week_index: r.week_index,
                change_id: r.change_id,
                replaces: r.replaces_user_id,
            };
            (r.id, piece)
        })
        .collect())
}

/// Who holds `role` over `[from, to)`: one id when a single person holds
/// all of it, `None` when it is split or not all generated.
pub async fn sole_holder(
    conn: &mut PgConnection,
    rotation_id: i64,
    role: Role,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    let rows: Vec<Piece> = pieces(conn, rotation_id, role, from, to)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let whole = rows.first().is_some_and(|r| r.starts_at <= from)
        && rows.last().is_some_and(|r| r.ends_at >= to)
        && rows.windows(2).all(|w| w[0].ends_at == w[1].starts_at);
    let first = rows.first().map(|r| r.user);
    Ok(first.filter(|u| whole && rows.iter().all(|r| r.user == *u)))
}

/// Whether `user_id` holds a role of the rotation other than `role` during
/// `[from, to)`, leaving out shifts inside `except` (which they give up).
pub async fn holds_other_role(
    conn: &mut PgConnection,
    rotation_id: i64,
    user_id: i64,
    role: Role,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    except: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> sqlx::Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM shifts WHERE rotation_id = $1 AND user_id = $2 AND role <> $3
            AND ends_at > $4 AND starts_at < $5
            AND NOT ($6::timestamptz IS NOT NULL AND starts_at >= $6 AND ends_at <= $7))",
    )
    .bind(rotation_id)
    .bind(user_id)
    .bind(role)
    .bind(from)
    .bind(to)
    .bind(except.map(|e| e.0))
    .bind(except.map(|e| e.1))
    .fetch_one(conn)
    .await
}

/// Replaces the shift rows `old` by `new` (role and piece), in one delete
/// and one insert; the exclusion constraints refuse an overlap.
pub async fn replace_shifts(
    conn: &mut PgConnection,
    rotation_id: i64,
    old: &[i64],
    new: &[(Role, Piece)],
) -> sqlx::Result<()> {
    query("DELETE FROM shifts WHERE id = ANY($1)")
        .bind(old)
        .execute(&mut *conn)
        .await?;
    let role: Vec<Role> = new.iter().map(|(r, _)| *r).collect();
    let user: Vec<i64> = new.iter().map(|(_, p)| p.user).collect();
    let starts: Vec<DateTime<Utc>> = new.iter().map(|(_, p)| p.starts_at).collect();
    let ends: Vec<DateTime<Utc>> = new.iter().map(|(_, p)| p.ends_at).collect();
    let version: Vec<i64> = new.iter().map(|(_, p)| p.version_id).collect();
    let week: Vec<i32> = new.iter().map(|(_, p)| p.week_index).collect();
    let change: Vec<Option<i64>> = new.iter().map(|(_, p)| p.change_id).collect();
    let replaces: Vec<Option<i64>> = new.iter().map(|(_, p)| p.replaces).collect();
    query(
        "INSERT INTO shifts (rotation_id, role, user_id, starts_at, ends_at, version_id, week_index,
             change_id, replaces_user_id)
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[],
             $6::bigint[], $7::int[], $8::bigint[], $9::bigint[])",
    )
    .bind(rotation_id)
    .bind(&role)
    .bind(&user)
    .bind(&starts)
    .bind(&ends)
    .bind(&version)
    .bind(&week)
    .bind(&change)
    .bind(&replaces)
    .execute(conn)
    .await?;
    Ok(())
}

/// The rotation's changes still in force that end after `from` (owed
/// leave weeks aside), oldest first: what regenerated weeks must carry.
pub async fn in_force_after(
    conn: &mut PgConnection,
    rotation_id: i64,
    from: DateTime<Utc>,
) -> sqlx::Result<Vec<Change>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM schedule_changes
         WHERE rotation_id = $1 AND ends_at > $2 AND lapsed_at IS NULL AND kind <> 'leave'
         ORDER BY id"
    ))
    .bind(rotation_id)
    .bind(from)
    .fetch_all(conn)
    .await
}

pub async fn lapse(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE schedule_changes SET lapsed_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

/// Weeks owed to people whose turn fell in their leave, from `from` on.
pub async fn owed_from(conn: &mut PgConnection, rotation_id: i64, from: DateTime<Utc>) -> sqlx::Result<Vec<Change>> {
    query_as(&format!(
        "SELECT {COLUMNS} FROM schedule_changes
         WHERE rotation_id = $1 AND kind = 'leave' AND starts_at >= $2 AND lapsed_at IS NULL ORDER BY id"
    ))
    .bind(rotation_id)
    .bind(from)
    .fetch_all(conn)
    .await
}

/// Owed weeks are the generator's own bookkeeping: a regeneration from
/// `from` works them out again.
pub async fn forget_owed_from(conn: &mut PgConnection, rotation_id: i64, from: DateTime<Utc>) -> sqlx::Result<()> {
    query("DELETE FROM schedule_changes WHERE rotation_id = $1 AND kind = 'leave' AND starts_at >= $2")
        .bind(rotation_id)
        .bind(from)
        .execute(conn)
        .await
        .map(drop)
}
