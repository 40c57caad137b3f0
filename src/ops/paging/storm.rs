//! Storms (the rules are `domain::storm`): claiming what is due one
//! contact method at a time — held by one process while it decides, so
//! two processes never both text a person — as single messages and
//! bundles; a bundle's message; and acknowledging every page of a bundle.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::db;
use crate::db::paging::Claimed;
use crate::domain::paging::MethodKind;
use crate::domain::storm::{self, BundleLink, LISTED};
use crate::domain::twilio::{Hook, HookToken};
use crate::error::{AppError, AppResult};
use crate::ops::paging::send::{Callbacks, Message};
use crate::ops::paging::{Action, Pager, drills, respond};

/// One message to send: a page's own (no bundle, one message), or one
/// bundling several.
#[derive(Debug)]
pub struct Send {
    pub bundle: Option<i64>,
    /// Never empty.
    pub messages: Vec<Claimed>,
}

/// What one claim did.
#[derive(Debug, Default)]
pub struct Claim {
    pub sends: Vec<Send>,
    /// Messages made to wait for their method's next turn.
    pub held: u64,
}

/// Claims what is due at `now` for up to `methods` contact methods, under
/// a lease, in a transaction of its own (committed before anything is
/// sent): per method, the first few messages alone and the rest bundled,
/// or held until the method's next turn (`storm::plan`).
pub async fn claim(conn: &mut PgConnection, now: DateTime<Utc>, lease: Duration, methods: i64) -> AppResult<Claim> {
    let mut tx = conn.begin().await?;
    let locked = db::storm::lock_due_methods(&mut tx, now, methods).await?;
    if locked.is_empty() {
        return Ok(Claim::default());
    }
    db::storm::cancel_settled(&mut tx, &locked, now).await?;
    let loads = db::storm::loads(&mut tx, &locked, now, now - storm::WINDOW).await?;
    let (mut ids, mut takes, mut plans) = (Vec::new(), Vec::new(), Vec::new());
    let (mut waiting, mut until) = (Vec::new(), Vec::new());
    for l in loads.iter().filter(|l| l.due > 0) {
        let phone = matches!(MethodKind::parse(&l.kind), Some(MethodKind::Sms | MethodKind::Voice));
        let due = usize::try_from(l.due).unwrap_or(usize::MAX);
        let recent = usize::try_from(l.recent).unwrap_or(usize::MAX);
        let plan = storm::plan(phone, due, recent, l.last, now);
        ids.push(l.contact_method_id);
        takes.push(i64::try_from(plan.takes(due)).unwrap_or(i64::MAX));
        plans.push((l.contact_method_id, l.user_id, plan));
        if let Some(at) = plan.wait_until {
            waiting.push(l.contact_method_id);
            until.push(at);
        }
    }
    let claimed = db::paging::claim_messages(&mut tx, now, lease, &ids, &takes).await?;
    let held = db::storm::hold(&mut tx, &waiting, &until, now).await?;
    let mut sends = Vec::new();
    // (method, person, messages) of the bundles to open.
    let mut bundles: Vec<(i64, i64, Vec<Claimed>)> = Vec::new();
    let mut rest = claimed.into_iter().peekable();
    for (method, person, plan) in plans {
        let mut mine = Vec::new();
        while let Some(m) = rest.next_if(|m| m.contact_method_id == method) {
            mine.push(m);
        }
        // A message already in a bundle (a retry, or a claim whose sender
        // died) goes out only as that bundle again: the same pages, the
        // same idempotency key, and its link keeps acknowledging them.
        let (old, mut mine): (Vec<Claimed>, Vec<Claimed>) = mine.into_iter().partition(|m| m.bundle_id.is_some());
        let mut again: Vec<(i64, Vec<Claimed>)> = Vec::new();
        for m in old {
            let id = m.bundle_id.unwrap_or_default();
            match again.iter_mut().find(|(b, _)| *b == id) {
                Some((_, messages)) => messages.push(m),
                None => again.push((id, vec![m])),
            }
        }
        sends.extend(again.into_iter().map(|(id, messages)| Send {
            bundle: Some(id),
            messages,
        }));
        let alone = if mine.len() > plan.singles + 1 {
            plan.singles
        } else {
            mine.len()
        };
        let bundled = mine.split_off(alone);
        sends.extend(mine.into_iter().map(|m| Send {
            bundle: None,
            messages: vec![m],
        }));
        if !bundled.is_empty() {
            bundles.push((method, person, bundled));
        }
    }
    let people: Vec<i64> = bundles.iter().map(|b| b.1).collect();
    let methods: Vec<i64> = bundles.iter().map(|b| b.0).collect();
    let opened = db::storm::open_bundles(&mut tx, &people, &methods, now).await?;
    let (mut members, mut of) = (Vec::new(), Vec::new());
    for (method, _, messages) in bundles {
        let id = opened
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, id)| *id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no bundle was opened for method {method}")))?;
        members.extend(messages.iter().map(|m| m.id));
        of.extend(std::iter::repeat_n(id, messages.len()));
        sends.push(Send {
            bundle: Some(id),
            messages,
        });
    }
    db::storm::bundle(&mut tx, &members, &of).await?;
    tx.commit().await?;
    Ok(Claim { sends, held })
}

/// The one message that tells a person of the bundled pages, with an
/// "acknowledge all" link. `messages` is not empty.
pub fn bundle_message(pager: &Pager, id: i64, messages: &[Claimed], key: &[u8], now: DateTime<Utc>) -> Message {
    let first = &messages[0];
    let token = BundleLink::new(id, first.user_id, now).sign(key);
    let mut teams: Vec<String> = Vec::new();
    for m in messages {
        if !teams.contains(&m.team_name) {
            teams.push(m.team_name.clone());
        }
    }
    // All drills: it says so first, as a drill's own message does; some:
    // those lines say so.
    let drill = messages.iter().all(|m| m.drill);
    let (mark, text, said) = match drill {
        true => (drills::MARK, drills::TEXT, drills::SPOKEN),
        false => ("", "", ""),
    };
    let plain = storm::title(messages.len(), &teams);
    let title = format!("{mark}{plain}");
    let mut body = format!("{text}{title}:");
    for m in messages.iter().take(LISTED) {
        let (summary, team, fired) = (&m.summary, &m.team_name, m.fired_at.format("%H:%M"));
        let drill = if m.drill && !drill { "drill, " } else { "" };
        body.push_str(&format!("\n- {summary} ({drill}{team}, fired {fired} UTC)"));
    }
    if messages.len() > LISTED {
        body.push_str(&format!("\n- and {} more", messages.len() - LISTED));
    }
    body.push_str("\nAcknowledge all to stop their escalation.");
    let pages: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            json!({"id": m.page_id, "team": m.team_name, "summary": m.summary, "fired_at": m.fired_at,
                   "link": m.link, "drill": m.drill})
        })
        .collect();
    Message {
        event: "page_bundle",
        spoken: format!(
            "{said}This is Rota. {plain}. The first: {}. Pressing 1 acknowledges all of them.",
            first.summary.trim_end_matches('.')
        ),
        drill,
        title,
        body,
        priority: 5,
        click: Some(pager.ack_url(&token)),
        page: Some(json!({"bundle": {"id": id, "count": messages.len()}, "pages": pages})),
        ack_token: Some(token),
        idempotency_key: Some(format!("rota-page-bundle-{id}")),
        // Twilio's callbacks name the first message; they stand for the bundle.
        callbacks: Some(Callbacks {
            gather: HookToken::new(Hook::Gather, first.id, now).sign(key),
            status: HookToken::new(Hook::Status, first.id, now).sign(key),
        }),
    }
}

/// How acknowledging a bundle went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acknowledged {
    /// Pages acknowledged now.
    pub now: usize,
    /// Pages already acknowledged, resolved or removed.
    pub before: usize,
}

/// Acknowledges every page of the bundle that is still open, as
/// `user_id` (whom it told), each as a single acknowledgement is: its
/// `acknowledged_at` and `_by`, its audit line, the end of its escalation.
pub async fn acknowledge_bundle(
    conn: &mut PgConnection,
    bundle_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Acknowledged> {
    let pages = db::storm::pages(conn, bundle_id).await?;
    let mut done = Acknowledged::default();
    for p in pages {
        if p.acknowledged_at.is_some() || p.resolved_at.is_some() {
            done.before += 1;
            continue;
        }
        match respond(conn, p.page_id, user_id, Action::Acknowledge, now).await {
            Ok(_) => done.now += 1,
            // Resolved or removed meanwhile.
            Err(AppError::Conflict(_) | AppError::NotFound(_)) => done.before += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
