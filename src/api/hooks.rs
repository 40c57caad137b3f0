//! Webhooks from alerting tools, each authenticated by a team's
//! integration token. Bodies are the tools' own (see shared samples).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::api::json::SignedJson;
use crate::auth::IntegrationCaller;
use crate::cache::Wrote;
use crate::db::pages::Report;
use crate::domain::alerts::{Alert, AlertmanagerBody, PagerDutyBody, from_alertmanager, from_pagerduty};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops::pages::{Derive, QUEUED_WRITES, known, only_rotation, record_many};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Ids of the pages the body created or updated, in its order.
    pub pages: Vec<i64>,
}

/// What Rota reads of an Alertmanager (webhook version 4) or Grafana body;
/// the tools send more, which is ignored. Documentation only: the body is
/// read as the domain's `AlertmanagerBody`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AlertmanagerWebhook {
    /// At most 500 in one body.
    #[schema(max_items = 500)]
    alerts: Vec<AlertmanagerWebhookAlert>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AlertmanagerWebhookAlert {
    /// `firing` or `resolved`.
    status: String,
    /// `alertname` names the page when there is no `summary` annotation;
    /// `severity` is kept.
    #[schema(value_type = Object, required = false)]
    labels: serde_json::Value,
    /// `summary` and `runbook_url` are read.
    #[schema(value_type = Object, required = false)]
    annotations: serde_json::Value,
    #[schema(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[schema(rename = "endsAt")]
    ends_at: Option<DateTime<Utc>>,
    #[schema(rename = "generatorURL")]
    generator_url: Option<String>,
    /// The same fingerprint firing again after resolving is a new page.
    fingerprint: String,
}

/// What Rota reads of a PagerDuty V3 webhook. Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PagerDutyWebhook {
    event: PagerDutyWebhookEvent,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PagerDutyWebhookEvent {
    /// `incident.triggered`, `incident.acknowledged` and `incident.resolved`
    /// are recorded; other types are accepted and ignored.
    event_type: String,
    occurred_at: DateTime<Utc>,
    data: Option<PagerDutyWebhookIncident>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PagerDutyWebhookIncident {
    id: Option<String>,
    title: Option<String>,
    html_url: Option<String>,
    created_at: Option<DateTime<Utc>>,
    urgency: Option<String>,
}

async fn record_all(
    state: &AppState,
    caller: &IntegrationCaller,
    source: &str,
    alerts: Vec<Alert>,
) -> AppResult<(Wrote, Json<Received>)> {
    // Before the transaction: a cache miss takes a connection of its own.
    let rotation_id = match caller.integration.rotation_id {
        Some(r) => Some(r),
        None => only_rotation(&caller.team.name, &state.rotations_of(caller.team.id).await?)?,
    };
    let now = state.clock.now();
    let reports: Vec<Report> = alerts
        .into_iter()
        .map(|a| Report {
            team_id: caller.team.id,
            rotation_id,
            source: source.into(),
            dedup_key: a.dedup_key,
            summary: a.summary,
            link: a.link,
            severity: a.severity,
            fired_at: a.fired_at,
            acknowledged_at: a.acknowledged_at,
            resolved_at: a.resolved_at,
            worked_until: None,
            page: true,
        })
        .collect();
    // A tool resending what is known (Alertmanager repeats firing alerts)
    // is answered from one read: no transaction, no row lock, no commit.
    if let Some(pages) = known(&state.db, &state.caches, &reports, now).await? {
        return Ok((Wrote(&[]), Json(Received { pages })));
    }
    let mut tx = state.db.begin().await?;
    // Repeats of pages someone deleted are accepted and left out.
    let pages = record_many(&mut tx, reports, None, Derive::Queued, now)
        .await?
        .into_iter()
        .flatten()
        .collect();
    tx.commit().await?;
    Ok((Wrote(QUEUED_WRITES), Json(Received { pages })))
}

#[utoipa::path(
    post,
    path = "/hooks/alertmanager",
    tag = "pages",
    security(("bearer" = [])),
    request_body(content = AlertmanagerWebhook, description = "Alertmanager webhook, version 4"),
    responses(
        (status = 200, description = "Every alert recorded, each by its fingerprint", body = Received),
        (status = 400, description = "Not JSON, or not UTF-8", body = ErrorBody),
        (status = 401, description = "No valid integration token", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "Not an Alertmanager body", body = ErrorBody),
    )
)]
pub async fn alertmanager(
    State(state): State<AppState>,
    caller: IntegrationCaller,
    body: SignedJson<AlertmanagerBody>,
) -> AppResult<(Wrote, Json<Received>)> {
    record_all(&state, &caller, "alertmanager", from_alertmanager(body.value)).await
}

#[utoipa::path(
    post,
    path = "/hooks/grafana",
    tag = "pages",
    security(("bearer" = [])),
    request_body(content = AlertmanagerWebhook, description = "Grafana alerting webhook contact point"),
    responses(
        (status = 200, description = "Every alert recorded", body = Received),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No valid integration token", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not a Grafana body", body = ErrorBody),
    )
)]
pub async fn grafana(
    State(state): State<AppState>,
    caller: IntegrationCaller,
    body: SignedJson<AlertmanagerBody>,
) -> AppResult<(Wrote, Json<Received>)> {
    record_all(&state, &caller, "grafana", from_alertmanager(body.value)).await
}

#[utoipa::path(
    post,
    path = "/hooks/pagerduty",
    tag = "pages",
    security(("bearer" = [])),
    request_body(content = PagerDutyWebhook, description = "PagerDuty V3 webhook; signed when the integration has a secret"),
    responses(
        (status = 200, description = "The incident recorded (other event types are accepted and ignored)", body = Received),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No valid integration token, or a bad signature", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not a PagerDuty V3 body", body = ErrorBody),
    )
)]
pub async fn pagerduty(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: IntegrationCaller,
    body: SignedJson<PagerDutyBody>,
) -> AppResult<(StatusCode, (Wrote, Json<Received>))> {
    if let Some(secret) = &caller.integration.signing_secret {
        let Some(sent) = headers.get("x-pagerduty-signature").and_then(|v| v.to_str().ok()) else {
            return Err(AppError::UnauthorizedBecause(
                "This integration has a signing secret, and the body came without an X-PagerDuty-Signature header; \
                 send it signed, or remove the secret from the integration"
                    .into(),
            ));
        };
        if !signature_matches(secret, &body.bytes, sent) {
            return Err(AppError::UnauthorizedBecause(
                "The X-PagerDuty-Signature does not match the body and this integration's signing secret".into(),
            ));
        }
    }
    let alerts: Vec<Alert> = from_pagerduty(body.value).into_iter().collect();
    let received = record_all(&state, &caller, "pagerduty", alerts).await?;
    Ok((StatusCode::OK, received))
}

/// PagerDuty sends `v1=<hex HMAC-SHA256 of the body>`, possibly several,
/// comma-separated, while a secret is being rotated.
fn signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    header
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("v1="))
        .any(|hex_sig| {
            let Ok(sig) = hex::decode(hex_sig) else { return false };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_signatures_are_checked_against_the_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{}");
        let good = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_matches("s3cret", b"{}", &good));
        assert!(signature_matches("s3cret", b"{}", &format!("v1=00ff, {good}")));
        assert!(!signature_matches("s3cret", b"{ }", &good));
        assert!(!signature_matches("other", b"{}", &good));
        assert!(!signature_matches("s3cret", b"{}", ""));
    }
}
