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
            Ok(Json(mut value)) => {
                let marked = mark_nuls(&mut value);
                typed(value).map(ApiJson).map_err(|e| match e {
                    NotTyped::Nul(path) if marked => AppError::Unprocessable(format!(
                        "The body has a NUL character (\\u0000) in {path}, which Rota cannot store; remove it"
                    )),
                    other => AppError::from(other),
                })
            }
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// What takes the place of a string with a NUL in it: Postgres cannot
/// store NUL in text, so a field that reads such a string must fail (it
/// finds a map where it wants a string), while a field Rota ignores may
/// hold anything, as the OpenAPI document allows.
const NUL_MARK: &str = "\u{0}nul";

/// Replaces every string holding a NUL with [`NUL_MARK`]'s map and drops
/// keys holding one (no field is named so); whether any was found.
pub fn mark_nuls(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => {
            *value = serde_json::json!({ NUL_MARK: true });
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |found, v| mark_nuls(v) | found),
        Value::Object(fields) => {
            let before = fields.len();
            fields.retain(|k, _| !k.contains('\0'));
            let dropped = fields.len() != before;
            fields.values_mut().fold(dropped, |found, v| mark_nuls(v) | found)
        }
        _ => false,
    }
}

enum NotTyped {
    /// A field met a map (a NUL mark, when there is one): the field's path.
    Nul(String),
    Other(String),
}

impl From<NotTyped> for AppError {
    fn from(e: NotTyped) -> Self {
        match e {
            NotTyped::Nul(path) => AppError::Unprocessable(format!(
                "The body does not have the expected fields: {path}: a map is not what that field takes"
            )),
            NotTyped::Other(message) => AppError::Unprocessable(message),
        }
    }
}

/// Reads well-formed JSON as `T`; a value of the wrong shape is 422, with
/// the path of the field at fault.
fn typed<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, NotTyped> {
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        if e.inner().to_string().starts_with("invalid type: map") {
            NotTyped::Nul(e.path().to_string())
        } else {
            NotTyped::Other(format!("The body does not have the expected fields: {e}"))
        }
    })
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
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let message = format!("The query string is not valid: {}", cause(&e));
                // Well-formed but out of range is a 422, as in bodies.
                if message.contains(crate::domain::validate::OUT_OF_RANGE) {
                    Err(AppError::Unprocessable(message))
                } else {
                    Err(AppError::BadRequest(message))
                }
            }
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
            Ok(Json(value)) => typed(value).map(ToolJson).map_err(AppError::from),
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

    use super::mark_nuls;

    #[test]
    fn marks_every_string_with_a_nul_and_drops_such_keys() {
        let mut v = json!({"name": "a\u{0}b", "list": ["x", {"deep": "\u{0}"}], "k\u{0}": 1, "ok": "\\u0000"});
        assert!(mark_nuls(&mut v));
        assert_eq!(v["name"], json!({"\u{0}nul": true}));
        assert_eq!(v["list"][1]["deep"], json!({"\u{0}nul": true}));
        assert!(v.get("k\u{0}").is_none());
        assert_eq!(v["ok"], "\\u0000", "an escaped backslash is text");
        assert!(!mark_nuls(&mut json!({"name": "fine", "n": 1})));
    }
}
