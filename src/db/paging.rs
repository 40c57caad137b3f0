//! Escalation state: each page's escalation, the messages it sends
//! (claimed with `FOR UPDATE SKIP LOCKED`, one per page, step, person and
//! method) and its timeline. The teams' policies are in `db::policies`.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Starts the escalation of each page (one statement); a page already
/// escalating keeps its own.
pub async fn start(conn: &mut PgConnection, page_ids: &[i64], now: DateTime<Utc>) -> sqlx::Result<()> {
    if page_ids.is_empty() {
        return Ok(());
    }
    query(
        "INSERT INTO escalations (page_id, started_at, due_at) SELECT id, $2, $2 FROM UNNEST($1::bigint[]) AS id
         ON CONFLICT (page_id) DO NOTHING",
    )
    .bind(page_ids)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

/// A due escalation step, claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueStep {
    pub page_id: i64,
    pub team_id: i64,
    pub rotation_id: Option<i64>,
    pub summary: String,
    pub team_name: String,
    pub started_at: DateTime<Utc>,
    pub next_step: i32,
    /// The page is acknowledged, resolved or deleted: the escalation ends.
    pub settled: bool,
    /// A drill to oneself: only this person, one step.
    pub only_user_id: Option<i64>,
    /// The team posts pages to a chat channel.
    pub has_channel: bool,
}

/// Claims escalations due at `now` for this transaction, skipping those
/// another process holds.
pub async fn claim_due_steps(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<DueStep>> {
    query_as(
        "SELECT e.page_id, p.team_id, p.rotation_id, p.summary, t.name AS team_name, e.started_at, e.next_step,
                (p.acknowledged_at IS NOT NULL OR p.resolved_at IS NOT NULL OR p.deleted_at IS NOT NULL) AS settled,
                e.only_user_id, (t.chat_kind IS NOT NULL AND t.handoff_webhook_url IS NOT NULL) AS has_channel
         FROM escalations e JOIN pages p ON p.id = e.page_id JOIN teams t ON t.id = p.team_id
         WHERE e.due_at <= $1
         ORDER BY e.due_at LIMIT $2
         FOR UPDATE OF e SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// An escalation moved to step `next`, due at `due`; `None` ends it.
#[derive(Debug, Clone)]
pub struct Advance {
    pub page_id: i64,
    pub next: i32,
    pub due: Option<DateTime<Utc>>,
    pub reason: Option<&'static str>,
}

/// Moves each escalation as `moves` says, in one statement.
pub async fn advance(conn: &mut PgConnection, moves: &[Advance], now: DateTime<Utc>) -> sqlx::Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    query(
        "UPDATE escalations e SET next_step = x.next, due_at = x.due,
             ended_at = CASE WHEN x.due IS NULL THEN $5 END, ended_reason = x.reason
         FROM UNNEST($1::bigint[], $2::int[], $3::timestamptz[], $4::text[]) AS x(page_id, next, due, reason)
         WHERE e.page_id = x.page_id",
    )
    .bind(moves.iter().map(|m| m.page_id).collect::<Vec<_>>())
    .bind(moves.iter().map(|m| m.next).collect::<Vec<_>>())
    .bind(moves.iter().map(|m| m.due).collect::<Vec<_>>())
    .bind(moves.iter().map(|m| m.reason).collect::<Vec<_>>())
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Ends the page's escalation and cancels what it has not sent.
pub async fn end(conn: &mut PgConnection, page_id: i64, now: DateTime<Utc>, reason: &str) -> sqlx::Result<()> {
    query(
        "UPDATE escalations SET due_at = NULL, ended_at = $2, ended_reason = $3
         WHERE page_id = $1 AND due_at IS NOT NULL",
    )
    .bind(page_id)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    query("UPDATE page_messages SET state = 'cancelled' WHERE page_id = $1 AND state = 'pending'")
        .bind(page_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Makes the next step due now, starting an escalation if the page has
/// none running. Whether one was already running.
pub async fn escalate_now(conn: &mut PgConnection, page_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let running = query("UPDATE escalations SET due_at = $2 WHERE page_id = $1 AND due_at IS NOT NULL")
        .bind(page_id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    if !running {
        query(
            "INSERT INTO escalations (page_id, started_at, due_at) VALUES ($1, $2, $2)
             ON CONFLICT (page_id) DO UPDATE SET started_at = $2, due_at = $2, next_step = 0,
                 ended_at = NULL, ended_reason = NULL",
        )
        .bind(page_id)
        .bind(now)
        .execute(conn)
        .await?;
    }
    Ok(running)
}

/// Who holds `role` of the rotation at `at`.
pub async fn holder(
    conn: &mut PgConnection,
    rotation_id: i64,
    role: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    query_scalar(
        "SELECT user_id FROM shifts WHERE rotation_id = $1 AND role = $2 AND starts_at <= $3 AND ends_at > $3 LIMIT 1",
    )
    .bind(rotation_id)
    .bind(role)
    .bind(at)
    .fetch_optional(conn)
    .await
}

/// The team's managers.
pub async fn managers(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<i64>> {
    query_scalar("SELECT user_id FROM memberships WHERE team_id = $1 AND role = 'manager' ORDER BY user_id")
        .bind(team_id)
        .fetch_all(conn)
        .await
}

/// Why the person cannot be paged at `at`: on leave, or on a recovery day
/// they take off (in their own zone). A day off earned by the night that
/// ends that morning starts at the end of its team's sleep hours: that
/// night is still on call, so a second page in it reaches them as the
/// first did. `None`: they can.
pub async fn away(conn: &mut PgConnection, user_id: i64, at: DateTime<Utc>) -> sqlx::Result<Option<String>> {
    query_scalar(
        "SELECT CASE
            WHEN EXISTS (SELECT 1 FROM leave l WHERE l.user_id = u.id AND l.starts_at <= $2 AND l.ends_at > $2)
              THEN 'on leave'
            WHEN EXISTS (SELECT 1 FROM recovery_days r JOIN teams t ON t.id = r.team_id
                         WHERE r.user_id = u.id AND r.state = 'granted'
                           AND r.form = 'day_off' AND NOT r.worked_anyway
                           AND r.day = ($2 AT TIME ZONE u.timezone)::date
                           AND (r.trigger_kind <> 'night' OR r.day <> r.trigger_date
                                OR ($2 AT TIME ZONE u.timezone)::time >= t.sleep_end))
              THEN 'on a recovery day off'
            END
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .bind(at)
    .fetch_optional(conn)
    .await
    .map(Option::flatten)
}

/// The person's notification rules over confirmed methods; with none set,
/// every confirmed method at once.
pub async fn rules_of(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<(i64, i32)>> {
    query_as(
        "SELECT r.contact_method_id, r.after_minutes FROM notification_rules r
           JOIN contact_methods m ON m.id = r.contact_method_id AND m.verified_at IS NOT NULL
         WHERE r.user_id = $1
         UNION ALL
         SELECT m.id, 0 FROM contact_methods m
         WHERE m.user_id = $1 AND m.verified_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM notification_rules r JOIN contact_methods c ON c.id = r.contact_method_id
                           WHERE r.user_id = $1 AND c.verified_at IS NOT NULL)
         ORDER BY 2, 1",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// A person's message to queue at a step: by `contact_method_id`,
/// `after_minutes` after the step.
#[derive(Debug, Clone)]
pub struct Queued {
    pub page_id: i64,
    pub step: i32,
    pub user_id: i64,
    pub contact_method_id: i64,
    pub after_minutes: i32,
}

/// Queues the messages, each once, due `after_minutes` after `now`, in
/// one statement.
pub async fn queue(conn: &mut PgConnection, messages: &[Queued], now: DateTime<Utc>) -> sqlx::Result<u64> {
    if messages.is_empty() {
        return Ok(0);
    }
    query(
        "INSERT INTO page_messages (page_id, step, user_id, contact_method_id, after_minutes, state, due_at, created_at)
         SELECT p, s, u, m, a, 'pending', $6 + make_interval(mins => a), $6
         FROM UNNEST($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::int[]) AS x(p, s, u, m, a)
         ON CONFLICT ON CONSTRAINT page_messages_once DO NOTHING",
    )
    .bind(messages.iter().map(|m| m.page_id).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.step).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.user_id).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.contact_method_id).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.after_minutes).collect::<Vec<_>>())
    .bind(now)
    .execute(conn)
    .await
    .map(|d| d.rows_affected())
}

/// Records a skip once (page, step, person); whether it is new.
pub async fn skip(
    conn: &mut PgConnection,
    page_id: i64,
    step: i32,
    user_id: i64,
    now: DateTime<Utc>,
    detail: &str,
) -> sqlx::Result<bool> {
    let new = query(
        "INSERT INTO page_messages (page_id, step, user_id, contact_method_id, state, due_at, created_at)
         VALUES ($1, $2, $3, NULL, 'skipped', $4, $4)
         ON CONFLICT ON CONSTRAINT page_messages_once DO NOTHING",
    )
    .bind(page_id)
    .bind(step)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if new {
        event(conn, page_id, now, Some(user_id), Some(step), None, "skipped", detail).await?;
    }
    Ok(new)
}

/// Appends to the page's timeline.
#[allow(clippy::too_many_arguments)]
pub async fn event(
    conn: &mut PgConnection,
    page_id: i64,
    at: DateTime<Utc>,
    user_id: Option<i64>,
    step: Option<i32>,
    kind: Option<&str>,
    state: &str,
    detail: &str,
) -> sqlx::Result<()> {
    query(
        "INSERT INTO page_events (page_id, at, user_id, step, kind, state, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(page_id)
    .bind(at)
    .bind(user_id)
    .bind(step)
    .bind(kind)
    .bind(state)
    .bind(detail)
    .execute(conn)
    .await
    .map(drop)
}

/// A message claimed for sending, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub page_id: i64,
    pub step: i32,
    pub user_id: i64,
    pub attempts: i32,
    pub kind: String,
    pub target: String,
    pub secret: Option<String>,
    pub email: String,
    pub name: String,
    pub team_name: String,
    pub summary: String,
    pub link: Option<String>,
    pub fired_at: DateTime<Utc>,
    pub drill: bool,
    pub contact_method_id: i64,
    /// The bundle it last went out in (a retry may go in the same one).
    pub bundle_id: Option<i64>,
}

/// Claims the first `takes[i]` due messages of method `methods[i]` (the
/// earliest due first) under a lease, skipping rows another process
/// holds. In the caller's transaction, which holds the methods
/// (`db::storm::lock_due_methods`); commit it before sending. A claim
/// whose lease lapsed (its process stopped mid-send) is due again.
/// Grouped by method, the earliest due first.
pub async fn claim_messages(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    methods: &[i64],
    takes: &[i64],
) -> sqlx::Result<Vec<Claimed>> {
    query_as(
        "WITH due AS (
            SELECT id, due_at, contact_method_id,
                   row_number() OVER (PARTITION BY contact_method_id ORDER BY due_at, id) AS n
            FROM page_messages
            WHERE state IN ('pending', 'sending') AND due_at <= $1 AND contact_method_id = ANY($3)),
         picked AS (
            SELECT m.id, d.due_at FROM page_messages m JOIN due d ON d.id = m.id
              JOIN UNNEST($3::bigint[], $4::bigint[]) AS t(method, take) ON t.method = d.contact_method_id
            WHERE d.n <= t.take FOR UPDATE OF m SKIP LOCKED),
         claimed AS (
            UPDATE page_messages m SET state = 'sending', attempts = m.attempts + 1, due_at = $1 + $2,
                attempted_at = $1
            FROM picked WHERE m.id = picked.id RETURNING m.*, picked.due_at AS was_due)
         SELECT c.id, c.page_id, c.step, c.user_id, c.attempts, k.kind, k.target, k.secret,
                u.email, u.name, t.name AS team_name, p.summary, p.link, p.fired_at, p.drill,
                c.contact_method_id, c.bundle_id
         FROM claimed c JOIN contact_methods k ON k.id = c.contact_method_id JOIN users u ON u.id = c.user_id
              JOIN pages p ON p.id = c.page_id JOIN teams t ON t.id = p.team_id
         ORDER BY c.contact_method_id, c.was_due, c.id",
    )
    .bind(now)
    .bind(lease)
    .bind(methods)
    .bind(takes)
    .fetch_all(conn)
    .await
}

/// Records how a claimed attempt went: `state` for good (`sent`,
/// `delivered`, `failed`), or `pending` again at `retry_at`. Only the
/// holder of the claim (its attempt number) records.
pub async fn finish(
    conn: &mut PgConnection,
    m: &Claimed,
    state: &str,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    query(
        "UPDATE page_messages SET state = $3, due_at = COALESCE($4, due_at)
         WHERE id = $1 AND attempts = $2 AND state = 'sending'",
    )
    .bind(m.id)
    .bind(m.attempts)
    .bind(state)
    .bind(retry_at)
    .execute(conn)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// The earliest time something is due: a step or a message.
pub async fn next_due(conn: &mut PgConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    query_scalar(
        "SELECT LEAST((SELECT min(due_at) FROM escalations WHERE due_at IS NOT NULL),
                      (SELECT min(due_at) FROM page_messages WHERE state IN ('pending', 'sending')))",
    )
    .fetch_one(conn)
    .await
}

/// One line of a page's timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub step: Option<i32>,
    pub kind: Option<String>,
    pub state: String,
    pub detail: String,
}

pub async fn timeline(conn: &mut PgConnection, page_id: i64) -> sqlx::Result<Vec<Event>> {
    query_as(
        "SELECT e.at, u.email, u.name, e.step, e.kind, e.state, e.detail FROM page_events e
         LEFT JOIN users u ON u.id = e.user_id WHERE e.page_id = $1 ORDER BY e.at, e.id",
    )
    .bind(page_id)
    .fetch_all(conn)
    .await
}

/// The key acknowledge links are signed with: the stored one, or `fresh`
/// stored now (the first process to ask wins; every process signs alike).
pub async fn signing_key(conn: &mut PgConnection, purpose: &str, fresh: &[u8]) -> sqlx::Result<Vec<u8>> {
    query("INSERT INTO signing_keys (purpose, key) VALUES ($1, $2) ON CONFLICT (purpose) DO NOTHING")
        .bind(purpose)
        .bind(fresh)
        .execute(&mut *conn)
        .await?;
    query_scalar("SELECT key FROM signing_keys WHERE purpose = $1")
        .bind(purpose)
        .fetch_one(conn)
        .await
}

/// The page as acknowledging sees it, locked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageState {
    pub id: i64,
    pub team_id: i64,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_by_email: Option<String>,
    pub acknowledged_by_name: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it in Rota (not the alerting tool): e-mail and name.
    pub resolved_by_email: Option<String>,
    pub resolved_by_name: Option<String>,
}

pub async fn lock_page(conn: &mut PgConnection, page_id: i64) -> sqlx::Result<Option<PageState>> {
    page_state(conn, page_id, true).await
}

/// The page as acknowledging sees it, read without a lock.
pub async fn read_page(conn: &mut PgConnection, page_id: i64) -> sqlx::Result<Option<PageState>> {
    page_state(conn, page_id, false).await
}

async fn page_state(conn: &mut PgConnection, page_id: i64, lock: bool) -> sqlx::Result<Option<PageState>> {
    query_as(&format!(
        "SELECT p.id, p.team_id, p.acknowledged_at, p.acknowledged_by, u.email AS acknowledged_by_email,
                u.name AS acknowledged_by_name, p.resolved_at, r.email AS resolved_by_email,
                r.name AS resolved_by_name
         FROM pages p LEFT JOIN users u ON u.id = p.acknowledged_by LEFT JOIN users r ON r.id = p.resolved_by
         WHERE p.id = $1 AND p.deleted_at IS NULL{}",
        // NO KEY: the paging worker holds an escalation while it writes rows
        // referring to the page (their keys take KEY SHARE); a full UPDATE
        // lock here waited on it while it waited on this: a deadlock.
        if lock { " FOR NO KEY UPDATE OF p" } else { "" }
    ))
    .bind(page_id)
    .fetch_optional(conn)
    .await
}

/// Sets the acknowledgement (with `ack`) and the resolve (with `resolve`)
/// where they are not set yet.
pub async fn settle(
    conn: &mut PgConnection,
    page_id: i64,
    by: i64,
    now: DateTime<Utc>,
    (ack, resolve): (bool, bool),
) -> sqlx::Result<()> {
    query(
        "UPDATE pages SET
            acknowledged_by = CASE WHEN $4 AND acknowledged_at IS NULL THEN $2 ELSE acknowledged_by END,
            acknowledged_at = CASE WHEN $4 THEN COALESCE(acknowledged_at, $3) ELSE acknowledged_at END,
            resolved_by = CASE WHEN $5 AND resolved_at IS NULL THEN $2 ELSE resolved_by END,
            resolved_at = CASE WHEN $5 THEN COALESCE(resolved_at, $3) ELSE resolved_at END,
            updated_at = now()
         WHERE id = $1",
    )
    .bind(page_id)
    .bind(by)
    .bind(now)
    .bind(ack)
    .bind(resolve)
    .execute(conn)
    .await
    .map(drop)
}

/// Whether the person was paged for the page (any message or skip).
pub async fn was_paged(conn: &mut PgConnection, page_id: i64, user_id: i64) -> sqlx::Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM page_messages WHERE page_id = $1 AND user_id = $2)")
        .bind(page_id)
        .bind(user_id)
        .fetch_one(conn)
        .await
}
