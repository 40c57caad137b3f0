//! Twilio's callbacks, for Twilio and not for people: the digits pressed
//! on a page's call, SMS replies, and the delivery status of a page's SMS
//! and calls. Each is taken only with a valid `X-Twilio-Signature` over
//! the address Rota gave (`ROTA_BASE_URL` and the path) and the POST
//! parameters; otherwise 403 and nothing changes. They answer TwiML.
//! Not in the OpenAPI document: Twilio's contract, not Rota's. A storm's
//! bundled SMS or call stands for all its pages: "1" acknowledges them all.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::db;
use crate::domain::paging::ACK_LINK_LIFETIME;
use crate::domain::twilio::{Delivery, Hook, HookToken, call, delivery, reply, say, shorten, signature_holds};
use crate::error::{AppError, AppResult};
use crate::ops::paging::{self, Action, storm};
use crate::state::AppState;

type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The callback's POST parameters, when Twilio signed them.
fn signed(state: &AppState, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> AppResult<Params> {
    let Some(twilio) = &state.settings.twilio else {
        return Err(AppError::NotFound(
            "This Rota sends no SMS or calls, so it takes no Twilio callbacks".into(),
        ));
    };
    let params: Params = serde_urlencoded::from_bytes(body)
        .map_err(|_| AppError::BadRequest("Send the parameters as application/x-www-form-urlencoded".into()))?;
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let url = format!("{}{path}", state.settings.base_url);
    let given = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    match given {
        Some(sig) if signature_holds(&twilio.auth_token, &url, &params, sig) => Ok(params),
        _ => Err(AppError::Forbidden(
            "Only Twilio calls this address, with a valid X-Twilio-Signature made with this Rota's auth token".into(),
        )),
    }
}

fn twiml(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// Acknowledges the page for the person it paged; what to tell them.
async fn acknowledge(
    state: &AppState,
    page_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Result<(), String>> {
    let mut tx = state.db.begin().await?;
    match paging::respond(&mut tx, page_id, user_id, Action::Acknowledge, now).await {
        Ok(page) => {
            tx.commit().await?;
            match page.acknowledged_by {
                Some(by) if by != user_id => Ok(Err(format!(
                    "{} had already acknowledged it",
                    page.acknowledged_by_name.unwrap_or_else(|| "Someone".into())
                ))),
                _ => Ok(Ok(())),
            }
        }
        Err(AppError::Conflict(_)) => Ok(Err("It is already resolved".into())),
        Err(AppError::NotFound(_)) => Ok(Err("It has been removed".into())),
        Err(e) => Err(e),
    }
}

/// Acknowledges every open page of a bundle for the person it told; what
/// to tell them.
async fn acknowledge_all(state: &AppState, bundle_id: i64, user_id: i64, now: DateTime<Utc>) -> AppResult<String> {
    let mut tx = state.db.begin().await?;
    let done = storm::acknowledge_bundle(&mut tx, bundle_id, user_id, now).await?;
    tx.commit().await?;
    Ok(match done.now {
        0 => "Nothing was left to acknowledge".into(),
        1 => "Acknowledged the 1 open page; Rota has stopped its escalation".into(),
        n => format!("Acknowledged all {n} pages; Rota has stopped their escalation"),
    })
}

/// `POST /api/v1/hooks/twilio/gather/{token}`: the digit pressed on a
/// page's call. 1 acknowledges the page for the person called.
pub async fn gather_digits(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let params = signed(&state, &uri, &headers, &body)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let key = paging::ack_key(&mut conn).await?;
    let message_id = match HookToken::verify(Hook::Gather, &token, &key, now) {
        Ok(id) => id,
        Err(why) => return Ok(twiml(say(why))),
    };
    let digits = param(&params, "Digits").unwrap_or("").trim();
    if digits != "1" {
        let pressed = match digits {
            "" => "Nothing was pressed".to_owned(),
            d => format!("You pressed {}", shorten(d, 10)),
        };
        let again = format!("{}{}", state.settings.base_url, uri.path());
        let text = format!("{pressed}, so the page is not acknowledged.");
        return Ok(twiml(call(&text, Some(&again))));
    }
    let owner = db::twilio::message_owner(&mut conn, message_id).await?;
    drop(conn);
    let Some((page_id, user_id, bundle)) = owner else {
        return Ok(twiml(say(
            "This page has been removed; there is nothing to acknowledge. Goodbye.",
        )));
    };
    if let Some(bundle) = bundle {
        let said = acknowledge_all(&state, bundle, user_id, now).await?;
        return Ok(twiml(say(&format!("{said}. Goodbye."))));
    }
    Ok(twiml(say(&match acknowledge(&state, page_id, user_id, now).await? {
        Ok(()) => "Acknowledged. Rota has stopped the escalation. Goodbye.".to_owned(),
        Err(why) => format!("{why}; nothing more to do. Goodbye."),
    })))
}

/// `POST /api/v1/hooks/twilio/sms`, the number's incoming message
/// webhook: a reply "1" from a confirmed SMS method acknowledges the latest
/// open page messaged to its owner in the last day. Numbers Rota does not
/// know get no answer (an answer would be an SMS Rota pays for).
pub async fn incoming_sms(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let params = signed(&state, &uri, &headers, &body)?;
    let now = state.clock.now();
    let from = param(&params, "From").unwrap_or("").trim();
    let text = param(&params, "Body").unwrap_or("").trim();
    let mut conn = state.db.acquire().await?;
    if !db::twilio::is_confirmed_number(&mut conn, from).await? {
        return Ok(twiml(reply(None)));
    }
    if text != "1" {
        return Ok(twiml(reply(Some("Reply 1 to acknowledge your latest page from Rota."))));
    }
    let open = db::twilio::open_page_for_number(&mut conn, from, now - ACK_LINK_LIFETIME).await?;
    drop(conn);
    let Some((page_id, user_id, summary, bundle)) = open else {
        return Ok(twiml(reply(Some(
            "Nothing to acknowledge: Rota sent you no open page in the last 24 hours.",
        ))));
    };
    // The latest text bundled several pages: the reply answers them all.
    if let Some(bundle) = bundle {
        let said = acknowledge_all(&state, bundle, user_id, now).await?;
        return Ok(twiml(reply(Some(&format!("{said}.")))));
    }
    let summary = shorten(&summary, 200);
    Ok(twiml(reply(Some(
        &match acknowledge(&state, page_id, user_id, now).await? {
            Ok(()) => format!("Acknowledged: {summary}. Rota has stopped the escalation."),
            Err(why) => format!("{summary}: {why}."),
        },
    ))))
}

/// `POST /api/v1/hooks/twilio/status/{token}`: how a page's SMS or call
/// ended (`MessageStatus` or `CallStatus`), on the page's timeline.
pub async fn delivery_status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<StatusCode> {
    let params = signed(&state, &uri, &headers, &body)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let key = paging::ack_key(&mut conn).await?;
    let message_id = HookToken::verify(Hook::Status, &token, &key, now)
        .map_err(|why| AppError::NotFound(format!("{why}: no page message to report on")))?;
    let status = param(&params, "MessageStatus")
        .or_else(|| param(&params, "CallStatus"))
        .unwrap_or("")
        .trim();
    let state_now = match delivery(status) {
        Delivery::Delivered => "delivered",
        Delivery::Failed => "failed",
        Delivery::Underway => return Ok(StatusCode::NO_CONTENT),
    };
    let sid = ["MessageSid", "CallSid", "SmsSid"]
        .iter()
        .find_map(|n| param(&params, n))
        .unwrap_or("no sid");
    let error = param(&params, "ErrorCode")
        .filter(|c| !c.is_empty())
        .map(|c| format!(", error {}", shorten(c, 20)))
        .unwrap_or_default();
    drop(conn);
    let mut tx = state.db.begin().await?;
    for r in db::twilio::report_delivery(&mut tx, message_id, state_now).await? {
        let what = if r.kind == "voice" { "call" } else { "SMS" };
        let detail = format!(
            "Twilio reports the {what} {}{error} ({})",
            shorten(status, 30),
            shorten(sid, 64)
        );
        db::paging::event(
            &mut tx,
            r.page_id,
            now,
            Some(r.user_id),
            Some(r.step),
            Some(&r.kind),
            state_now,
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
