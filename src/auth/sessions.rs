//! Where sessions are kept: tower-sessions' Postgres table (`db::web_sessions`,
//! read and written the way its own store did), with this process's caches
//! in front of it, and the answer when the pool is busy.
//!
//! Every page request reads its session; from the cache that costs no
//! connection. The cache follows the caches' contract (`cache`): the
//! session table announces its changes (migration 0017), so a session ended
//! or changed by another process is read afresh; this process's own saves
//! replace the cached copy at once.
//!
//! When the pool is exhausted a session cannot be read or saved; the page
//! then answers 503 with `Retry-After` like any other busy request, never
//! 500 (tower-sessions answers 500 itself when a save fails, see
//! [`busy_sessions`]).

use std::cell::Cell;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use crate::cache::{Cache, Caches};
use crate::db;
use crate::error::AppError;

tokio::task_local! {
    /// Set when this request's session could not be read or saved because
    /// the pool was busy.
    static POOL_BUSY: Cell<bool>;
}

/// What a store error says when the pool was busy.
const BUSY: &str = "the database pool is busy";

/// The session table behind the caches.
#[derive(Clone)]
pub struct CachedStore {
    inner: TableStore,
    caches: Arc<Caches>,
}

impl std::fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore").finish_non_exhaustive()
    }
}

impl CachedStore {
    pub fn new(pool: PgPool, caches: Arc<Caches>) -> Self {
        CachedStore {
            inner: TableStore { pool },
            caches,
        }
    }

    /// Drops every cached session, so that a read that began before a
    /// change cannot keep what it read; returns the generation after.
    fn forget(&self) -> u64 {
        self.caches.clear_tables(Cache::Sessions.tables());
        self.caches.generation()
    }
}

/// The store's error, with a busy pool told apart (and noted for
/// [`busy_sessions`]).
fn store_error(e: session_store::Error) -> session_store::Error {
    let busy = [
        sqlx::Error::PoolTimedOut.to_string(),
        sqlx::Error::PoolClosed.to_string(),
    ];
    match e {
        session_store::Error::Backend(m) if busy.contains(&m) => {
            let _ = POOL_BUSY.try_with(|b| b.set(true));
            session_store::Error::Backend(BUSY.into())
        }
        other => other,
    }
}

/// The session table, read and written as tower-sessions-sqlx-store's
/// `PostgresStore` did (MessagePack records, so sessions outlive the
/// change), through `db` so that PgBouncer can carry the statements.
#[derive(Clone)]
struct TableStore {
    pool: PgPool,
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn expiry(record: &Record) -> session_store::Result<chrono::DateTime<chrono::Utc>> {
    let at = record.expiry_date;
    chrono::DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .ok_or_else(|| session_store::Error::Encode(format!("expiry {at} is out of range")))
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

impl TableStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        while db::web_sessions::exists(&mut tx, &record.id.to_string())
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        db::web_sessions::save(&mut tx, &record.id.to_string(), &encode(record)?, expiry(record)?)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        db::web_sessions::save(&mut conn, &record.id.to_string(), &encode(record)?, expiry(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let data = db::web_sessions::load(&mut conn, &id.to_string(), chrono::Utc::now())
            .await
            .map_err(backend)?;
        data.map(|d| rmp_serde::from_slice(&d).map_err(|e| session_store::Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        db::web_sessions::delete(&mut conn, &id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl SessionStore for CachedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await.map_err(store_error)?;
        let seen = self.forget();
        self.caches.put_session(seen, record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(record).await.map_err(store_error)?;
        let seen = self.forget();
        self.caches.put_session(seen, record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.caches.session(id) {
            // As the store reads: an expired session is no session.
            return Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record));
        }
        let seen = self.caches.generation();
        let record = self.inner.load(id).await.map_err(store_error)?;
        if let Some(r) = &record {
            self.caches.put_session(seen, *id, r.clone());
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(id).await.map_err(store_error)?;
        self.forget();
        Ok(())
    }
}

/// The error a handler gives when its session fails: 503 when the pool was
/// busy, else a logged 500.
pub fn session_failed(e: tower_sessions::session::Error) -> AppError {
    match &e {
        tower_sessions::session::Error::Store(session_store::Error::Backend(m)) if m == BUSY => AppError::Unavailable,
        _ => AppError::Internal(anyhow::anyhow!("session: {e}")),
    }
}

/// Middleware around the session layer: a request whose session could not
/// be read or saved for a busy pool answers 503 with `Retry-After`, not the
/// 500 tower-sessions gives for a failed save, nor the sign-in redirect or
/// refusal a missing session would otherwise bring.
pub async fn busy_sessions(request: Request, next: Next) -> Response {
    POOL_BUSY
        .scope(Cell::new(false), async move {
            let response = next.run(request).await;
            let busy = POOL_BUSY.with(Cell::get);
            if busy && !response.status().is_success() {
                AppError::Unavailable.into_response()
            } else {
                response
            }
        })
        .await
}
