//! Pages: one row per alert, however many times its tool reports it.

use crate::db::sql::{query, query_as};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::role::Role;

/// What one report says about a page; absent times leave what is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Report {
    pub team_id: i64,
    pub rotation_id: Option<i64>,
    pub source: String,
    pub dedup_key: String,
    pub summary: String,
    pub link: Option<String>,
    pub severity: Option<String>,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worked_until: Option<DateTime<Utc>>,
    /// Page the on-call when this makes a new page that is firing (not
    /// acknowledged or resolved): its escalation starts.
    pub page: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Page {
    pub id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub rotation_id: Option<i64>,
    pub source: String,
    pub dedup_key: String,
    pub summary: String,
    pub link: Option<String>,
    pub severity: Option<String>,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worked_until: Option<DateTime<Utc>>,
    pub responder_id: Option<i64>,
    pub responder_role: Option<Role>,
    pub sla_minutes: Option<i32>,
    pub responder_email: Option<String>,
    pub responder_name: Option<String>,
    pub responder_timezone: Option<String>,
    pub responder_named: bool,
    /// Rota paged someone for it: its escalation is running, or told
    /// someone (one that skipped everyone paged nobody).
    pub paged: bool,
    /// A drill ("Send a test page"): shown, paged, and counted nowhere.
    pub drill: bool,
}

/// What an upsert did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new page, with the responder the schedule names (when asked to).
    New { id: i64, responder_id: Option<i64> },
    /// New facts about a known page.
    Changed(i64),
    /// Nothing new: a retry, or a page a person has corrected.
    Same(i64),
    /// A repeat of a page someone deleted: it stays deleted.
    Deleted,
}

impl Page {
    /// The time the responder spent: from acknowledgement (or firing) to
    /// an entered end, or else to the resolve but no more than
    /// [`MAX_UNATTENDED`] (an incident left open is not someone awake for
    /// days). Unresolved pages count an instant.
    pub fn engagement(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        engagement(self.fired_at, self.acknowledged_at, self.resolved_at, self.worked_until)
    }
}

/// [`Page::engagement`] from the page's times, for readers of other columns.
pub fn engagement(
    fired_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    worked_until: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = acknowledged_at.unwrap_or(fired_at);
    let end = match worked_until {
        Some(w) => w,
        None => resolved_at.unwrap_or(start).min(start + MAX_UNATTENDED),
    };
    (start, end.max(start))
}

/// The most engagement a resolve alone can account for.
pub const MAX_UNATTENDED: chrono::Duration = chrono::Duration::hours(12);

const SELECT: &str = "SELECT p.id, p.team_id, t.slug AS team_slug, p.rotation_id, p.source, p.dedup_key,
        p.summary, p.link, p.severity, p.fired_at, p.acknowledged_at, p.resolved_at, p.worked_until,
        p.responder_id, p.responder_role, p.sla_minutes,
        u.email AS responder_email, u.name AS responder_name, u.timezone AS responder_timezone,
        p.responder_named, EXISTS (SELECT 1 FROM escalations e WHERE e.page_id = p.id AND (e.ended_at IS NULL
            OR EXISTS (SELECT 1 FROM page_messages pm WHERE pm.page_id = p.id AND pm.state IN ('sent', 'delivered'))))
            AS paged, p.drill
    FROM pages p JOIN teams t ON t.id = p.team_id LEFT JOIN users u ON u.id = p.responder_id";

/// Records a report, merging it into the page it repeats: the earliest
/// firing and acknowledgement and the latest resolve win, so retries and
/// out-of-order deliveries make the same page. A page a person corrected
/// keeps their times; a deleted one stays deleted. With `assign`, a new
/// page gets its rotation's primary at the firing as its responder in the
/// same statement (`shifts::primary_at`'s query).
pub async fn upsert(conn: &mut PgConnection, r: &Report, assign: bool) -> sqlx::Result<Upserted> {
    let changed: Option<(i64, bool, Option<i64>)> = query_as(
        "INSERT INTO pages AS p (team_id, rotation_id, source, dedup_key, summary, link, severity,
                            fired_at, acknowledged_at, resolved_at, worked_until,
                            responder_id, responder_role, sla_minutes)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, h.user_id, h.role, h.sla_minutes
         FROM (SELECT 1) one LEFT JOIN LATERAL
              (SELECT s.user_id, s.role, v.primary_sla_minutes AS sla_minutes
               FROM shifts s JOIN rotation_versions v ON v.id = s.version_id
               WHERE $12 AND s.rotation_id = $2 AND s.role = 'primary' AND s.starts_at <= $8 AND s.ends_at > $8
               LIMIT 1) h ON true
         ON CONFLICT (team_id, source, dedup_key) DO UPDATE SET
            fired_at = LEAST(p.fired_at, EXCLUDED.fired_at),
            acknowledged_at = LEAST(p.acknowledged_at, EXCLUDED.acknowledged_at),
            resolved_at = GREATEST(p.resolved_at, EXCLUDED.resolved_at),
            worked_until = COALESCE(EXCLUDED.worked_until, p.worked_until),
            summary = CASE WHEN EXCLUDED.summary = '' THEN p.summary ELSE EXCLUDED.summary END,
            link = COALESCE(EXCLUDED.link, p.link),
            severity = COALESCE(EXCLUDED.severity, p.severity),
            updated_at = now()
         WHERE p.deleted_at IS NULL AND p.corrected_at IS NULL
           AND (LEAST(p.fired_at, EXCLUDED.fired_at), LEAST(p.acknowledged_at, EXCLUDED.acknowledged_at),
                GREATEST(p.resolved_at, EXCLUDED.resolved_at), COALESCE(EXCLUDED.worked_until, p.worked_until),
                CASE WHEN EXCLUDED.summary = '' THEN p.summary ELSE EXCLUDED.summary END,
                COALESCE(EXCLUDED.link, p.link), COALESCE(EXCLUDED.severity, p.severity))
            IS DISTINCT FROM
               (p.fired_at, p.acknowledged_at, p.resolved_at, p.worked_until, p.summary, p.link, p.severity)
         RETURNING id, xmax = 0, responder_id",
    )
    .bind(r.team_id)
    .bind(r.rotation_id)
    .bind(&r.source)
    .bind(&r.dedup_key)
    .bind(&r.summary)
    .bind(&r.link)
    .bind(&r.severity)
    .bind(r.fired_at)
    .bind(r.acknowledged_at)
    .bind(r.resolved_at)
    .bind(r.worked_until)
    .bind(assign)
    .fetch_optional(&mut *conn)
    .await?;
    match changed {
        // xmax is 0 on a row this statement inserted, not on one it updated.
        Some((id, true, responder_id)) => return Ok(Upserted::New { id, responder_id }),
        Some((id, false, _)) => return Ok(Upserted::Changed(id)),
        None => {}
    }
    // A repeat of what is known: the row exists (the conflict proved it).
    let (id, deleted): (i64, bool) =
        query_as("SELECT id, deleted_at IS NOT NULL FROM pages WHERE team_id = $1 AND source = $2 AND dedup_key = $3")
            .bind(r.team_id)
            .bind(&r.source)
            .bind(&r.dedup_key)
            .fetch_one(conn)
            .await?;
    Ok(if deleted { Upserted::Deleted } else { Upserted::Same(id) })
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Page>> {
    query_as(&format!("{SELECT} WHERE p.id = $1 AND p.deleted_at IS NULL"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Takes the page's row lock for a correction.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Page>> {
    query_as(&format!(
        "{SELECT} WHERE p.id = $1 AND p.deleted_at IS NULL FOR NO KEY UPDATE OF p"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn set_responder(
    conn: &mut PgConnection,
    id: i64,
    responder_id: Option<i64>,
    role: Option<Role>,
    sla_minutes: Option<i32>,
    named: bool,
) -> sqlx::Result<()> {
    query(
        "UPDATE pages SET responder_id = $2, responder_role = $3, sla_minutes = $4, responder_named = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(responder_id)
    .bind(role)
    .bind(sla_minutes)
    .bind(named)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_times(
    conn: &mut PgConnection,
    id: i64,
    fired_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    worked_until: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    query(
        "UPDATE pages SET fired_at = $2, acknowledged_at = $3, resolved_at = $4, worked_until = $5,
                resolved_by = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE resolved_by END,
                corrected_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(fired_at)
    .bind(acknowledged_at)
    .bind(resolved_at)
    .bind(worked_until)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    query("UPDATE pages SET deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// The team's pages fired in `[from, to)`, newest first, optionally one
/// responder's.
pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    responder_id: Option<i64>,
) -> sqlx::Result<Vec<Page>> {
    query_as(&format!(
        "{SELECT} WHERE p.team_id = $1 AND p.deleted_at IS NULL AND p.fired_at >= $2 AND p.fired_at < $3
           AND ($4::bigint IS NULL OR p.responder_id = $4)
         ORDER BY p.fired_at DESC, p.id DESC"
    ))
    .bind(team_id)
    .bind(from)
    .bind(to)
    .bind(responder_id)
    .fetch_all(conn)
    .await
}

/// A person's pages whose firing falls in `[from, to)`, across teams, as
/// recovery days are derived from them: drills are left out (they grant
/// nothing).
pub async fn for_responder(
    conn: &mut PgConnection,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Page>> {
    query_as(&format!(
        "{SELECT} WHERE p.responder_id = $1 AND p.deleted_at IS NULL AND NOT p.drill
           AND p.fired_at >= $2 AND p.fired_at < $3 ORDER BY p.fired_at"
    ))
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// For each report, what an [`upsert`] would do when it would change
/// nothing: `Same` or `Deleted`; `None` when it would write (a new page,
/// or new facts). Reads only, and takes no lock: a tool repeating what is
/// known costs one query and no commit. The comparison is `upsert`'s.
pub async fn unchanged(conn: &mut PgConnection, reports: &[Report]) -> sqlx::Result<Vec<Option<Upserted>>> {
    let col = |f: fn(&Report) -> Option<DateTime<Utc>>| reports.iter().map(f).collect::<Vec<_>>();
    let rows: Vec<(i64, i64, bool, bool)> = query_as(
        "SELECT r.n, p.id, p.deleted_at IS NOT NULL,
                p.corrected_at IS NOT NULL
                OR (LEAST(p.fired_at, r.fired_at), LEAST(p.acknowledged_at, r.acknowledged_at),
                    GREATEST(p.resolved_at, r.resolved_at), COALESCE(r.worked_until, p.worked_until),
                    CASE WHEN r.summary = '' THEN p.summary ELSE r.summary END,
                    COALESCE(r.link, p.link), COALESCE(r.severity, p.severity))
                   IS NOT DISTINCT FROM
                   (p.fired_at, p.acknowledged_at, p.resolved_at, p.worked_until, p.summary, p.link, p.severity)
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
              WITH ORDINALITY AS r(team_id, source, dedup_key, summary, link, severity,
                                   fired_at, acknowledged_at, resolved_at, worked_until, n)
         JOIN pages p ON p.team_id = r.team_id AND p.source = r.source AND p.dedup_key = r.dedup_key",
    )
    .bind(reports.iter().map(|r| r.team_id).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.dedup_key.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.summary.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.link.as_deref()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.severity.as_deref()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.fired_at).collect::<Vec<_>>())
    .bind(col(|r| r.acknowledged_at))
    .bind(col(|r| r.resolved_at))
    .bind(col(|r| r.worked_until))
    .fetch_all(conn)
    .await?;
    let mut out = vec![None; reports.len()];
    for (n, id, deleted, same) in rows {
        let slot = usize::try_from(n - 1).ok().and_then(|i| out.get_mut(i));
        match (slot, deleted, same) {
            (Some(slot), true, _) => *slot = Some(Upserted::Deleted),
            (Some(slot), false, true) => *slot = Some(Upserted::Same(id)),
            _ => {}
        }
    }
    Ok(out)
}

/// Records reports of pages not yet known (one per key), in one statement
/// (no transaction needed): each page with its rotation's primary at the
/// firing as responder, and, when it has one, the recovery derivation it
/// makes due (`recovery_dirty`, with the engagement given, in the same
/// order), and the escalation of each firing page that asks to page (started
/// at `now`). Returns the pages inserted; a report whose key is known is left
/// out, having written nothing: [`upsert`] merges it. The statement's
/// triggers announce nothing: the caller announces `pages` (and wakes the
/// paging workers) once it has committed.
pub async fn insert_new_batch(
    conn: &mut PgConnection,
    reports: &[&Report],
    engaged: &[(DateTime<Utc>, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Page>> {
    let times = |f: fn(&Report) -> Option<DateTime<Utc>>| reports.iter().map(|r| f(r)).collect::<Vec<_>>();
    query_as(&format!(
        "WITH r AS (
            SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                                 $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                                 $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::bool[])
                 WITH ORDINALITY AS r(team_id, rotation_id, source, dedup_key, summary, link, severity, fired_at,
                                      acknowledged_at, resolved_at, worked_until, engaged_from, engaged_until, page,
                                      n)
            -- Read before any row is written, so before the statement's
            -- triggers run: they leave announcing to the caller, after
            -- the commit (see migration 0020). Local to this statement's
            -- own transaction.
            WHERE set_config('rota.announce', 'after', true) = 'after'),
         new AS (
            INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, link, severity,
                               fired_at, acknowledged_at, resolved_at, worked_until,
                               responder_id, responder_role, sla_minutes)
            SELECT r.team_id, r.rotation_id, r.source, r.dedup_key, r.summary, r.link, r.severity, r.fired_at,
                   r.acknowledged_at, r.resolved_at, r.worked_until, h.user_id, h.role, h.sla_minutes
            FROM r LEFT JOIN LATERAL
                 (SELECT s.user_id, s.role, v.primary_sla_minutes AS sla_minutes
                  FROM shifts s JOIN rotation_versions v ON v.id = s.version_id
                  WHERE s.rotation_id = r.rotation_id AND s.role = 'primary'
                    AND s.starts_at <= r.fired_at AND s.ends_at > r.fired_at
                  LIMIT 1) h ON true
            -- In key order, as record_many upserts: two batches (or a batch
            -- and a merge) naming the same keys queue rather than deadlock.
            ORDER BY r.team_id, r.source, r.dedup_key
            ON CONFLICT (team_id, source, dedup_key) DO NOTHING
            RETURNING *),
         due AS (
            INSERT INTO recovery_dirty (user_id, team_id, fired_at, engaged_from, engaged_until)
            SELECT new.responder_id, new.team_id, new.fired_at, r.engaged_from, r.engaged_until
            FROM new JOIN r USING (team_id, source, dedup_key)
            WHERE new.responder_id IS NOT NULL),
         paged AS (
            INSERT INTO escalations (page_id, started_at, due_at)
            SELECT new.id, $15, $15
            FROM new JOIN r USING (team_id, source, dedup_key)
            WHERE r.page AND new.acknowledged_at IS NULL AND new.resolved_at IS NULL
            RETURNING page_id, ended_at)
         {}",
        // The statement's snapshot does not see its own escalations.
        SELECT
            .replace("FROM pages p", "FROM new p")
            .replace("FROM escalations e", "FROM paged e")
    ))
    .bind(reports.iter().map(|r| r.team_id).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.rotation_id).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.dedup_key.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.summary.as_str()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.link.as_deref()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.severity.as_deref()).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.fired_at).collect::<Vec<_>>())
    .bind(times(|r| r.acknowledged_at))
    .bind(times(|r| r.resolved_at))
    .bind(times(|r| r.worked_until))
    .bind(engaged.iter().map(|e| e.0).collect::<Vec<_>>())
    .bind(engaged.iter().map(|e| e.1).collect::<Vec<_>>())
    .bind(reports.iter().map(|r| r.page).collect::<Vec<_>>())
    .bind(now)
    .fetch_all(conn)
    .await
}

/// An open page whose escalation told this person of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PagingYou {
    pub id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub summary: String,
    pub fired_at: DateTime<Utc>,
}

/// The open pages (not acknowledged, resolved or deleted) that told
/// `user_id` of themselves since `since`, newest first, at most 20.
pub async fn paging_user(conn: &mut PgConnection, user_id: i64, since: DateTime<Utc>) -> sqlx::Result<Vec<PagingYou>> {
    query_as(
        "SELECT p.id, t.slug AS team_slug, t.name AS team_name, p.summary, p.fired_at
         FROM pages p JOIN teams t ON t.id = p.team_id
         WHERE p.id IN (SELECT m.page_id FROM page_messages m
                        WHERE m.user_id = $1 AND m.created_at >= $2 AND m.state IN ('sent', 'delivered'))
           AND p.acknowledged_at IS NULL AND p.resolved_at IS NULL AND p.deleted_at IS NULL
         ORDER BY p.fired_at DESC, p.id DESC LIMIT 20",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(conn)
    .await
}
