//! The one way the `db` modules run SQL: [`query`], [`query_as`] and
//! [`query_scalar`], sqlx's own, made safe for PgBouncer in transaction
//! mode once [`use_pgbouncer`] was called (`ROTA_DB_PGBOUNCER=true`).
//!
//! Through PgBouncer in transaction mode a server connection serves many
//! clients, and a client's statements outside a transaction may each land
//! on a different server connection. Two things in how sqlx talks break
//! there (PgBouncer before 1.21 passes prepared statements through as they
//! are):
//! - sqlx names its prepared statements per client connection (`sqlx_s_1`,
//!   `sqlx_s_2`, …) and keeps them: on a shared server connection they
//!   clash with another client's ("already exists") or are missing.
//! - It parses a statement and waits for the answer before binding it, so
//!   even an unnamed statement is lost, or replaced by another client's,
//!   when PgBouncer hands the server connection on in between. Only an open
//!   transaction keeps the server connection.
//!
//! So in that mode every statement is unnamed, and one run outside a
//! transaction runs in a transaction of its own (BEGIN, the statement,
//! COMMIT: what autocommit did, for two more round trips). Against Postgres
//! itself statements stay named and cached, as before.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::postgres::{PgArguments, PgQueryResult, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Connection, Encode, FromRow, PgConnection, Postgres, Type};

static PGBOUNCER: AtomicBool = AtomicBool::new(false);

/// From now on, this process's statements are unnamed and each runs in a
/// transaction. For the whole process, and for good: a process that talks
/// through PgBouncer at all must never name a statement, and the safe way
/// is also correct against Postgres itself (only slower).
pub fn use_pgbouncer() {
    PGBOUNCER.store(true, Ordering::Relaxed);
}

/// Whether [`use_pgbouncer`] was called.
pub fn through_pgbouncer() -> bool {
    PGBOUNCER.load(Ordering::Relaxed)
}

/// A statement built by [`query`], [`query_as`] or [`query_scalar`].
#[must_use = "a statement does nothing until it is executed or fetched"]
pub struct Sql<Q>(Q);

/// `sqlx::query`: rows as they come.
pub fn query(sql: &str) -> Sql<Query<'_, Postgres, PgArguments>> {
    Sql(sqlx::query(sql).persistent(!through_pgbouncer()))
}

/// `sqlx::query_as`: each row as an `O`.
pub fn query_as<O>(sql: &str) -> Sql<QueryAs<'_, Postgres, O, PgArguments>>
where
    O: for<'r> FromRow<'r, PgRow>,
{
    Sql(sqlx::query_as(sql).persistent(!through_pgbouncer()))
}

/// `sqlx::query_scalar`: the first column of each row as an `O`.
pub fn query_scalar<O>(sql: &str) -> Sql<QueryScalar<'_, Postgres, O, PgArguments>>
where
    (O,): for<'r> FromRow<'r, PgRow>,
{
    Sql(sqlx::query_scalar(sql).persistent(!through_pgbouncer()))
}

/// Runs `$run` (an expression using `$c: &mut PgConnection`) on `$conn`,
/// in a transaction of its own when PgBouncer needs one (see the module).
macro_rules! on_one_server {
    ($conn:ident, |$c:ident| $run:expr) => {{
        if !through_pgbouncer() || $conn.is_in_transaction() {
            let $c = $conn;
            $run.await
        } else {
            let mut tx = $conn.begin().await?;
            let out = {
                let $c = &mut *tx;
                $run.await?
            };
            tx.commit().await?;
            Ok(out)
        }
    }};
}

/// The fetches every kind of statement has, returning `$out` per row.
macro_rules! fetches {
    ($out:ty) => {
        pub async fn fetch_one(self, conn: &mut PgConnection) -> sqlx::Result<$out> {
            on_one_server!(conn, |c| self.0.fetch_one(c))
        }

        pub async fn fetch_optional(self, conn: &mut PgConnection) -> sqlx::Result<Option<$out>> {
            on_one_server!(conn, |c| self.0.fetch_optional(c))
        }

        pub async fn fetch_all(self, conn: &mut PgConnection) -> sqlx::Result<Vec<$out>> {
            on_one_server!(conn, |c| self.0.fetch_all(c))
        }
    };
}

impl<'q> Sql<Query<'q, Postgres, PgArguments>> {
    pub fn bind<T: 'q + Encode<'q, Postgres> + Type<Postgres>>(self, value: T) -> Self {
        Sql(self.0.bind(value))
    }

    pub async fn execute(self, conn: &mut PgConnection) -> sqlx::Result<PgQueryResult> {
        on_one_server!(conn, |c| self.0.execute(c))
    }

    fetches!(PgRow);
}

impl<'q, O> Sql<QueryAs<'q, Postgres, O, PgArguments>>
where
    O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    pub fn bind<T: 'q + Encode<'q, Postgres> + Type<Postgres>>(self, value: T) -> Self {
        Sql(self.0.bind(value))
    }

    fetches!(O);
}

impl<'q, O> Sql<QueryScalar<'q, Postgres, O, PgArguments>>
where
    O: Send + Unpin,
    (O,): Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    pub fn bind<T: 'q + Encode<'q, Postgres> + Type<Postgres>>(self, value: T) -> Self {
        Sql(self.0.bind(value))
    }

    /// Rows one at a time. Inside a transaction only, which keeps the
    /// server connection through PgBouncer for as long as the rows come.
    pub fn fetch<'c>(self, conn: &'c mut PgConnection) -> futures_util::stream::BoxStream<'c, sqlx::Result<O>>
    where
        'q: 'c,
        O: 'c,
    {
        assert!(
            conn.is_in_transaction() || !through_pgbouncer(),
            "a streamed statement runs in a transaction"
        );
        self.0.fetch(conn)
    }

    fetches!(O);
}
