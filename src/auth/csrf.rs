//! CSRF protection for every state-changing form: a per-session token in a
//! hidden field, compared with the one kept in the session on the server.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
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
        let kept: Option<String> = session.get(SESSION_CSRF).await.ok().flatten();
        let valid =
            matches!((&sent, &kept), (Some(s), Some(k)) if secrets::constant_time_eq(s.as_bytes(), k.as_bytes()));
        if !valid {
            return Err(AppError::forbidden(
                "This form has expired or did not come from Rota. Go back, reload the page and try again.",
            ));
        }
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(CsrfForm)
            .map_err(|e| AppError::BadRequest(format!("The form was incomplete: {e}")))
    }
}
