//! Whose account a verified single sign-on opens: the one already linked
//! to the provider's subject; else the account with the same verified
//! e-mail (linked now); else a new account for a pending invitation (which
//! is accepted); else, when the admin allows it, a new account with no
//! team. Everything happens in the caller's transaction, so a refusal
//! leaves nothing behind.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::{Failure, Verified};
use crate::config::Oidc;
use crate::db::{self, users::User};
use crate::domain::validate;
use crate::error::AppError;
use crate::ops::users::{NewUserInput, create_user};

/// How the account was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Linked before.
    Known,
    /// An existing account, linked on this first sign-in.
    Linked,
    /// Created for a pending invitation, which is now accepted.
    Invited,
    /// Created because `ROTA_OIDC_AUTO_CREATE` is on.
    Created,
}

#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub how: How,
}

/// Finds or makes the account `who` signs in to, or refuses.
pub async fn account_for(
    conn: &mut PgConnection,
    settings: &Oidc,
    who: &Verified,
    now: DateTime<Utc>,
) -> Result<SignedIn, Failure> {
    if let Some(id) = db::oidc::linked_user(conn, &who.issuer, &who.subject).await? {
        let user = db::users::by_id(conn, id)
            .await?
            .ok_or_else(|| Failure::Internal(AppError::Internal(anyhow::anyhow!("linked account {id} is gone"))))?;
        refuse_leaver(&user)?;
        return Ok(SignedIn { user, how: How::Known });
    }
    if let Some(mut user) = db::users::by_email(conn, &who.email).await? {
        refuse_leaver(&user)?;
        // An account that already belongs to someone at this provider is
        // not handed to another subject with the same address (a reused
        // leaver's mailbox, say).
        if db::oidc::linked_at(conn, &who.issuer, user.id).await? {
            tracing::warn!(
                user_id = user.id,
                "SSO sign-in refused: the account is linked to another subject"
            );
            return Err(Failure::Refused(format!(
                "The Rota account for {} is already linked to another sign-in at this provider. Ask an admin to look at it.",
                user.email
            )));
        }
        link(conn, who, &user, now).await?;
        // From now on the provider vouches for this account: whatever
        // sessions it had before (perhaps not the owner's) end.
        user.session_epoch = db::users::raise_session_epoch(conn, user.id).await?;
        db::audit::record_personal(
            conn,
            user.id,
            now,
            "user.sso_link",
            None,
            Some(json!({"issuer": who.issuer})),
        )
        .await?;
        return Ok(SignedIn { user, how: How::Linked });
    }
    let invitations = crate::ops::invitations::pending_for_email(conn, &who.email, now).await?;
    if !invitations.is_empty() {
        let user = create(conn, who).await?;
        // Accepted as the link accepts them, so both ways do the same.
        for invitation in &invitations {
            match crate::ops::invitations::accept(conn, invitation, &user, now).await {
                Ok(()) => {}
                Err(AppError::Conflict(_)) => return Err(try_again()),
                Err(e) => return Err(e.into()),
            }
        }
        link(conn, who, &user, now).await?;
        return Ok(SignedIn {
            user,
            how: How::Invited,
        });
    }
    if settings.auto_create {
        let user = create(conn, who).await?;
        link(conn, who, &user, now).await?;
        db::audit::record_personal(
            conn,
            user.id,
            now,
            "user.sso_create",
            None,
            Some(json!({"issuer": who.issuer, "email": user.email})),
        )
        .await?;
        return Ok(SignedIn {
            user,
            how: How::Created,
        });
    }
    tracing::warn!(issuer = %who.issuer, "SSO sign-in refused: no account and no invitation");
    Err(Failure::Refused(format!(
        "There is no Rota account for {} — ask an admin for an invitation.",
        who.email
    )))
}

/// A leaver's account stays closed, whichever way they come.
/// The account was just read in this transaction, with its state.
fn refuse_leaver(user: &User) -> Result<(), Failure> {
    if !user.is_active() {
        tracing::warn!(user_id = user.id, "SSO sign-in refused: account deactivated");
        return Err(Failure::Refused(format!(
            "The Rota account for {} has been deactivated. Ask an admin if you should still have access.",
            user.email
        )));
    }
    Ok(())
}

async fn link(conn: &mut PgConnection, who: &Verified, user: &User, now: DateTime<Utc>) -> Result<(), Failure> {
    if db::oidc::link(conn, &who.issuer, &who.subject, user.id, now).await? {
        Ok(())
    } else {
        Err(try_again())
    }
}

/// A new account without a password (it signs in through the provider),
/// named as the provider names the person, in UTC until they change it.
async fn create(conn: &mut PgConnection, who: &Verified) -> Result<User, Failure> {
    let local_part = who.email.split('@').next().unwrap_or_default().to_owned();
    let name = who
        .name
        .as_deref()
        .filter(|n| validate::name(n).is_ok())
        .map_or(local_part, str::to_owned);
    let input = NewUserInput {
        email: &who.email,
        name: &name,
        timezone: Some("UTC"),
        password: None,
        is_admin: false,
    };
    match create_user(conn, input).await {
        Ok(user) => Ok(user),
        // Two first sign-ins at once: the other one made it.
        Err(AppError::Conflict(_)) => Err(try_again()),
        Err(AppError::Unprocessable(msg)) => Err(Failure::Refused(format!(
            "Rota cannot make an account from what the provider sent: {msg}"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn try_again() -> Failure {
    Failure::Invalid("Someone signed in with this account at the same moment. Sign in again.".into())
}
