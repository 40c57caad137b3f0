//! Group commit for tools' new pages: requests hand their report to a few
//! writer tasks over a channel; a writer takes everything waiting (up to
//! [`BATCH`]) and records it in one statement and one commit
//! (`db::pages::insert_new_batch`), then answers each request. Under load
//! a batch carries dozens of pages for the price of one, which is what lets
//! two cores take thousands of pages a second; alone, a page waits for
//! nobody.
//!
//! Only new dedup keys are batched, each with the schedule's primary as
//! responder and its recovery days queued (`recovery_dirty`), exactly as
//! `ops::pages::record_new` does one at a time. A key already known, or
//! repeated within a batch after its first, is answered `None`, and the
//! request merges it in a transaction of its own (`ops::pages::record`):
//! the outcome is the sequential one. Commits stay synchronous: the answer
//! tells the tool its alert is recorded, and a tool told so does not send
//! it again.
//!
//! A batch's transaction does not NOTIFY: a NOTIFY holds a database-wide
//! lock through its commit's flush, which would let only one batch commit
//! at a time. An announcer sends `pages` on the caches' channel (and wakes
//! the paging workers when a batch started escalations) once a batch has
//! committed, one announcement for all the batches that
//! committed while the last was being sent (this process clears its own
//! caches when it answers, as for any write).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::db;
use crate::db::pages::{Page, Report};
use crate::domain::recovery::Policy;
use crate::error::AppResult;

/// The most pages one statement records.
pub const BATCH: usize = 256;
/// Writers, each a connection while it writes: batches in flight at once
/// (one waits on its commit while the next gathers).
const WRITERS: usize = 8;

/// A new page as recorded, with its team's rules for classifying it.
pub struct Recorded {
    pub page: Page,
    pub rules: (Policy, BTreeSet<NaiveDate>),
}

struct Job {
    report: Report,
    engaged: (DateTime<Utc>, DateTime<Utc>),
    /// When it was received: its escalation, if it pages, starts then.
    now: DateTime<Utc>,
    answer: oneshot::Sender<Option<Recorded>>,
}

/// The writers' inbox; they start with the first page.
#[derive(Clone)]
pub struct Ingest {
    pool: PgPool,
    inbox: Arc<OnceLock<mpsc::Sender<Job>>>,
}

/// Batches committed and not yet announced, and whether any of them
/// started an escalation (the paging workers are woken too).
struct Unannounced(Notify, AtomicBool);

impl Ingest {
    pub fn new(pool: PgPool) -> Self {
        Ingest {
            pool,
            inbox: Arc::new(OnceLock::new()),
        }
    }

    /// Records a new page (already cleaned and checked) in the next batch.
    /// `None` when it must be merged one at a time instead: its key is
    /// known, or the writers are gone or failed (the merge then reports
    /// what is wrong).
    pub async fn record_new(
        &self,
        report: Report,
        engaged: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Option<Recorded> {
        let inbox = self.inbox.get_or_init(|| {
            let (send, receive) = mpsc::channel(4 * BATCH);
            let receive = Arc::new(Mutex::new(receive));
            let unannounced = Arc::new(Unannounced(Notify::new(), AtomicBool::new(false)));
            tokio::spawn(announce(self.pool.clone(), unannounced.clone()));
            for _ in 0..WRITERS {
                tokio::spawn(write(self.pool.clone(), receive.clone(), unannounced.clone()));
            }
            send
        });
        let (answer, answered) = oneshot::channel();
        let job = Job {
            report,
            engaged,
            now,
            answer,
        };
        inbox.send(job).await.ok()?;
        answered.await.ok().flatten()
    }
}

/// Announces committed batches, coalescing those that commit meanwhile.
async fn announce(pool: PgPool, unannounced: Arc<Unannounced>) {
    loop {
        unannounced.0.notified().await;
        let wake_paging = unannounced.1.swap(false, Ordering::AcqRel);
        for attempt in 1..=3 {
            let sent =
                async { db::change_triggers::announce(&mut *pool.acquire().await?, "pages", wake_paging).await }.await;
            match sent {
                Ok(()) => break,
                Err(e) => {
                    // Other processes' caches keep stale pages until their
                    // entries expire (30 s) if this never goes out.
                    tracing::warn!(error = %e, attempt, "could not announce new pages to other processes");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    }
}

async fn write(pool: PgPool, inbox: Arc<Mutex<mpsc::Receiver<Job>>>, unannounced: Arc<Unannounced>) {
    loop {
        let mut batch = Vec::new();
        {
            // One writer gathers at a time; the others write meanwhile.
            let mut inbox = inbox.lock().await;
            let Some(first) = inbox.recv().await else { return };
            batch.push(first);
            while batch.len() < BATCH {
                match inbox.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        if let Err(e) = write_batch(&pool, batch, &unannounced).await {
            tracing::warn!(error = %e, "a batch of pages failed; its requests record one at a time");
        }
    }
}

/// Records the batch and answers every job in it (`None` on failure, so
/// each request falls back to its own transaction).
async fn write_batch(pool: &PgPool, batch: Vec<Job>, unannounced: &Unannounced) -> AppResult<()> {
    // The first report of each key is batched; repeats merge afterwards.
    let mut seen = HashSet::new();
    let (first, repeats): (Vec<Job>, Vec<Job>) = batch
        .into_iter()
        .partition(|j| seen.insert((j.report.team_id, j.report.source.clone(), j.report.dedup_key.clone())));
    for job in repeats {
        let _ = job.answer.send(None);
    }
    // One statement, its own transaction: no BEGIN or COMMIT to wait for.
    let mut conn = pool.acquire().await?;
    let reports: Vec<&Report> = first.iter().map(|j| &j.report).collect();
    let engaged: Vec<(DateTime<Utc>, DateTime<Utc>)> = first.iter().map(|j| j.engaged).collect();
    // Escalations start at the latest receipt in the batch (moments apart).
    let now = first.iter().map(|j| j.now).max().unwrap_or_else(Utc::now);
    let pages = db::pages::insert_new_batch(&mut conn, &reports, &engaged, now).await?;
    let mut rules = HashMap::new();
    for team_id in pages.iter().map(|p| p.team_id).collect::<BTreeSet<_>>() {
        rules.insert(team_id, db::holidays::rules(&mut conn, team_id).await?);
    }
    drop(conn);
    if reports
        .iter()
        .any(|r| r.page && r.acknowledged_at.is_none() && r.resolved_at.is_none())
    {
        unannounced.1.store(true, Ordering::Release);
    }
    unannounced.0.notify_one();
    let mut by_key: HashMap<(i64, String, String), Page> = pages
        .into_iter()
        .map(|p| ((p.team_id, p.source.clone(), p.dedup_key.clone()), p))
        .collect();
    for job in first {
        let r = &job.report;
        let recorded = by_key
            .remove(&(r.team_id, r.source.clone(), r.dedup_key.clone()))
            .and_then(|page| {
                let rules = rules.get(&page.team_id)?.clone();
                Some(Recorded { page, rules })
            });
        let _ = job.answer.send(recorded);
    }
    Ok(())
}
