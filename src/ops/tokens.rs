//! Personal API tokens: made on the profile page or with `rota token create`.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::db;
use crate::db::tokens::NewToken;
use crate::error::{AppError, AppResult};
use crate::secrets;

/// The longest expiry a token can be given: ten years.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

pub struct NewTokenInput<'a> {
    pub label: &'a str,
    /// Only reads (GET, HEAD, OPTIONS) are allowed with it.
    pub read_only: bool,
    /// Days from now until it stops working; `None`: it does not expire.
    pub expires_in_days: Option<u32>,
}

/// Reads a form's "expires in days" field: empty means never.
pub fn parse_expiry_days(text: &str) -> AppResult<Option<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| expiry_error())
}

fn expiry_error() -> AppError {
    AppError::Unprocessable(format!(
        "Give the days until the token expires as a whole number from 1 to {MAX_EXPIRY_DAYS}, \
         or leave it empty for a token that does not expire"
    ))
}

/// Creates a token for `user_id` and returns it: shown this once, only its
/// hash is kept.
pub async fn create_personal_token(
    conn: &mut PgConnection,
    user_id: i64,
    input: NewTokenInput<'_>,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let label = input.label.trim();
    if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(
            "Give the token a label of 1 to 80 characters, e.g. \"alert script\"".into(),
        ));
    }
    let expires_at = match input.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(now + Duration::days(i64::from(days))),
        Some(_) => return Err(expiry_error()),
    };
    let token = secrets::new_api_token();
    let new = NewToken {
        label,
        read_only: input.read_only,
        expires_at,
    };
    db::tokens::insert_with(conn, user_id, &new, &secrets::token_hash(&token)).await?;
    Ok(token)
}

/// Revokes one of the person's own live tokens; it stops working at once.
pub async fn revoke_personal_token(
    conn: &mut PgConnection,
    user_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let label = db::tokens::live_for_user(conn, user_id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.label);
    if !db::tokens::revoke(conn, user_id, id).await? {
        return Err(AppError::NotFound("No live token of yours by that id".into()));
    }
    db::audit::record_personal(
        conn,
        user_id,
        now,
        "token.revoke",
        None,
        Some(serde_json::json!({"id": id, "label": label})),
    )
    .await?;
    Ok(())
}
