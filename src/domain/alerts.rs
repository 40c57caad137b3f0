//! What the alerting tools' webhook bodies say, in one shape.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// One alert's state as a tool reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub dedup_key: String,
    pub summary: String,
    pub link: Option<String>,
    pub severity: Option<String>,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Prometheus Alertmanager (webhook version 4) and Grafana's contact point,
/// which sends the same shape with extra fields.
#[derive(Debug, Deserialize)]
pub struct AlertmanagerBody {
    pub alerts: Vec<AlertmanagerAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    pub status: String,
    #[serde(default)]
    pub labels: serde_json::Map<String, Value>,
    #[serde(default)]
    pub annotations: serde_json::Map<String, Value>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
    pub fingerprint: String,
}

fn text(map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

/// Each alert by its own status and fingerprint. A fingerprint that fires
/// again after resolving is a new page, so its firing instant is part of
/// the key.
pub fn from_alertmanager(body: AlertmanagerBody) -> Vec<Alert> {
    body.alerts
        .into_iter()
        .map(|a| Alert {
            dedup_key: format!("{}@{}", a.fingerprint, a.starts_at.timestamp()),
            summary: text(&a.annotations, "summary")
                .or_else(|| text(&a.labels, "alertname"))
                .unwrap_or_else(|| "Alert".into()),
            link: a
                .generator_url
                .filter(|u| !u.is_empty())
                .or_else(|| text(&a.annotations, "runbook_url")),
            severity: text(&a.labels, "severity"),
            fired_at: a.starts_at,
            acknowledged_at: None,
            resolved_at: (a.status == "resolved")
                .then_some(a.ends_at)
                .flatten()
                .filter(|e| *e >= a.starts_at),
        })
        .collect()
}

/// A PagerDuty V3 webhook: one event per request.
#[derive(Debug, Deserialize)]
pub struct PagerDutyBody {
    pub event: PagerDutyEvent,
}

#[derive(Debug, Deserialize)]
pub struct PagerDutyEvent {
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub data: Option<PagerDutyIncident>,
}

#[derive(Debug, Deserialize)]
pub struct PagerDutyIncident {
    /// Absent in events about other things (a `pagey.ping`, say).
    pub id: Option<String>,
    pub title: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub urgency: Option<String>,
}

/// The incident's state after this event; `None` for events about
/// something other than triggering, acknowledging or resolving.
pub fn from_pagerduty(body: PagerDutyBody) -> Option<Alert> {
    let e = body.event;
    let at = e.occurred_at;
    let data = e.data?;
    let id = data.id?;
    let (acknowledged_at, resolved_at) = match e.event_type.as_str() {
        "incident.triggered" => (None, None),
        "incident.acknowledged" => (Some(at), None),
        "incident.resolved" => (None, Some(at)),
        _ => return None,
    };
    let fired_at = data.created_at.unwrap_or(at).min(at);
    Some(Alert {
        dedup_key: id,
        summary: data.title.unwrap_or_else(|| "PagerDuty incident".into()),
        link: data.html_url,
        severity: data.urgency,
        fired_at,
        acknowledged_at,
        resolved_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/tests/fixtures/samples/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn alertmanager_firing_and_resolved_are_one_alert() {
        let firing = from_alertmanager(sample("alertmanager-firing.json"));
        let resolved = from_alertmanager(sample("alertmanager-resolved.json"));
        assert_eq!(firing[0].dedup_key, resolved[0].dedup_key);
        assert_eq!(firing[0].resolved_at, None);
        assert_eq!(
            resolved[0].resolved_at.unwrap().to_rfc3339(),
            "2026-03-03T04:52:00+00:00"
        );
        assert_eq!(firing[0].summary, "Checkout p99 latency above 2s for 10 minutes");
        assert_eq!(firing[0].severity.as_deref(), Some("page"));
    }

    #[test]
    fn grafana_bodies_read_like_alertmanager() {
        let alerts = from_alertmanager(sample("grafana-firing.json"));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].fired_at.to_rfc3339(), "2026-03-07T14:20:00+00:00");
    }

    #[test]
    fn pagerduty_events_carry_the_incident_forward() {
        let t = from_pagerduty(sample("pagerduty-triggered.json")).unwrap();
        let a = from_pagerduty(sample("pagerduty-acknowledged.json")).unwrap();
        let r = from_pagerduty(sample("pagerduty-resolved.json")).unwrap();
        assert_eq!(t.dedup_key, a.dedup_key);
        assert_eq!(a.dedup_key, r.dedup_key);
        assert_eq!(a.acknowledged_at.unwrap() - t.fired_at, chrono::Duration::seconds(145));
        assert!(r.resolved_at.is_some());
    }
}
