//! Storms: which contact methods have messages due (each locked by one
//! process while it decides, so two processes never both text a person),
//! how many pages each told lately, holding what must wait, the bundles
//! that tell of several pages at once, and what a bundle's link shows.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::sql::{query, query_as, query_scalar};

/// States of a message that was handed to a sender (a retry waiting is
/// `pending`, and reached nobody).
const TOLD: &str = "('sending', 'sent', 'delivered', 'failed')";
/// Not a claim whose lease lapsed (`$2` is now).
const NOT_LAPSED: &str = "NOT (m.state = 'sending' AND m.due_at <= $2)";

/// Locks up to `limit` contact methods with messages due at `now`, the
/// earliest due first, skipping those another process holds (in the
/// caller's transaction, held until it ends). `NO KEY UPDATE`: queuing a
/// message that references the method is not held up.
pub async fn lock_due_methods(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<i64>> {
    query_scalar(
        "WITH due AS (
            SELECT contact_method_id AS id, min(due_at) AS first FROM page_messages
            WHERE state IN ('pending', 'sending') AND due_at <= $1 AND contact_method_id IS NOT NULL
            GROUP BY contact_method_id)
         SELECT k.id FROM due JOIN contact_methods k ON k.id = due.id
         ORDER BY due.first, k.id LIMIT $2
         FOR NO KEY UPDATE OF k SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Cancels what is due for the (locked) methods of pages acknowledged,
/// resolved or removed meanwhile. Rows another transaction holds (an
/// acknowledgement cancelling them itself) are skipped, never waited for:
/// that transaction may be waiting for rows this claim holds.
pub async fn cancel_settled(conn: &mut PgConnection, methods: &[i64], now: DateTime<Utc>) -> sqlx::Result<u64> {
    query(
        "UPDATE page_messages m SET state = 'cancelled'
         WHERE m.id IN (
            SELECT c.id FROM page_messages c JOIN pages p ON p.id = c.page_id
            WHERE c.contact_method_id = ANY($1) AND c.state = 'pending' AND c.due_at <= $2
              AND (p.acknowledged_at IS NOT NULL OR p.resolved_at IS NOT NULL OR p.deleted_at IS NOT NULL)
            FOR UPDATE OF c SKIP LOCKED)",
    )
    .bind(methods)
    .bind(now)
    .execute(conn)
    .await
    .map(|d| d.rows_affected())
}

/// A locked method's load: how many messages are due, how many messages
/// (alone or bundles) it sent since the window began, and when it last did.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Load {
    pub contact_method_id: i64,
    pub user_id: i64,
    pub kind: String,
    pub due: i64,
    pub recent: i64,
    pub last: Option<DateTime<Utc>>,
}

/// The load of each method in `methods`, read after they were locked (so
/// it sees whatever the process that held one last committed). A claim
/// whose lease lapsed counts as due, not as told: it goes out again as it
/// was planned (the same pages alone, the same bundle).
pub async fn loads(
    conn: &mut PgConnection,
    methods: &[i64],
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<Load>> {
    query_as(&format!(
        "SELECT k.id AS contact_method_id, k.user_id, k.kind,
                (SELECT count(*) FROM page_messages m WHERE m.contact_method_id = k.id
                   AND m.state IN ('pending', 'sending') AND m.due_at <= $2) AS due,
                (SELECT count(DISTINCT COALESCE(m.bundle_id, -m.id)) FROM page_messages m
                 WHERE m.contact_method_id = k.id
                   AND m.attempted_at > $3 AND m.state IN {TOLD} AND {NOT_LAPSED}) AS recent,
                (SELECT max(m.attempted_at) FROM page_messages m WHERE m.contact_method_id = k.id
                   AND m.attempted_at IS NOT NULL AND m.state IN {TOLD} AND {NOT_LAPSED}) AS last
         FROM contact_methods k WHERE k.id = ANY($1) ORDER BY k.id"
    ))
    .bind(methods)
    .bind(now)
    .bind(since)
    .fetch_all(conn)
    .await
}

/// Makes what is still due at `now` for each method wait until its time
/// (`methods[i]` until `until[i]`), skipping rows another transaction
/// holds (see [`cancel_settled`]).
pub async fn hold(
    conn: &mut PgConnection,
    methods: &[i64],
    until: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    query(
        "UPDATE page_messages m SET due_at = x.until
         FROM (SELECT c.id, h.until
               FROM page_messages c JOIN UNNEST($1::bigint[], $2::timestamptz[]) AS h(method, until)
                    ON c.contact_method_id = h.method
               WHERE c.state IN ('pending', 'sending') AND c.due_at <= $3
               FOR UPDATE OF c SKIP LOCKED) x
         WHERE m.id = x.id",
    )
    .bind(methods)
    .bind(until)
    .bind(now)
    .execute(conn)
    .await
    .map(|d| d.rows_affected())
}

/// Opens a bundle for each `(person, method)`: `(method, bundle)`.
pub async fn open_bundles(
    conn: &mut PgConnection,
    people: &[i64],
    methods: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, i64)>> {
    query_as(
        "INSERT INTO page_bundles (user_id, contact_method_id, created_at)
         SELECT u, k, $3 FROM UNNEST($1::bigint[], $2::bigint[]) AS x(u, k)
         RETURNING contact_method_id, id",
    )
    .bind(people)
    .bind(methods)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Puts message `messages[i]` in bundle `bundles[i]`.
pub async fn bundle(conn: &mut PgConnection, messages: &[i64], bundles: &[i64]) -> sqlx::Result<()> {
    query(
        "UPDATE page_messages m SET bundle_id = x.bundle
         FROM UNNEST($1::bigint[], $2::bigint[]) AS x(id, bundle) WHERE m.id = x.id",
    )
    .bind(messages)
    .bind(bundles)
    .execute(conn)
    .await
    .map(drop)
}

/// Records how a bundle's attempt went for the messages whose claim is
/// still this attempt's (`messages[i]` at attempt `attempts[i]`): `state`
/// for good or `pending` again at `retry_at`, and a line on each page's
/// timeline. How many it recorded.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    conn: &mut PgConnection,
    messages: &[i64],
    attempts: &[i32],
    state: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    (kind, event, detail): (&str, &str, &str),
) -> sqlx::Result<u64> {
    query(
        "WITH done AS (
            UPDATE page_messages m SET state = $3, due_at = COALESCE($4, m.due_at)
            FROM UNNEST($1::bigint[], $2::int[]) AS x(id, attempt)
            WHERE m.id = x.id AND m.attempts = x.attempt AND m.state = 'sending'
            RETURNING m.page_id, m.user_id, m.step)
         INSERT INTO page_events (page_id, at, user_id, step, kind, state, detail)
         SELECT page_id, $5, user_id, step, $6, $7, $8 FROM done",
    )
    .bind(messages)
    .bind(attempts)
    .bind(state)
    .bind(retry_at)
    .bind(now)
    .bind(kind)
    .bind(event)
    .bind(detail)
    .execute(conn)
    .await
    .map(|d| d.rows_affected())
}

/// A bundle, as its link shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Bundle {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn by_id(conn: &mut PgConnection, bundle_id: i64) -> sqlx::Result<Option<Bundle>> {
    query_as(
        "SELECT b.id, b.user_id, u.name AS user_name, b.created_at FROM page_bundles b
         JOIN users u ON u.id = b.user_id WHERE b.id = $1",
    )
    .bind(bundle_id)
    .fetch_optional(conn)
    .await
}

/// One page of a bundle.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BundledPage {
    pub page_id: i64,
    pub summary: String,
    pub team_name: String,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by_name: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The pages the bundle told its person of (not removed ones), each
/// once, the earliest fired first.
pub async fn pages(conn: &mut PgConnection, bundle_id: i64) -> sqlx::Result<Vec<BundledPage>> {
    query_as(
        "SELECT p.id AS page_id, p.summary, t.name AS team_name, p.fired_at, p.acknowledged_at,
                u.name AS acknowledged_by_name, p.resolved_at
         FROM pages p JOIN teams t ON t.id = p.team_id LEFT JOIN users u ON u.id = p.acknowledged_by
         WHERE p.deleted_at IS NULL
           AND p.id IN (SELECT m.page_id FROM page_messages m JOIN page_bundles b ON b.id = m.bundle_id
                        WHERE m.bundle_id = $1 AND m.user_id = b.user_id)
         ORDER BY p.fired_at, p.id",
    )
    .bind(bundle_id)
    .fetch_all(conn)
    .await
}
