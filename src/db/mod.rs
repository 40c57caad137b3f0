//! SQL, one module per aggregate. Functions take `&mut PgConnection` so the
//! caller owns the transaction.

pub mod audit;
pub mod backup;
pub mod change_triggers;
pub mod changes;
pub mod chat;
pub mod contact_methods;
pub mod directory;
pub mod drills;
mod enums;
pub mod handoff_webhooks;
pub mod handoffs;
pub mod holidays;
pub mod housekeeping;
pub mod integrations;
pub mod invitations;
pub mod leave;
pub mod metrics;
pub mod notifications;
pub mod oidc;
pub mod pages;
pub mod paging;
pub mod password_resets;
pub mod policies;
pub mod recovery;
pub mod recovery_dirty;
pub mod rotations;
pub mod shift_notices;
pub mod shifts;
pub mod sign_ins;
pub mod sql;
pub mod storm;
pub mod swaps;
pub mod teams;
pub mod tokens;
pub mod twilio;
pub mod user_sessions;
pub mod users;
pub mod web_sessions;

use sql::{query, query_scalar};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

/// Where the database is, and how this process reaches it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `DATABASE_URL`: what requests and jobs query, Postgres itself or a
    /// PgBouncer in front of it.
    pub url: String,
    /// `DATABASE_LISTEN_URL`: Postgres itself, for what needs a session of
    /// its own (migrations, LISTEN, the schedule job's lock). Unset: `url`.
    pub listen_url: Option<String>,
    /// `ROTA_DB_PGBOUNCER`: `url` is a PgBouncer in transaction mode (see
    /// [`sql`]).
    pub pgbouncer: bool,
}

impl Target {
    /// Postgres itself at `url`, for everything.
    pub fn direct(url: &str) -> Self {
        Target {
            url: url.to_owned(),
            listen_url: None,
            pgbouncer: false,
        }
    }
}

/// The pools of one process.
#[derive(Debug, Clone)]
pub struct Pools {
    /// For queries: requests and jobs.
    pub db: PgPool,
    /// Straight to Postgres (`DATABASE_LISTEN_URL`), for what needs a
    /// session: LISTEN and the schedule job's session-level lock. The same
    /// pool as `db` unless `DATABASE_LISTEN_URL` is set.
    pub direct: PgPool,
}

impl From<PgPool> for Pools {
    /// One pool, straight to Postgres, for everything.
    fn from(pool: PgPool) -> Self {
        Pools {
            direct: pool.clone(),
            db: pool,
        }
    }
}

/// Connections the `DATABASE_LISTEN_URL` pool opens at most: two listen
/// (changes and paging), one holds the schedule job's lock, one to spare.
pub const DIRECT_POOL_SIZE: u32 = 4;

/// Connects to Postgres itself at `url` (creating the database if it is
/// missing) and applies the embedded migrations. A failure says what the
/// driver said, and what to check.
pub async fn connect_and_migrate(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    Ok(connect(&Target::direct(url), max_connections).await?.db)
}

/// Connects as `target` says: creates the database if it is missing and
/// migrates it over the direct connection (migrations hold a session-level
/// lock), then opens the pool for queries of `max_connections`. Through
/// PgBouncer, statements are unnamed from then on (see [`sql`]).
pub async fn connect(target: &Target, max_connections: u32) -> anyhow::Result<Pools> {
    if target.pgbouncer && target.listen_url.is_none() {
        anyhow::bail!(
            "ROTA_DB_PGBOUNCER=true needs DATABASE_LISTEN_URL: point it at Postgres itself (not PgBouncer), for migrations and LISTEN, which need a session of their own"
        );
    }
    let (direct_url, direct_var) = match &target.listen_url {
        Some(url) => (url.as_str(), "DATABASE_LISTEN_URL"),
        None => (target.url.as_str(), "DATABASE_URL"),
    };
    let direct_options = parse_url(direct_url, direct_var)?;
    create_if_missing(direct_url, &direct_options).await?;
    let direct_size = if target.listen_url.is_some() {
        DIRECT_POOL_SIZE
    } else {
        max_connections
    };
    let direct = open_pool(direct_options, direct_size).await?;
    migrate(&direct).await?;
    if target.listen_url.is_none() && !target.pgbouncer {
        return Ok(direct.into());
    }
    if target.pgbouncer {
        sql::use_pgbouncer();
    }
    let mut options = parse_url(&target.url, "DATABASE_URL")?;
    if target.pgbouncer {
        // PgBouncer refuses startup parameters it does not track unless
        // told to ignore them; sqlx sends this one by default.
        options = options.extra_float_digits(None);
        // Only sqlx's own type look-ups still name statements: never let
        // it reuse one in a later transaction, on another server.
        options = options.statement_cache_capacity(0);
    }
    if let Err(e) = options.connect().await.map(Connection::close) {
        return Err(connect_error(&options, &e));
    }
    let db = open_pool(options, max_connections).await?;
    Ok(Pools { db, direct })
}

fn parse_url(url: &str, var: &str) -> anyhow::Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| {
        anyhow::anyhow!(
            "{var} is not a Postgres URL ({e}); use postgres://user:password@host:5432/database, adding ?sslmode=require when the server wants TLS"
        )
    })
}

/// One connection first: a pool retries until its timeout and then
/// reports only that, losing the reason.
async fn create_if_missing(url: &str, options: &PgConnectOptions) -> anyhow::Result<()> {
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
        }
        Err(e) if is_missing_database(&e) => {
            tracing::info!("creating the database");
            if let Err(e) = Postgres::create_database(url).await {
                // Another process may have created it at the same moment.
                if !Postgres::database_exists(url).await.unwrap_or(false) {
                    return Err(anyhow::anyhow!(
                        "could not create the database {}: {e}. Create it, or let the user in the URL create databases",
                        target(options)
                    ));
                }
            }
        }
        Err(e) => return Err(connect_error(options, &e)),
    }
    Ok(())
}

/// Connects to Postgres itself at `url`, creating the database if it is
/// missing, without migrating (`rota restore` migrates to the export's
/// migration first).
pub async fn connect_unmigrated(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = parse_url(url, "DATABASE_URL")?;
    create_if_missing(url, &options).await?;
    open_pool(options, max_connections).await
}

async fn open_pool(options: PgConnectOptions, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .map_err(|e| connect_error(&options, &e))
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    // invalid_catalog_name: the server is there, the database is not.
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
}

/// Where DATABASE_URL points, without its password.
fn target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username())
    )
}

/// The driver's reason, and what to try next.
fn connect_error(options: &PgConnectOptions, e: &sqlx::Error) -> anyhow::Error {
    let tls = options.get_ssl_mode();
    // rustls's refusals reach us as I/O errors: known by their words.
    let text = e.to_string().to_lowercase();
    let tls_failed =
        matches!(e, sqlx::Error::Tls(_)) || ["certificate", "tls", "handshake"].iter().any(|w| text.contains(w));
    let hint = match e {
        _ if tls_failed && matches!(tls, PgSslMode::VerifyCa | PgSslMode::VerifyFull) => {
            "The server's certificate was not accepted: set sslrootcert to the certificate of the authority that signed it (your provider publishes it), and with sslmode=verify-full use the host name the certificate is for"
        }
        _ if tls_failed => "The TLS handshake failed: check that the server has TLS on, or use sslmode=prefer",
        _ if matches!(tls, PgSslMode::Disable | PgSslMode::Allow | PgSslMode::Prefer) => {
            "Check DATABASE_URL (host, port, user, password, database) and that Postgres is running and reachable. If the server accepts only encrypted connections, add ?sslmode=require (or sslmode=verify-full&sslrootcert=/path/to/ca.pem) to DATABASE_URL"
        }
        _ => {
            "Check DATABASE_URL (host, port, user, password, database) and that Postgres is running and reachable with TLS"
        }
    };
    anyhow::anyhow!(
        "could not connect to the database at {} (sslmode={}): {e}. {hint}",
        target(options),
        ssl_mode_name(tls)
    )
}

fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// The migrations this binary carries.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The checksums (SHA-384) migration 0008 had in earlier builds: it was
/// edited twice after it was first committed, only to tune how handoffs
/// are stored. A database that applied an earlier text gets the tuning and
/// the current checksum instead of a refusal to start (see CHANGELOG.md).
const EARLIER_0008: [&str; 2] = [
    "81d29180d70e307cc30c6e7e3602e42c481c9cd81bc8122bc57f7f9256230554da850a96919721a4d36b71d97344a485",
    "083a7878763a40b276476d7b24d3da22e94b0bb2bce513c5e408fe3c1a846f87b24699e4175467a4d45133be27ebbd5e",
];

/// The newest migration the database has applied (0: none).
pub async fn applied_version(pool: &PgPool) -> sqlx::Result<i64> {
    let mut conn = pool.acquire().await?;
    let exists: bool = query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        return Ok(0);
    }
    query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
}

/// The newest migration this binary knows.
pub fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A sentence for a database migrated by a newer Rota, or `None`.
pub fn newer_database(applied: i64) -> Option<String> {
    let known = known_version();
    (applied > known).then(|| {
        format!(
            "The database was migrated by a newer Rota (migration {applied}; this build knows up to {known}). \
             Run that newer version, or restore the backup taken before the upgrade; this one will not start on it."
        )
    })
}

/// Gives a database that applied an earlier text of migration 0008 what
/// the current one adds (storage settings; idempotent) and its checksum.
async fn repair_edited_0008(pool: &PgPool) -> anyhow::Result<()> {
    if applied_version(pool).await? < 8 {
        return Ok(());
    }
    let stored: Option<Vec<u8>> = query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 8")
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    let Some(stored) = stored else { return Ok(()) };
    if !EARLIER_0008.contains(&hex::encode(&stored).as_str()) {
        return Ok(());
    }
    let current = MIGRATOR
        .iter()
        .find(|m| m.version == 8)
        .map(|m| m.checksum.to_vec())
        .ok_or_else(|| anyhow::anyhow!("migration 0008 is missing from this build"))?;
    let mut tx = pool.begin().await?;
    for statement in [
        "ALTER TABLE handoffs ALTER COLUMN search SET STORAGE MAIN",
        "ALTER TABLE handoffs ALTER COLUMN body SET STORAGE EXTERNAL",
        "ALTER TABLE handoffs SET (toast_tuple_target = 4000)",
    ] {
        query(statement).execute(&mut tx).await?;
    }
    query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 8")
        .bind(current)
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    tracing::info!("migration 0008 was applied from an earlier text; brought it up to date (see CHANGELOG.md)");
    Ok(())
}

/// Applies this binary's migrations up to `version` only: a restore puts
/// an export's rows into the schema it was taken from, and the remaining
/// migrations then bring them up to date as they would have any database.
pub async fn migrate_to(pool: &PgPool, version: i64) -> anyhow::Result<()> {
    let older: Vec<_> = MIGRATOR.iter().filter(|m| m.version <= version).cloned().collect();
    // The fields `sqlx::migrate!` fills in; sqlx is pinned in Cargo.lock.
    let migrator = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(older),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    migrator.run(pool).await?;
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    if let Some(refusal) = newer_database(applied_version(pool).await?) {
        anyhow::bail!(refusal);
    }
    repair_edited_0008(pool).await?;
    // Several processes may start at once: one migrates, the others wait.
    MIGRATOR.run(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await?;
    Ok(())
}
