//! Posts submitted handoffs to teams' chat webhooks, retrying failures with
//! backoff. Safe with several processes: each post is claimed by one (rows
//! another is claiming are skipped) under a lease, so a process that dies
//! mid-send leaves it to be retried rather than lost. Posts go out through
//! [`Outgoing`], so a team's address cannot reach Rota's own server or
//! network.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio::task::JoinSet;

use crate::db::handoff_webhooks::{self as store, Claimed, Outcome};
use crate::outgoing::Outgoing;
use crate::state::AppState;

/// How often the job looks for posts to send.
pub const INTERVAL: StdDuration = StdDuration::from_secs(15);
/// A claimed post is someone else's to retry after this.
const LEASE: Duration = Duration::minutes(2);
/// Posts one run sends at most.
const BATCH: i64 = 20;
/// After this many failed attempts (over about four hours) Rota gives up.
pub const MAX_ATTEMPTS: i32 = 10;

/// How long to wait after `attempts` failed attempts: 30 s, doubling, at
/// most an hour. `None`: give up.
pub fn retry_delay(attempts: i32) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let doublings = attempts.clamp(1, 12) - 1;
    Some((Duration::seconds(30) * 2_i32.pow(doublings as u32)).min(Duration::hours(1)))
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub delivered: usize,
    pub failed: usize,
}

/// Sends the posts due at `now` through `outgoing`, once each, and records
/// what happened.
pub async fn deliver_due(pool: &PgPool, outgoing: &Outgoing, now: DateTime<Utc>) -> anyhow::Result<Report> {
    let claimed = {
        let mut conn = pool.acquire().await?;
        store::claim_due(&mut conn, now, LEASE, BATCH).await?
    };
    let mut sends = JoinSet::new();
    for post in claimed {
        let outgoing = outgoing.clone();
        sends.spawn(async move {
            let result = send(&outgoing, &post).await;
            (post, result)
        });
    }
    let mut report = Report::default();
    while let Some(done) = sends.join_next().await {
        let (post, result) = done?;
        let mut conn = pool.acquire().await?;
        match result {
            Ok(status) => {
                store::record(&mut conn, post.id, Outcome::Delivered { status }, now).await?;
                report.delivered += 1;
            }
            Err((status, error)) => {
                let retry_at = retry_delay(post.attempts).map(|d| now + d);
                tracing::warn!(delivery = post.id, attempts = post.attempts, error = %error, "handoff webhook failed");
                let outcome = Outcome::Failed {
                    status,
                    error: &error,
                    retry_at,
                };
                store::record(&mut conn, post.id, outcome, now).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Posts one payload: the status on a 2xx, else the status (if any) and
/// what went wrong, worded for the team settings page. The address may
/// carry a secret, so errors never include it; nor do they tell a closed
/// port from a silent one.
async fn send(outgoing: &Outgoing, post: &Claimed) -> Result<i32, (Option<i32>, String)> {
    let response = outgoing.post_json(&post.url, &post.payload).await.map_err(|failure| {
        tracing::info!(
            delivery = post.id,
            detail = failure.detail(),
            "handoff webhook not delivered"
        );
        (None, failure.to_string())
    })?;
    let status = response.status();
    let code = i32::from(status.as_u16());
    if status.is_success() {
        Ok(code)
    } else {
        Err((Some(code), format!("The chat server answered {status}")))
    }
}

/// Runs the job every [`INTERVAL`] until the task is stopped.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        match deliver_due(&state.db, &state.outgoing, state.clock.now()).await {
            Ok(r) if r.delivered + r.failed > 0 => {
                tracing::info!(delivered = r.delivered, failed = r.failed, "handoff webhooks sent");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "sending handoff webhooks failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_end() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(30)));
        assert_eq!(retry_delay(2), Some(Duration::seconds(60)));
        assert_eq!(retry_delay(4), Some(Duration::minutes(4)));
        assert_eq!(retry_delay(9), Some(Duration::hours(1)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        let total: Duration = (1..MAX_ATTEMPTS).filter_map(retry_delay).sum();
        assert!(total > Duration::hours(3) && total < Duration::hours(5), "{total}");
    }
}
