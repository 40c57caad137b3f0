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
        match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) if has_nul(&value) => Err(AppError::Unprocessable(
                "The body contains a NUL character (\\u0000), which Rota cannot store; remove it".into(),
            )),
            Ok(Json(value)) => typed(value).map(ApiJson),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// Whether any string in a JSON value (a key or a value) holds a NUL.
/// Postgres cannot store NUL in text, so such a body is refused whole
/// rather than half-stored.
pub fn has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Reads well-formed JSON as `T`; a value of the wrong shape is 422, with
/// the path of the field at fault.
fn typed<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, AppError> {
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value)
        .map_err(|e| AppError::Unprocessable(format!("The body does not have the expected fields: {e}")))
}

/// JSON does not tell `5` from `5.0`, nor does the OpenAPI document's
/// `integer`: a number with no fractional part is read as the integer it
/// is, so an integer field takes either spelling.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
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
        let value = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| AppError::BadRequest(format!("The body is not valid JSON: {e}")))?;
        Ok(SignedJson {
            value: typed(value)?,
            bytes,
        })
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
        match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) => typed(value).map(ToolJson),
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
    use serde_json::json;

    use super::has_nul;

    #[test]
    fn finds_a_nul_in_any_string_of_a_body() {
        assert!(has_nul(&json!({"name": "a\u{0}b"})));
        assert!(has_nul(&json!({"list": ["x", {"deep": "\u{0}"}]})));
        assert!(has_nul(&json!({"a\u{0}": 1})));
        assert!(!has_nul(&json!({"name": "a\\u0000b", "n": 0, "ok": ["\u{1}"]})));
    }
}
