//! `rota export` and `rota restore`: the whole organisation — teams,
//! people, rotations, shifts, schedule changes, pages, recovery days,
//! handoffs and everything around them — as one JSON document, and back
//! into an empty database.
//!
//! The document holds each table's rows as Postgres writes them
//! (`to_jsonb`), so a restore is exact: ids, times and secrets (password
//! hashes, token hashes, calendar secrets) come back as they were. It
//! records the migration it was taken at; a restore migrates the new
//! database to that point, writes the rows in one transaction, then applies
//! the rest of this build's migrations, as an upgrade would.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use sqlx::PgPool;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::db;
use crate::db::backup::{LEFT_OUT, TABLES};

/// What the document says it is.
pub const FORMAT: &str = "rota-export";
/// Its layout; a restore refuses any other.
pub const FORMAT_VERSION: u32 = 1;
/// Rows written per statement on a restore.
const BATCH: usize = 1_000;
/// Problems listed before the rest are summed up.
const MOST_PROBLEMS: usize = 50;

/// How many rows of each table an export wrote or a restore read.
pub type Counts = Vec<(&'static str, u64)>;

/// Writes the organisation to `out`, read in one consistent snapshot.
pub async fn export<W: AsyncWrite + Unpin>(pool: &PgPool, out: &mut W, now: DateTime<Utc>) -> anyhow::Result<Counts> {
    let schema = db::applied_version(pool).await?;
    let mut tx = pool.begin().await?;
    db::backup::snapshot(&mut tx).await?;
    let left_out: Vec<&str> = LEFT_OUT.iter().map(|(table, _)| *table).collect();
    let header = format!(
        "{{\"format\":{},\"format_version\":{FORMAT_VERSION},\"rota_version\":{},\"schema\":{schema},\"exported_at\":{},\"left_out\":{},\"tables\":{{",
        serde_json::to_string(FORMAT)?,
        serde_json::to_string(crate::VERSION)?,
        serde_json::to_string(&now.to_rfc3339_opts(SecondsFormat::Micros, true))?,
        serde_json::to_string(&left_out)?,
    );
    out.write_all(header.as_bytes()).await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let columns = db::backup::columns(&mut tx, table).await?;
        // A table a later migration adds (the database is older than this
        // build): nothing to write, and a restore leaves it empty.
        if columns.writable.is_empty() {
            continue;
        }
        let select = db::backup::select(table, &columns);
        let separator = if counts.is_empty() { "" } else { "," };
        out.write_all(format!("{separator}\n{}:[", serde_json::to_string(table)?).as_bytes())
            .await?;
        let mut count = 0u64;
        let mut rows = db::backup::rows(&mut tx, &select);
        while let Some(row) = rows.try_next().await? {
            out.write_all(if count == 0 { b"\n" } else { b",\n" }).await?;
            out.write_all(row.as_bytes()).await?;
            count += 1;
        }
        drop(rows);
        out.write_all(b"]").await?;
        counts.push((table, count));
    }
    out.write_all(b"\n}}\n").await?;
    out.flush().await?;
    tx.rollback().await?;
    Ok(counts)
}

#[derive(Deserialize)]
struct Document<'a> {
    format: String,
    format_version: u32,
    schema: i64,
    #[serde(borrow)]
    tables: BTreeMap<String, Vec<&'a RawValue>>,
}

/// Why a document cannot be restored, one line per problem.
#[derive(Debug)]
pub struct Refusal(pub Vec<String>);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing was restored:")?;
        for line in &self.0 {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

fn refuse(line: impl Into<String>) -> anyhow::Error {
    Refusal(vec![line.into()]).into()
}

/// Restores `document` into the database at `url`, which must be empty or
/// missing (it is created). Returns the rows restored per table.
pub async fn restore(url: &str, document: &str) -> anyhow::Result<Counts> {
    let doc: Document = serde_json::from_str(document).map_err(|e| {
        refuse(format!(
            "line {}, column {}: {e} (expected a document written by `rota export`)",
            e.line(),
            e.column()
        ))
    })?;
    if doc.format != FORMAT {
        return Err(refuse(format!(
            "format: \"{}\" is not \"{FORMAT}\"; give a file written by `rota export`",
            doc.format
        )));
    }
    if doc.format_version != FORMAT_VERSION {
        return Err(refuse(format!(
            "format_version: {} is not {FORMAT_VERSION}; restore it with the Rota that wrote it",
            doc.format_version
        )));
    }
    let known = db::known_version();
    if doc.schema > known {
        return Err(refuse(format!(
            "schema: the export was taken at migration {}, newer than this build knows ({known}); restore it with that newer Rota",
            doc.schema
        )));
    }
    let mut problems: Vec<String> = doc
        .tables
        .keys()
        .filter(|name| !TABLES.contains(&name.as_str()))
        .map(|name| format!("tables.{name}: not a table an export holds"))
        .collect();
    if !problems.is_empty() {
        return Err(Refusal(problems).into());
    }

    let pool = db::connect_unmigrated(url, 2).await?;
    let applied = db::applied_version(&pool).await?;
    if applied > doc.schema {
        return Err(refuse(format!(
            "the database is already migrated to {applied}, past the export's {}: restore into a new database (Rota creates it when DATABASE_URL names one that is missing)",
            doc.schema
        )));
    }
    db::migrate_to(&pool, doc.schema).await?;

    let mut conn = pool.acquire().await?;
    let mut columns = HashMap::new();
    for table in TABLES {
        let known = db::backup::columns(&mut conn, table).await?;
        // A table the export's schema did not have yet is made (empty) by
        // the migrations after the restore.
        let exists = !known.writable.is_empty();
        if exists && !db::backup::is_empty(&mut conn, table).await? {
            return Err(refuse(format!(
                "the database already holds data ({table} has rows): restore into an empty or missing database, never over a live one"
            )));
        }
        // A table the export's schema did not have yet stays empty.
        if let Some(rows) = doc.tables.get(table) {
            match columns_of(table, rows, &known, &mut problems) {
                Some(used) => {
                    columns.insert(table, used);
                }
                None => continue,
            }
        }
    }
    if !problems.is_empty() {
        if problems.len() > MOST_PROBLEMS {
            let more = problems.len() - MOST_PROBLEMS;
            problems.truncate(MOST_PROBLEMS);
            problems.push(format!("… and {more} more"));
        }
        return Err(Refusal(problems).into());
    }
    drop(conn);

    let mut tx = pool.begin().await?;
    db::backup::utc(&mut tx).await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let rows = doc.tables.get(table).map(Vec::as_slice).unwrap_or_default();
        if let Some(used) = columns.get(table) {
            for (n, batch) in rows.chunks(BATCH).enumerate() {
                let text = format!("[{}]", batch.iter().map(|r| r.get()).collect::<Vec<_>>().join(","));
                db::backup::insert(&mut tx, table, used, &text).await.map_err(|e| {
                    let first = n * BATCH;
                    refuse(format!(
                        "tables.{table}[{first}..{}]: {}",
                        first + batch.len() - 1,
                        database_reason(&e)
                    ))
                })?;
            }
            db::backup::reset_sequences(&mut tx, table).await?;
        }
        counts.push((table, rows.len() as u64));
    }
    tx.commit().await?;
    db::migrate(&pool).await?;
    pool.close().await;
    Ok(counts)
}

/// The columns `rows` set, or `None` with the problems noted: each row must
/// be an object naming only columns the table has.
fn columns_of(
    table: &str,
    rows: &[&RawValue],
    known: &db::backup::Columns,
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let writable: HashSet<&str> = known.writable.iter().map(String::as_str).collect();
    let mut used: Vec<String> = Vec::new();
    let before = problems.len();
    for (i, row) in rows.iter().enumerate() {
        let Ok(fields) = serde_json::from_str::<HashMap<String, IgnoredAny>>(row.get()) else {
            problems.push(format!("tables.{table}[{i}]: not an object of column names and values"));
            continue;
        };
        for name in fields.keys() {
            if !writable.contains(name.as_str()) {
                problems.push(format!("tables.{table}[{i}].{name}: {table} has no such column"));
            } else if !used.contains(name) {
                used.push(name.clone());
            }
        }
        if problems.len() > MOST_PROBLEMS * 2 {
            break;
        }
    }
    // The catalogue's order, so the statement reads like the table.
    used.sort_by_key(|c| known.writable.iter().position(|w| w == c));
    (problems.len() == before && !used.is_empty()).then_some(used)
}

/// What Postgres said about a row it would not take.
fn database_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        other => other.to_string(),
    }
}
