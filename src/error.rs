//! One error type for the whole service. It renders as the API's JSON problem
//! (`{"error": {"code", "message"}}`); the web router turns the same value into
//! an HTML page (see `web::layout::html_errors`). Unexpected failures are
//! logged with their cause and shown only as a plain 500.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use chrono::NaiveDate;

use crate::domain::validate::{self, Invalid};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Sign in first: send Authorization: Bearer <token>")]
    Unauthorized,
    /// Credentials that were sent but do not hold, saying why.
    #[error("{0}")]
    UnauthorizedBecause(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// 429 that says when to come back, in `Retry-After`.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// 401 for a token that is known but no longer accepted (expired).
    #[error("{0}")]
    TokenRefused(String),
    #[error("The database is not answering; try again in a moment")]
    Unavailable,
    #[error("Something went wrong on our side; it has been logged")]
    Internal(#[from] anyhow::Error),
}

/// When a client should try again after a 503: the pool was busy for its
/// whole acquire timeout, which a burst seldom outlasts.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// What an error response carries for the HTML renderer.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: bad_request, unauthorized, forbidden, not_found,
    /// conflict, payload_too_large, unsupported_media_type, unprocessable,
    /// too_many_requests, unavailable, internal.
    pub code: String,
    /// A person-readable sentence saying what to do next.
    pub message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::UnauthorizedBecause(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) | AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!(
            "No {what} by that name here, or you are not a member of its team"
        ))
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Forbidden(msg.into())
    }
}

pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "too_many_requests",
        503 => "unavailable",
        _ => "internal",
    }
}

/// The JSON problem for `status`, tagged so the web layer can render HTML.
pub fn problem(status: StatusCode, message: String) -> Response {
    let code = code_for(status);
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message: message.clone(),
        },
    };
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(ErrorInfo { code, message });
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = problem(self.status(), self.to_string());
        let retry_after = match self {
            AppError::RateLimited { retry_after_secs, .. } => Some(retry_after_secs),
            AppError::Unavailable => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Unprocessable(e.0)
    }
}

/// Where a value came from, which decides what refusing it answers: a path
/// or query string that does not hold is a malformed request (400); a body
/// or form that does not hold is well-formed but invalid (422). The same
/// rule (say, [`validate::date`]) answers by where it was given, never by
/// what its message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Path,
    Query,
    Body,
    Form,
}

impl Given {
    pub fn refuse(self, e: Invalid) -> AppError {
        match self {
            Given::Path | Given::Query => AppError::BadRequest(e.0),
            Given::Body | Given::Form => AppError::Unprocessable(e.0),
        }
    }

    /// A date (YYYY-MM-DD, 2000 to 2100) given here.
    pub fn date(self, s: &str) -> AppResult<NaiveDate> {
        validate::date(s).map_err(|e| self.refuse(e))
    }
}

/// The name of the constraint a database error broke, if any.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|d| d.constraint())
}

pub type AppResult<T> = Result<T, AppError>;

/// What an error says when nothing more specific was given.
pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "Sign in first",
        404 => "There is nothing at this address; check the link or start from the home page",
        405 => "This address does not accept that method",
        408 => "That took too long and was stopped; try again",
        413 => "That request is larger than Rota accepts (1 MiB)",
        415 => "Send JSON, with Content-Type: application/json",
        422 => "Some of what was sent is not valid",
        _ if status.is_server_error() => "Something went wrong on our side; it has been logged",
        _ => "That request could not be handled",
    }
}
