//! Password reset: a single-use link valid for [`RESET_VALID`], e-mailed
//! to the person who asks (or made by an admin, or on the command line).
//! Setting the new password ends every session of the account; its API
//! tokens keep working.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::password_resets::Reset;
use crate::db::sign_ins::Reservation;
use crate::db::{self, users::User};
use crate::domain::links::{self, LinkProblem, RESET_VALID};
use crate::domain::sign_in;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::mail::Mailer;
use crate::{password, secrets};

/// A new reset link's secret (not kept: send or show it now) and the
/// account it is for.
pub struct Issued {
    pub user: User,
    pub token: String,
}

/// The link a person opens to set a new password.
pub fn link(base_url: &str, token: &str) -> String {
    format!("{base_url}/reset/{token}")
}

/// Makes a reset link for the account with this address, if there is one
/// that is not deactivated (`None` otherwise: the caller answers the same
/// either way). `by` is the admin who asked for it, if one did.
pub async fn issue(
    conn: &mut PgConnection,
    email: &str,
    by: Option<&User>,
    now: DateTime<Utc>,
) -> AppResult<Option<Issued>> {
    let Some(user) = db::password_resets::account_for_reset(conn, email).await? else {
        return Ok(None);
    };
    let token = secrets::random_secret();
    db::password_resets::insert(conn, user.id, &secrets::token_hash(&token), now, now + RESET_VALID).await?;
    if let Some(admin) = by {
        let after = json!({"email": user.email});
        db::audit::record_personal(conn, admin.id, now, "password.reset_link", None, Some(after)).await?;
    }
    Ok(Some(Issued { user, token }))
}

/// The reset behind a link, if the link still works. A link of an account
/// deactivated since is withdrawn.
pub async fn open(conn: &mut PgConnection, token: &str, now: DateTime<Utc>) -> AppResult<Result<Reset, LinkProblem>> {
    let Some(reset) = db::password_resets::by_hash(conn, &secrets::token_hash(token)).await? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let stored = links::Stored {
        expires_at: reset.expires_at,
        used_at: reset.used_at,
        revoked_at: reset.deactivated.then_some(now),
    };
    Ok(links::check(stored, now).map(|()| reset))
}

/// Sets the new password from a link: every session of the account ends
/// (API tokens are left alone), and every other unused link of it stops
/// working. Returns the account and its new session epoch, to sign in
/// with. `Err` inside: the link does not work; a 422: the password does
/// not hold (the link still works).
pub async fn complete(
    conn: &mut PgConnection,
    token: &str,
    new_password: &str,
    now: DateTime<Utc>,
) -> AppResult<Result<(User, i32), LinkProblem>> {
    let reset = match open(conn, token, now).await? {
        Ok(r) => r,
        Err(problem) => return Ok(Err(problem)),
    };
    let user = reset.user;
    validate::password(new_password, &[&user.email, &user.name])?;
    let hash = password::hash(new_password.to_owned()).await?;
    if !db::password_resets::use_up(conn, reset.id, user.id, now).await? {
        return Ok(Err(LinkProblem::Used));
    }
    let epoch = db::users::set_password_hash(conn, user.id, &hash).await?;
    db::user_sessions::end_all_but(conn, user.id, None, now).await?;
    db::audit::record_personal(conn, user.id, now, "password.reset", None, None).await?;
    Ok(Ok((user, epoch)))
}

/// Sets a password directly (`rota user reset-password` with
/// `ROTA_PASSWORD`), with the same rules and the same end of sessions.
pub async fn set_directly(
    conn: &mut PgConnection,
    email: &str,
    new_password: &str,
    now: DateTime<Utc>,
) -> AppResult<User> {
    let user = db::password_resets::account_for_reset(conn, email).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no active account for {}; check the address (a deactivated account must be reactivated first)",
            email.trim()
        ))
    })?;
    validate::password(new_password, &[&user.email, &user.name])?;
    let hash = password::hash(new_password.to_owned()).await?;
    db::users::set_password_hash(conn, user.id, &hash).await?;
    db::user_sessions::end_all_but(conn, user.id, None, now).await?;
    db::password_resets::use_up_all(conn, user.id, now).await?;
    let after = json!({"by": "command line"});
    db::audit::record_personal(conn, user.id, now, "password.reset", None, Some(after)).await?;
    Ok(user)
}

/// E-mails a reset link; `Err` says why it could not be sent.
pub async fn mail(mailer: &Mailer, user: &User, link: &str, by_admin: bool) -> Result<(), String> {
    let asked = if by_admin {
        "An admin made a link for you to set a new Rota password"
    } else {
        "Someone (we hope you) asked to reset your Rota password"
    };
    let body = format!(
        "{asked}. Set a new one here:\n\n{link}\n\n\
         The link works once, for an hour. Setting a new password signs you out everywhere; \
         your API tokens keep working.\n\
         If you did not ask for this, ignore this e-mail: your password stays as it is.\n"
    );
    mailer
        .send_now(&user.email, &user.name, "Reset your Rota password", &body)
        .await
}

/// The name reset requests are counted under in the sign-in attempts, so
/// they share the sign-in throttle's machinery but neither its counts per
/// address nor those per account.
const REQUESTS: &str = "password reset request";

/// Takes one reset request from the client address's allowance (as many
/// as failed sign-ins it may make in [`sign_in::WINDOW`], counted apart);
/// `Err` holds the seconds to wait.
pub async fn admit_request(
    conn: &mut PgConnection,
    client_key: &str,
    now: DateTime<Utc>,
    allowed: u32,
) -> AppResult<Result<(), u64>> {
    let client = format!("{REQUESTS} from {client_key}");
    let window_start = now - sign_in::WINDOW;
    Ok(
        match db::sign_ins::reserve(conn, &client, REQUESTS, now, window_start, allowed).await? {
            Reservation::Reserved { .. } => Ok(()),
            Reservation::Refused { oldest_failure } => Err(sign_in::retry_after(oldest_failure, now).as_secs()),
        },
    )
}
