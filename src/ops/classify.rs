//! A page as both faces show it: its SLA and out-of-hours class, worked
//! out in the responder's zone (or the team's) with the team's policy.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::db;
use crate::db::pages::Page;
use crate::db::teams::Team;
use crate::domain::recovery::{OutOfHours, Policy, Sla, classify_engagement, has_ack_data, page_zone, sla};
use crate::error::AppResult;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PageInfo {
    pub id: i64,
    pub source: String,
    pub dedup_key: String,
    pub summary: String,
    pub link: Option<String>,
    pub severity: Option<String>,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worked_until: Option<DateTime<Utc>>,
    pub responder_email: Option<String>,
    /// The responder's role when it fired: `primary`, `secondary`, or null.
    pub role: Option<String>,
    /// `met`, `missed` or `unacknowledged`, against the role's SLA.
    #[schema(value_type = String)]
    pub sla: Sla,
    /// False for a page nobody could have acknowledged: from a tool that
    /// never reports acknowledgements (Alertmanager, Grafana), not paged by
    /// Rota, and not acknowledged. The metrics leave it out of the SLA.
    pub acknowledgement_data: bool,
    /// `sleep`, `weekend`, `holiday` or `working`, in the responder's zone.
    #[schema(value_type = String)]
    pub out_of_hours: OutOfHours,
    /// Minutes from acknowledgement (or firing) to the end of the work.
    pub engaged_minutes: i64,
    /// A drill ("Send a test page"): paged like any page, counted nowhere
    /// (no metric, no recovery day).
    pub drill: bool,
}

/// What classifying a team's pages needs, fetched once per request.
pub struct Classifier {
    team_tz: Tz,
    policy: Policy,
    holidays: BTreeSet<NaiveDate>,
}

impl Classifier {
    pub async fn for_team(conn: &mut sqlx::PgConnection, team: &Team) -> AppResult<Self> {
        let (policy, holidays) = db::holidays::rules(conn, team.id).await?;
        Ok(Classifier {
            team_tz: team.tz(),
            policy,
            holidays,
        })
    }

    /// From rules already read (`db::holidays::rules`).
    pub fn with_rules(team: &Team, (policy, holidays): (Policy, BTreeSet<NaiveDate>)) -> Self {
        Classifier {
            team_tz: team.tz(),
            policy,
            holidays,
        }
    }

    pub fn info(&self, p: &Page) -> PageInfo {
        let tz = page_zone(p.responder_timezone.as_deref(), self.team_tz);
        let (start, end) = p.engagement();
        PageInfo {
            id: p.id,
            source: p.source.clone(),
            dedup_key: p.dedup_key.clone(),
            summary: p.summary.clone(),
            link: p.link.clone(),
            severity: p.severity.clone(),
            fired_at: p.fired_at,
            acknowledged_at: p.acknowledged_at,
            resolved_at: p.resolved_at,
            worked_until: p.worked_until,
            responder_email: p.responder_email.clone(),
            role: p.responder_role.map(|r| r.as_str().to_owned()),
            sla: sla(p.fired_at, p.acknowledged_at, p.sla_minutes),
            acknowledgement_data: has_ack_data(&p.source, p.acknowledged_at.is_some(), p.paged),
            out_of_hours: classify_engagement(start, end, tz, &self.policy, &self.holidays),
            engaged_minutes: (end - start).num_minutes(),
            drill: p.drill,
        }
    }
}
