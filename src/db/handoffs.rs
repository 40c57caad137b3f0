//! Handoffs, their versions and acknowledgements, who held the roles at
//! each boundary, and the reminders already sent.

use crate::db::sql::{query, query_as, query_scalar};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::db::rotations::Version;
use crate::domain::role::Role;

/// A handoff as stored, with the names a reader needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub id: i64,
    pub team_id: i64,
    pub rotation_id: i64,
    pub handoff_at: DateTime<Utc>,
    pub week_start: NaiveDate,
    pub body: String,
    pub revision: i32,
    pub author_id: Option<i64>,
    pub author_email: Option<String>,
    pub author_name: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by_email: Option<String>,
    pub submitted_by_name: Option<String>,
}

macro_rules! select_stored {
    () => {
        "SELECT h.id, h.team_id, h.rotation_id, h.handoff_at, h.week_start, h.body, h.revision,
        h.author_id, a.email AS author_email, a.name AS author_name, h.updated_at,
        h.submitted_at, s.email AS submitted_by_email, s.name AS submitted_by_name"
    };
}
macro_rules! from_stored {
    () => {
        "FROM handoffs h LEFT JOIN users a ON a.id = h.author_id LEFT JOIN users s ON s.id = h.submitted_by"
    };
}
const SELECT_STORED: &str = select_stored!();
const FROM_STORED: &str = from_stored!();
const SELECT: &str = concat!(select_stored!(), "\n    ", from_stored!());

/// Every settings version of the rotations, by rotation then start.
pub async fn versions_of(conn: &mut PgConnection, rotation_ids: &[i64]) -> sqlx::Result<Vec<Version>> {
    query_as(
        "SELECT id, rotation_id, effective_from, anchor_date, timezone, handoff_weekday, handoff_time,
                participants, primary_offset, primary_sla_minutes, secondary_sla_minutes
         FROM rotation_versions WHERE rotation_id = ANY($1) ORDER BY rotation_id, effective_from",
    )
    .bind(rotation_ids)
    .fetch_all(conn)
    .await
}

/// A shift that touches a boundary: held just before it (outgoing), just
/// after it (incoming), or both.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holder {
    pub rotation_id: i64,
    pub handoff_at: DateTime<Utc>,
    pub role: Role,
    pub outgoing: bool,
    pub incoming: bool,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub timezone: String,
}

fn split(keys: &[(i64, DateTime<Utc>)]) -> (Vec<i64>, Vec<DateTime<Utc>>) {
    keys.iter().copied().unzip()
}

/// Who held each role on either side of each boundary, as the schedule
/// stands (swaps and overrides applied), in one query.
pub async fn holders(conn: &mut PgConnection, keys: &[(i64, DateTime<Utc>)]) -> sqlx::Result<Vec<Holder>> {
    let (rotations, instants) = split(keys);
    query_as(
        "SELECT b.rotation_id, b.at AS handoff_at, s.role,
                s.starts_at < b.at AND s.ends_at >= b.at AS outgoing,
                s.starts_at <= b.at AND s.ends_at > b.at AS incoming,
                s.user_id, u.name, u.email, u.timezone
         FROM UNNEST($1::bigint[], $2::timestamptz[]) AS b(rotation_id, at)
         CROSS JOIN (VALUES ('primary'), ('secondary')) AS r(role)
         -- A role's shifts never overlap: the two latest to start by the
         -- boundary are the one ending there and the one going on.
         JOIN LATERAL (SELECT * FROM shifts s
                       WHERE s.rotation_id = b.rotation_id AND s.role = r.role AND s.starts_at <= b.at
                       ORDER BY s.starts_at DESC LIMIT 2) s ON s.ends_at >= b.at
         JOIN users u ON u.id = s.user_id",
    )
    .bind(&rotations)
    .bind(&instants)
    .fetch_all(conn)
    .await
}

/// The handoffs at these boundaries, where written.
pub async fn at_boundaries(conn: &mut PgConnection, keys: &[(i64, DateTime<Utc>)]) -> sqlx::Result<Vec<Stored>> {
    let (rotations, instants) = split(keys);
    query_as(&format!(
        "{SELECT} JOIN UNNEST($1::bigint[], $2::timestamptz[]) AS b(rotation_id, at)
            ON h.rotation_id = b.rotation_id AND h.handoff_at = b.at"
    ))
    .bind(&rotations)
    .bind(&instants)
    .fetch_all(conn)
    .await
}

/// The team's handoffs at boundaries in `[from, to)`, newest first.
pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Stored>> {
    query_as(&format!(
        "{SELECT} WHERE h.team_id = $1 AND h.handoff_at >= $2 AND h.handoff_at < $3 ORDER BY h.handoff_at DESC"
    ))
    .bind(team_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// The most recent handoff of the rotation before `at`, written or not.
pub async fn previous(conn: &mut PgConnection, rotation_id: i64, at: DateTime<Utc>) -> sqlx::Result<Option<Stored>> {
    query_as(&format!(
        "{SELECT} WHERE h.rotation_id = $1 AND h.handoff_at < $2 ORDER BY h.handoff_at DESC LIMIT 1"
    ))
    .bind(rotation_id)
    .bind(at)
    .fetch_optional(conn)
    .await
}

/// The handoff at the boundary, locked for a change until the transaction
/// ends; created empty first if nobody has written it yet.
pub async fn lock_or_create(
    conn: &mut PgConnection,
    team_id: i64,
    rotation_id: i64,
    at: DateTime<Utc>,
    week_start: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<(Stored, bool)> {
    let created = query(
        "INSERT INTO handoffs (team_id, rotation_id, handoff_at, week_start, body, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '', 0, $5, $5)
         ON CONFLICT (rotation_id, handoff_at) DO NOTHING",
    )
    .bind(team_id)
    .bind(rotation_id)
    .bind(at)
    .bind(week_start)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let stored = query_as(&format!(
        "{SELECT} WHERE h.rotation_id = $1 AND h.handoff_at = $2 FOR UPDATE OF h"
    ))
    .bind(rotation_id)
    .bind(at)
    .fetch_one(conn)
    .await?;
    Ok((stored, created))
}

/// Saves new text; the revision counts saves.
pub async fn save(
    conn: &mut PgConnection,
    id: i64,
    body: &str,
    author_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    query("UPDATE handoffs SET body = $2, author_id = $3, updated_at = $4, revision = revision + 1 WHERE id = $1")
        .bind(id)
        .bind(body)
        .bind(author_id)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn mark_submitted(conn: &mut PgConnection, id: i64, by: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    query("UPDATE handoffs SET submitted_at = $3, submitted_by = $2 WHERE id = $1")
        .bind(id)
        .bind(by)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

/// Keeps the text as it now stands as the next version; returns its number.
pub async fn add_version(
    conn: &mut PgConnection,
    handoff_id: i64,
    body: &str,
    author_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<i32> {
    query_scalar(
        "INSERT INTO handoff_versions (handoff_id, number, body, author_id, saved_at)
         SELECT $1, COALESCE(max(number), 0) + 1, $2, $3, $4 FROM handoff_versions WHERE handoff_id = $1
         RETURNING number",
    )
    .bind(handoff_id)
    .bind(body)
    .bind(author_id)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionInfo {
    pub number: i32,
    pub body: String,
    pub author_email: Option<String>,
    pub author_name: Option<String>,
    pub saved_at: DateTime<Utc>,
}

/// The handoff's versions, newest first; bodies only when asked for.
pub async fn versions(conn: &mut PgConnection, handoff_id: i64, with_bodies: bool) -> sqlx::Result<Vec<VersionInfo>> {
    query_as(
        "SELECT v.number, CASE WHEN $2 THEN v.body ELSE '' END AS body,
                u.email AS author_email, u.name AS author_name, v.saved_at
         FROM handoff_versions v LEFT JOIN users u ON u.id = v.author_id
         WHERE v.handoff_id = $1 ORDER BY v.number DESC",
    )
    .bind(handoff_id)
    .bind(with_bodies)
    .fetch_all(conn)
    .await
}

pub async fn version(conn: &mut PgConnection, handoff_id: i64, number: i32) -> sqlx::Result<Option<VersionInfo>> {
    query_as(
        "SELECT v.number, v.body, u.email AS author_email, u.name AS author_name, v.saved_at
         FROM handoff_versions v LEFT JOIN users u ON u.id = v.author_id
         WHERE v.handoff_id = $1 AND v.number = $2",
    )
    .bind(handoff_id)
    .bind(number)
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Acknowledgement {
    pub handoff_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub acknowledged_at: DateTime<Utc>,
}

pub async fn acknowledgements(conn: &mut PgConnection, handoff_ids: &[i64]) -> sqlx::Result<Vec<Acknowledgement>> {
    query_as(
        "SELECT k.handoff_id, k.user_id, u.email, u.name, k.role, k.acknowledged_at
         FROM handoff_acknowledgements k JOIN users u ON u.id = k.user_id
         WHERE k.handoff_id = ANY($1) ORDER BY k.acknowledged_at",
    )
    .bind(handoff_ids)
    .fetch_all(conn)
    .await
}

/// Records an acknowledgement; the first one's time stands.
pub async fn acknowledge(
    conn: &mut PgConnection,
    handoff_id: i64,
    user_id: i64,
    role: Role,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = query(
        "INSERT INTO handoff_acknowledgements (handoff_id, user_id, role, acknowledged_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (handoff_id, user_id) DO NOTHING",
    )
    .bind(handoff_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A search match: the handoff as stored, its rank and the query's
/// lexemes (the stemmed words a snippet marks; see
/// `domain::markdown::snippet`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Hit {
    #[sqlx(flatten)]
    pub stored: Stored,
    pub rank: f32,
    pub lexemes: Vec<String>,
}

/// The team's handoffs matching `query` (web search syntax: words,
/// "quoted phrases", -excluded, or), best first, each as stored. Only the
/// best `limit` are read whole. Snippets are cut in Rust from the body:
/// Postgres's `ts_headline` parses each body again, about a quarter of a
/// millisecond per handoff, most of a search's time.
pub async fn search(conn: &mut PgConnection, team_id: i64, query: &str, limit: i64) -> sqlx::Result<Vec<Hit>> {
    // The lexemes as the query's text shows them: 'disk' & 'full', a quote
    // inside one doubled.
    query_as(&format!(
        r#"{SELECT_STORED}, m.rank,
                ARRAY(SELECT replace(w[1], '''''', '''')
                      FROM regexp_matches(m.q::text, '''((?:[^'']|'''')+)''', 'g') AS w) AS lexemes
         {FROM_STORED}
         JOIN (SELECT h.id, q, ts_rank(h.search, q) AS rank
               FROM handoffs h, websearch_to_tsquery('english', $2) AS q
               WHERE h.team_id = $1 AND h.search @@ q
               ORDER BY rank DESC, h.handoff_at DESC LIMIT $3) m ON m.id = h.id
         ORDER BY m.rank DESC, h.handoff_at DESC"#
    ))
    .bind(team_id)
    .bind(query)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Granted recovery days of these people on days in `[from, to]` (as
/// `(false, user id, day)`) and the holidays of these teams (as `(true,
/// team id, date)`), in one round trip.
pub async fn time_off(
    conn: &mut PgConnection,
    user_ids: &[i64],
    (from, to): (NaiveDate, NaiveDate),
    team_ids: &[i64],
) -> sqlx::Result<Vec<(bool, i64, NaiveDate)>> {
    query_as(
        "SELECT false, user_id, day FROM recovery_days
         WHERE user_id = ANY($1) AND day BETWEEN $2 AND $3 AND state = 'granted'
         UNION ALL
         SELECT true, team_id, date FROM holidays WHERE team_id = ANY($4)",
    )
    .bind(user_ids)
    .bind(from)
    .bind(to)
    .bind(team_ids)
    .fetch_all(conn)
    .await
}

/// A reminder already sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sent {
    pub rotation_id: i64,
    pub handoff_at: DateTime<Utc>,
    pub kind: String,
    pub user_id: i64,
}

pub async fn sent_reminders(conn: &mut PgConnection, keys: &[(i64, DateTime<Utc>)]) -> sqlx::Result<Vec<Sent>> {
    let (rotations, instants) = split(keys);
    query_as(
        "SELECT r.rotation_id, r.handoff_at, r.kind, r.user_id
         FROM handoff_reminders r JOIN UNNEST($1::bigint[], $2::timestamptz[]) AS b(rotation_id, at)
              ON r.rotation_id = b.rotation_id AND r.handoff_at = b.at",
    )
    .bind(&rotations)
    .bind(&instants)
    .fetch_all(conn)
    .await
}

/// Records that a reminder went out. False when another process recorded
/// it first: that one sends it, this one must not.
pub async fn mark_reminded(
    conn: &mut PgConnection,
    rotation_id: i64,
    handoff_at: DateTime<Utc>,
    kind: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = query(
        "INSERT INTO handoff_reminders (rotation_id, handoff_at, kind, user_id, sent_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(rotation_id)
    .bind(handoff_at)
    .bind(kind)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Who submitted the team's handoffs into weeks starting on these dates:
/// (rotation slug, week start, name, left), for history's sentences.
pub async fn authors(
    conn: &mut PgConnection,
    team_id: i64,
    week_starts: &[NaiveDate],
) -> sqlx::Result<Vec<(String, NaiveDate, String, bool)>> {
    query_as(
        "SELECT r.slug, h.week_start, u.name, u.deactivated_at IS NOT NULL
         FROM handoffs h JOIN rotations r ON r.id = h.rotation_id JOIN users u ON u.id = h.submitted_by
         WHERE h.team_id = $1 AND h.week_start = ANY($2)",
    )
    .bind(team_id)
    .bind(week_starts)
    .fetch_all(conn)
    .await
}
