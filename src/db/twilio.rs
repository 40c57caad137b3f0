//! What Twilio's callbacks read and change: the page message a callback
//! address stands for, its delivery state, and the page an SMS reply
//! acknowledges.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::sql::{query_as, query_scalar};

/// The page and the person of a page message, and the bundle it went
/// out in (a bundle's callbacks name its first message).
pub async fn message_owner(conn: &mut PgConnection, message_id: i64) -> sqlx::Result<Option<(i64, i64, Option<i64>)>> {
    query_as("SELECT page_id, user_id, bundle_id FROM page_messages WHERE id = $1")
        .bind(message_id)
        .fetch_optional(conn)
        .await
}

/// A sent message whose delivery state changed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reported {
    pub page_id: i64,
    pub user_id: i64,
    pub step: i32,
    pub kind: String,
}

/// Records the provider's final word (`delivered` or `failed`) on a sent
/// message, and on every message of its bundle (one SMS or call told of
/// them all); none when it was not sent or already says so (a repeated or
/// late callback changes nothing).
pub async fn report_delivery(conn: &mut PgConnection, message_id: i64, state: &str) -> sqlx::Result<Vec<Reported>> {
    query_as(
        "UPDATE page_messages m SET state = $2 FROM contact_methods k, page_messages named
         WHERE named.id = $1 AND (m.id = named.id OR m.bundle_id = named.bundle_id)
           AND k.id = m.contact_method_id AND m.state IN ('sent', 'delivered') AND m.state <> $2
         RETURNING m.page_id, m.user_id, m.step, k.kind",
    )
    .bind(message_id)
    .bind(state)
    .fetch_all(conn)
    .await
}

/// Whether `number` is someone's confirmed SMS method.
pub async fn is_confirmed_number(conn: &mut PgConnection, number: &str) -> sqlx::Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contact_methods WHERE kind = 'sms' AND target = $1 AND verified_at IS NOT NULL)",
    )
    .bind(number)
    .fetch_one(conn)
    .await
}

/// The latest page still open (not acknowledged, resolved or removed)
/// that was texted since `since` to the confirmed SMS method `number`: the
/// page, the person, its summary and the bundle it was texted in.
pub async fn open_page_for_number(
    conn: &mut PgConnection,
    number: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Option<(i64, i64, String, Option<i64>)>> {
    query_as(
        "SELECT m.page_id, m.user_id, p.summary, m.bundle_id FROM page_messages m JOIN pages p ON p.id = m.page_id
         -- Only pages texted to this number: a reply answers a text.
         JOIN contact_methods k ON k.id = m.contact_method_id
              AND k.kind = 'sms' AND k.target = $1 AND k.verified_at IS NOT NULL
         WHERE m.created_at >= $2 AND m.state IN ('sent', 'delivered')
           AND p.acknowledged_at IS NULL AND p.resolved_at IS NULL AND p.deleted_at IS NULL
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
    )
    .bind(number)
    .bind(since)
    .fetch_optional(conn)
    .await
}
