//! Swap and cover requests.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::role::Role;
use crate::domain::swap::{RequestKind, State};

/// A request with the names a reader needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub team_timezone: String,
    pub rotation_id: i64,
    pub rotation_slug: String,
    pub rotation_name: String,
    pub kind: RequestKind,
    /// As stored; see `state_at` for the state as it stands now.
    pub state: State,
    pub requester_id: i64,
    pub requester_email: String,
    pub requester_name: String,
    pub shift_id: i64,
    pub role: Role,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub counterpart_id: Option<i64>,
    pub counterpart_email: Option<String>,
    pub counterpart_name: Option<String>,
    pub counterpart_shift_id: Option<i64>,
    pub counterpart_role: Option<Role>,
    pub counterpart_starts_at: Option<DateTime<Utc>>,
    pub counterpart_ends_at: Option<DateTime<Utc>>,
    pub note: String,
    pub decided_by_email: Option<String>,
    pub decided_by_name: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Request {
    /// The earliest instant the request would change.
    pub fn first_start(&self) -> DateTime<Utc> {
        self.counterpart_starts_at
            .map_or(self.starts_at, |c| c.min(self.starts_at))
    }

    /// The state as it stands at `now` (an open request past its start has expired).
    pub fn state_at(&self, now: DateTime<Utc>) -> State {
        self.state.at(self.first_start(), now)
    }

    pub fn is_party(&self, user_id: i64) -> bool {
        self.requester_id == user_id || self.counterpart_id == Some(user_id)
    }
}

const SELECT: &str = "SELECT q.id, q.team_id, t.slug AS team_slug, t.name AS team_name, t.timezone AS team_timezone,
        q.rotation_id, r.slug AS rotation_slug, r.name AS rotation_name, q.kind, q.state,
        q.requester_id, a.email AS requester_email, a.name AS requester_name,
        q.shift_id, q.role, q.starts_at, q.ends_at,
        q.counterpart_id, b.email AS counterpart_email, b.name AS counterpart_name,
        q.counterpart_shift_id, q.counterpart_role, q.counterpart_starts_at, q.counterpart_ends_at,
        q.note, d.email AS decided_by_email, d.name AS decided_by_name, q.reason, q.created_at, q.updated_at
    FROM swap_requests q
    JOIN teams t ON t.id = q.team_id
    JOIN rotations r ON r.id = q.rotation_id
    JOIN users a ON a.id = q.requester_id
    LEFT JOIN users b ON b.id = q.counterpart_id
    LEFT JOIN users d ON d.id = q.decided_by";

pub struct NewRequest<'a> {
    pub team_id: i64,
    pub rotation_id: i64,
    pub kind: RequestKind,
    pub requester_id: i64,
    pub shift_id: i64,
    pub role: Role,
    pub span: (DateTime<Utc>, DateTime<Utc>),
    pub counterpart_id: Option<i64>,
    pub counterpart_shift: Option<(i64, Role, DateTime<Utc>, DateTime<Utc>)>,
    pub note: &'a str,
}

pub async fn insert(conn: &mut PgConnection, n: &NewRequest<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let cp = n.counterpart_shift;
    query_scalar(
        "INSERT INTO swap_requests (team_id, rotation_id, kind, requester_id, shift_id, role, starts_at, ends_at,
             counterpart_id, counterpart_shift_id, counterpart_role, counterpart_starts_at, counterpart_ends_at,
             note, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(n.team_id)
    .bind(n.rotation_id)
    .bind(n.kind)
    .bind(n.requester_id)
    .bind(n.shift_id)
    .bind(n.role)
    .bind(n.span.0)
    .bind(n.span.1)
    .bind(n.counterpart_id)
    .bind(cp.map(|c| c.0))
    .bind(cp.map(|c| c.1))
    .bind(cp.map(|c| c.2))
    .bind(cp.map(|c| c.3))
    .bind(n.note)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Request>> {
    query_as(&format!("{SELECT} WHERE q.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Takes the request's row lock, so two decisions on it apply one after
/// the other and the second sees the first's outcome.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Request>> {
    query("SELECT id FROM swap_requests WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    by_id(conn, id).await
}

pub struct Decision<'a> {
    pub state: State,
    pub counterpart_id: Option<i64>,
    pub decided_by: Option<i64>,
    pub reason: Option<&'a str>,
}

pub async fn update(conn: &mut PgConnection, id: i64, d: &Decision<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    query(
        "UPDATE swap_requests SET state = $2, counterpart_id = COALESCE($3, counterpart_id),
             decided_by = COALESCE($4, decided_by), reason = COALESCE($5, reason), updated_at = $6
         WHERE id = $1",
    )
    .bind(id)
    .bind(d.state)
    .bind(d.counterpart_id)
    .bind(d.decided_by)
    .bind(d.reason)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

/// The team's requests, newest first.
pub async fn for_team(conn: &mut PgConnection, team_id: i64, limit: i64) -> sqlx::Result<Vec<Request>> {
    query_as(&format!(
        "{SELECT} WHERE q.team_id = $1 ORDER BY q.created_at DESC, q.id DESC LIMIT $2"
    ))
    .bind(team_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Requests a person made or was asked, and covers open in their teams,
/// newest first.
pub async fn for_user(conn: &mut PgConnection, user_id: i64, limit: i64) -> sqlx::Result<Vec<Request>> {
    query_as(&format!(
        "{SELECT} WHERE q.requester_id = $1 OR q.counterpart_id = $1
            OR (q.counterpart_id IS NULL AND q.state = 'proposed'
                AND q.team_id IN (SELECT team_id FROM memberships WHERE user_id = $1))
         ORDER BY q.created_at DESC, q.id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Accepted requests waiting for a decision in `team_ids` (every team for
/// an admin), oldest first.
pub async fn awaiting_approval(
    conn: &mut PgConnection,
    team_ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Request>> {
    query_as(&format!(
        "{SELECT} WHERE q.state = 'accepted' AND LEAST(q.starts_at, q.counterpart_starts_at) > $2
            AND ($1::bigint[] IS NULL OR q.team_id = ANY($1))
         ORDER BY q.created_at, q.id"
    ))
    .bind(team_ids)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Marks open requests whose span has started as expired; returns them.
pub async fn expire(conn: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    query_scalar(
        "UPDATE swap_requests SET state = 'expired', updated_at = $1
         WHERE state IN ('proposed', 'accepted') AND LEAST(starts_at, counterpart_starts_at) <= $1
         RETURNING id",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}
