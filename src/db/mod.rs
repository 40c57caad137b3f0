//! SQL, one module per aggregate. Functions take `&mut PgConnection` so the
//! caller owns the transaction.

pub mod audit;
pub mod change_triggers;
pub mod changes;
pub mod contact_methods;
mod enums;
pub mod handoff_webhooks;
pub mod handoffs;
pub mod holidays;
pub mod housekeeping;
pub mod integrations;
pub mod leave;
pub mod metrics;
pub mod notifications;
pub mod oidc;
pub mod pages;
pub mod paging;
pub mod recovery;
pub mod recovery_dirty;
pub mod rotations;
pub mod shifts;
pub mod sign_ins;
pub mod swaps;
pub mod teams;
pub mod tokens;
pub mod users;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

/// Connects (creating the database if it is missing) and applies the
/// embedded migrations. A failure says what the driver said, and what to
/// check.
pub async fn connect_and_migrate(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        anyhow::anyhow!(
            "DATABASE_URL is not a Postgres URL ({e}); use postgres://user:password@host:5432/database, adding ?sslmode=require when the server wants TLS"
        )
    })?;
    // One connection first: a pool retries until its timeout and then
    // reports only that, losing the reason.
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
                        "could not create the database {}: {e}. Create it, or let DATABASE_URL's user create databases",
                        target(&options)
                    ));
                }
            }
        }
        Err(e) => return Err(connect_error(&options, &e)),
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .map_err(|e| connect_error(&options, &e))?;
    migrate(&pool).await?;
    Ok(pool)
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

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    // Several processes may start at once: one migrates, the others wait.
    sqlx::migrate!("./migrations").run(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await?;
    Ok(())
}
