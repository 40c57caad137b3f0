//! Hearing of changes: every process LISTENs on [`CHANNEL`], where the
//! `rota_notify_changed()` triggers announce the table a committed change
//! touched.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::Caches;

pub const CHANNEL: &str = "rota_changed";

/// Listens for change notifications for as long as the process serves.
pub fn spawn_listener(pool: PgPool, caches: Arc<Caches>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&pool, &caches).await {
                Ok(()) => tracing::warn!("change notifications interrupted; caches off until they resume"),
                Err(e) => tracing::warn!(error = %e, "cannot listen for changes; caches off"),
            }
            caches.set_listening(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn listen(pool: &PgPool, caches: &Caches) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    caches.set_listening(true);
    // `None` means the connection dropped and notifications may be lost.
    while let Some(notification) = listener.try_recv().await? {
        caches.clear_announced(notification.payload());
        caches.note_heard(notification.payload());
    }
    Ok(())
}
