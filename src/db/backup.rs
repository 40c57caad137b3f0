//! Whole tables, for `rota export` and `rota restore`: every row of the
//! organisation as JSON, read in one snapshot and written back in one
//! transaction. Table names come from [`TABLES`], column names from the
//! catalogue; neither is ever user input.

use futures_util::stream::BoxStream;
use sqlx::PgConnection;

use super::sql;

/// Every table of the organisation, in an order that satisfies each
/// foreign key: a row's references are restored before it.
pub const TABLES: [&str; 34] = [
    "users",
    "teams",
    "memberships",
    "signing_keys",
    "oidc_identities",
    "api_tokens",
    "contact_methods",
    "notification_rules",
    "leave",
    "invitations",
    "rotations",
    "rotation_versions",
    "integration_tokens",
    "holidays",
    "escalation_policies",
    "swap_requests",
    "schedule_changes",
    "shifts",
    "shift_notices",
    "audit_log",
    "notifications",
    "handoffs",
    "handoff_versions",
    "handoff_acknowledgements",
    "handoff_reminders",
    "handoff_webhook_deliveries",
    "pages",
    "escalations",
    "page_bundles",
    "page_messages",
    "page_chat_posts",
    "page_events",
    "recovery_days",
    "recovery_dirty",
];

/// Tables an export leaves out, and why: what they hold ends with the
/// server that made it.
pub const LEFT_OUT: [(&str, &str); 3] = [
    (
        "user_sessions",
        "sign-ins: everyone signs in again on the restored server",
    ),
    (
        "login_attempts",
        "recent failed sign-ins, kept 15 minutes for throttling",
    ),
    ("password_resets", "one-hour reset links; ask for a new one"),
];

/// A table's columns as an export writes them.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Every column that can be written (generated ones are left out).
    pub writable: Vec<String>,
    /// Computed by Postgres from the others (`handoffs.search`).
    pub generated: Vec<String>,
    /// The primary key, the order rows are written in.
    pub key: Vec<String>,
}

/// `"name"`, safe for any identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every table of the public schema (but sqlx's own).
pub async fn schema_tables(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sql::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
}

pub async fn columns(conn: &mut PgConnection, table: &str) -> sqlx::Result<Columns> {
    let rows: Vec<(String, bool)> = sql::query_as(
        "SELECT column_name::text, is_generated <> 'NEVER' FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let key: Vec<String> = sql::query_scalar(
        "SELECT a.attname::text FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = to_regclass('public.' || quote_ident($1)) AND i.indisprimary
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let (generated, writable): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, generated)| *generated);
    Ok(Columns {
        writable: writable.into_iter().map(|(name, _)| name).collect(),
        generated: generated.into_iter().map(|(name, _)| name).collect(),
        key,
    })
}

/// Makes the caller's transaction one consistent, read-only snapshot with
/// times written in UTC.
pub async fn snapshot(conn: &mut PgConnection) -> sqlx::Result<()> {
    sql::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *conn)
        .await?;
    utc(conn).await
}

/// Times in and out of JSON in UTC, for the caller's transaction.
pub async fn utc(conn: &mut PgConnection) -> sqlx::Result<()> {
    sql::query("SET LOCAL TimeZone = 'UTC'").execute(conn).await?;
    Ok(())
}

/// The query that reads a table for an export.
pub struct Select {
    sql: String,
    generated: Vec<String>,
}

/// Each row of `table` as a JSON object (its text), in key order, without
/// generated columns.
pub fn select(table: &str, columns: &Columns) -> Select {
    let order = if columns.key.is_empty() {
        "1".to_owned()
    } else {
        columns.key.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", ")
    };
    Select {
        sql: format!(
            "SELECT (to_jsonb(t) - $1::text[])::text FROM {} t ORDER BY {order}",
            quoted(table)
        ),
        generated: columns.generated.clone(),
    }
}

/// The rows, one at a time: a table of a million pages never sits in memory.
pub fn rows<'c>(conn: &'c mut PgConnection, select: &'c Select) -> BoxStream<'c, sqlx::Result<String>> {
    sql::query_scalar::<String>(&select.sql)
        .bind(&select.generated)
        .fetch(conn)
}

pub async fn is_empty(conn: &mut PgConnection, table: &str) -> sqlx::Result<bool> {
    sql::query_scalar(&format!("SELECT NOT EXISTS (SELECT 1 FROM {})", quoted(table)))
        .fetch_one(conn)
        .await
}

/// Writes `rows` (a JSON array of objects, as text) into `table`, setting
/// only `columns`; the others take their defaults.
pub async fn insert(conn: &mut PgConnection, table: &str, columns: &[String], rows: &str) -> sqlx::Result<u64> {
    let list = columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO {table} ({list}) SELECT {list} FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)",
        table = quoted(table)
    );
    Ok(sql::query(&sql).bind(rows).execute(conn).await?.rows_affected())
}

/// Moves each of `table`'s id sequences past the ids restored into it.
pub async fn reset_sequences(conn: &mut PgConnection, table: &str) -> sqlx::Result<()> {
    let serials: Vec<(String, String)> = sql::query_as(
        "SELECT column_name::text, pg_get_serial_sequence(quote_ident($1), column_name)
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1
           AND pg_get_serial_sequence(quote_ident($1), column_name) IS NOT NULL",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    for (column, sequence) in serials {
        let sql = format!(
            "SELECT setval($1::regclass, coalesce(max({column}), 1), max({column}) IS NOT NULL) FROM {table}",
            column = quoted(&column),
            table = quoted(table)
        );
        sql::query(&sql).bind(sequence).execute(&mut *conn).await?;
    }
    Ok(())
}
