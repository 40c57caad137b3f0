//! The JSON API, nested at `/api/v1`: every route is listed here, and the
//! OpenAPI document is generated from the handlers' own types.

pub mod chat;
pub mod contact;
pub mod directory;
pub mod drills;
pub mod escalation;
pub mod handoff_webhook;
pub mod handoffs;
pub mod hooks;
pub mod invitations;
pub mod json;
pub mod me;
pub mod metrics;
pub mod pages;
pub mod recovery;
pub mod responses;
pub mod rotations;
pub mod schedule;
pub mod swaps;
pub mod teams;
pub mod twilio;
pub mod users;

use axum::extract::State;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::responses::CommonResponses;
use crate::state::AppState;

/// Where [`router`] is mounted; the document's paths include it.
pub const PREFIX: &str = "/api/v1";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/me", get(me::show_me))
        .route("/oncall", get(directory::show_directory))
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/{email}/deactivate", post(users::deactivate_user))
        .route("/users/{email}/reactivate", post(users::reactivate_user))
        .route(
            "/invitations",
            get(invitations::list_invitations).post(invitations::create_invitation),
        )
        .route("/invitations/{id}", delete(invitations::revoke_invitation))
        .route("/teams", get(teams::list_teams).post(teams::create_team))
        .route("/teams/{team}", get(teams::show_team))
        .route(
            "/teams/{team}/members/{email}",
            put(teams::set_member).delete(teams::remove_member),
        )
        .route(
            "/teams/{team}/rotations",
            get(rotations::list_rotations).post(rotations::create_rotation),
        )
        .route(
            "/teams/{team}/rotations/{rotation}",
            get(rotations::show_rotation).patch(rotations::update_rotation),
        )
        .route("/teams/{team}/oncall", get(schedule::show_oncall))
        .route("/teams/{team}/shifts", get(schedule::list_shifts))
        .route("/hooks/alertmanager", post(hooks::alertmanager))
        .route("/hooks/grafana", post(hooks::grafana))
        .route("/hooks/pagerduty", post(hooks::pagerduty))
        .route("/hooks/twilio/gather/{token}", post(twilio::gather_digits))
        .route("/hooks/twilio/sms", post(twilio::incoming_sms))
        .route("/hooks/twilio/status/{token}", post(twilio::delivery_status))
        .route("/teams/{team}/pages", get(pages::list_pages).post(pages::create_page))
        .route("/pages/{id}", patch(pages::correct_page).delete(pages::delete_page))
        .route("/pages/{id}/acknowledge", post(escalation::acknowledge_page))
        .route("/pages/{id}/resolve", post(escalation::resolve_page))
        .route("/pages/{id}/escalate", post(escalation::escalate_page))
        .route("/pages/{id}/notifications", get(escalation::list_notifications))
        .route(
            "/teams/{team}/chat",
            get(chat::show_chat).put(chat::put_chat).delete(chat::delete_chat),
        )
        .route(
            "/teams/{team}/escalation",
            get(escalation::show_escalation).put(escalation::put_escalation),
        )
        .route(
            "/me/contact-methods",
            get(contact::list_contact_methods).post(contact::add_contact_method),
        )
        .route("/me/contact-methods/{id}", delete(contact::delete_contact_method))
        .route("/me/contact-methods/{id}/verify", post(contact::verify_contact_method))
        .route(
            "/me/notification-rules",
            get(contact::list_rules).put(contact::put_rules),
        )
        .route("/teams/{team}/recovery-days", get(recovery::list_recovery_days))
        .route("/recovery-days/{id}", patch(recovery::choose_recovery))
        .route("/teams/{team}/swaps", get(swaps::list_swaps).post(swaps::create_swap))
        .route("/swaps/{id}", get(swaps::show_swap))
        .route("/swaps/{id}/{action}", post(swaps::decide_swap))
        .route("/teams/{team}/overrides", post(swaps::create_override))
        .route("/teams/{team}/audit", get(swaps::list_audit))
        .route("/me/leave", get(swaps::list_leave))
        .route(
            "/me/leave/{start_date}",
            put(swaps::put_leave).delete(swaps::delete_leave),
        )
        .route("/me/notifications", get(swaps::list_notifications))
        .route("/me/notifications/read", post(swaps::read_notifications))
        .route(
            "/teams/{team}/holidays/{date}",
            put(recovery::put_holiday).delete(recovery::delete_holiday),
        )
        .route("/teams/{team}/holidays/import", post(recovery::import_holidays))
        .route("/teams/{team}/policy", patch(recovery::update_policy))
        .route("/teams/{team}/integration-tokens", post(recovery::create_integration))
        .route("/teams/{team}/metrics", get(metrics::show_metrics))
        .route("/teams/{team}/metrics/pay", get(metrics::show_pay_report))
        .route("/teams/{team}/rebalance", post(metrics::create_rebalance))
        .route(
            "/teams/{team}/integration-tokens/{id}",
            delete(recovery::revoke_integration),
        )
        .route("/teams/{team}/handoffs", get(handoffs::list_handoffs))
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}",
            get(handoffs::show_handoff).put(handoffs::put_handoff),
        )
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}/acknowledge",
            post(handoffs::acknowledge_handoff),
        )
        .route(
            "/teams/{team}/rotations/{rotation}/handoffs/{date}/versions/{number}",
            get(handoffs::show_version),
        )
        .route(
            "/teams/{team}/handoff-webhook",
            get(handoff_webhook::show_handoff_webhook).put(handoff_webhook::put_handoff_webhook),
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rota",
        description = "On-call rotas. Authenticate with `Authorization: Bearer <token>`; \
            errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        me::show_me,
        users::create_user,
        users::list_users,
        users::deactivate_user,
        users::reactivate_user,
        invitations::create_invitation,
        invitations::list_invitations,
        invitations::revoke_invitation,
        teams::create_team,
        teams::list_teams,
        teams::show_team,
        teams::set_member,
        teams::remove_member,
        rotations::list_rotations,
        rotations::create_rotation,
        rotations::show_rotation,
        rotations::update_rotation,
        schedule::show_oncall,
        directory::show_directory,
        schedule::list_shifts,
        hooks::alertmanager,
        hooks::grafana,
        hooks::pagerduty,
        pages::create_page,
        pages::list_pages,
        pages::correct_page,
        pages::delete_page,
        recovery::list_recovery_days,
        recovery::choose_recovery,
        recovery::put_holiday,
        recovery::delete_holiday,
        recovery::import_holidays,
        recovery::update_policy,
        recovery::create_integration,
        recovery::revoke_integration,
        swaps::create_swap,
        swaps::list_swaps,
        swaps::show_swap,
        swaps::decide_swap,
        swaps::create_override,
        swaps::put_leave,
        swaps::delete_leave,
        swaps::list_leave,
        swaps::list_audit,
        swaps::list_notifications,
        swaps::read_notifications,
        metrics::show_metrics,
        metrics::show_pay_report,
        metrics::create_rebalance,
        handoffs::list_handoffs,
        handoffs::show_handoff,
        handoffs::put_handoff,
        handoffs::acknowledge_handoff,
        handoffs::show_version,
        handoff_webhook::show_handoff_webhook,
        handoff_webhook::put_handoff_webhook,
        contact::list_contact_methods,
        contact::add_contact_method,
        contact::verify_contact_method,
        contact::delete_contact_method,
        contact::list_rules,
        contact::put_rules,
        escalation::show_escalation,
        escalation::put_escalation,
        escalation::acknowledge_page,
        escalation::resolve_page,
        escalation::escalate_page,
        escalation::list_notifications,
        chat::show_chat,
        chat::put_chat,
        chat::delete_chat,
    ),
    components(schemas(crate::error::ErrorBody, swaps::SwapState, swaps::SwapAction)),
    modifiers(&BearerAuth, &TokenAnswers, &Prefixed, &CommonResponses),
    tags(
        (name = "me", description = "The caller"),
        (name = "users", description = "Accounts (admins) and invitations (admins and managers)"),
        (name = "teams", description = "Teams and their members"),
        (name = "rotations", description = "Rotation settings"),
        (name = "schedule", description = "Who is on call, and shifts"),
        (name = "pages", description = "Pages from alerting tools or by hand"),
        (name = "recovery", description = "Recovery days, holidays and the out-of-hours policy"),
        (name = "swaps", description = "Swaps, covers, overrides, leave, the audit log and notifications"),
        (name = "metrics", description = "HumanOps metrics: load, sleep, SLA, fairness, recovery, pay"),
        (name = "handoffs", description = "Weekly handoffs: written by the outgoing on-call, acknowledged by the incoming"),
        (name = "paging", description = "Paging the on-call: contact methods, notification rules, escalation, acknowledging"),
    )
)]
pub struct ApiDoc;

/// Registers the `bearer` scheme the operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token (`rota token create` or the profile page)"))
                    .build(),
            ),
        );
    }
}

/// What any operation that takes a token may answer besides its own
/// answers: 401 for a missing, unknown or expired token, 429 when the token
/// is over its rate (with `Retry-After`), and, for writes, 403 to a
/// read-only token. Added here once rather than on every handler.
struct TokenAnswers;

impl Modify for TokenAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.head, false),
                (&mut item.options, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (operation, writes) in operations {
                let Some(op) = operation.as_mut() else { continue };
                if op.security.as_ref().is_none_or(Vec::is_empty) {
                    continue;
                }
                let answers = &mut op.responses.responses;
                answers
                    .entry("401".into())
                    .or_insert_with(|| RefOr::T(error_answer("No valid token: missing, unknown, revoked or expired")));
                answers.entry("429".into()).or_insert_with(|| {
                    RefOr::T(with_retry_after(error_answer(
                        "The token is over its rate; wait the seconds in Retry-After",
                    )))
                });
                if writes {
                    answers.entry("403".into()).or_insert_with(|| {
                        RefOr::T(error_answer(
                            "Not allowed; a read-only token is refused for every change",
                        ))
                    });
                }
            }
        }
    }
}

fn error_answer(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

fn with_retry_after(mut response: Response) -> Response {
    let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
    response.headers.insert(
        "Retry-After".into(),
        HeaderBuilder::new()
            .schema(seconds)
            .description(Some("Seconds to wait before the next request"))
            .build(),
    );
    response
}

/// Handlers are declared relative to the nested router; the document
/// gives the full paths clients call.
struct Prefixed;

impl Modify for Prefixed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = std::mem::take(&mut openapi.paths.paths);
        openapi.paths.paths = paths
            .into_iter()
            .map(|(path, item)| (format!("{PREFIX}{path}"), item))
            .collect();
    }
}

/// The document. Under a base path it names its server, the base URL, so
/// its paths resolve to `https://tools.example.com/rota/api/v1/…` and not
/// to the host's root.
async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    if !state.settings.base_path().is_empty() {
        doc.servers = Some(vec![utoipa::openapi::Server::new(state.settings.base_url.clone())]);
    }
    Json(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in the document names a schema it defines.
    #[test]
    fn document_is_self_contained() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let schemas = &doc["components"]["schemas"];
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(schemas.get(name).is_some(), "missing schema {name}");
        }
    }

    /// Token limits and read-only tokens are part of the contract.
    #[test]
    fn every_operation_with_a_token_documents_its_limits() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let me = &doc["paths"]["/api/v1/me"]["get"]["responses"];
        assert!(me["429"]["headers"]["Retry-After"].is_object(), "{me}");
        assert!(me["403"].is_null(), "a read needs no read-only answer");
        let create = &doc["paths"]["/api/v1/teams"]["post"]["responses"];
        assert!(create["403"].is_object() && create["429"].is_object() && create["401"].is_object());
    }

    #[test]
    fn document_lists_every_route() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for p in [
            "/api/v1/me",
            "/api/v1/users",
            "/api/v1/invitations",
            "/api/v1/invitations/{id}",
            "/api/v1/teams",
            "/api/v1/teams/{team}",
            "/api/v1/teams/{team}/members/{email}",
            "/api/v1/teams/{team}/rotations",
            "/api/v1/teams/{team}/rotations/{rotation}",
            "/api/v1/teams/{team}/oncall",
            "/api/v1/teams/{team}/shifts",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
    }
}
