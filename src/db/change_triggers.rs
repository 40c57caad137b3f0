//! The NOTIFY triggers behind the caches (see `cache`): which tables have
//! them.

use crate::db::sql::{query, query_scalar};
use sqlx::PgConnection;

/// Of `tables` (names as the search path finds them, or qualified by their
/// schema such as `tower_sessions.session`), those that lack an enabled trigger calling
/// `rota_notify_changed()` for any of INSERT, UPDATE or DELETE, in order.
/// A trigger narrowed to some columns or by a WHEN condition counts: such a
/// narrowing is a choice made in its migration, not an oversight.
pub async fn missing(conn: &mut PgConnection, tables: &[&str]) -> sqlx::Result<Vec<String>> {
    // pg_trigger.tgtype bits: 4 INSERT, 8 DELETE, 16 UPDATE.
    query_scalar(
        "SELECT want.name FROM unnest($1::text[]) AS want(name)
         LEFT JOIN LATERAL (
             SELECT bit_or(tg.tgtype::int) AS events
             FROM pg_trigger tg
             JOIN pg_proc p ON p.oid = tg.tgfoid
             WHERE tg.tgrelid = to_regclass(want.name)
               AND p.proname = 'rota_notify_changed'
               AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'
         ) found ON true
         WHERE coalesce(found.events, 0) & 28 <> 28
         ORDER BY want.name",
    )
    .bind(tables)
    .fetch_all(conn)
    .await
}

/// Announces a committed change to `table` on the caches' channel, as its
/// trigger would have; with `wake_paging`, wakes the paging workers too
/// (escalations were started).
pub async fn announce(conn: &mut PgConnection, table: &str, wake_paging: bool) -> sqlx::Result<()> {
    query("SELECT pg_notify('rota_changed', $1), CASE WHEN $2 THEN pg_notify('rota_paging', '') END")
        .bind(table)
        .bind(wake_paging)
        .execute(conn)
        .await
        .map(drop)
}
