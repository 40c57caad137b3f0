//! The paging worker: runs due escalation steps and sends due messages.
//! It wakes on `NOTIFY rota_paging` (a page started escalating, a message
//! was queued, in any process) or at the next due time, not on a poll.
//! Steps are claimed with `FOR UPDATE SKIP LOCKED` and messages under a
//! lease, one row per page, step, person and method, so several processes
//! send each once and a restart loses none. Messages are claimed one
//! contact method at a time, so a storm goes out as a few messages and
//! bundles, SMS and calls at most about once a minute (`ops::paging::storm`).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::task::JoinSet;

use crate::db;
use crate::db::paging::Claimed;
use crate::domain::chat::ChatKind;
use crate::domain::paging::retry_delay;
use crate::ops::paging::send::Sent;
use crate::ops::paging::storm;
use crate::ops::paging::{self, Pager};
use crate::state::AppState;

/// A claimed message is another process's to send after this (well over
/// the providers' time limits).
const LEASE: Duration = Duration::minutes(1);
/// Contact methods one round serves at most (at once, each send with its
/// own limit): each sends a few messages and at most one bundle.
const BATCH: i64 = 50;
/// The longest the worker sleeps with nothing due (in case a NOTIFY was
/// missed while its connection was down).
const IDLE: StdDuration = StdDuration::from_secs(30);
/// Without a listening connection it looks this often instead.
const DEAF: StdDuration = StdDuration::from_secs(2);
/// Rounds one process runs at once (see [`run`]).
const ROUNDS: usize = 4;
/// With a round running, the worker looks for newly due work this often
/// at most, not in a busy loop over what that round is taking.
const BUSY: StdDuration = StdDuration::from_millis(100);
/// A send that takes longer than this has failed (providers time out sooner).
const SEND_LIMIT: StdDuration = StdDuration::from_secs(15);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub steps: usize,
    pub sent: usize,
    pub failed: usize,
    /// Messages that wait for their method's next turn in a storm.
    pub held: usize,
}

/// Runs the steps due at `now`, then sends the messages due.
pub async fn run_once(pool: &PgPool, pager: &Pager, now: DateTime<Utc>) -> anyhow::Result<Round> {
    let mut tx = pool.begin().await?;
    let steps = paging::escalate_due(&mut tx, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    // Chat posts and people's messages go out side by side: a slow chat
    // server delays no one's page.
    let (people, channels) = tokio::join!(send_due(pool, pager, now), send_chat_due(pool, pager, now));
    let ((sent, failed, held), (posted, unposted)) = (people?, channels?);
    Ok(Round {
        steps,
        sent: sent + posted,
        failed: failed + unposted,
        held,
    })
}

/// Runs rounds until nothing more is due at `now` (tests settle with it).
pub async fn drain(pool: &PgPool, pager: &Pager, now: DateTime<Utc>) -> anyhow::Result<Round> {
    let mut total = Round::default();
    for _ in 0..100 {
        let r = run_once(pool, pager, now).await?;
        if r == Round::default() {
            break;
        }
        total.steps += r.steps;
        total.sent += r.sent;
        total.failed += r.failed;
        total.held += r.held;
    }
    Ok(total)
}

/// Sends the due messages at once, each on its own (one slow provider
/// delays no other), a storm's as bundles (`ops::paging::storm`), and
/// records each outcome on the page's timeline. Sent, failed and held.
async fn send_due(pool: &PgPool, pager: &Pager, now: DateTime<Utc>) -> anyhow::Result<(usize, usize, usize)> {
    let (claim, key) = {
        let mut conn = pool.acquire().await?;
        let claim = storm::claim(&mut conn, now, LEASE, BATCH)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if claim.sends.is_empty() {
            return Ok((0, 0, claim.held as usize));
        }
        (
            claim,
            paging::ack_key(&mut conn).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        )
    };
    let mut sends = JoinSet::new();
    for send in claim.sends {
        let pager = pager.clone();
        let message = match send.bundle {
            None => paging::page_message(&pager, &send.messages[0], &key, now),
            Some(id) => storm::bundle_message(&pager, id, &send.messages, &key, now),
        };
        sends.spawn(async move {
            let first = &send.messages[0];
            let outcome = match paging::recipient(first) {
                None => Err(format!("unknown contact method kind {}", first.kind)),
                Some(to) => tokio::time::timeout(SEND_LIMIT, pager.send(&to, &message))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {} seconds", SEND_LIMIT.as_secs()))),
            };
            (send, outcome)
        });
    }
    let (mut sent, mut failed) = (0, 0);
    while let Some(done) = sends.join_next().await {
        let (send, outcome) = done?;
        let mut conn = pool.acquire().await?;
        let ok = match send.bundle {
            None => finish_one(&mut conn, &send.messages[0], outcome, now).await?,
            Some(id) => finish_bundle(&mut conn, id, &send.messages, outcome, now).await?,
        };
        if ok {
            sent += 1;
        } else {
            failed += 1;
        }
    }
    Ok((sent, failed, claim.held as usize))
}

/// Records how a page's own message went; whether it went.
async fn finish_one(conn: &mut PgConnection, m: &Claimed, outcome: Sent, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let (state, event, detail, retry_at) = settle(outcome, m.attempts, now);
    if event == "failed" {
        tracing::warn!(message = m.id, attempts = m.attempts, error = %detail, "a page message failed");
    }
    crate::service_metrics::page_message(&m.kind, outcome_label(state, retry_at));
    if db::paging::finish(conn, m, state, retry_at).await? {
        db::paging::event(
            conn,
            m.page_id,
            now,
            Some(m.user_id),
            Some(m.step),
            Some(&m.kind),
            event,
            &detail,
        )
        .await?;
    }
    Ok(event != "failed")
}

/// What to record of one attempt (see [`settle`]).
type Settled = (&'static str, &'static str, String, Option<DateTime<Utc>>);

/// Records how a bundle went, on every page it told of (each message by
/// its own attempt count: one may be given up while the others retry).
async fn finish_bundle(
    conn: &mut PgConnection,
    id: i64,
    messages: &[Claimed],
    outcome: Sent,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let kind = messages[0].kind.as_str();
    // Messages alike in what to record, recorded in one statement.
    let mut alike: Vec<(Settled, Vec<i64>, Vec<i32>)> = Vec::new();
    for m in messages {
        let (state, event, detail, retry_at) = settle(outcome.clone(), m.attempts, now);
        let detail = format!("In one message bundling {} pages: {detail}", messages.len());
        let settled = (state, event, detail, retry_at);
        match alike.iter_mut().find(|(s, _, _)| *s == settled) {
            Some((_, ids, attempts)) => {
                ids.push(m.id);
                attempts.push(m.attempts);
            }
            None => alike.push((settled, vec![m.id], vec![m.attempts])),
        }
    }
    let label = match &outcome {
        Ok((state, _)) => state,
        Err(_) if alike.iter().any(|(s, _, _)| s.3.is_some()) => "retrying",
        Err(_) => "failed",
    };
    crate::service_metrics::page_bundle(kind, label, messages.len());
    for ((state, event, detail, retry_at), ids, attempts) in alike {
        if event == "failed" {
            tracing::warn!(bundle = id, messages = ids.len(), error = %detail, "a bundle of page messages failed");
        }
        db::storm::finish(conn, &ids, &attempts, state, retry_at, now, (kind, event, &detail)).await?;
    }
    Ok(outcome.is_ok())
}

/// The metrics' word for a message's next state.
fn outcome_label(state: &'static str, retry_at: Option<DateTime<Utc>>) -> &'static str {
    match (state, retry_at) {
        ("pending", Some(_)) => "retrying",
        (s, _) => s,
    }
}

/// What to record of one attempt: the message's next state (`pending`
/// again when it is retried), the timeline's state, its words, and when
/// to try again.
fn settle(
    outcome: Sent,
    attempts: i32,
    now: DateTime<Utc>,
) -> (&'static str, &'static str, String, Option<DateTime<Utc>>) {
    match outcome {
        Ok((state, detail)) => (state, state, detail, None),
        Err(why) => match retry_delay(attempts) {
            Some(wait) => (
                "pending",
                "failed",
                format!(
                    "{why}; attempt {attempts} of {}, trying again in {} s",
                    crate::domain::paging::MAX_SEND_ATTEMPTS,
                    wait.num_seconds()
                ),
                Some(now + wait),
            ),
            None => (
                "failed",
                "failed",
                format!("{why}; given up after {attempts} attempts"),
                None,
            ),
        },
    }
}

/// Sends the due chat posts (one per page, to its team's channel) and
/// records each on the page's timeline as `chat`.
async fn send_chat_due(pool: &PgPool, pager: &Pager, now: DateTime<Utc>) -> anyhow::Result<(usize, usize)> {
    let claimed = db::chat::claim_page_posts(&mut *pool.acquire().await?, now, LEASE, BATCH).await?;
    if claimed.is_empty() {
        return Ok((0, 0));
    }
    let mut sends = JoinSet::new();
    for p in claimed {
        let pager = pager.clone();
        let body = paging::chat::page_post(&pager, &p);
        sends.spawn(async move {
            let service = ChatKind::parse(&p.kind).map_or("the chat server", ChatKind::name);
            let outcome = match body {
                None => Err(format!("unknown chat kind {}", p.kind)),
                Some(body) => tokio::time::timeout(SEND_LIMIT, pager.chat(service, &p.url, &body))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {} seconds", SEND_LIMIT.as_secs()))),
            };
            let outcome = outcome.map(|(state, detail)| {
                (
                    state,
                    format!("Posted to the team's {service} channel (paging {}): {detail}", p.paged),
                )
            });
            (p, outcome)
        });
    }
    let (mut sent, mut failed) = (0, 0);
    while let Some(done) = sends.join_next().await {
        let (p, outcome) = done?;
        let mut conn = pool.acquire().await?;
        let (state, event, detail, retry_at) = settle(outcome, p.attempts, now);
        if event == "failed" {
            failed += 1;
            tracing::warn!(page = p.page_id, attempts = p.attempts, error = %detail, "a page's chat post failed");
        } else {
            sent += 1;
        }
        let outcome = if retry_at.is_some() { "retrying" } else { state };
        crate::service_metrics::page_message("chat", outcome);
        if db::chat::finish_page_post(&mut conn, &p, state, retry_at).await? {
            db::paging::event(
                &mut conn,
                p.page_id,
                now,
                None,
                Some(p.step),
                Some("chat"),
                event,
                &detail,
            )
            .await?;
        }
    }
    Ok((sent, failed))
}

/// Runs until the task is stopped: starts a round, then sleeps until the
/// next due time, a NOTIFY or the end of a round, whichever is first. Up
/// to [`ROUNDS`] rounds run at once, so a round waiting on a provider that
/// hangs (up to its time limit) delays no other step or message: the next
/// due one is taken by another round, as another process would take it.
pub async fn run(state: AppState) {
    let pager = state.pager();
    // LISTEN needs a session: not through PgBouncer.
    let mut listener = listen(&state.direct).await;
    // Dropped with this task, and aborts the rounds with it.
    let mut rounds: JoinSet<bool> = JoinSet::new();
    let mut failed = false;
    loop {
        if rounds.len() < ROUNDS {
            let (db, pager, clock) = (state.db.clone(), pager.clone(), state.clock.clone());
            rounds.spawn(async move {
                let started = std::time::Instant::now();
                let outcome = drain(&db, &pager, clock.now()).await;
                if outcome.as_ref().is_ok_and(|r| *r != Round::default()) || outcome.is_err() {
                    crate::service_metrics::job_ran("paging", started, &outcome.as_ref().map(|_| true));
                }
                if let Err(e) = &outcome {
                    tracing::warn!(error = ?e, "paging failed; will retry");
                }
                outcome.is_ok()
            });
        }
        let next = match state.db.acquire().await {
            Ok(mut conn) => {
                let messages = db::paging::next_due(&mut conn).await.ok().flatten();
                let posts = db::chat::next_due(&mut conn).await.ok().flatten();
                messages.into_iter().chain(posts).min()
            }
            Err(_) => None,
        };
        let mut wait = next.map_or(IDLE, |at| {
            (at - state.clock.now()).to_std().unwrap_or(StdDuration::ZERO)
        });
        if failed {
            wait = wait.max(DEAF);
        }
        if !rounds.is_empty() {
            // What is due now is what the running rounds are taking.
            wait = wait.max(BUSY);
        }
        let ended = async {
            match rounds.join_next().await {
                Some(done) => Some(done.unwrap_or(false)),
                None => std::future::pending().await,
            }
        };
        match listener.as_mut() {
            Some(l) => {
                tokio::select! {
                    heard = l.recv() => if heard.is_err() { listener = None },
                    Some(ok) = ended => failed = !ok,
                    () = tokio::time::sleep(wait.min(IDLE)) => {}
                }
            }
            None => {
                tokio::select! {
                    Some(ok) = ended => failed = !ok,
                    () = tokio::time::sleep(wait.min(DEAF)) => {}
                }
                listener = listen(&state.direct).await;
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen("rota_paging").await.ok()?;
    Some(l)
}
