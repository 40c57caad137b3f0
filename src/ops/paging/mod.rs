//! Paging the person on call: each due escalation step finds who holds the
//! role at that moment and queues their notification rules' messages (or
//! records why they were skipped); acknowledging or resolving ends it.
//! `jobs::paging` runs the steps and sends the messages.

pub mod chat;
pub mod drills;
pub mod methods;
pub mod send;
pub mod storm;
pub mod twilio;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use sqlx::PgConnection;

use crate::db;
use crate::db::paging::{Advance, Claimed, DueStep, PageState, Queued};
use crate::db::recovery_dirty::Due;
use crate::domain::paging::{AckLink, Policy, Step, Target};
use crate::domain::twilio::{Hook, HookToken};
use crate::error::{AppError, AppResult};
pub use send::Pager;
use send::{Callbacks, Message, To};

/// Due steps one transaction takes.
const STEP_BATCH: i64 = 100;

/// The key acknowledge links are signed with, shared by every process.
pub async fn ack_key(conn: &mut PgConnection) -> AppResult<Vec<u8>> {
    let mut fresh = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    Ok(db::paging::signing_key(conn, "ack-links", &fresh).await?)
}

/// The escalation a page of `rotation_id` follows, and whether the team
/// set it (otherwise it follows the rotation's role SLAs, or the first
/// rotation's when none is given).
pub async fn policy_for(conn: &mut PgConnection, team_id: i64, rotation_id: Option<i64>) -> AppResult<(Policy, bool)> {
    if let Some(p) = db::policies::policy(conn, team_id).await? {
        return Ok((p, true));
    }
    let version = match rotation_id {
        Some(r) => db::rotations::latest_version(conn, r).await?,
        None => db::rotations::for_team(conn, team_id)
            .await?
            .into_iter()
            .next()
            .map(|(_, v)| v),
    };
    let (primary, secondary) = version.map_or((5, 30), |v| (v.primary_sla_minutes, v.secondary_sla_minutes));
    Ok((Policy::from_slas(primary, secondary), false))
}

/// Sets the team's policy; nothing is stored when it is refused.
pub async fn set_policy(
    conn: &mut PgConnection,
    team_id: i64,
    actor_id: i64,
    policy: &Policy,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if let Some(problem) = policy.problem() {
        return Err(AppError::Unprocessable(problem));
    }
    let before = db::policies::policy(conn, team_id).await?;
    db::policies::set_policy(conn, team_id, policy, now).await?;
    db::audit::record(
        conn,
        team_id,
        Some(actor_id),
        now,
        "team.escalation",
        before.map(|b| json!(b)),
        Some(json!(policy)),
    )
    .await?;
    Ok(())
}

/// What one run of due steps reads once: in an alert storm the same
/// teams, rotations and people recur across hundreds of pages, and they
/// stand still within the run (one transaction, one `now`).
#[derive(Default)]
struct Seen {
    policies: HashMap<(i64, Option<i64>), Policy>,
    managers: HashMap<i64, Vec<i64>>,
    holders: HashMap<(i64, &'static str), Option<i64>>,
    away: HashMap<i64, Option<String>>,
    rules: HashMap<i64, Vec<(i64, i32)>>,
}

impl Seen {
    async fn policy(&mut self, conn: &mut PgConnection, team_id: i64, rotation_id: Option<i64>) -> AppResult<Policy> {
        if let Some(p) = self.policies.get(&(team_id, rotation_id)) {
            return Ok(p.clone());
        }
        let p = policy_for(conn, team_id, rotation_id).await?.0;
        self.policies.insert((team_id, rotation_id), p.clone());
        Ok(p)
    }

    async fn managers(&mut self, conn: &mut PgConnection, team_id: i64) -> AppResult<Vec<i64>> {
        if let Some(m) = self.managers.get(&team_id) {
            return Ok(m.clone());
        }
        let m = db::paging::managers(conn, team_id).await?;
        self.managers.insert(team_id, m.clone());
        Ok(m)
    }

    async fn holder(
        &mut self,
        conn: &mut PgConnection,
        rotation_id: i64,
        role: &'static str,
        now: DateTime<Utc>,
    ) -> AppResult<Option<i64>> {
        if let Some(h) = self.holders.get(&(rotation_id, role)) {
            return Ok(*h);
        }
        let h = db::paging::holder(conn, rotation_id, role, now).await?;
        self.holders.insert((rotation_id, role), h);
        Ok(h)
    }

    async fn away(&mut self, conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> AppResult<Option<String>> {
        if let Some(a) = self.away.get(&user_id) {
            return Ok(a.clone());
        }
        let a = db::paging::away(conn, user_id, now).await?;
        self.away.insert(user_id, a.clone());
        Ok(a)
    }

    async fn rules(&mut self, conn: &mut PgConnection, user_id: i64) -> AppResult<Vec<(i64, i32)>> {
        if let Some(r) = self.rules.get(&user_id) {
            return Ok(r.clone());
        }
        let r = db::paging::rules_of(conn, user_id).await?;
        self.rules.insert(user_id, r.clone());
        Ok(r)
    }
}

/// Runs the escalation steps due at `now` (in the caller's transaction):
/// how many it took.
pub async fn escalate_due(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let due = db::paging::claim_due_steps(conn, now, STEP_BATCH).await?;
    let mut seen = Seen::default();
    // The moves and messages of every step, written together at the end.
    let (mut moves, mut queued) = (Vec::new(), Vec::new());
    let ends = |page_id, next, reason| Advance {
        page_id,
        next,
        due: None,
        reason: Some(reason),
    };
    for d in &due {
        if d.settled {
            moves.push(ends(d.page_id, d.next_step, "settled"));
            continue;
        }
        let policy = match d.only_user_id {
            // A drill to oneself: that person at once, and nobody after.
            Some(_) => Policy::only_now(),
            None => seen.policy(conn, d.team_id, d.rotation_id).await?,
        };
        let mut n = d.next_step;
        // The team's channel hears of the page once, when it starts
        // escalating: who is paged first (or that nobody could be). Not of
        // a drill someone sends themself: it pages nobody else.
        let mut announce = d.next_step == 0 && d.only_user_id.is_none() && d.has_channel;
        loop {
            let Some((step, _)) = policy.step(n, d.started_at) else {
                moves.push(ends(d.page_id, n, "nobody acknowledged"));
                break;
            };
            let reached = page_step(conn, &mut seen, &mut queued, d, (n, step), now).await?;
            let paged = reached.len();
            if announce && paged > 0 {
                chat::announce(conn, d.page_id, n, step.target, &reached, now).await?;
                announce = false;
            }
            n += 1;
            match policy.step(n, d.started_at) {
                None => {
                    moves.push(ends(d.page_id, n, "nobody acknowledged"));
                    break;
                }
                // Everyone at this step was skipped: the next step now.
                Some(_) if paged == 0 => {}
                Some((_, at)) => {
                    moves.push(Advance {
                        page_id: d.page_id,
                        next: n,
                        due: Some(at.max(now)),
                        reason: None,
                    });
                    break;
                }
            }
        }
        if announce {
            chat::announce(conn, d.page_id, d.next_step, Target::Primary, &[], now).await?;
        }
    }
    db::paging::queue(conn, &queued, now).await?;
    db::paging::advance(conn, &moves, now).await?;
    Ok(due.len())
}

/// Pages whoever step `n` names at `now` (adds their messages to
/// `queued`); the people it reached (others are skipped, and the skip is
/// on the timeline).
async fn page_step(
    conn: &mut PgConnection,
    seen: &mut Seen,
    queued: &mut Vec<Queued>,
    d: &DueStep,
    (n, step): (i32, Step),
    now: DateTime<Utc>,
) -> AppResult<Vec<i64>> {
    let people = match (step.target, d.rotation_id) {
        _ if d.only_user_id.is_some() => d.only_user_id.into_iter().collect(),
        (Target::Managers, _) => seen.managers(conn, d.team_id).await?,
        (role, Some(rotation)) => seen
            .holder(conn, rotation, role.as_str(), now)
            .await?
            .into_iter()
            .collect(),
        (_, None) => Vec::new(),
    };
    // Who the step is for, as the timeline says it.
    let who = match d.only_user_id {
        Some(_) => "the person testing",
        None => step.target.as_str(),
    };
    if people.is_empty() {
        let detail = format!("Nobody is {who} now; skipped to the next step");
        db::paging::event(conn, d.page_id, now, None, Some(n), None, "skipped", &detail).await?;
        return Ok(Vec::new());
    }
    let mut reached = Vec::new();
    for person in people {
        // Someone testing themself asked to be paged now, leave or not.
        let away = match d.only_user_id {
            Some(_) => None,
            None => seen.away(conn, person, now).await?,
        };
        if let Some(why) = away {
            let detail = format!("{who} {why}; skipped to the next step");
            db::paging::skip(conn, d.page_id, n, person, now, &detail).await?;
            continue;
        }
        let rules = seen.rules(conn, person).await?;
        if rules.is_empty() {
            let detail = format!("{who} has no confirmed contact method and cannot be paged");
            db::paging::skip(conn, d.page_id, n, person, now, &detail).await?;
            continue;
        }
        queued.extend(rules.iter().map(|&(method, after)| Queued {
            page_id: d.page_id,
            step: n,
            user_id: person,
            contact_method_id: method,
            after_minutes: after,
        }));
        reached.push(person);
    }
    Ok(reached)
}

/// The message a claimed page message carries.
pub fn page_message(pager: &Pager, m: &Claimed, key: &[u8], now: DateTime<Utc>) -> Message {
    let token = AckLink::new(m.page_id, m.user_id, now).sign(key);
    // A drill says so first, in every method's words.
    let (mark, text, said) = match m.drill {
        true => (drills::MARK, drills::TEXT, drills::SPOKEN),
        false => ("", "", ""),
    };
    Message {
        event: "page",
        title: format!("{mark}{}: {}", m.team_name, m.summary),
        body: format!(
            "{text}{} fired at {} UTC for {}. Acknowledge to stop the escalation.",
            m.summary,
            m.fired_at.format("%Y-%m-%d %H:%M"),
            m.team_name
        ),
        priority: 5,
        click: Some(pager.ack_url(&token)),
        page: Some(json!({
            "id": m.page_id,
            "team": m.team_name,
            "summary": m.summary,
            "fired_at": m.fired_at,
            "link": m.link,
            "drill": m.drill,
        })),
        drill: m.drill,
        ack_token: Some(token),
        idempotency_key: Some(format!("rota-page-message-{}", m.id)),
        spoken: format!(
            "{said}This is Rota, paging you for {}. {}. It fired at {} UTC.",
            m.team_name,
            m.summary.trim_end_matches('.'),
            m.fired_at.format("%H:%M")
        ),
        callbacks: Some(Callbacks {
            gather: HookToken::new(Hook::Gather, m.id, now).sign(key),
            status: HookToken::new(Hook::Status, m.id, now).sign(key),
        }),
    }
}

/// Where a claimed message goes.
pub fn recipient(m: &Claimed) -> Option<To<'_>> {
    Some(To {
        kind: crate::domain::paging::MethodKind::parse(&m.kind)?,
        target: &m.target,
        secret: m.secret.as_deref(),
        email: &m.email,
        name: &m.name,
    })
}

/// What a person does with a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
    Escalate,
}

/// Acknowledges, resolves or escalates the page for `user_id` (who may:
/// the handler checked). 409 once it is resolved.
pub async fn respond(
    conn: &mut PgConnection,
    page_id: i64,
    user_id: i64,
    action: Action,
    now: DateTime<Utc>,
) -> AppResult<PageState> {
    let page = db::paging::lock_page(conn, page_id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))?;
    if page.resolved_at.is_some() {
        return Err(AppError::Conflict("This page is already resolved".into()));
    }
    let (name, reason) = match action {
        Action::Acknowledge => ("page.acknowledge", "acknowledged"),
        Action::Resolve => ("page.resolve", "resolved"),
        Action::Escalate => ("page.escalate", ""),
    };
    match action {
        Action::Escalate => {
            if let Some(by) = &page.acknowledged_by_email {
                return Err(AppError::Conflict(format!(
                    "{by} has acknowledged this page; it escalates no further"
                )));
            }
            db::paging::escalate_now(conn, page_id, now).await?;
        }
        Action::Acknowledge | Action::Resolve => {
            let ack = action == Action::Acknowledge;
            db::paging::settle(conn, page_id, user_id, now, (ack, !ack)).await?;
            db::paging::end(conn, page_id, now, reason).await?;
            // The engagement starts at the acknowledgement: re-derive
            // (a drill grants nothing: there is nothing to re-derive).
            if let Some(p) = db::pages::by_id(conn, page_id).await?
                && !p.drill
                && let Some(responder) = p.responder_id
            {
                let (engaged_from, engaged_until) = p.engagement();
                let due = Due {
                    user_id: responder,
                    team_id: p.team_id,
                    fired_at: p.fired_at,
                    engaged_from,
                    engaged_until,
                };
                db::recovery_dirty::mark(conn, &[due]).await?;
            }
        }
    }
    db::audit::record(
        conn,
        page.team_id,
        Some(user_id),
        now,
        name,
        None,
        Some(json!({"page": page_id})),
    )
    .await?;
    db::paging::lock_page(conn, page_id)
        .await?
        .ok_or_else(|| AppError::not_found("page"))
}

/// Whether `user_id` may act on the page: a member of its team, an
/// admin, or someone it paged.
pub async fn may_respond(conn: &mut PgConnection, page: &PageState, user_id: i64, is_admin: bool) -> AppResult<bool> {
    Ok(is_admin
        || db::teams::role_of(conn, page.team_id, user_id).await?.is_some()
        || db::paging::was_paged(conn, page.id, user_id).await?)
}
