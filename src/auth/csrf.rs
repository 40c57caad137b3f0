//! CSRF protection for every state-changing form: a per-session token in a
//! hidden field, compared with the one kept in the session on the server.

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::secrets;
use crate::app::AppState;
use crate::error::AppError;

const SESSION_CSRF: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    let existing: Option<String> = session
        .get(SESSION_CSRF)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
    if let Some(t) = existing {
        return Ok(t);
    }
    let fresh = secrets::random_secret();
    session
        .insert(SESSION_CSRF, &fresh)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
    Ok(fresh)
}

/// Drops the token, so the signed-in session gets a fresh one.
pub async fn forget(session: &Session) {
    let _ = session.remove::<String>(SESSION_CSRF).await;
}

/// Refuses a form whose `csrf` field is missing or is not the session's token.
pub async fn check(session: &Session, sent: Option<&str>) -> Result<(), AppError> {
    let kept: Option<String> = session.get(SESSION_CSRF).await.ok().flatten();
    let valid = matches!((sent, &kept), (Some(s), Some(k)) if secrets::constant_time_eq(s.as_bytes(), k.as_bytes()));
    if valid {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "This form has expired or did not come from Rota. Go back, reload the page and try again.",
        ))
    }
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// A URL-encoded form whose `csrf` field matched the session's token.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session: {msg}")))?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::PayloadTooLarge("That form is too large to accept".into()))?;
        let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf);
        check(&session, sent.as_deref()).await?;
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(CsrfForm)
            .map_err(|e| AppError::BadRequest(format!("The form was incomplete: {e}")))
    }
}

/// The most an uploaded file may hold.
pub const MAX_UPLOAD: usize = 1024 * 1024;

/// A `multipart/form-data` form whose `csrf` field matched the session's
/// token, with the bytes of its `file` field. The handler decides what to
/// say about a file that is empty or too large, on the page it came from.
pub struct CsrfUpload {
    /// Empty when no file was chosen; cut off when `too_large`.
    pub file: Vec<u8>,
    pub too_large: bool,
}

impl FromRequest<AppState> for CsrfUpload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session: {msg}")))?;
        let mut form = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::BadRequest("Send the file with the upload form (multipart/form-data)".into()))?;
        let broken = |e: MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("That file is over 1 MiB; upload a smaller calendar".into())
            } else {
                AppError::BadRequest("The upload was cut short or malformed; choose the file again".into())
            }
        };
        let (mut sent, mut file, mut too_large) = (None, Vec::new(), false);
        while let Some(mut field) = form.next_field().await.map_err(broken)? {
            match field.name() {
                Some("csrf") => sent = Some(field.text().await.map_err(broken)?),
                Some("file") => {
                    while let Some(chunk) = field.chunk().await.map_err(broken)? {
                        too_large |= file.len() + chunk.len() > MAX_UPLOAD;
                        if !too_large {
                            file.extend_from_slice(&chunk);
                        }
                    }
                }
                _ => {}
            }
        }
        check(&session, sent.as_deref()).await?;
        Ok(CsrfUpload { file, too_large })
    }
}
