//! SQL, one module per aggregate. Functions take `&mut PgConnection` so the
//! caller owns the transaction.

pub mod audit;
pub mod changes;
pub mod handoff_webhooks;
pub mod handoffs;
pub mod holidays;
pub mod integrations;
pub mod leave;
pub mod metrics;
pub mod notifications;
pub mod pages;
pub mod recovery;
pub mod rotations;
pub mod shifts;
pub mod sign_ins;
pub mod swaps;
pub mod teams;
pub mod tokens;
pub mod users;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

/// Creates the database if it is missing, connects, and applies the
/// embedded migrations.
pub async fn connect_and_migrate(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    if !Postgres::database_exists(url).await.unwrap_or(false) {
        tracing::info!("creating the database");
        if let Err(e) = Postgres::create_database(url).await {
            // Another process may have created it at the same moment.
            if !Postgres::database_exists(url).await.unwrap_or(false) {
                return Err(anyhow::anyhow!(e)
                    .context("could not create the database; check DATABASE_URL and that Postgres is running"));
            }
        }
    }
    let options = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!(e).context("could not connect to the database"))?;
    migrate(&pool).await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    // Several processes may start at once: one migrates, the others wait.
    sqlx::migrate!("./migrations").run(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await?;
    Ok(())
}
