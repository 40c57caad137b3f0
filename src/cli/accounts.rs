//! `rota user invite` and `rota user reset-password`: links made on the
//! server itself, printed alone on stdout (for a script, or to pass on).
//! Public so tests run them in-process.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::db::teams::TeamRole;
use crate::ops::invitations::{self, Invite, Inviter};
use crate::ops::password_resets;

/// Invites `email` (into `team`, with `role`, if given) and returns the
/// link. Nothing is e-mailed: whoever runs this passes the link on.
pub async fn invite(
    pool: &PgPool,
    base_url: &str,
    email: &str,
    team: Option<&str>,
    role: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let role = match role {
        None => None,
        Some(r) => Some(TeamRole::parse(r).ok_or_else(|| anyhow::anyhow!("--role {r}: use member or manager"))?),
    };
    let mut tx = pool.begin().await?;
    let input = Invite { email, team, role };
    let issued = invitations::invite(&mut tx, Inviter::CommandLine, input, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(invitations::link(base_url, &issued.token))
}

/// What `rota user reset-password` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    /// A link to set a new password, valid for an hour.
    Link(String),
    /// The password was set (from `ROTA_PASSWORD`) for this address.
    Set(String),
}

/// Makes a reset link for `email`, or, given `password`, sets it at once
/// (validated like any other). Either way a deactivated account is refused.
pub async fn reset_password(
    pool: &PgPool,
    base_url: &str,
    email: &str,
    password: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Reset> {
    let mut tx = pool.begin().await?;
    let done = match password {
        Some(p) => {
            let user = password_resets::set_directly(&mut tx, email, p, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Reset::Set(user.email)
        }
        None => {
            let issued = password_resets::issue(&mut tx, email, None, now).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "there is no active account for {}; check the address (a deactivated account must be reactivated first)",
                    email.trim()
                )
            })?;
            Reset::Link(password_resets::link(base_url, &issued.token))
        }
    };
    tx.commit().await?;
    Ok(done)
}
