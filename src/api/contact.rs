//! The caller's contact methods and notification rules.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::auth::ApiUser;
use crate::db;
use crate::db::contact_methods::{Method, Rule};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::ops::paging::methods::{self, NewContact, Verified};
use crate::ops::paging::send::NO_PHONE;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactMethod {
    pub id: i64,
    /// `email`, `ntfy`, `sms`, `voice` or `webhook`.
    pub kind: String,
    pub label: String,
    pub target: String,
    /// Confirmed with the code from its test message: only then is it used.
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Method> for ContactMethod {
    fn from(m: Method) -> Self {
        ContactMethod {
            id: m.id,
            kind: m.kind,
            label: m.label,
            target: m.target,
            verified: m.verified_at.is_some(),
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AddedMethod {
    #[serde(flatten)]
    pub method: ContactMethod,
    /// A webhook's signing secret (`X-Rota-Signature: sha256=<hex HMAC-SHA256
    /// of the body>`), shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// How the test message went: `sent`, `delivered`, `failed` or
    /// `not_sent` (SMS and voice calls when this Rota has no SMS provider).
    pub test_message: String,
    pub test_detail: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMethodBody {
    /// `email`, `ntfy`, `sms`, `voice` or `webhook`.
    #[schema(value_type = crate::domain::paging::MethodKind)]
    pub kind: String,
    /// One line; the kind when absent.
    #[schema(max_length = 100)]
    pub label: Option<String>,
    /// An e-mail address, an ntfy topic URL, an E.164 number or a URL (which
    /// of them the kind says).
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub target: String,
    /// An ntfy access token for a protected topic.
    #[schema(max_length = 200)]
    pub token: Option<String>,
}

#[utoipa::path(
    get,
    path = "/me/contact-methods",
    tag = "paging",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's contact methods, oldest first", body = [ContactMethod]))
)]
pub async fn list_contact_methods(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> AppResult<Json<Vec<ContactMethod>>> {
    let mut conn = state.db.acquire().await?;
    let list = db::contact_methods::for_user(&mut conn, user.id).await?;
    Ok(Json(list.into_iter().map(ContactMethod::from).collect()))
}

#[utoipa::path(
    post,
    path = "/me/contact-methods",
    tag = "paging",
    security(("bearer" = [])),
    request_body = NewMethodBody,
    responses(
        (status = 201, description = "Added; a test message with a confirmation code went out", body = AddedMethod),
        (status = 409, description = "The caller already has this method", body = ErrorBody),
        (status = 422, description = "An unknown kind, or a target that is not of its kind or that Rota does not send to", body = ErrorBody),
    )
)]
pub async fn add_contact_method(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<NewMethodBody>,
) -> AppResult<(StatusCode, Json<AddedMethod>)> {
    let new = NewContact {
        kind: &body.kind,
        label: body.label.as_deref(),
        target: &body.target,
        token: body.token.as_deref(),
    };
    state.admit_phone_test(user.id, &body.kind)?;
    let mut tx = state.db.begin().await?;
    let rules = (&state.settings.outgoing, state.mailer.is_some());
    let added = methods::add(&mut tx, user.id, &new, rules, state.clock.now()).await?;
    tx.commit().await?;
    let (test_message, test_detail) = match added.method.kind.as_str() {
        "sms" | "voice" if state.twilio.is_none() => (
            "not_sent".to_owned(),
            format!("{NO_PHONE}; this method stays unconfirmed until then"),
        ),
        _ => match methods::send_test(&state.pager(), &added, &user.email, &user.name).await {
            Ok((state, detail)) => (state.to_owned(), detail),
            Err(why) => ("failed".to_owned(), why),
        },
    };
    Ok((
        StatusCode::CREATED,
        Json(AddedMethod {
            secret: added.secret,
            method: added.method.into(),
            test_message,
            test_detail,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    /// The six digits from the test message.
    #[schema(pattern = "^\\s*[0-9]{6}\\s*$")]
    pub code: String,
}

#[utoipa::path(
    post,
    path = "/me/contact-methods/{id}/verify",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The method's id")),
    request_body = CodeBody,
    responses(
        (status = 200, description = "Confirmed", body = ContactMethod),
        (status = 404, description = "No such method of the caller's", body = ErrorBody),
        (status = 422, description = "A wrong or expired code", body = ErrorBody),
    )
)]
pub async fn verify_contact_method(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CodeBody>,
) -> AppResult<Json<ContactMethod>> {
    let mut tx = state.db.begin().await?;
    let outcome = methods::verify(&mut tx, user.id, id, &body.code, state.clock.now()).await?;
    // A wrong code is counted, so it is committed too.
    tx.commit().await?;
    match outcome {
        Verified::Yes(m) => Ok(Json(m.into())),
        Verified::Wrong(why) => Err(AppError::Unprocessable(why)),
    }
}

#[utoipa::path(
    delete,
    path = "/me/contact-methods/{id}",
    tag = "paging",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The method's id")),
    responses(
        (status = 204, description = "Removed, with its rules"),
        (status = 404, description = "No such method of the caller's", body = ErrorBody),
    )
)]
pub async fn delete_contact_method(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut conn = state.db.acquire().await?;
    if !db::contact_methods::delete(&mut conn, user.id, id).await? {
        return Err(AppError::not_found("contact method"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleBody {
    /// One of the caller's confirmed contact methods.
    #[schema(minimum = 1)]
    pub contact_method_id: i64,
    /// Minutes after the caller is paged, if still unacknowledged (0–1440).
    #[schema(minimum = 0, maximum = 1440)]
    pub after_minutes: i32,
}

#[utoipa::path(
    get,
    path = "/me/notification-rules",
    tag = "paging",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's rules", body = [RuleBody]))
)]
pub async fn list_rules(State(state): State<AppState>, ApiUser(user): ApiUser) -> AppResult<Json<Vec<RuleBody>>> {
    let mut conn = state.db.acquire().await?;
    let rules = db::contact_methods::rules(&mut conn, user.id).await?;
    Ok(Json(rules.into_iter().map(rule_body).collect()))
}

fn rule_body(r: Rule) -> RuleBody {
    RuleBody {
        contact_method_id: r.contact_method_id,
        after_minutes: r.after_minutes,
    }
}

#[utoipa::path(
    put,
    path = "/me/notification-rules",
    tag = "paging",
    security(("bearer" = [])),
    request_body = [RuleBody],
    responses(
        (status = 200, description = "The rules, replaced", body = [RuleBody]),
        (status = 422, description = "Minutes out of range, or a method that is not the caller's or not confirmed; nothing changed", body = ErrorBody),
    )
)]
pub async fn put_rules(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<Vec<RuleBody>>,
) -> AppResult<Json<Vec<RuleBody>>> {
    let rules: Vec<Rule> = body
        .into_iter()
        .map(|r| Rule {
            contact_method_id: r.contact_method_id,
            after_minutes: r.after_minutes,
        })
        .collect();
    let mut tx = state.db.begin().await?;
    let saved = methods::set_rules(&mut tx, user.id, &rules).await?;
    tx.commit().await?;
    Ok(Json(saved.into_iter().map(rule_body).collect()))
}
