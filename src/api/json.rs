//! Extractors for JSON bodies and query strings whose failures come out as
//! the API's JSON problem, with a message saying what to fix.

use std::error::Error;

use axum::Json;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| {
                AppError::PayloadTooLarge("That request is larger than Rota accepts (1 MiB); send less at once".into())
            })?;
        if has_escaped_nul(&bytes) {
            return Err(AppError::Unprocessable(
                "The body contains a NUL character (\\u0000), which Rota cannot store; remove it".into(),
            ));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// Whether a JSON text has a `\u0000` escape inside a string (a raw NUL
/// byte is not valid JSON at all). Postgres cannot store NUL in text, so
/// such a body is refused whole rather than half-stored.
pub fn has_escaped_nul(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        match (in_string, json[i]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => {
                if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

fn json_error(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            AppError::UnsupportedMediaType("Send the body as JSON, with Content-Type: application/json".into())
        }
        JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(format!("The body is not valid JSON: {}", cause(&e))),
        JsonRejection::JsonDataError(e) => {
            AppError::Unprocessable(format!("The body does not have the expected fields: {}", cause(&e)))
        }
        JsonRejection::BytesRejection(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            AppError::PayloadTooLarge("That request is larger than Rota accepts (1 MiB); send less at once".into())
        }
        other => AppError::BadRequest(format!("The body could not be read: {}", other.body_text())),
    }
}

/// A query string; anything that does not parse is malformed (400).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AppError::BadRequest(format!(
                "The query string is not valid: {}",
                cause(&e)
            ))),
            Err(other) => Err(AppError::BadRequest(other.body_text())),
        }
    }
}

/// The underlying parser's message (serde's, with the field's path),
/// without axum's generic prefix.
fn cause(e: &dyn Error) -> String {
    e.source().map_or_else(|| e.to_string(), ToString::to_string)
}

/// A JSON body kept as sent too, for checking a signature over its bytes.
pub struct SignedJson<T> {
    pub value: T,
    pub bytes: axum::body::Bytes,
}

impl<T, S> FromRequest<S> for SignedJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(AppError::UnsupportedMediaType(
                "Send the body as JSON, with Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge("That request is larger than Rota accepts (1 MiB)".into()))?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| AppError::BadRequest("The body is not valid UTF-8".into()))?;
        let value = serde_json::from_str::<T>(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                AppError::Unprocessable(format!("The body does not have the expected fields: {e}"))
            }
            _ => AppError::BadRequest(format!("The body is not valid JSON: {e}")),
        })?;
        Ok(SignedJson { value, bytes })
    }
}

/// A JSON body from an alerting tool or script reporting pages: NULs are
/// left for the page's own tidying (see `ops::pages`) rather than refused,
/// so an alert is never lost to a stray byte.
pub struct ToolJson<T>(pub T);

impl<T, S> FromRequest<S> for ToolJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ToolJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// A JSON body that may be left out (an empty body is `T::default()`).
pub struct MaybeJson<T>(pub T);

impl<T, S> FromRequest<S> for MaybeJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let declared = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        let headers = req.headers();
        let empty = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0")
            && !headers.contains_key(axum::http::header::TRANSFER_ENCODING);
        if !declared && empty {
            return Ok(MaybeJson(T::default()));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|ApiJson(v)| MaybeJson(v))
    }
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn finds_nul_escapes_only_inside_strings() {
        assert!(has_escaped_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_escaped_nul(br#"["x", "\u0000"]"#));
        assert!(
            !has_escaped_nul(br#"{"name":"a\\u0000b"}"#),
            "an escaped backslash, then text"
        );
        assert!(!has_escaped_nul(br#"{"name":"a\u0001b", "n": 0000}"#));
        assert!(has_escaped_nul(br#"{"q":"\"\u0000"}"#), "after an escaped quote");
    }
}
