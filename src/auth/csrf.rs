//! CSRF protection for every state-changing form: a per-session token in a
//! hidden field, compared with the one kept in the session on the server
//! (before sign-in, with the one in a cookie of its own).

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::config::Settings;
use crate::error::AppError;
use crate::secrets;
use crate::state::AppState;

const SESSION_CSRF: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    let existing: Option<String> = session
        .get(SESSION_CSRF)
        .await
        .map_err(super::sessions::session_failed)?;
    if let Some(t) = existing {
        return Ok(t);
    }
    let fresh = secrets::random_secret();
    session
        .insert(SESSION_CSRF, &fresh)
        .await
        .map_err(super::sessions::session_failed)?;
    Ok(fresh)
}

/// Drops the token, so the signed-in session gets a fresh one.
pub async fn forget(session: &Session) {
    let _ = session.remove::<String>(SESSION_CSRF).await;
}

/// The cookie that carries an anonymous visitor's CSRF token (sign-in and
/// setup forms), so that showing those forms stores no session.
const ANONYMOUS_COOKIE: &str = "rota_csrf";

/// The token for a form shown to someone not signed in: the one their
/// browser already holds, or a new one with the `Set-Cookie` that gives it.
/// The form then proves it came from a page Rota served to this browser
/// (double submit), and no session row is written for a mere visit. Like
/// the session cookie, it is sent back only under Rota's base path.
pub fn anonymous_token(headers: &HeaderMap, settings: &Settings) -> (String, Option<HeaderValue>) {
    if let Some(kept) = anonymous_cookie(headers) {
        return (kept, None);
    }
    let fresh = secrets::random_secret();
    let cookie = format!(
        "{ANONYMOUS_COOKIE}={fresh}; Path={}; HttpOnly; SameSite=Lax{}",
        settings.cookie_path(),
        if settings.secure_cookies { "; Secure" } else { "" }
    );
    (fresh.clone(), HeaderValue::from_str(&cookie).ok())
}

fn anonymous_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ANONYMOUS_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Refuses a form whose `csrf` field is missing or is not the session's
/// token (or, before there is a session token, the anonymous cookie's).
pub async fn check(session: &Session, headers: &HeaderMap, sent: Option<&str>) -> Result<(), AppError> {
    let kept: Option<String> = match session.get(SESSION_CSRF).await.ok().flatten() {
        Some(k) => Some(k),
        None => anonymous_cookie(headers),
    };
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
        let headers = parts.headers.clone();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session: {msg}")))?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::PayloadTooLarge("That form is too large to accept".into()))?;
        let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf);
        check(&session, &headers, sent.as_deref()).await?;
        // Postgres cannot store NUL; refuse it here, for every form, rather
        // than fail later with a 500.
        if bytes.windows(3).any(|w| w == b"%00") || bytes.contains(&0) {
            return Err(AppError::Unprocessable(
                "The form contains a NUL character, which Rota cannot store; remove it and send it again".into(),
            ));
        }
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
    /// The form's other fields, in order (the request's size limit bounds them).
    pub fields: Vec<(String, String)>,
}

impl CsrfUpload {
    /// The first field called `name`, if the form sent it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for CsrfUpload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let headers = parts.headers.clone();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(anyhow::anyhow!("session: {msg}")))?;
        let mut form = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::BadRequest("Send the file with the upload form (multipart/form-data)".into()))?;
        let broken = |e: MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("That upload is over 1 MiB; send a smaller file".into())
            } else {
                AppError::BadRequest("The upload was cut short or malformed; choose the file again".into())
            }
        };
        let (mut sent, mut file, mut too_large, mut fields) = (None, Vec::new(), false, Vec::new());
        while let Some(mut field) = form.next_field().await.map_err(broken)? {
            match field.name().map(str::to_owned).as_deref() {
                Some("csrf") => sent = Some(field.text().await.map_err(broken)?),
                Some("file") => {
                    while let Some(chunk) = field.chunk().await.map_err(broken)? {
                        too_large |= file.len() + chunk.len() > MAX_UPLOAD;
                        if !too_large {
                            file.extend_from_slice(&chunk);
                        }
                    }
                }
                Some(name) => {
                    let value = field.text().await.map_err(broken)?;
                    fields.push((name.to_owned(), value));
                }
                None => {}
            }
        }
        check(&session, &headers, sent.as_deref()).await?;
        Ok(CsrfUpload {
            file,
            too_large,
            fields,
        })
    }
}
