//! A team's out-of-hours policy: its sleep hours and the weekend and
//! holiday threshold that earn a recovery day.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::db::{self, teams::Team};
use crate::domain::recovery::Policy;
use crate::error::AppResult;

/// The changes a manager asks for; `None` keeps a value.
#[derive(Debug, Default, Clone, Copy)]
pub struct PolicyChange<'a> {
    pub sleep_start: Option<&'a str>,
    pub sleep_end: Option<&'a str>,
    pub day_threshold_minutes: Option<i32>,
}

/// Changes the team's policy, checked, and audits it when something
/// changed; returns the policy as it now stands. Pages from now on follow
/// it; older ones when a page near them is recorded or corrected.
pub async fn change_policy(
    conn: &mut PgConnection,
    team: &Team,
    actor_id: i64,
    change: PolicyChange<'_>,
    now: DateTime<Utc>,
) -> AppResult<Policy> {
    let before = db::holidays::policy(conn, team.id).await?;
    let after = before.changed(change.sleep_start, change.sleep_end, change.day_threshold_minutes)?;
    if after != before {
        db::holidays::set_policy(conn, team.id, &after).await?;
        db::audit::record(
            conn,
            team.id,
            Some(actor_id),
            now,
            "policy.change",
            Some(as_json(&before)),
            Some(as_json(&after)),
        )
        .await?;
    }
    Ok(after)
}

fn as_json(p: &Policy) -> Value {
    json!({
        "sleep_start": p.sleep_start.format("%H:%M").to_string(),
        "sleep_end": p.sleep_end.format("%H:%M").to_string(),
        "day_threshold_minutes": p.day_threshold.num_minutes(),
    })
}
